import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { Redis } from 'ioredis';
import { PskFile } from '../../../../src/app/psk-file';
import type { ProvisionedPsk } from '../../../../src/lwm2m/bootstrap/bootstrap-config';
import { combineClaims, combinePskLookups, ProvisionedCredentials } from '../../../../src/lwm2m/bootstrap/provisioned-credentials';
import { createMemoryStore, openLevelStore, openRedisStore, type CredentialStore, type GatewayStore, type ProvisionedPskRecord } from '../../../../src/lwm2m/store';
import { loadNativeDtls } from '../../../../src/transport/dtls/native-binding';
import { DtlsTransport } from '../../../../src/transport/dtls-transport';
import type { Peer } from '../../../../src/transport/transport';
import { DtlsClientTransport } from '../../../support/dtls-client-transport';
import { redisServerAvailable, startRedisServer } from '../../../support/redis-server';

const KEY_1 = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const KEY_2 = Buffer.from('ffeeddccbbaa99887766554433221100', 'hex');

function psk(identity: string, endpoint: string, key: Buffer = KEY_1): ProvisionedPsk {
  return { identity, key, endpoint };
}

async function collect(store: CredentialStore): Promise<ProvisionedPskRecord[]> {
  const out: ProvisionedPskRecord[] = [];
  for await (const r of store.all()) out.push(r);
  return out.sort((a, b) => a.identity.localeCompare(b.identity));
}

/** A clock that ticks one ms per call: provisioning order is visible in provisionedAt. */
function ticking(start = 1_700_000_000_000): () => number {
  let t = start;
  return () => t++;
}

