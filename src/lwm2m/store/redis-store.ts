/*
 * The shared store: Redis through `ioredis`, for several gateway instances behind one load balancer.
 *
 * Key layout (P = keyPrefix, default 'lwm2m:'; every value a JSON record as the other stores keep it):
 *   P reg            hash   id → RegistrationRecord
 *   P reg:ep         hash   endpoint → id
 *   P obs            hash   token → ObservationRecord
 *   P obs:pos        hash   token → its member in the registration's sorted set
 *   P obs:seq        string last observation sequence number (INCR)
 *   P obs:reg:<rid>  zset   member "<16-digit seq><token>", score createdAt: oldest first, equal times in
 *                           the order put (members compare as strings, and the sequence leads them)
 *   P cmd            hash   command id → QueuedCommandRecord
 *   P cmd:seq        string last command sequence number (INCR)
 *   P cmd:ep:<ep>    zset   member command id, score its sequence number: the endpoint's queue in order
 *   P psk            hash   identity → ProvisionedPskRecord (a PSK the bootstrap server provisioned)
 *   P job            hash   JSON ["<kind>","<endpoint>"] → JobRecord (a firmware or software update under way)
 * A lookup is one hash or sorted-set access (O(1) or O(log n)); nothing by key uses SCAN. The `all()`
 * of registrations and observations pages through `P reg` / `P obs` with HSCAN; that of commands
 * pages through `P cmd`, then reads each endpoint's order from its `cmd:ep:` set. Every change is one Lua script, so it is atomic against other clients: two
 * instances adding the same endpoint at once leave one registration and each add returns the one it
 * replaced. The scripts derive `obs:reg:` and `cmd:ep:` keys from records they read, which Redis Cluster
 * refuses: use one Redis (with replicas or Sentinel for failover), not a cluster.
 *
 * Durability is the server's: `close()` quits the connection once the replies to every command sent
 * have arrived; what survives a Redis restart depends on its `appendonly`/`save` settings.
 */
import { Redis } from 'ioredis';
import type { SharedClaims } from './shared-claims';
import type { CommandQueueStore, QueuedCommandRecord } from './command-queue';
import { checkCredentialRecord, credentialRecordJson, parseCredentialRecord, type CredentialStore, type ProvisionedPskRecord } from './credentials';
import type { GatewayStore } from './gateway-store';
import { checkJobKey, checkJobRecord, jobKeyName, jobRecordJson, parseJobRecord, type JobRecord, type JobStore } from './jobs';
import { deepFreeze } from './json';
import { checkToken, type ObservationRecord, type ObservationStore } from './observations';
import type { RegistrationRecord, RegistrationRecordStore } from './registrations';

export interface RedisStoreOptions {
  /** Put before every key, so that several gateways (or tests) can share one Redis database. Default 'lwm2m:'. */
  keyPrefix?: string;
  /** How long `openRedisStore` waits for Redis to answer before failing. Default 5000. */
  connectTimeoutMs?: number;
  /**
   * A connection error after the store is open (ioredis reconnects on its own), or a damaged record
   * skipped while reading; the gateway logs it.
   */
  onError?: (err: Error) => void;
}

