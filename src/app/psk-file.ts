import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { EndpointClaims } from '../lwm2m/registration/admission';
import type { PskEntry, PskLookup } from '../transport/dtls/credentials';
import { ConfigError } from './config';

/** RFC 4279 §5.3: identities up to 2^16 bytes, but OpenSSL's PSK callback takes at most 128. */
const MAX_IDENTITY_BYTES = 128;
/** OpenSSL's PSK_MAX_PSK_LEN. */
const MAX_KEY_BYTES = 256;

/**
 * The pre-shared keys of `listeners.dtls.psk_file`, a YAML list of `{identity, key (hex), endpoint?}`,
 * held in memory because OpenSSL asks for a key synchronously inside the handshake. `reload()` swaps
 * the whole table at once (SIGHUP); established sessions are untouched.
 */
export class PskFile implements PskLookup, EndpointClaims {
  private entries: ReadonlyMap<string, PskEntry>;
  /** The endpoint each entry binds (its `endpoint`, else its identity): never registrable without a credential. */
  private claimed: ReadonlySet<string>;

  private constructor(
    readonly file: string,
    entries: ReadonlyMap<string, PskEntry>,
  ) {
    this.entries = entries;
    this.claimed = claimedEndpoints(entries);
  }

  /** Reads the file; a bad file throws a ConfigError naming the entry and field. */
  static load(file: string): PskFile {
    return new PskFile(file, readPskFile(file));
  }

  get size(): number {
    return this.entries.size;
  }

  lookupPsk(identity: string): PskEntry | undefined {
    return this.entries.get(identity);
  }

  isClaimed(endpoint: string): boolean {
    return this.claimed.has(endpoint);
  }

  /** Reads the file again; on error the old keys stay and the error is thrown for the caller to log. */
  reload(): number {
    const entries = readPskFile(this.file);
    this.entries = entries;
    this.claimed = claimedEndpoints(entries);
    return entries.size;
  }
}

function claimedEndpoints(entries: ReadonlyMap<string, PskEntry>): Set<string> {
  const claimed = new Set<string>();
  for (const e of entries.values()) claimed.add(e.endpoint ?? e.identity);
  return claimed;
}

export function readPskFile(file: string): Map<string, PskEntry> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { source: file });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`YAML syntax error: ${(err as Error).message}`, { source: file });
  }
  return parsePskEntries(doc ?? [], file);
}

/** Validates a parsed PSK document: a list of entries with unique identities. */
export function parsePskEntries(doc: unknown, source: string): Map<string, PskEntry> {
  if (!Array.isArray(doc)) throw new ConfigError('must be a list of {identity, key, endpoint?}', { source });
  const entries = new Map<string, PskEntry>();
  doc.forEach((item: unknown, i) => {
    const at = (field?: string) => ({ source, key: field ? `[${i}].${field}` : `[${i}]` });
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new ConfigError('must be a mapping {identity, key, endpoint?}', at());
    const record = item as Record<string, unknown>;
    for (const field of Object.keys(record)) {
      if (!['identity', 'key', 'endpoint'].includes(field)) throw new ConfigError('unknown key', at(field));
    }
    const { identity, key, endpoint } = record;
    if (typeof identity !== 'string' || identity === '') throw new ConfigError('must be a non-empty string', at('identity'));
    if (Buffer.byteLength(identity) > MAX_IDENTITY_BYTES) throw new ConfigError(`longer than ${MAX_IDENTITY_BYTES} bytes`, at('identity'));
    if (typeof key === 'number') throw new ConfigError('must be a quoted string: YAML reads unquoted digits as a number, losing leading zeros', at('key'));
    if (typeof key !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(key)) throw new ConfigError('must be the key in hex (an even number of hex digits)', at('key'));
    if (key.length / 2 > MAX_KEY_BYTES) throw new ConfigError(`longer than ${MAX_KEY_BYTES} bytes`, at('key'));
    if (endpoint !== undefined && (typeof endpoint !== 'string' || endpoint === '')) throw new ConfigError('must be a non-empty string', at('endpoint'));
    if (entries.has(identity)) throw new ConfigError(`duplicate identity "${identity}"`, at('identity'));
    entries.set(identity, { identity, key: Buffer.from(key, 'hex'), endpoint: endpoint as string | undefined });
  });
  return entries;
}
