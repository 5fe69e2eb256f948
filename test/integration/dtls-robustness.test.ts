/**
 * Bad input on the DTLS port: random datagrams, mutated handshake flights from strangers, and
 * mutated records of an established session sent from that session's own address. Nothing crashes,
 * nothing is delivered that the peer did not encrypt, and the session keeps working.
 */
import dgram from 'node:dgram';
import { DtlsClientContext } from '../../bench/dtls-client';
import { loadNativeDtls } from '../../src/transport/dtls/native-binding';
import { DtlsTransport } from '../../src/transport/dtls-transport';
import type { Peer } from '../../src/transport/transport';
import { seededRandom as rng } from '../support/seeded-random';

const loaded = loadNativeDtls();
if (!loaded.ok) throw new Error(`the DTLS addon must be built by npm ci: ${loaded.reason}`);
const native = loaded.binding;
const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');


function mutate(bytes: Buffer, random: () => number): Buffer {
  const out = Buffer.from(bytes);
  const kind = Math.floor(random() * 4);
  if (kind === 0 && out.length > 0) out[Math.floor(random() * out.length)] ^= 1 << Math.floor(random() * 8);
  else if (kind === 1) return out.subarray(0, Math.floor(random() * out.length));
  else if (kind === 2) for (let i = 0; i < 4 && out.length > 0; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
  else return Buffer.concat([out, Buffer.from([Math.floor(random() * 256)])]);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['PSK-AES128-CCM8', 'PSK-AES128-GCM-SHA256', 'PSK-AES128-CBC-SHA256'])('DTLS robustness (%s)', (cipher) => {
  it('survives 20,000 random and mutated datagrams; the established session keeps working', async () => {
    const server = await DtlsTransport.bind(native, {
      host: '127.0.0.1',
      port: 0,
      ciphers: cipher,
      verifyPeer: false,
      psk: { lookupPsk: (identity) => (identity === 'dev' ? { identity, key: KEY } : undefined) },
      sessionTimeoutMs: 60_000,
      maxSessions: 100,
    });
    const received: Buffer[] = [];
    server.on('datagram', (bytes: Buffer) => received.push(bytes));
    const gateway: Peer = { address: '127.0.0.1', port: server.address().port };
    const sockets: dgram.Socket[] = [];
    const bind = () =>
      new Promise<dgram.Socket>((resolve) => {
        const s = dgram.createSocket('udp4');
        sockets.push(s);
        s.bind(0, '127.0.0.1', () => resolve(s));
      });
    try {
      // Capture a whole handshake and some records of a real session.
      const socket = await bind();
      const sent: Buffer[] = [];
      const send = socket.send.bind(socket) as (...args: unknown[]) => void;
      (socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
        sent.push(Buffer.from(args[0] as Buffer));
        send(...args);
      };
      const client = await new DtlsClientContext(native, { ciphers: cipher, psk: { identity: 'dev', key: KEY } }).connect(socket, gateway, 10_000);
      for (let i = 0; i < 5; i++) client.send(gateway, Buffer.from(`genuine ${i}`));
      for (const until = Date.now() + 10_000; received.length < 5 && Date.now() < until; ) await sleep(10);
      expect(received.length).toBe(5);

      const random = rng(0xd715);
      const stranger = await bind();
      for (let i = 0; i < 20_000; i++) {
        const base = sent[Math.floor(random() * sent.length)];
        const roll = random();
        const bytes = roll < 0.1 ? Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256))) : mutate(base, random);
        // Half from a stranger, half from the session's own address (where mutated records must be dropped).
        if (roll < 0.55) stranger.send(bytes, gateway.port, gateway.address);
        else send(bytes, gateway.port, gateway.address);
        // Paced so that the kernel's receive buffer does not overflow on a loaded machine.
        if (i % 250 === 249) await sleep(5);
      }
      await sleep(200);
      // Only what the client encrypted was ever delivered (replays of genuine records are dropped).
      expect(received.every((b) => b.toString().startsWith('genuine '))).toBe(true);
      expect(new Set(received.map((b) => b.toString())).size).toBe(received.length);
      // No forged record can end the session (RFC 6347 §4.1.2.7: invalid records are dropped).
      expect(client.lastError).toBe("");
      expect(client.isEstablished).toBe(true);
      expect(server.stats().sessions).toBe(1);
      const before = received.length;
      client.send(gateway, Buffer.from('genuine after'));
      const until = Date.now() + 10_000;
      while (received.length === before && Date.now() < until) await sleep(10);
      expect(received[received.length - 1]?.toString()).toBe('genuine after');
    } finally {
      await server.close();
      for (const s of sockets) s.close();
    }
  }, 60_000);
});