/** Records read per HSCAN reply in `all()`. */
const SCAN_COUNT = 200;
/** Endpoints whose queue order `commands.all()` asks for at once (one auto-pipelined write). */
const ORDER_BATCH = 500;
/** The scripts: each runs atomically in Redis. Keys come first (KEYS), then arguments (ARGV). */
const LUA = {
  // KEYS: reg, reg:ep; ARGV: id, endpoint, record. Returns the record replaced (same endpoint).
  regAdd: `
    local prevId = redis.call('HGET', KEYS[2], ARGV[2])
    local previous = false
    if prevId then
      previous = redis.call('HGET', KEYS[1], prevId)
      if prevId ~= ARGV[1] then redis.call('HDEL', KEYS[1], prevId) end
    end
    local same = redis.call('HGET', KEYS[1], ARGV[1])
    if same and prevId ~= ARGV[1] then
      local e = cjson.decode(same).endpoint
      if redis.call('HGET', KEYS[2], e) == ARGV[1] then redis.call('HDEL', KEYS[2], e) end
    end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
    redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
    return previous`,
  // 1: replaced; 0: no such id; a string: the stored record, whose endpoint differs.
  regUpdate: `
    local old = redis.call('HGET', KEYS[1], ARGV[1])
    if not old then return 0 end
    if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[1] then return old end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
    return 1`,
  regRemove: `
    local old = redis.call('HGET', KEYS[1], ARGV[1])
    if not old then return false end
    redis.call('HDEL', KEYS[1], ARGV[1])
    local e = cjson.decode(old).endpoint
    if redis.call('HGET', KEYS[2], e) == ARGV[1] then redis.call('HDEL', KEYS[2], e) end
    return old`,
  // KEYS: reg, reg:ep; ARGV: endpoint. Read-only: one round trip instead of two.
  regByEp: `
    local id = redis.call('HGET', KEYS[2], ARGV[1])
    if not id then return false end
    return redis.call('HGET', KEYS[1], id)`,
  // KEYS: obs, obs:pos, obs:seq; ARGV: 'P obs:reg:', token, registrationId, createdAt, record.
  obsPut: `
    local old = redis.call('HGET', KEYS[1], ARGV[2])
    if old then
      local member = redis.call('HGET', KEYS[2], ARGV[2])
      if member then redis.call('ZREM', ARGV[1] .. cjson.decode(old).registrationId, member) end
    end
    local member = string.format('%016d', redis.call('INCR', KEYS[3])) .. ARGV[2]
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[5])
    redis.call('HSET', KEYS[2], ARGV[2], member)
    redis.call('ZADD', ARGV[1] .. ARGV[3], ARGV[4], member)
    return old`,
  obsRemove: `
    local old = redis.call('HGET', KEYS[1], ARGV[2])
    if not old then return false end
    local member = redis.call('HGET', KEYS[2], ARGV[2])
    if member then redis.call('ZREM', ARGV[1] .. cjson.decode(old).registrationId, member) end
    redis.call('HDEL', KEYS[1], ARGV[2])
    redis.call('HDEL', KEYS[2], ARGV[2])
    return old`,
  // KEYS: obs, obs:reg:<rid>. Read-only.
  obsByReg: `
    local out = {}
    for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
      local v = redis.call('HGET', KEYS[1], string.sub(m, 17))
      if v then out[#out + 1] = v end
    end
    return out`,
  // KEYS: obs, obs:pos, obs:reg:<rid>.
  obsRemoveByReg: `
    local out = {}
    for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
      local token = string.sub(m, 17)
      local v = redis.call('HGET', KEYS[1], token)
      if v then out[#out + 1] = v end
      redis.call('HDEL', KEYS[1], token)
      redis.call('HDEL', KEYS[2], token)
    end
    redis.call('DEL', KEYS[3])
    return out`,
  // KEYS: cmd, cmd:seq, cmd:ep:<ep>; ARGV: id, record. 0 when the id is already queued.
  cmdAppend: `
    if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[2]), ARGV[1])
    return 1`,
  // KEYS: cmd, cmd:ep:<ep>. Read-only.
  cmdList: `
    local out = {}
    for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
      local v = redis.call('HGET', KEYS[1], id)
      if v then out[#out + 1] = v end
    end
    return out`,
  // KEYS: cmd; ARGV: 'P cmd:ep:', id.
  cmdRemove: `
    local old = redis.call('HGET', KEYS[1], ARGV[2])
    if not old then return false end
    redis.call('HDEL', KEYS[1], ARGV[2])
    redis.call('ZREM', ARGV[1] .. cjson.decode(old).endpoint, ARGV[2])
    return old`,
  // KEYS: cmd, cmd:ep:<ep>.
  cmdRemoveAll: `
    local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
    for _, id in ipairs(ids) do redis.call('HDEL', KEYS[1], id) end
    redis.call('DEL', KEYS[2])
    return #ids`,
} as const;

