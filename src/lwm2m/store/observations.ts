import type { JsonValue } from './json';

/** An observation the gateway made on a device, keyed by the CoAP token of its observe request. */
export interface ObservationRecord {
  /** The observe request's token: 1 to 8 bytes as lower-case hex. */
  readonly token: string;
  readonly registrationId: string;
  readonly endpoint: string;
  /** The observed path, or the paths of a composite observation (as given, normalised). */
  readonly paths: readonly string[];
  readonly composite: boolean;
  /** The content format asked for (Accept); absent when the request named none. */
  readonly contentFormat?: number;
  /** Opaque to the stores: the northbound's own data (the MQTT translator keeps the echoed fields). */
  readonly context: JsonValue;
  /** When it was made (ms since epoch): `byRegistration` lists in this order. */
  readonly createdAt: number;
}

/** Observations by token and by registration. Records are immutable as in `RegistrationRecordStore`. */
export interface ObservationStore {
  get(token: string): Promise<ObservationRecord | undefined>;
  /** A registration's observations, oldest first. */
  byRegistration(registrationId: string): Promise<readonly ObservationRecord[]>;
  /**
   * Every observation, in no particular order (restart: one pass instead of one `byRegistration`
   * per registration). Changes made while iterating may or may not be seen; removing is safe.
   */
  all(): AsyncIterable<ObservationRecord>;
  /** Stores an observation; returns the one with the same token it replaces. */
  put(record: ObservationRecord): Promise<ObservationRecord | undefined>;
  remove(token: string): Promise<ObservationRecord | undefined>;
  /** Removes every observation of a registration; returns them, oldest first. */
  removeByRegistration(registrationId: string): Promise<readonly ObservationRecord[]>;
}

const TOKEN = /^(?:[0-9a-f]{2}){1,8}$/;

/** Refuses a token that is not 1-8 bytes of lower-case hex: two spellings of one token would be two keys. */
export function checkToken(token: string): void {
  if (!TOKEN.test(token)) throw new RangeError(`observation token must be 1-8 bytes of lower-case hex: "${token}"`);
}