describe('ProvisionedCredentials', () => {
  it('answers lookups and claims for what was added, and nothing else', async () => {
    const creds = new ProvisionedCredentials({ maxEntries: 10 });
    await creds.load();
    await creds.add(psk('id-1', 'urn:imei:1'));
    expect(creds.lookupPsk('id-1')).toEqual({ identity: 'id-1', key: KEY_1, endpoint: 'urn:imei:1' });
    expect(creds.lookupPsk('id-2')).toBeUndefined();
    expect(creds.isClaimed('urn:imei:1')).toBe(true);
    expect(creds.isClaimed('id-1')).toBe(false);
    expect(creds.size).toBe(1);
  });

  it('keeps its own copy of the key', async () => {
    const key = Buffer.from(KEY_1);
    const creds = new ProvisionedCredentials({ maxEntries: 10 });
    await creds.add(psk('id-1', 'ep', key));
    key.fill(0);
    expect(creds.lookupPsk('id-1')?.key).toEqual(KEY_1);
  });

  it('provisioning an endpoint again replaces its identity, in memory and in the store', async () => {
    const store = createMemoryStore();
    const creds = new ProvisionedCredentials({ maxEntries: 10, now: ticking() });
    await creds.load(store.credentials);
    await creds.add(psk('id-old', 'ep'));
    await creds.add(psk('id-other', 'ep-other'));
    await creds.add(psk('id-new', 'ep', KEY_2));
    expect(creds.lookupPsk('id-old')).toBeUndefined();
    expect(creds.lookupPsk('id-new')).toEqual({ identity: 'id-new', key: KEY_2, endpoint: 'ep' });
    expect(creds.size).toBe(2);
    expect((await collect(store.credentials)).map((r) => [r.identity, r.endpoint, r.key])).toEqual([
      ['id-new', 'ep', KEY_2.toString('hex')],
      ['id-other', 'ep-other', KEY_1.toString('hex')],
    ]);
    // The same identity with a new key: one record, the new key.
    await creds.add(psk('id-new', 'ep', KEY_1));
    expect(creds.lookupPsk('id-new')?.key).toEqual(KEY_1);
    expect((await collect(store.credentials)).map((r) => r.identity)).toEqual(['id-new', 'id-other']);
  });

  it('an identity provisioned for another endpoint leaves the first endpoint without one', async () => {
    const creds = new ProvisionedCredentials({ maxEntries: 10 });
    await creds.add(psk('shared', 'ep-a'));
    await creds.add(psk('shared', 'ep-b'));
    expect(creds.lookupPsk('shared')?.endpoint).toBe('ep-b');
    expect(creds.isClaimed('ep-a')).toBe(false);
    expect(creds.isClaimed('ep-b')).toBe(true);
    expect(creds.size).toBe(1);
  });

  it('refuses one endpoint more than maxEntries, evicting nothing; replacing stays possible', async () => {
    const store = createMemoryStore();
    const creds = new ProvisionedCredentials({ maxEntries: 2 });
    await creds.load(store.credentials);
    await creds.add(psk('id-a', 'ep-a'));
    await creds.add(psk('id-b', 'ep-b'));
    expect(creds.refusal(psk('id-c', 'ep-c'))).toMatch(/2 endpoints.*bootstrap.max_provisioned/);
    await expect(creds.add(psk('id-c', 'ep-c'))).rejects.toThrow(/bootstrap.max_provisioned/);
    expect(creds.lookupPsk('id-c')).toBeUndefined();
    expect(creds.isClaimed('ep-c')).toBe(false);
    expect(creds.lookupPsk('id-a')?.endpoint).toBe('ep-a');
    expect(creds.lookupPsk('id-b')?.endpoint).toBe('ep-b');
    // Replacing an endpoint's identity, or moving an identity, does not grow the table.
    expect(creds.refusal(psk('id-a2', 'ep-a'))).toBeUndefined();
    await creds.add(psk('id-a2', 'ep-a'));
    await creds.add(psk('id-b', 'ep-c'));
    expect(creds.size).toBe(2);
    expect((await collect(store.credentials)).map((r) => [r.identity, r.endpoint])).toEqual([
      ['id-a2', 'ep-a'],
      ['id-b', 'ep-c'],
    ]);
    expect(() => new ProvisionedCredentials({ maxEntries: 0 })).toThrow(/maxEntries/);
  });

  it('refuses a malformed identity, key or endpoint, naming the field and never the key', async () => {
    const creds = new ProvisionedCredentials({ maxEntries: 10 });
    const cases: Array<[ProvisionedPsk, RegExp]> = [
      [psk('', 'ep'), /identity/],
      [psk('i'.repeat(129), 'ep'), /identity.*128 bytes/],
      [psk('id', ''), /endpoint/],
      [psk('id', 'ep', Buffer.alloc(0)), /key/],
      [psk('id', 'ep', Buffer.alloc(257, 0xab)), /key must be 1 to 256 bytes/],
    ];
    for (const [bad, field] of cases) {
      const error = await creds.add(bad).then(
        () => new Error('added'),
        (err: Error) => err,
      );
      expect(error.message).toMatch(field);
      expect(error.message).not.toContain(KEY_1.toString('hex'));
      expect(error.message).not.toContain('abab');
    }
    expect(creds.size).toBe(0);
  });

  it('loads from a store: the newest identity per endpoint wins and stale ones leave the store', async () => {
    const store = createMemoryStore();
    await store.credentials.put({ identity: 'id-1', key: KEY_1.toString('hex'), endpoint: 'ep-1', provisionedAt: 10 });
    await store.credentials.put({ identity: 'id-1-old', key: KEY_2.toString('hex'), endpoint: 'ep-1', provisionedAt: 5 });
    await store.credentials.put({ identity: 'id-2', key: KEY_2.toString('hex'), endpoint: 'ep-2', provisionedAt: 1 });
    const creds = new ProvisionedCredentials({ maxEntries: 10 });
    expect(await creds.load(store.credentials)).toBe(2);
    expect(creds.lookupPsk('id-1')).toEqual({ identity: 'id-1', key: KEY_1, endpoint: 'ep-1' });
    expect(creds.lookupPsk('id-2')).toEqual({ identity: 'id-2', key: KEY_2, endpoint: 'ep-2' });
    expect(creds.lookupPsk('id-1-old')).toBeUndefined();
    expect((await collect(store.credentials)).map((r) => r.identity)).toEqual(['id-1', 'id-2']);
    // Later adds write through to the store it was loaded from.
    await creds.add(psk('id-2b', 'ep-2'));
    expect((await collect(store.credentials)).map((r) => r.identity)).toEqual(['id-1', 'id-2b']);
  });

  it('refuses a store holding more endpoints than maxEntries', async () => {
    const store = createMemoryStore();
    for (let i = 0; i < 4; i++) await store.credentials.put({ identity: `id-${i}`, key: 'aa', endpoint: `ep-${i}`, provisionedAt: i });
    await expect(new ProvisionedCredentials({ maxEntries: 3 }).load(store.credentials)).rejects.toThrow(/more than 3 endpoints/);
    expect(await new ProvisionedCredentials({ maxEntries: 4 }).load(store.credentials)).toBe(4);
  });

  it('a failed store write rejects naming the endpoint, and the credential still works until restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lwm2m-creds-'));
    try {
      const store = await openLevelStore(dir);
      const creds = new ProvisionedCredentials({ maxEntries: 10 });
      await creds.load(store.credentials);
      await store.close();
      const error = await creds.add(psk('id-1', 'ep-1')).then(
        () => new Error('stored'),
        (err: Error) => err,
      );
      expect(error.message).toMatch(/"ep-1" was not stored.*store is closed/);
      expect(error.message).not.toContain(KEY_1.toString('hex'));
      expect(creds.lookupPsk('id-1')?.key).toEqual(KEY_1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('combinators', () => {
    let dir = '';
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lwm2m-psk-'));
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('the static PSK file wins over a provisioned entry; either claims an endpoint', async () => {
      const file = join(dir, 'psk.yaml');
      await writeFile(file, '- identity: both\n  key: "aabbccdd"\n  endpoint: ep-file\n- identity: file-only\n  key: "01"\n');
      const pskFile = PskFile.load(file);
      const creds = new ProvisionedCredentials({ maxEntries: 10 });
      await creds.add(psk('both', 'ep-provisioned'));
      await creds.add(psk('provisioned-only', 'ep-p2', KEY_2));

      const lookup = combinePskLookups(pskFile, creds);
      expect(lookup.lookupPsk('both')).toEqual({ identity: 'both', key: Buffer.from('aabbccdd', 'hex'), endpoint: 'ep-file' });
      expect(lookup.lookupPsk('file-only')?.key).toEqual(Buffer.from('01', 'hex'));
      expect(lookup.lookupPsk('provisioned-only')).toEqual({ identity: 'provisioned-only', key: KEY_2, endpoint: 'ep-p2' });
      expect(lookup.lookupPsk('none')).toBeUndefined();
      expect(combinePskLookups(undefined, creds).lookupPsk('both')?.endpoint).toBe('ep-provisioned');

      const claims = combineClaims(pskFile, creds);
      expect(['ep-file', 'file-only', 'ep-provisioned', 'ep-p2', 'nobody'].map((ep) => claims.isClaimed(ep))).toEqual([true, true, true, true, false]);
      expect(combineClaims(undefined, creds).isClaimed('ep-file')).toBe(false);
    });
  });
});

describe('ProvisionedCredentials with the embedded store', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lwm2m-creds-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a restarted gateway finds what was provisioned, and skips a damaged record without quoting it', async () => {
    let store: GatewayStore = await openLevelStore(dir);
    let creds = new ProvisionedCredentials({ maxEntries: 10 });
    await creds.load(store.credentials);
    await creds.add(psk('id-1', 'ep-1'));
    await creds.add(psk('id-2', 'ep-2'));
    await creds.add(psk('id-1b', 'ep-1', KEY_2));
    await store.close();

    // Damage: a value that is not JSON, and one that is JSON but no record (no key).
    const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.put('p/broken', '{"identity":"broken","key":"c0ffee');
    await db.put('p/keyless', JSON.stringify({ identity: 'keyless', endpoint: 'ep-k', provisionedAt: 1, secretish: 'c0ffee' }));
    await db.close();

    const reported: Error[] = [];
    store = await openLevelStore(dir, { onError: (err) => reported.push(err) });
    try {
      creds = new ProvisionedCredentials({ maxEntries: 10 });
      expect(await creds.load(store.credentials)).toBe(2);
      expect(creds.lookupPsk('id-1b')).toEqual({ identity: 'id-1b', key: KEY_2, endpoint: 'ep-1' });
      expect(creds.lookupPsk('id-2')).toEqual({ identity: 'id-2', key: KEY_1, endpoint: 'ep-2' });
      expect(creds.lookupPsk('id-1')).toBeUndefined();
      expect(creds.lookupPsk('keyless')).toBeUndefined();
      expect(reported).toHaveLength(2);
      for (const err of reported) expect(err.message).not.toMatch(/c0ffee/);
    } finally {
      await store.close();
    }
  });

  it('the DM DTLS listener accepts a provisioned identity, also after a restart', async () => {
    const loaded = loadNativeDtls();
    if (!loaded.ok) throw new Error(`the DTLS addon must be built by npm ci: ${loaded.reason}`);
    // node-dtls-client takes the key as text: an ASCII key.
    const key = Buffer.from('provisioned-key-1');
    const gatewayWith = (creds: ProvisionedCredentials) =>
      DtlsTransport.bind(loaded.binding, { host: '127.0.0.1', port: 0, ciphers: 'PSK-AES128-CCM8', verifyPeer: false, psk: combinePskLookups(undefined, creds), sessionTimeoutMs: 60_000, maxSessions: 10 });
    const handshake = (gateway: DtlsTransport) => DtlsClientTransport.connect({ gateway: { host: '127.0.0.1', port: gateway.address().port }, identity: 'dev-psk', key: key.toString(), timeoutMs: 2000 });

    let store = await openLevelStore(dir);
    let creds = new ProvisionedCredentials({ maxEntries: 10 });
    await creds.load(store.credentials);
    let gateway = await gatewayWith(creds);
    try {
      await expect(handshake(gateway)).rejects.toThrow();
      await creds.add({ identity: 'dev-psk', key, endpoint: 'urn:dev:psk' });
      const device = await handshake(gateway);
      const seen = new Promise<Peer>((resolve) => gateway.once('datagram', (_bytes: Buffer, peer: Peer) => resolve(peer)));
      device.send({ address: '127.0.0.1', port: gateway.address().port }, Buffer.from('hello'));
      expect((await seen).identity).toEqual({ kind: 'psk', name: 'dev-psk', endpoints: ['urn:dev:psk'] });
      await device.close();
    } finally {
      await gateway.close();
      await store.close();
    }

    // The restart: a new store handle, a new table, a new listener.
    store = await openLevelStore(dir);
    creds = new ProvisionedCredentials({ maxEntries: 10 });
    expect(await creds.load(store.credentials)).toBe(1);
    gateway = await gatewayWith(creds);
    try {
      const device = await handshake(gateway);
      await device.close();
    } finally {
      await gateway.close();
      await store.close();
    }
  });
});