type ScriptName = keyof typeof LUA;
type Reply = string | number | null | string[];
/** The commands `defineCommand` adds: keys first, then arguments. */
type Scripts = Record<ScriptName, (...keysThenArgs: string[]) => Promise<Reply>>;

const NUMBER_OF_KEYS: Record<ScriptName, number> = {
  regAdd: 2, regUpdate: 2, regRemove: 2, regByEp: 2,
  obsPut: 3, obsRemove: 2, obsByReg: 2, obsRemoveByReg: 3,
  cmdAppend: 3, cmdList: 2, cmdRemove: 1, cmdRemoveAll: 2,
};
const READ_ONLY = new Set<ScriptName>(['regByEp', 'obsByReg', 'cmdList']);

/** The URL without its password, for messages: `redis://user:secret@host:6379/0` → `redis://user@host:6379/0`. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString();
  } catch {
    // Not a URL ioredis would take anyway; hide everything before the last '@' of the authority.
    return url.replace(/\/\/[^/]*@/, '//');
  }
}

/**
 * Connects to Redis at `url` (redis://[user:password@]host[:port][/db], or rediss:// for TLS) and
 * returns the store once Redis answers. Fails within `connectTimeoutMs` with an Error naming the URL
 * (never its password) when Redis cannot be reached or refuses the credentials.
 */
export async function openRedisStore(url: string, options: RedisStoreOptions = {}): Promise<GatewayStore> {
  const timeout = options.connectTimeoutMs ?? 5000;
  const where = redactRedisUrl(url);
  let opened = false;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeout,
    // While opening: no retry (fail fast). Once open: reconnect with a growing pause, up to 2 s.
    retryStrategy: (times) => (opened ? Math.min(times * 100, 2000) : null),
    // A command sent while Redis is away waits for a few reconnections, then fails.
    maxRetriesPerRequest: 3,
    // Commands issued in one tick go in one socket write (a register sends the registration and a
    // shared-claims hold; a restart's reads come in bursts).
    enableAutoPipelining: true,
  });
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError = err;
    if (opened) options.onError?.(new Error(`Redis at ${where}: ${err.message}`));
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.ping(); // a refused AUTH shows here at the latest
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
      }),
    ]);
  } catch (err) {
    // Once ended, disconnect() would only arm ioredis's 2 s timer for a stream already closed.
    if (client.status !== 'end') client.disconnect();
    // The client's own error event says why ('connect ECONNREFUSED …', 'WRONGPASS …'); the rejection
    // itself often only says 'Connection is closed.'.
    const reason = lastError?.message ?? ((err as Error).message || 'connection failed');
    throw new Error(`cannot open the Redis store at ${where}: ${scrub(reason, url)}`);
  } finally {
    clearTimeout(timer);
  }
  opened = true;
  for (const name of Object.keys(LUA) as ScriptName[]) {
    client.defineCommand(name, { lua: LUA[name], numberOfKeys: NUMBER_OF_KEYS[name], readOnly: READ_ONLY.has(name) });
  }
  return new RedisStore(client, options.keyPrefix ?? 'lwm2m:', options.onError);
}

/** Belt and braces: a message from the client never carries the password, but make sure. */
function scrub(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // no parsable password
  }
  return password ? message.split(password).join('***') : message;
}

/** Parses a stored record and freezes it: callers get the same immutable objects as from the memory store. */
function decode<T>(value: Reply | undefined): T | undefined {
  return typeof value === 'string' ? deepFreeze(JSON.parse(value) as T) : undefined;
}

