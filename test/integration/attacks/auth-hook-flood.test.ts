import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeMessage, encodeEmpty } from '../../../src/coap';
import { Bystanders } from '../../support/bystanders';
import { registerDatagram } from '../../support/coap-datagrams';
import { startHarness, type Harness } from '../../support/harness';

const ATTACK = 1000;
const MAX_IN_FLIGHT = 100; // auth.http.max_in_flight default
const AUTH_TIMEOUT_S = 2;

/**
 * An auth service that allows bystanders and fresh devices at once and never answers the attacker's
 * requests (it accepts the connection, reads the request and stays silent). Counts connections and
 * unanswered requests as the server sees them.
 */
class SilentAuthServer {
  open = 0;
  maxOpen = 0;
  held = 0;
  maxHeld = 0;
  requests = 0;
  private readonly server: http.Server;

  constructor() {
    this.server = http.createServer((req, res) => {
      this.requests++;
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const ep = (JSON.parse(text) as { ep?: string }).ep ?? '';
        if (!ep.startsWith('attacker-')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"allow"}');
          return;
        }
        this.held++;
        this.maxHeld = Math.max(this.maxHeld, this.held);
        req.socket.once('close', () => this.held--);
      });
    });
    this.server.on('connection', (socket) => {
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      socket.once('close', () => this.open--);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  /** Starts counting the peaks afresh. */
  resetPeaks(): void {
    this.maxOpen = this.open;
    this.maxHeld = this.held;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Issue 9 finding 5d: with an auth hook that never answers, every register opened its own connection
 * to it (1,000 registers: 1,002 simultaneous connections) and waited out the timeout. Now at most
 * auth.http.max_in_flight requests run at once and the excess is refused at once with 5.03.
 */
describe('attack: registrations against a silent auth hook', () => {
  let h: Harness;
  /** The bystanders' read loop, stopped before the harness closes even when an assertion failed. */
  let reading: ReturnType<Bystanders['keepReading']> | undefined;
  let auth: SilentAuthServer;
  let attacker: dgram.Socket | undefined;
  afterEach(async () => {
    await reading?.stop();
    reading = undefined;
    attacker?.close();
    attacker = undefined;
    await h?.close();
    await auth?.close();
  });

  it('keeps at most max_in_flight requests (and connections) to the hook, refuses the excess with 5.03 at once, frees the slots after the timeout', async () => {
    auth = new SilentAuthServer();
    const authPort = await auth.listen();
    h = await startHarness(`
auth:
  http:
    url: "http://127.0.0.1:${authPort}/auth"
    body: { ep: "\${endpoint_name}" }
    timeout: ${AUTH_TIMEOUT_S}
    max_in_flight_per_source: 100000 # the total is under test here (per source: test/unit/auth/http-auth-hook.test.ts)
lwm2m:
  registration_rate: { per_source: 100000, burst: 100000 }
`);
    const bystanders = await Bystanders.start(h, 50);
    reading = bystanders.keepReading();
    auth.resetPeaks();
    const idleBefore = auth.open; // keep-alive connections left by the bystanders' registers

    // 1,000 registers from 127.0.0.2, each its own endpoint name, as fast as the socket goes.
    const socket = dgram.createSocket('udp4');
    attacker = socket;
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.2', resolve));
    const sentAt = new Map<number, number>();
    const firstAnswer = new Map<number, { code: string; afterMs: number }>();
    socket.on('message', (bytes) => {
      const m = decodeMessage(bytes);
      if (m.type === 'CON') socket.send(encodeEmpty('ACK', m.messageId), h.gw.udpPort, '127.0.0.1'); // a separate response
      if (m.type !== 'ACK' || firstAnswer.has(m.messageId)) return;
      firstAnswer.set(m.messageId, { code: m.code, afterMs: Date.now() - sentAt.get(m.messageId)! });
    });
    const started = Date.now();
    for (let i = 0; i < ATTACK; i++) {
      const messageId = i + 1;
      sentAt.set(messageId, Date.now());
      socket.send(registerDatagram(messageId, `attacker-${i}`), h.gw.udpPort, '127.0.0.1');
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5));
    }
    // Every register has its first answer: a piggybacked 5.03, or the empty ACK of one waiting for the hook.
    while (firstAnswer.size < ATTACK && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(firstAnswer.size).toBe(ATTACK);
    console.log(`auth flood: hook peak while the attack's requests were held: ${auth.maxHeld} requests, ${auth.maxOpen} connections`);
    const refused = [...firstAnswer.values()].filter((a) => a.code === '5.03');
    const waiting = [...firstAnswer.values()].filter((a) => a.code === '0.00');
    expect(refused.length).toBeGreaterThanOrEqual(ATTACK - 2 * MAX_IN_FLIGHT);
    expect(refused.length + waiting.length).toBe(ATTACK);
    // "At once": before the empty-ACK delay (1 s) a waiting register would get.
    expect(Math.max(...refused.map((a) => a.afterMs))).toBeLessThan(1000);

    // The hook saw at most max_in_flight requests at a time, over at most that many connections
    // (plus the idle keep-alive ones it had already).
    expect(auth.maxHeld).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(auth.maxOpen).toBeLessThanOrEqual(MAX_IN_FLIGHT + idleBefore);
    const peak = { held: auth.maxHeld, open: auth.maxOpen, requests: auth.requests };

    // After the timeout each held request is aborted: its connection closes and its slot is free.
    const deadline = Date.now() + (AUTH_TIMEOUT_S + 5) * 1000;
    while (auth.held > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(auth.held).toBe(0);
    const overallPeak = auth.maxOpen;
    const seen = await reading.stop();
    expect(seen.failures).toEqual([]);
    expect(seen.rounds).toBeGreaterThan(0);
    console.log(
      `auth flood: ${refused.length} x 5.03 (slowest ${Math.max(...refused.map((a) => a.afterMs))} ms), ${waiting.length} waited; ` +
        `hook peak: ${peak.held} held requests, ${peak.open} connections (${idleBefore} idle before; ${overallPeak} counting undici's spare reconnects after the aborts); all released ${((Date.now() - started) / 1000).toFixed(1)} s after the attack began`,
    );

    // The slots are free again: a new device gets to the hook and in.
    const fresh = await h.device({ endpoint: 'fresh-after' });
    expect((await fresh.register()).code).toBe('2.01');
    await bystanders.expectAllAnswer();
  }, 60_000);
});
