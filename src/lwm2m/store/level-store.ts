/*
 * The embedded on-disk store: LevelDB through `classic-level`.
 *
 * Measured here (Node 20, linux-x64, 2 cores, ext4-like virtual disk; 363-byte JSON records;
 * "seq" = one awaited put at a time, the gateway's pattern; "burst" = 20k puts in flight):
 *
 *   candidate                     seq put/s  burst put/s   get/s   install            install step
 *   classic-level 3.0 (no fsync)     43,700       56,200  55,700   7 MB (all OSes)    none: prebuilds inside the package
 *   classic-level sync:true           6,200       16,200  47,000
 *   lmdb 3.5 (sync, default)          2,400      171,400 250,100   18 MB (+msgpackr)  per-platform optional packages
 *   lmdb noSync                      24,400      148,500 304,300
 *   better-sqlite3 12 WAL NORMAL     49,600      229,600 203,400   28 MB after build  prebuild-install fetches from
 *   better-sqlite3 WAL FULL           6,600      245,500 202,900                      github.com: fails offline, then
 *                                                                                     compiles (59 s; needs python, g++,
 *                                                                                     node headers)
 *
 * Through this store (read, then one atomic batch per call): 13,300 registration adds plus as many
 * command appends in 1.5 s, i.e. ~8,900 of each per second, from one awaited call at a time.
 *
 * Why classic-level: it installs from the npm registry alone on every platform (binaries for linux
 * glibc/musl x64/arm/arm64, darwin, win32 ship inside the package; no optional per-platform packages,
 * which npm has been known to drop from lockfiles made on another OS, and no compiler); its I/O runs
 * on libuv's thread pool, so a write never blocks the event loop (better-sqlite3 is synchronous); and
 * 44k awaited writes/s is far above what registrations and commands need. Reads are slower than
 * lmdb's, but the gateway reads the store only at start-up (registrations stay cached in memory).
 *
 * Durability: a write resolves once LevelDB has appended it to its log with write(2), so it is in
 * the kernel: SIGTERM and kill -9 lose nothing acknowledged (test/unit/lwm2m/store checks kill -9).
 * An fsync per write would cost 7x; instead one synced write each `syncIntervalMs` (1 s) flushes the
 * log, bounding what a power loss or kernel crash can lose to about the last second.
 *
 * Key layout (every variable part URI-encoded, so '/' only separates):
 *   r/<id> → RegistrationRecord          e/<endpoint> → id
 *   o/<token> → ObservationRecord        x/<registrationId>/<token> → ''
 *   q/<endpoint>/<seq> → QueuedCommand   c/<commandId> → its q/ key     m/seq → last seq
 *   p/<identity> → ProvisionedPskRecord
 *   j/<kind>/<endpoint> → JobRecord (a firmware or software update under way)
 * One directory per gateway: LevelDB locks it, so a second process fails to open it.
 *
 * Bulk reads (`all()` of each collection, the restart's) walk one prefix range with one iterator,
 * SCAN_BATCH records per `nextv`: a restart of 100,000 devices opens three iterators, not one or two
 * per device.
 */
import { ClassicLevel } from 'classic-level';
import type { CommandQueueStore, QueuedCommandRecord } from './command-queue';
import { checkCredentialRecord, credentialRecordJson, parseCredentialRecord, type CredentialStore, type ProvisionedPskRecord } from './credentials';
import type { GatewayStore } from './gateway-store';
import { checkJobKey, checkJobRecord, jobRecordJson, parseJobRecord, type JobRecord, type JobStore } from './jobs';
import { deepFreeze } from './json';
import { sortByCreation } from './memory-store';
import { checkToken, type ObservationRecord, type ObservationStore } from './observations';
import type { RegistrationRecord, RegistrationRecordStore } from './registrations';

export interface LevelStoreOptions {
  /** How often pending writes are flushed to the disk (fsync); 0 turns the flush off. Default 1000. */
  syncIntervalMs?: number;
  /** A failed background flush, or a damaged record skipped while reading (the gateway logs it). */
  onError?: (err: Error) => void;
}

type Db = ClassicLevel<string, string>;
type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

const enc = encodeURIComponent;
/** Upper bound of a prefix range: every key part is URI-encoded ASCII. */
const END = '\uffff';
const SEQ_WIDTH = 16;
/** Records per `nextv` call in a bulk read, and the bytes such a batch may hold (classic-level stops at 16 KiB by default). */
const SCAN_BATCH = 1000;
const SCAN_BATCH_BYTES = 1024 * 1024;