function decodeAll<T>(values: Reply): T[] {
  return (values as string[]).map((v) => deepFreeze(JSON.parse(v) as T));
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Ids and endpoints become Redis keys and fields as UTF-8: a string with a lone surrogate would be
 * sent as U+FFFD, one key for several strings. Refused, as the level store refuses them.
 */
function checkName(kind: string, value: string): string {
  if (LONE_SURROGATE.test(value)) throw new RangeError(`${kind} is not well-formed Unicode: ${JSON.stringify(value)}`);
  return value;
}

class RedisStore implements GatewayStore {
  readonly registrations: RegistrationRecordStore;
  readonly observations: ObservationStore;
  readonly commands: CommandQueueStore;
  readonly credentials: CredentialStore;
  readonly jobs: JobStore;
  readonly shared: SharedClaims;
  readonly scripts: Scripts;

  constructor(
    readonly client: Redis,
    readonly prefix: string,
    onError?: (err: Error) => void,
  ) {
    this.scripts = client as unknown as Scripts;
    this.registrations = new RedisRegistrations(this);
    this.observations = new RedisObservations(this);
    this.commands = new RedisCommands(this);
    this.credentials = new RedisCredentials(this, onError);
    this.jobs = new RedisJobs(this, onError);
    this.shared = new RedisClaims(this);
  }

  async problem(): Promise<string | undefined> {
    if (this.client.status !== 'ready') return `Redis connection is ${this.client.status}`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('Redis did not answer PING within 2 s'), 2000)));
    try {
      return await Promise.race([this.client.ping().then(() => undefined), timeout]);
    } catch (err) {
      return `Redis PING failed: ${(err as Error).message}`;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    const ended = new Promise<void>((resolve) => this.client.once('end', () => resolve()));
    try {
      // QUIT goes after every command already sent, so their replies arrive first.
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
    await ended;
  }

  /**
   * The fields and values of a hash, SCAN_COUNT per reply. HSCAN may return a field twice (the hash
   * resized meanwhile): fields seen are remembered. A field removed during the iteration is not
   * returned once HSCAN has not reached it yet.
   */
  async *hscan(key: string): AsyncGenerator<[field: string, value: string]> {
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.client.hscan(key, cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        if (seen.has(flat[i])) continue;
        seen.add(flat[i]);
        yield [flat[i], flat[i + 1]];
      }
    } while (cursor !== '0');
  }
}

class RedisRegistrations implements RegistrationRecordStore {
  private readonly reg: string;
  private readonly ep: string;

  constructor(private readonly s: RedisStore) {
    this.reg = `${s.prefix}reg`;
    this.ep = `${s.prefix}reg:ep`;
  }

  async get(id: string): Promise<RegistrationRecord | undefined> {
    return decode<RegistrationRecord>(await this.s.client.hget(this.reg, checkName('registration id', id)));
  }

  async byEndpoint(endpoint: string): Promise<RegistrationRecord | undefined> {
    return decode<RegistrationRecord>(await this.s.scripts.regByEp(this.reg, this.ep, checkName('endpoint', endpoint)));
  }

  async *all(): AsyncIterableIterator<RegistrationRecord> {
    for await (const [, value] of this.s.hscan(this.reg)) yield decode<RegistrationRecord>(value) as RegistrationRecord;
  }

  async add(record: RegistrationRecord): Promise<RegistrationRecord | undefined> {
    const value = JSON.stringify(record);
    const reply = await this.s.scripts.regAdd(this.reg, this.ep, checkName('registration id', record.id), checkName('endpoint', record.endpoint), value);
    return decode<RegistrationRecord>(reply);
  }

  async update(record: RegistrationRecord): Promise<boolean> {
    const value = JSON.stringify(record);
    const reply = await this.s.scripts.regUpdate(this.reg, this.ep, checkName('registration id', record.id), checkName('endpoint', record.endpoint), value);
    if (typeof reply === 'string') {
      const old = JSON.parse(reply) as RegistrationRecord;
      throw new Error(`registration ${record.id} belongs to "${old.endpoint}", not "${record.endpoint}"`);
    }
    return reply === 1;
  }

  async remove(id: string): Promise<RegistrationRecord | undefined> {
    return decode<RegistrationRecord>(await this.s.scripts.regRemove(this.reg, this.ep, checkName('registration id', id)));
  }
}

class RedisObservations implements ObservationStore {
  private readonly obs: string;
  private readonly pos: string;
  private readonly seq: string;
  private readonly byReg: string;

