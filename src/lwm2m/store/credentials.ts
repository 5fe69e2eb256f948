import { deepFreeze } from './json';

/**
 * A PSK the bootstrap server wrote into a device for the gateway's own DM server: kept so that the
 * device's next DTLS handshake succeeds, also after a gateway restart. `key` is a secret: it never
 * appears in an error text of this module.
 */
export interface ProvisionedPskRecord {
  /** PSK identity (UTF-8), at most MAX_PSK_IDENTITY_BYTES. */
  readonly identity: string;
  /** The key as hex, 1..MAX_PSK_KEY_BYTES bytes. A secret. */
  readonly key: string;
  /** The endpoint this identity may register. */
  readonly endpoint: string;
  /** When it was provisioned (ms since epoch). */
  readonly provisionedAt: number;
}

/** Provisioned PSKs by identity. Records are immutable as in `RegistrationRecordStore`. */
export interface CredentialStore {
  /** Stores a record, replacing the one with the same identity. A malformed record is refused (throws a RangeError naming the field). */
  put(record: ProvisionedPskRecord): Promise<void>;
  /** Removes the identity's record; removing an unknown identity does nothing. */
  remove(identity: string): Promise<void>;
  /**
   * Every record, in no particular order (start-up). A stored record that does not read back as a
   * valid one (a damaged value) is skipped, never thrown. Removing while iterating is safe.
   */
  all(): AsyncIterable<ProvisionedPskRecord>;
}

/** OpenSSL's PSK callback takes identities of at most 128 bytes. */
export const MAX_PSK_IDENTITY_BYTES = 128;
/** OpenSSL's PSK_MAX_PSK_LEN. */
export const MAX_PSK_KEY_BYTES = 256;
/** A sanity bound well above any configurable `lwm2m.max_endpoint_length`. */
export const MAX_PSK_ENDPOINT_BYTES = 1024;

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why `record` is not a valid provisioned PSK record, naming the field; undefined when it is. The
 * key's value is never part of the answer.
 */
export function credentialRecordProblem(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'a provisioned credential record must be an object';
  const { identity, key, endpoint, provisionedAt } = record as Record<string, unknown>;
  const text = (field: string, value: unknown, maxBytes: number): string | undefined => {
    if (typeof value !== 'string' || value === '') return `${field} must be a non-empty string`;
    if (LONE_SURROGATE.test(value)) return `${field} is not well-formed Unicode`;
    if (Buffer.byteLength(value) > maxBytes) return `${field} is longer than ${maxBytes} bytes`;
    return undefined;
  };
  const problem = text('identity', identity, MAX_PSK_IDENTITY_BYTES) ?? text('endpoint', endpoint, MAX_PSK_ENDPOINT_BYTES);
  if (problem) return problem;
  if (typeof key !== 'string' || !HEX.test(key)) return 'key must be hex (an even number of hex digits, at least 2)';
  if (key.length / 2 > MAX_PSK_KEY_BYTES) return `key is longer than ${MAX_PSK_KEY_BYTES} bytes`;
  if (typeof provisionedAt !== 'number' || !Number.isFinite(provisionedAt) || provisionedAt < 0) return 'provisionedAt must be a finite number of ms since epoch, not negative';
  return undefined;
}

/** Refuses a malformed record before it is stored (a RangeError naming the field, never the key). */
export function checkCredentialRecord(record: ProvisionedPskRecord): void {
  const problem = credentialRecordProblem(record);
  if (problem) throw new RangeError(problem);
}

/** The stored fields only, in a fixed order: what every backend writes. */
export function credentialRecordJson(record: ProvisionedPskRecord): string {
  const { identity, key, endpoint, provisionedAt } = record;
  return JSON.stringify({ identity, key, endpoint, provisionedAt });
}

/**
 * A stored value read back: the frozen record, or undefined when it is not valid JSON or not a valid
 * record (then it is skipped; the reason never quotes the value, which may hold a key).
 */
export function parseCredentialRecord(value: string): ProvisionedPskRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (credentialRecordProblem(parsed) !== undefined) return undefined;
  const { identity, key, endpoint, provisionedAt } = parsed as ProvisionedPskRecord;
  return deepFreeze({ identity, key, endpoint, provisionedAt });
}
