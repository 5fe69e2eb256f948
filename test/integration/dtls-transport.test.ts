import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { DtlsClientContext, type DtlsClient } from '../../bench/dtls-client';
import type { PskEntry } from '../../src/transport/dtls/credentials';
import { loadNativeDtls, type NativeDtls } from '../../src/transport/dtls/native-binding';
import { DtlsTransport, type DtlsTransportOptions } from '../../src/transport/dtls-transport';
import type { Peer } from '../../src/transport/transport';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '../fixtures/dtls', name));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const loaded = loadNativeDtls();
if (!loaded.ok) throw new Error(`the DTLS addon must be built by npm ci: ${loaded.reason}`);
const native: NativeDtls = loaded.binding;

const KEYS: Record<string, PskEntry> = {
  'dev-1': { identity: 'dev-1', key: Buffer.from('00112233445566778899aabbccddeeff', 'hex') },
  'dev-2': { identity: 'dev-2', key: Buffer.from('0102030405060708', 'hex'), endpoint: 'urn:dev:2' },
};

interface Received {
  bytes: Buffer;
  peer: Peer;
}

/**
 * The DTLS transport over real sockets, with the addon in client mode as the devices: sessions,
 * identities, restarts, spoofing, replay, limits and timeouts.
 */
describe('DtlsTransport', () => {
  let server: DtlsTransport;
  let received: Received[];
  let ended: { peer: Peer; reason: string }[];
  const sockets: dgram.Socket[] = [];

  async function start(overrides: Partial<DtlsTransportOptions> = {}): Promise<void> {
    server = await DtlsTransport.bind(native, {
      host: '127.0.0.1',
      port: 0,
      ciphers: 'PSK-AES128-CCM8:PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256:ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256',
      cert: fixture('server.pem'),
      key: fixture('server.key.pem'),
      ca: fixture('ca.pem'),
      verifyPeer: true,
      psk: { lookupPsk: (identity) => KEYS[identity] },
      sessionTimeoutMs: 60_000,
      maxSessions: 100,
      ...overrides,
    });
    received = [];
    ended = [];
    server.on('datagram', (bytes: Buffer, peer: Peer) => received.push({ bytes, peer }));
    server.on('sessionEnd', (peer: Peer, reason: string) => ended.push({ peer, reason }));
  }

  function socket(port = 0): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    sockets.push(s);
    return new Promise((resolve) => s.bind(port, '127.0.0.1', () => resolve(s)));
  }

  const gateway = (): Peer => ({ address: '127.0.0.1', port: server.address().port });

  async function pskClient(identity: string, key: Buffer, ciphers = 'PSK-AES128-CCM8', s?: dgram.Socket): Promise<DtlsClient> {
    const ctx = new DtlsClientContext(native, { ciphers, psk: { identity, key } });
    return ctx.connect(s ?? (await socket()), gateway(), 3000);
  }

  async function waitFor<T>(get: () => T | undefined, ms = 3000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error('timed out');
      await sleep(10);
    }
  }

  afterEach(async () => {
    await server?.close();
    for (const s of sockets.splice(0)) s.close();
  });

  it.each(['PSK-AES128-CCM8', 'PSK-AES128-GCM-SHA256', 'PSK-AES128-CBC-SHA256'])('%s: data both ways with the PSK identity on the peer', async (cipher) => {
    await start();
    const client = await pskClient('dev-1', KEYS['dev-1'].key, cipher);
    const echoed = new Promise<Buffer>((resolve) => client.once('datagram', resolve));
    client.send(gateway(), Buffer.from('hello'));
    const got = await waitFor(() => received[0]);
    expect(got.bytes.toString()).toBe('hello');
    expect(got.peer.identity).toEqual({ kind: 'psk', name: 'dev-1', endpoints: ['dev-1'] });
    server.send(got.peer, Buffer.from('world'));
    expect((await echoed).toString()).toBe('world');
  });

  it('a PSK entry with endpoint binds that endpoint', async () => {
    await start();
    const client = await pskClient('dev-2', KEYS['dev-2'].key);
    client.send(gateway(), Buffer.from('x'));
    expect((await waitFor(() => received[0])).peer.identity).toEqual({ kind: 'psk', name: 'dev-2', endpoints: ['urn:dev:2'] });
  });

  it.each(['ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-AES128-GCM-SHA256'])('%s with a client certificate: CN and SAN URI are the identity', async (cipher) => {
    await start();
    const ctx = new DtlsClientContext(native, { ciphers: cipher, cert: fixture('client.pem'), key: fixture('client.key.pem'), ca: fixture('ca.pem'), verifyPeer: true });
    const client = await ctx.connect(await socket(), gateway(), 3000);
    client.send(gateway(), Buffer.from('cert'));
    const got = await waitFor(() => received[0]);
    expect(got.peer.identity).toEqual({ kind: 'x509', name: 'dev-cert-1', endpoints: ['dev-cert-1', 'urn:dev:dev-cert-1'] });
  });

  it('refuses a wrong key, an unknown identity, a rogue certificate and no certificate under verify_peer', async () => {
    await start();
    await expect(pskClient('dev-1', Buffer.from('ffffffffffffffff', 'hex'))).rejects.toThrow();
    await expect(pskClient('nobody', Buffer.from('00', 'hex'))).rejects.toThrow();
    const rogue = new DtlsClientContext(native, { ciphers: 'ECDHE-ECDSA-AES128-CCM8', cert: fixture('rogue.pem'), key: fixture('rogue.key.pem') });
    await expect(rogue.connect(await socket(), gateway(), 3000)).rejects.toThrow();
    const anonymous = new DtlsClientContext(native, { ciphers: 'ECDHE-ECDSA-AES128-CCM8' });
    await expect(anonymous.connect(await socket(), gateway(), 3000)).rejects.toThrow();
    await sleep(50);
    expect(server.stats().sessions).toBe(0);
    expect(server.stats().handshakeFailures).toBeGreaterThanOrEqual(4);
    expect(received).toEqual([]);
  });

  it('1,000 spoofed ClientHellos keep no state; garbage and truncated datagrams change nothing', async () => {
    await start();
    const client = await pskClient('dev-1', KEYS['dev-1'].key);
    // A real ClientHello captured from a client, sent from one socket as if from many.
    const capture = await socket();
    const hello = await new Promise<Buffer>((resolve) => {
      const s = dgram.createSocket('udp4');
      sockets.push(s);
      s.bind(0, '127.0.0.1', () => {
        const ctx = new DtlsClientContext(native, { ciphers: 'PSK-AES128-CCM8', psk: { identity: 'dev-1', key: KEYS['dev-1'].key } });
        capture.once('message', (m) => resolve(m));
        void ctx.connect(s, { address: '127.0.0.1', port: capture.address().port }, 500).catch(() => undefined);
      });
    });
    const spoofer = await socket();
    let verifies = 0;
    spoofer.on('message', () => verifies++);
    const before = server.stats();
    for (let i = 0; i < 1000; i++) spoofer.send(hello, gateway().port, '127.0.0.1');
    const garbage = [Buffer.alloc(0), Buffer.from([22]), hello.subarray(0, 20), Buffer.from('ffffffffffffffffffffffffffffffff', 'hex'), Buffer.alloc(1500, 0x16)];
    for (const g of garbage) spoofer.send(g, gateway().port, '127.0.0.1');
    await waitFor(() => (verifies >= 1000 ? true : undefined), 5000);
    expect(server.stats().sessions).toBe(before.sessions);
    expect(server.stats().cookieExchanges - before.cookieExchanges).toBe(1000);
    // The established session still works.
    client.send(gateway(), Buffer.from('still here'));
    expect((await waitFor(() => received.find((r) => r.bytes.toString() === 'still here'))).peer.identity?.name).toBe('dev-1');
  });

  it('a replayed record is delivered once (RFC 6347 §4.1.2.6)', async () => {
    await start();
    const s = await socket();
    const client = await pskClient('dev-1', KEYS['dev-1'].key, 'PSK-AES128-CCM8', s);
    const records: Buffer[] = [];
    const originalSend = s.send.bind(s) as (...args: unknown[]) => void;
    (s as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
      records.push(Buffer.from(args[0] as Buffer));
      originalSend(...args);
    };
    client.send(gateway(), Buffer.from('once'));
    await waitFor(() => received[0]);
    client.sendRecord(records[records.length - 1]);
    client.sendRecord(records[records.length - 1]);
    await sleep(100);
    expect(received.map((r) => r.bytes.toString())).toEqual(['once']);
  });

  it('a new ClientHello from the address of an established session replaces it (restarted client)', async () => {
    await start();
    const s = await socket();
    const first = await pskClient('dev-1', KEYS['dev-1'].key, 'PSK-AES128-CCM8', s);
    first.send(gateway(), Buffer.from('one'));
    await waitFor(() => received[0]);
    // The device reboots: its old session object is gone, a new handshake from the same port.
    s.removeAllListeners('message');
    const second = await pskClient('dev-1', KEYS['dev-1'].key, 'PSK-AES128-CCM8', s);
    second.send(gateway(), Buffer.from('two'));
    await waitFor(() => received.find((r) => r.bytes.toString() === 'two'));
    expect(server.stats().sessions).toBe(1);
    expect(ended.map((e) => e.reason)).toContain('replaced');
  });

  it('the same identity from another address closes the old session (close_notify)', async () => {
    await start();
    const first = await pskClient('dev-1', KEYS['dev-1'].key);
    const closed = new Promise<string>((resolve) => first.once('closed', resolve));
    await pskClient('dev-1', KEYS['dev-1'].key);
    expect(await closed).toBe('closed by the gateway');
    expect(server.stats().sessions).toBe(1);
    expect(ended.map((e) => e.reason)).toContain('identity_moved');
  });

  it('refuses sessions beyond max_sessions', async () => {
    await start({ maxSessions: 1 });
    await pskClient('dev-1', KEYS['dev-1'].key);
    await expect(pskClient('dev-2', KEYS['dev-2'].key)).rejects.toThrow();
    expect(ended.map((e) => e.reason)).toContain('refused_full');
    expect(server.stats().sessions).toBe(1);
  });

  it('closes idle sessions with close_notify', async () => {
    await start({ sessionTimeoutMs: 300 });
    const first = await pskClient('dev-1', KEYS['dev-1'].key);
    const closed = new Promise<string>((resolve) => first.once('closed', resolve));
    expect(await closed).toBe('closed by the gateway');
    expect(ended.map((e) => e.reason)).toContain('idle');
    expect(server.stats().sessions).toBe(0);
  });

  it('closes a session that carries no application data within the handshake timeout; one that did stays', async () => {
    await start({ handshakeTimeoutMs: 400 });
    const active = await pskClient('dev-1', KEYS['dev-1'].key);
    active.send(gateway(), Buffer.from('register'));
    await waitFor(() => received[0]);
    const silent = await pskClient('dev-2', KEYS['dev-2'].key);
    const closed = new Promise<string>((resolve) => silent.once('closed', resolve));
    expect(await closed).toBe('closed by the gateway');
    expect(ended.map((e) => e.reason)).toEqual(['idle']);
    expect(server.stats().sessions).toBe(1);
    active.send(gateway(), Buffer.from('update'));
    expect((await waitFor(() => received[1])).bytes.toString()).toBe('update');
  });

  it('a peer close_notify ends the session', async () => {
    await start();
    const client = await pskClient('dev-1', KEYS['dev-1'].key);
    await client.close();
    await waitFor(() => ended.find((e) => e.reason === 'closed_by_peer'));
    expect(server.stats().sessions).toBe(0);
  });
});
