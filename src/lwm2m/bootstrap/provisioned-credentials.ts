import type { PskEntry, PskLookup } from '../../transport/dtls/credentials';
import type { EndpointClaims } from '../registration/admission';
import { credentialRecordProblem, MAX_PSK_KEY_BYTES, type CredentialStore, type ProvisionedPskRecord } from '../store/credentials';
import type { ProvisionedPsk } from './bootstrap-config';

export interface ProvisionedCredentialsOptions {
  /** Most endpoints with a provisioned identity; `add` for one more is refused, nothing is evicted. */
  maxEntries: number;
  /** Clock for `provisionedAt` (ms since epoch). Default Date.now. */
  now?: () => number;
}

interface ProvisionedEntry extends PskEntry {
  endpoint: string;
  provisionedAt: number;
}

/**
 * The PSKs the bootstrap server wrote into devices for the gateway's own DM server: the DM DTLS
 * listener asks here (after the static PSK file, see `combinePskLookups`). Held in memory because
 * OpenSSL asks synchronously inside the handshake; written through to the store so that a restarted
 * gateway still accepts the device's next handshake. One identity per endpoint: provisioning an
 * endpoint again replaces its previous identity (the device's Security instance was rewritten too).
 * Keys never leave this object except as the handshake's answer.
 */