  constructor(private readonly s: RedisStore) {
    this.obs = `${s.prefix}obs`;
    this.pos = `${s.prefix}obs:pos`;
    this.seq = `${s.prefix}obs:seq`;
    this.byReg = `${s.prefix}obs:reg:`;
  }

  async get(token: string): Promise<ObservationRecord | undefined> {
    return decode<ObservationRecord>(await this.s.client.hget(this.obs, token));
  }

  async byRegistration(registrationId: string): Promise<readonly ObservationRecord[]> {
    return decodeAll<ObservationRecord>(await this.s.scripts.obsByReg(this.obs, this.byReg + checkName('registration id', registrationId)));
  }

  async *all(): AsyncIterableIterator<ObservationRecord> {
    for await (const [, value] of this.s.hscan(this.obs)) yield decode<ObservationRecord>(value) as ObservationRecord;
  }

  async put(record: ObservationRecord): Promise<ObservationRecord | undefined> {
    checkToken(record.token);
    checkName('registration id', record.registrationId);
    if (!Number.isFinite(record.createdAt)) throw new RangeError(`observation createdAt must be a finite number: ${record.createdAt}`);
    const value = JSON.stringify(record);
    const reply = await this.s.scripts.obsPut(this.obs, this.pos, this.seq, this.byReg, record.token, record.registrationId, String(record.createdAt), value);
    return decode<ObservationRecord>(reply);
  }

  async remove(token: string): Promise<ObservationRecord | undefined> {
    return decode<ObservationRecord>(await this.s.scripts.obsRemove(this.obs, this.pos, this.byReg, token));
  }

  async removeByRegistration(registrationId: string): Promise<readonly ObservationRecord[]> {
    return decodeAll<ObservationRecord>(await this.s.scripts.obsRemoveByReg(this.obs, this.pos, this.byReg + checkName('registration id', registrationId)));
  }
}

class RedisCommands implements CommandQueueStore {
  private readonly cmd: string;
  private readonly seq: string;
  private readonly queue: string;

  constructor(private readonly s: RedisStore) {
    this.cmd = `${s.prefix}cmd`;
    this.seq = `${s.prefix}cmd:seq`;
    this.queue = `${s.prefix}cmd:ep:`;
  }

  async append(record: QueuedCommandRecord): Promise<void> {
    const value = JSON.stringify(record);
    const queue = this.queue + checkName('endpoint', record.endpoint);
    const added = await this.s.scripts.cmdAppend(this.cmd, this.seq, queue, checkName('command id', record.id), value);
    if (added !== 1) throw new Error(`command ${record.id} is already queued`);
  }

  async list(endpoint: string): Promise<readonly QueuedCommandRecord[]> {
    return decodeAll<QueuedCommandRecord>(await this.s.scripts.cmdList(this.cmd, this.queue + checkName('endpoint', endpoint)));
  }

  /**
   * Every command by endpoint (the whole hash is read first: the caller wants them all anyway), then
   * each endpoint's queue order from its sorted set, ORDER_BATCH endpoints per round trip. A command
   * no longer in its set was removed meanwhile and is left out.
   */
  async *all(): AsyncIterableIterator<QueuedCommandRecord> {
    const byEndpoint = new Map<string, Map<string, QueuedCommandRecord>>();
    for await (const [, value] of this.s.hscan(this.cmd)) {
      const cmd = decode<QueuedCommandRecord>(value) as QueuedCommandRecord;
      let queue = byEndpoint.get(cmd.endpoint);
      if (!queue) byEndpoint.set(cmd.endpoint, (queue = new Map()));
      queue.set(cmd.id, cmd);
    }
    const endpoints = [...byEndpoint.keys()];
    for (let i = 0; i < endpoints.length; i += ORDER_BATCH) {
      const batch = endpoints.slice(i, i + ORDER_BATCH);
      const orders = await Promise.all(batch.map((endpoint) => this.s.client.zrange(this.queue + endpoint, 0, -1)));
      for (let j = 0; j < batch.length; j++) {
        const queue = byEndpoint.get(batch[j]) as Map<string, QueuedCommandRecord>;
        for (const id of orders[j]) {
          const cmd = queue.get(id);
          if (cmd) yield cmd;
        }
      }
    }
  }

