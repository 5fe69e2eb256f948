import dgram from 'node:dgram';
import { DtlsClientContext } from '../../../bench/dtls-client';
import { DtlsTransport, type DtlsTransportOptions, type SessionEndReason } from '../../../src/transport/dtls-transport';
import type { Peer } from '../../../src/transport/transport';
import { closeSockets, openHalfOpenHandshakes } from '../../support/half-open-dtls';
import { native } from './harness';

const dtls = native();
const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The limits on unfinished DTLS handshakes (issue 9, finding 5c), on the transport alone. */
describe('DtlsTransport half-open handshake limits', () => {
  let server: DtlsTransport;
  let ended: { peer: Peer; reason: SessionEndReason; detail: string }[];
  const sockets: dgram.Socket[] = [];

  async function start(overrides: Partial<DtlsTransportOptions>): Promise<void> {
    server = await DtlsTransport.bind(dtls, {
      host: '127.0.0.1',
      port: 0,
      ciphers: 'PSK-AES128-CCM8',
      verifyPeer: false,
      psk: { lookupPsk: (identity) => (identity === 'dev-1' ? { identity, key: KEY } : undefined) },
      sessionTimeoutMs: 60_000,
      maxSessions: 1000,
      ...overrides,
    });
    ended = [];
    server.on('sessionEnd', (peer: Peer, reason: SessionEndReason, detail: string) => ended.push({ peer, reason, detail }));
  }

  const gateway = () => ({ address: '127.0.0.1', port: server.address().port });

  async function socket(address = '127.0.0.1'): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((resolve) => s.bind(0, address, resolve));
    return s;
  }

  async function halfOpen(count: number, from: string): Promise<void> {
    const attack = await openHalfOpenHandshakes(dtls, gateway(), count, from);
    sockets.push(...attack.sockets);
    expect(attack.cookieAnswered).toBe(count);
  }

  async function until(condition: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met');
      await sleep(20);
    }
  }

  const refusals = (detail: string) => ended.filter((e) => e.reason === 'refused_handshakes' && e.detail.includes(detail)).length;

  afterEach(async () => {
    await server?.close();
    await closeSockets(sockets.splice(0));
  });

  it('refuses handshakes beyond the per-source and the total limit, and counts them free once they time out', async () => {
    await start({ maxHandshakes: 8, maxHandshakesPerSource: 5, handshakeTimeoutMs: 1000 });
    await halfOpen(10, '127.0.0.2');
    await until(() => server.stats().halfOpen + ended.length >= 10);
    expect(server.stats()).toMatchObject({ halfOpen: 5, sessions: 5 });
    expect(refusals('max_handshakes_per_source (5) reached for 127.0.0.2')).toBe(5);

    await halfOpen(10, '127.0.0.3');
    await until(() => server.stats().halfOpen + ended.length >= 20);
    expect(server.stats().halfOpen).toBe(8);
    expect(refusals('max_handshakes (8) reached')).toBe(7);
    expect(ended.every((e) => e.reason === 'refused_handshakes')).toBe(true);

    // The attackers stay silent: after the handshake timeout the sessions are gone and a device gets in.
    await until(() => server.stats().halfOpen === 0, 4000);
    expect(server.stats().sessions).toBe(0);
    const ctx = new DtlsClientContext(dtls, { ciphers: 'PSK-AES128-CCM8', psk: { identity: 'dev-1', key: KEY } });
    await ctx.connect(await socket(), gateway(), 3000);
    expect(server.stats()).toMatchObject({ halfOpen: 0, sessions: 1 });
  });

  it('an established handshake no longer counts; a replacement handshake from an established address does', async () => {
    await start({ maxHandshakes: 100, maxHandshakesPerSource: 1 });
    const ctx = new DtlsClientContext(dtls, { ciphers: 'PSK-AES128-CCM8', psk: { identity: 'dev-1', key: KEY } });
    const s = await socket();
    await ctx.connect(s, gateway(), 3000);
    expect(server.stats()).toMatchObject({ halfOpen: 0, sessions: 1 });

    await halfOpen(1, '127.0.0.1');
    await until(() => server.stats().halfOpen === 1);
    // The device restarts its session from the same address: its new ClientHello is one handshake
    // too many for 127.0.0.1, so it is refused and the established session stays.
    const restarted = ctx.connect(s, gateway(), 1500);
    await until(() => refusals('max_handshakes_per_source (1) reached for 127.0.0.1') === 1);
    await expect(restarted).rejects.toThrow();
    expect(server.stats()).toMatchObject({ halfOpen: 1, sessions: 2 });
  });
});