export class ProvisionedCredentials implements PskLookup, EndpointClaims {
  private readonly byIdentity = new Map<string, ProvisionedEntry>();
  private readonly byEndpoint = new Map<string, ProvisionedEntry>();
  private store: CredentialStore | undefined;
  /** Store writes in the order of the memory changes, whatever the backend does with concurrent calls. */
  private writes: Promise<unknown> = Promise.resolve();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ProvisionedCredentialsOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer: ${options.maxEntries}`);
    this.maxEntries = options.maxEntries;
    this.now = options.now ?? Date.now;
  }

  /** How many endpoints have a provisioned identity. */
  get size(): number {
    return this.byEndpoint.size;
  }

  lookupPsk(identity: string): PskEntry | undefined {
    const entry = this.byIdentity.get(identity);
    return entry && { identity: entry.identity, key: entry.key, endpoint: entry.endpoint };
  }

  isClaimed(endpoint: string): boolean {
    return this.byEndpoint.has(endpoint);
  }

  /**
   * Fills the table from `store` at start-up and keeps `store` for the write-through of later `add`s
   * (none: memory only, lost with the process). Where the store holds several identities for one
   * endpoint (a crash between writing the new one and removing the old), the newest wins and the
   * others are removed from the store. A store holding more endpoints than `maxEntries` is refused
   * (throws) once the bound is passed, before reading further. Returns how many endpoints were loaded.
   */
  async load(store?: CredentialStore): Promise<number> {
    this.store = store;
    if (!store) return 0;
    const newest = new Map<string, ProvisionedPskRecord>();
    const stale: string[] = [];
    for await (const record of store.all()) {
      const known = newest.get(record.endpoint);
      if (known && known.provisionedAt >= record.provisionedAt) {
        stale.push(record.identity);
        continue;
      }
      if (known) stale.push(known.identity);
      newest.set(record.endpoint, record);
      if (newest.size > this.maxEntries) throw tooMany(this.maxEntries);
    }
    let loaded = 0;
    for (const record of newest.values()) {
      // An `add` made before `load` is newer than anything stored.
      if (this.byEndpoint.has(record.endpoint)) {
        stale.push(record.identity);
        continue;
      }
      if (this.byIdentity.has(record.identity)) continue;
      if (this.byEndpoint.size >= this.maxEntries) throw tooMany(this.maxEntries);
      this.set({ identity: record.identity, key: Buffer.from(record.key, 'hex'), endpoint: record.endpoint, provisionedAt: record.provisionedAt });
      loaded++;
    }
    for (const identity of stale) {
      if (!this.byIdentity.has(identity)) await store.remove(identity);
    }
    return loaded;
  }

  /**
   * Why `add(psk)` would be refused (the table is full, or the identity, key or endpoint is malformed),
   * or undefined: the bootstrap session asks before writing the credential into the device.
   */
  refusal(psk: ProvisionedPsk): string | undefined {
    if (!Buffer.isBuffer(psk.key) || psk.key.length < 1 || psk.key.length > MAX_PSK_KEY_BYTES) return `provisioned PSK refused: key must be 1 to ${MAX_PSK_KEY_BYTES} bytes`;
    // The identity and endpoint as the store will check them ('00' stands in for the key, checked above).
    const problem = credentialRecordProblem({ identity: psk.identity, key: '00', endpoint: psk.endpoint, provisionedAt: 0 });
    if (problem) return `provisioned PSK refused: ${problem}`;
    // Replacing the endpoint's identity, or moving an identity from another endpoint, keeps the count.
    const grows = !this.byEndpoint.has(psk.endpoint) && !this.byIdentity.has(psk.identity);
    if (grows && this.byEndpoint.size >= this.maxEntries) return `provisioned PSK refused: credentials for ${this.maxEntries} endpoints are held already (bootstrap.max_provisioned)`;
    return undefined;
  }

  /**
   * Makes `psk` valid for the DM listener at once (memory), replacing the endpoint's previous
   * identity, then writes it through to the store. Rejects, changing nothing, when `refusal` names a
   * reason; rejects after the memory change when the store write fails (the credential then works
   * until the gateway restarts).
   */
  async add(psk: ProvisionedPsk): Promise<void> {
    const refused = this.refusal(psk);
    if (refused) throw new Error(refused);
    const entry: ProvisionedEntry = { identity: psk.identity, key: Buffer.from(psk.key), endpoint: psk.endpoint, provisionedAt: this.now() };
    const replaced = this.set(entry);
    const store = this.store;
    if (!store) return;
    const record: ProvisionedPskRecord = { identity: entry.identity, key: entry.key.toString('hex'), endpoint: entry.endpoint, provisionedAt: entry.provisionedAt };
    const write = this.writes.then(async () => {
      await store.put(record);
      if (replaced !== undefined && replaced !== entry.identity) await store.remove(replaced);
    });
    this.writes = write.catch(() => undefined);
    try {
      await write;
    } catch (err) {
      throw new Error(`the provisioned PSK of endpoint "${entry.endpoint}" was not stored (it works until the gateway restarts): ${(err as Error).message}`);
    }
  }

  /** Puts `entry` in both indexes; returns the endpoint's replaced identity, if any. */
  private set(entry: ProvisionedEntry): string | undefined {
    const previous = this.byEndpoint.get(entry.endpoint);
    if (previous) this.byIdentity.delete(previous.identity);
    // The identity moves from another endpoint: that endpoint has none left.
    const moved = this.byIdentity.get(entry.identity);
    if (moved) this.byEndpoint.delete(moved.endpoint);
    this.byIdentity.set(entry.identity, entry);
    this.byEndpoint.set(entry.endpoint, entry);
    return previous?.identity;
  }
}

function tooMany(maxEntries: number): Error {
  return new Error(`the store holds provisioned credentials for more than ${maxEntries} endpoints: raise bootstrap.max_provisioned or remove credentials`);
}

/** Asks `first` (the static PSK file, whose entries win), then `second` (provisioned ones). */
export function combinePskLookups(first: PskLookup | undefined, second: PskLookup): PskLookup {
  if (!first) return second;
  return { lookupPsk: (identity) => first.lookupPsk(identity) ?? second.lookupPsk(identity) };
}

/** An endpoint is claimed when either source claims it. */
export function combineClaims(first: EndpointClaims | undefined, second: EndpointClaims): EndpointClaims {
  if (!first) return second;
  return { isClaimed: (endpoint) => first.isClaimed(endpoint) || second.isClaimed(endpoint) };
}