/* Against a real redis-server; without one this says so in one passing test (no skipped test). */
if (!redisServerAvailable()) {
  it('provisioned credentials in Redis: NOT RUN, redis-server not found; install the Debian package redis-server', () => {
    expect(redisServerAvailable()).toBe(false);
  });
} else {
  describe('ProvisionedCredentials with the Redis store', () => {
    it('loads what another instance provisioned, skipping a damaged or misfiled record without quoting it', async () => {
      const server = await startRedisServer();
      const raw = new Redis(server.url);
      try {
        const writer = await openRedisStore(server.url, { keyPrefix: 'c:' });
        const first = new ProvisionedCredentials({ maxEntries: 10 });
        await first.load(writer.credentials);
        await first.add(psk('id-1', 'ep-1'));
        await writer.close();

        await raw.hset('c:psk', 'broken', 'c0ffee{');
        await raw.hset('c:psk', 'misfiled', JSON.stringify({ identity: 'other', key: 'c0ffee', endpoint: 'ep-m', provisionedAt: 1 }));
        const reported: Error[] = [];
        const reader = await openRedisStore(server.url, { keyPrefix: 'c:', onError: (err) => reported.push(err) });
        try {
          const second = new ProvisionedCredentials({ maxEntries: 10 });
          expect(await second.load(reader.credentials)).toBe(1);
          expect(second.lookupPsk('id-1')).toEqual({ identity: 'id-1', key: KEY_1, endpoint: 'ep-1' });
          expect(second.lookupPsk('other')).toBeUndefined();
          expect(reported.map((e) => e.message).sort()).toEqual([expect.stringContaining('"broken"'), expect.stringContaining('"misfiled"')]);
          for (const err of reported) expect(err.message).not.toMatch(/c0ffee/);
        } finally {
          await reader.close();
        }
      } finally {
        await raw.quit();
        await server.stop();
      }
    });
  });
}