/** Opens (creating if needed) the store in `dir`. */
export async function openLevelStore(dir: string, options: LevelStoreOptions = {}): Promise<GatewayStore> {
  const db: Db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  return new LevelStore(db, options);
}

/** Parses a stored record and freezes it: callers get the same immutable objects as from the memory store. */
function decode<T>(value: string | undefined): T | undefined {
  return value === undefined ? undefined : deepFreeze(JSON.parse(value) as T);
}

class LevelStore implements GatewayStore {
  readonly registrations: RegistrationRecordStore;
  readonly observations: ObservationStore;
  readonly commands: CommandQueueStore;
  readonly credentials: CredentialStore;
  readonly jobs: JobStore;
  /** Mutations run one after another: each reads, then writes one atomic batch. */
  private chain: Promise<unknown> = Promise.resolve();
  private dirty = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly db: Db,
    private readonly options: LevelStoreOptions,
  ) {
    this.registrations = new LevelRegistrations(this);
    this.observations = new LevelObservations(this);
    this.commands = new LevelCommands(this);
    this.credentials = new LevelCredentials(this, options.onError);
    this.jobs = new LevelJobs(this, options.onError);
    const interval = options.syncIntervalMs ?? 1000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.flush().catch((e: Error) => this.options.onError?.(e)), interval);
      this.timer.unref();
    }
  }

  /** Runs a mutation after the previous ones; `fn` returns the batch to write and the result. */
  mutate<T>(fn: () => Promise<[Op[], T]>): Promise<T> {
    const run = this.chain.then(async () => {
      if (this.closed) throw new Error('store is closed');
      const [ops, result] = await fn();
      if (ops.length > 0) {
        await this.db.batch(ops);
        this.dirty = true;
      }
      return result;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** A synced write makes LevelDB fsync its log, and with it every write before it. */
  private async flush(): Promise<void> {
    if (!this.dirty || this.db.status !== 'open') return;
    this.dirty = false;
    await this.db.put('m/sync', String(Date.now()), { sync: true });
  }

  async problem(): Promise<string | undefined> {
    if (this.db.status !== 'open') return `the embedded store is ${this.db.status}`;
    try {
      await this.db.get('m/sync');
      return undefined;
    } catch (err) {
      return `the embedded store cannot be read: ${(err as Error).message}`;
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.chain;
    this.closed = true;
    if (this.db.status !== 'open') return;
    await this.flush();
    await this.db.close();
  }

  async values(prefix: string): Promise<string[]> {
    return this.db.values({ gte: prefix, lt: prefix + END }).all();
  }

  /**
   * Every record under `prefix`, in key order, decoded and frozen: one iterator over a snapshot (so
   * changes meanwhile are not seen, and removing while iterating is safe), read in batches. The next
   * batch is read (on libuv's thread pool) while the caller goes through the current one.
   */
  async *scan<T>(prefix: string, parse: (value: string) => T | undefined = (value) => decode<T>(value)): AsyncGenerator<T> {
    const it = this.db.values({ gte: prefix, lt: prefix + END, highWaterMarkBytes: SCAN_BATCH_BYTES });
    let pending: Promise<string[]> | undefined = it.nextv(SCAN_BATCH);
    try {
      for (;;) {
        const batch: string[] = await pending;
        pending = undefined;
        if (batch.length === 0) break;
        pending = it.nextv(SCAN_BATCH);
        for (const value of batch) {
          const record = parse(value);
          if (record !== undefined) yield record;
        }
      }
    } finally {
      // A caller that stops early: the read under way ends before the iterator closes.
      if (pending) await pending.catch(() => undefined);
      await it.close();
    }
  }
}

class LevelRegistrations implements RegistrationRecordStore {
  constructor(private readonly s: LevelStore) {}

  async get(id: string): Promise<RegistrationRecord | undefined> {
    return decode<RegistrationRecord>(await this.s.db.get(`r/${enc(id)}`));
  }

  async byEndpoint(endpoint: string): Promise<RegistrationRecord | undefined> {
    const id = await this.s.db.get(`e/${enc(endpoint)}`);
    return id === undefined ? undefined : this.get(id);
  }

  all(): AsyncIterableIterator<RegistrationRecord> {
    // Iterates a snapshot (LevelDB iterators read one), so removing while iterating is safe.
    return this.s.scan<RegistrationRecord>('r/');
  }

  add(record: RegistrationRecord): Promise<RegistrationRecord | undefined> {
    const value = JSON.stringify(record);
    return this.s.mutate(async () => {
      const ops: Op[] = [];
      const previous = await this.byEndpoint(record.endpoint);
      if (previous && previous.id !== record.id) ops.push({ type: 'del', key: `r/${enc(previous.id)}` });
      const sameId = await this.get(record.id);
      if (sameId && sameId.endpoint !== record.endpoint) ops.push({ type: 'del', key: `e/${enc(sameId.endpoint)}` });
      ops.push({ type: 'put', key: `r/${enc(record.id)}`, value }, { type: 'put', key: `e/${enc(record.endpoint)}`, value: record.id });
      return [ops, previous];
    });
  }

  update(record: RegistrationRecord): Promise<boolean> {
    const value = JSON.stringify(record);
    return this.s.mutate(async () => {
      const old = await this.get(record.id);
      if (!old) return [[], false];
      if (old.endpoint !== record.endpoint) throw new Error(`registration ${record.id} belongs to "${old.endpoint}", not "${record.endpoint}"`);
      return [[{ type: 'put', key: `r/${enc(record.id)}`, value }], true];
    });
  }

  remove(id: string): Promise<RegistrationRecord | undefined> {
    return this.s.mutate(async () => {
      const reg = await this.get(id);
      if (!reg) return [[], undefined];
      return [[{ type: 'del', key: `r/${enc(id)}` }, { type: 'del', key: `e/${enc(reg.endpoint)}` }], reg];
    });
  }
}

class LevelObservations implements ObservationStore {
  constructor(private readonly s: LevelStore) {}

  async get(token: string): Promise<ObservationRecord | undefined> {
    return decode<ObservationRecord>(await this.s.db.get(`o/${enc(token)}`));
  }

  async byRegistration(registrationId: string): Promise<readonly ObservationRecord[]> {
    const tokens = await this.s.db.keys({ gte: `x/${enc(registrationId)}/`, lt: `x/${enc(registrationId)}/${END}` }).all();
    const values = await this.s.db.getMany(tokens.map((k) => `o/${k.slice(k.lastIndexOf('/') + 1)}`));
    return sortByCreation(values.flatMap((v) => (v === undefined ? [] : [decode<ObservationRecord>(v) as ObservationRecord])));
  }

  all(): AsyncIterableIterator<ObservationRecord> {
    // By token (key order): no particular order for the caller.
    return this.s.scan<ObservationRecord>('o/');
  }

  put(record: ObservationRecord): Promise<ObservationRecord | undefined> {
    checkToken(record.token);
    const value = JSON.stringify(record);
    return this.s.mutate(async () => {
      const previous = await this.get(record.token);
      const ops: Op[] = previous ? [{ type: 'del', key: indexKey(previous) }] : [];
      ops.push({ type: 'put', key: `o/${enc(record.token)}`, value }, { type: 'put', key: indexKey(record), value: '' });
      return [ops, previous];
    });
  }

  remove(token: string): Promise<ObservationRecord | undefined> {
    return this.s.mutate(async () => {
      const obs = await this.get(token);
      if (!obs) return [[], undefined];
      return [[{ type: 'del', key: `o/${enc(token)}` }, { type: 'del', key: indexKey(obs) }], obs];
    });
  }

  removeByRegistration(registrationId: string): Promise<readonly ObservationRecord[]> {
    return this.s.mutate(async () => {
      const list = await this.byRegistration(registrationId);
      const ops = list.flatMap((o): Op[] => [{ type: 'del', key: `o/${enc(o.token)}` }, { type: 'del', key: indexKey(o) }]);
      return [ops, list];
    });
  }
}

function indexKey(o: ObservationRecord): string {
  return `x/${enc(o.registrationId)}/${enc(o.token)}`;
}

class LevelCommands implements CommandQueueStore {
  /** The last sequence number given, read from `m/seq` on first use. */
  private seq: number | undefined;

  constructor(private readonly s: LevelStore) {}

  append(record: QueuedCommandRecord): Promise<void> {
    const value = JSON.stringify(record);
    return this.s.mutate(async () => {
      if ((await this.s.db.get(`c/${enc(record.id)}`)) !== undefined) throw new Error(`command ${record.id} is already queued`);
      this.seq ??= Number((await this.s.db.get('m/seq')) ?? 0);
      // Taken before the batch: a failed batch skips a number (harmless) and never reuses one.
      const seq = (this.seq += 1);
      const key = `q/${enc(record.endpoint)}/${String(seq).padStart(SEQ_WIDTH, '0')}`;
      const ops: Op[] = [
        { type: 'put', key, value },
        { type: 'put', key: `c/${enc(record.id)}`, value: key },
        { type: 'put', key: 'm/seq', value: String(seq) },
      ];
      return [ops, undefined];
    });
  }

  async list(endpoint: string): Promise<readonly QueuedCommandRecord[]> {
    return (await this.s.values(`q/${enc(endpoint)}/`)).map((v) => decode<QueuedCommandRecord>(v) as QueuedCommandRecord);
  }

  all(): AsyncIterableIterator<QueuedCommandRecord> {
    // Keys q/<endpoint>/<seq>: endpoint after endpoint, each queue in order (sequence numbers are zero-padded).
    return this.s.scan<QueuedCommandRecord>('q/');
  }

  remove(id: string): Promise<QueuedCommandRecord | undefined> {
    return this.s.mutate(async () => {
      const key = await this.s.db.get(`c/${enc(id)}`);
      const cmd = key === undefined ? undefined : decode<QueuedCommandRecord>(await this.s.db.get(key));
      if (key === undefined || !cmd) return [[], undefined];
      return [[{ type: 'del', key }, { type: 'del', key: `c/${enc(id)}` }], cmd];
    });
  }

  removeAll(endpoint: string): Promise<number> {
    return this.s.mutate(async () => {
      const list = await this.list(endpoint);
      const ops = list.flatMap((c): Op[] => [{ type: 'del', key: `c/${enc(c.id)}` }]);
      ops.push(...(await this.s.db.keys({ gte: `q/${enc(endpoint)}/`, lt: `q/${enc(endpoint)}/${END}` }).all()).map((key): Op => ({ type: 'del', key })));
      return [ops, list.length];
    });
  }
}

class LevelCredentials implements CredentialStore {
  constructor(
    private readonly s: LevelStore,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {}

  async put(record: ProvisionedPskRecord): Promise<void> {
    checkCredentialRecord(record);
    const value = credentialRecordJson(record);
    return this.s.mutate(async () => [[{ type: 'put', key: `p/${enc(record.identity)}`, value }], undefined]);
  }

  remove(identity: string): Promise<void> {
    return this.s.mutate(async () => [[{ type: 'del', key: `p/${enc(identity)}` }], undefined]);
  }

  all(): AsyncIterableIterator<ProvisionedPskRecord> {
    return this.s.scan<ProvisionedPskRecord>('p/', (value) => {
      const record = parseCredentialRecord(value);
      // Only that it happened: the value may hold a key.
      if (!record) this.onError?.(new Error('a damaged provisioned credential record in the embedded store was skipped'));
      return record;
    });
  }
}

/** The key of an endpoint's job of a kind (URI-encoding keeps '/' a separator only). */
export function levelJobKey(endpoint: string, kind: string): string {
  return `j/${enc(kind)}/${enc(endpoint)}`;
}

class LevelJobs implements JobStore {
  constructor(
    private readonly s: LevelStore,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {}

  async put(record: JobRecord): Promise<void> {
    checkJobRecord(record);
    const value = jobRecordJson(record);
    return this.s.mutate(async () => [[{ type: 'put', key: levelJobKey(record.endpoint, record.kind), value }], undefined]);
  }

  async remove(endpoint: string, kind: string): Promise<void> {
    checkJobKey(endpoint, kind);
    return this.s.mutate(async () => [[{ type: 'del', key: levelJobKey(endpoint, kind) }], undefined]);
  }

  all(): AsyncIterableIterator<JobRecord> {
    return this.s.scan<JobRecord>('j/', (value) => {
      const record = parseJobRecord(value);
      // Only that it happened: the value may hold a package URI with credentials.
      if (!record) this.onError?.(new Error('a damaged job record in the embedded store was skipped'));
      return record;
    });
  }
}