  async remove(id: string): Promise<QueuedCommandRecord | undefined> {
    return decode<QueuedCommandRecord>(await this.s.scripts.cmdRemove(this.cmd, this.queue, checkName('command id', id)));
  }

  async removeAll(endpoint: string): Promise<number> {
    return (await this.s.scripts.cmdRemoveAll(this.cmd, this.queue + checkName('endpoint', endpoint))) as number;
  }
}

/** Provisioned PSKs: one hash, identity → record. */
class RedisCredentials implements CredentialStore {
  private readonly hash: string;

  constructor(
    private readonly s: RedisStore,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {
    this.hash = `${s.prefix}psk`;
  }

  async put(record: ProvisionedPskRecord): Promise<void> {
    checkCredentialRecord(record);
    await this.s.client.hset(this.hash, record.identity, credentialRecordJson(record));
  }

  async remove(identity: string): Promise<void> {
    await this.s.client.hdel(this.hash, checkName('PSK identity', identity));
  }

  async *all(): AsyncIterableIterator<ProvisionedPskRecord> {
    for await (const [identity, value] of this.s.hscan(this.hash)) {
      const record = parseCredentialRecord(value);
      // A record filed under another identity is as damaged as one that does not parse.
      if (record && record.identity === identity) yield record;
      // The identity only: the value may hold a key.
      else this.onError?.(new Error(`a damaged provisioned credential record in Redis (${this.hash} field ${JSON.stringify(identity)}) was skipped`));
    }
  }
}

/** Device-management jobs: one hash, `jobKeyName(endpoint, kind)` → record. */
class RedisJobs implements JobStore {
  private readonly hash: string;

  constructor(
    private readonly s: RedisStore,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {
    this.hash = `${s.prefix}job`;
  }

  async put(record: JobRecord): Promise<void> {
    // Also refuses lone surrogates, which Redis would store as U+FFFD (one field for several endpoints).
    checkJobRecord(record);
    await this.s.client.hset(this.hash, jobKeyName(record.endpoint, record.kind), jobRecordJson(record));
  }

  async remove(endpoint: string, kind: string): Promise<void> {
    checkJobKey(endpoint, kind);
    await this.s.client.hdel(this.hash, jobKeyName(endpoint, kind));
  }

  async *all(): AsyncIterableIterator<JobRecord> {
    for await (const [field, value] of this.s.hscan(this.hash)) {
      const record = parseJobRecord(value);
      // A record filed under another field is as damaged as one that does not parse.
      if (record && jobKeyName(record.endpoint, record.kind) === field) yield record;
      // The field only (capped: it may be anything): the value may hold a package URI with credentials.
      else this.onError?.(new Error(`a damaged job record in Redis (${this.hash} field ${JSON.stringify(field.length > 200 ? `${field.slice(0, 200)}...` : field)}) was skipped`));
    }
  }
}

/**
 * Claims between instances: `P hold` (hash key → owner) and `P once:<key>` (SET NX PX). Releasing
 * compares the owner in one script, so an instance never ends another's hold.
 */
class RedisClaims implements SharedClaims {
  private readonly hash: string;

  constructor(private readonly s: RedisStore) {
    this.hash = `${s.prefix}hold`;
  }

  async hold(key: string, owner: string): Promise<void> {
    await this.s.client.hset(this.hash, checkName('claim key', key), checkName('owner', owner));
  }

  async release(key: string, owner: string): Promise<void> {
    await this.s.client.eval("if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0", 1, this.hash, checkName('claim key', key), owner);
  }

  async holder(key: string): Promise<string | undefined> {
    return (await this.s.client.hget(this.hash, checkName('claim key', key))) ?? undefined;
  }

  async once(key: string, ttlMs: number): Promise<boolean> {
    return (await this.s.client.set(`${this.s.prefix}once:${checkName('claim key', key)}`, '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
  }
}
