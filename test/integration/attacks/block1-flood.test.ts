import dgram from 'node:dgram';
import { type CoapEndpoint, OptionNumber, decodeMessage, decodeUint, encodeBlock, findOption } from '../../../src/coap';
import { Bystanders } from '../../support/bystanders';
import { postDatagram } from '../../support/coap-datagrams';
import { startHarness, type Harness } from '../../support/harness';

const MiB = 1024 * 1024;
const PER_SOURCE = 1 * MiB;
const TOTAL = 3 * MiB;
const BLOCKS_PER_BODY = 16;
/** Attacker 1 sends 2,000 bodies of 16 KiB that it never finishes: 32 MiB. */
const BODIES = 2000;

/** An attacker: one UDP socket on `address`, counting the answer codes it gets. */
class Attacker {
  readonly codes = new Map<string, number>();
  readonly maxAges: number[] = [];
  private mid = 0;
  private answered = 0;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (bytes) => {
      const m = decodeMessage(bytes);
      this.answered++;
      this.codes.set(m.code, (this.codes.get(m.code) ?? 0) + 1);
      const maxAge = findOption(m.options, OptionNumber.MaxAge);
      if (m.code === '5.03' && maxAge) this.maxAges.push(decodeUint(maxAge));
    });
  }

  static async open(address: string): Promise<Attacker> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * MiB });
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    return new Attacker(socket);
  }

  /** Sends `bodies` unfinished bodies (every block with M=1) to /rd/<n>, waiting for the answers as it goes. */
  async flood(port: number, bodies: number): Promise<void> {
    const payload = Buffer.alloc(1024, 0x61);
    let sent = 0;
    for (let b = 0; b < bodies; b++) {
      for (let num = 0; num < BLOCKS_PER_BODY; num++) {
        const messageId = this.mid++ & 0xffff;
        const block1 = { number: OptionNumber.Block1, value: encodeBlock({ num, more: true, szx: 6 }) };
        this.socket.send(postDatagram(messageId, ['rd', `x${b}`], [block1], payload), port, '127.0.0.1');
        sent++;
      }
      // Keep at most ~400 datagrams unanswered, so that loopback buffers do not drop the flood.
      const deadline = Date.now() + 2000;
      while (sent - this.answered > 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    }
    const deadline = Date.now() + 3000;
    while (this.answered < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  count(code: string): number {
    return this.codes.get(code) ?? 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** The gateway's UDP CoAP endpoint, for its stats(). */
function udpEndpoint(h: Harness): CoapEndpoint {
  const endpoint = h.gw.coap.udp;
  if (!endpoint) throw new Error('no UDP endpoint');
  return endpoint;
}

const rssMB = () => {
  global.gc?.();
  return process.memoryUsage().rss / 1e6;
};

/**
 * Issue 9 finding 5b: Block1 request bodies that are never finished were held whole, bounded only
 * per body and by the 247 s exchange lifetime (1,000 MB sent: +1.2 GB RSS). Now the bytes held are
 * bounded per source address (4.13) and in total (5.03 + Max-Age), and a body whose client stopped
 * sending is dropped after MAX_TRANSMIT_WAIT (here 0.5 s * 7 * 1.5 = 5.25 s).
 */
describe('attack: Block1 bodies never finished', () => {
  let h: Harness;
  /** The bystanders' read loop, stopped before the harness closes even when an assertion failed. */
  let reading: ReturnType<Bystanders['keepReading']> | undefined;
  const attackers: Attacker[] = [];
  afterEach(async () => {
    await reading?.stop();
    reading = undefined;
    for (const a of attackers.splice(0)) await a.close();
    await h?.close();
  });

  it('bounds the bytes held per source and in total, frees them when the attacker stops; devices keep working', async () => {
    h = await startHarness(`
lwm2m:
  coap: { ack_timeout: 0.5, max_retransmit: 2 }
  blockwise: { max_pending_bytes: ${TOTAL}, max_pending_bytes_per_source: ${PER_SOURCE} }
`);
    const bystanders = await Bystanders.start(h, 50);
    const coap = udpEndpoint(h);
    const rssBefore = rssMB();
    reading = bystanders.keepReading();

    // One source: 32 MiB of unfinished bodies; at most its 1 MiB budget is held.
    const first = await Attacker.open('127.0.0.2');
    attackers.push(first);
    await first.flood(h.gw.udpPort, BODIES);
    const rssFlooded = rssMB();
    const afterOne = coap.stats();
    console.log(
      `block1 flood, one source: ${(BODIES * BLOCKS_PER_BODY) / 1024} MiB sent; held ${afterOne.pendingBytes} B in ${afterOne.partialBodies} bodies; ` +
        `RSS ${rssBefore.toFixed(0)} -> ${rssFlooded.toFixed(0)} MB; answers ${JSON.stringify(Object.fromEntries(first.codes))}`,
    );
    expect(afterOne.partialBodies).toBeLessThanOrEqual(Math.ceil(PER_SOURCE / (BLOCKS_PER_BODY * 1024)));
    expect(afterOne.pendingBytes).toBeLessThanOrEqual(PER_SOURCE);
    expect(first.count('4.13')).toBeGreaterThan(BODIES / 2);

    // More sources: together they reach the total, and the last ones get 5.03 with Max-Age.
    for (const address of ['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']) {
      const a = await Attacker.open(address);
      attackers.push(a);
      await a.flood(h.gw.udpPort, 100);
    }
    const full = coap.stats();
    expect(full.pendingBytes).toBeLessThanOrEqual(TOTAL);
    const refusedForTotal = attackers.reduce((n, a) => n + a.count('5.03'), 0);
    expect(refusedForTotal).toBeGreaterThan(0);
    const maxAges = attackers.flatMap((a) => a.maxAges);
    expect(Math.min(...maxAges)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...maxAges)).toBeLessThanOrEqual(6);

    const seen = await reading.stop();
    expect(seen.failures).toEqual([]);
    expect(seen.rounds).toBeGreaterThan(0);

    // The attackers went silent: their bodies expire (5.25 s idle, swept every 5 s) and the memory is free.
    const stoppedAt = Date.now();
    const deadline = Date.now() + 15_000;
    while (coap.stats().pendingBytes > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(coap.stats()).toMatchObject({ pendingBytes: 0, partialBodies: 0 });
    const freedAfterS = (Date.now() - stoppedAt) / 1000;
    const rssExpired = rssMB();
    console.log(
      `block1 flood, all sources: held ${full.pendingBytes} B, ${refusedForTotal} x 5.03 (Max-Age ${Math.min(...maxAges)}..${Math.max(...maxAges)}); ` +
        `RSS ${rssExpired.toFixed(0)} MB after expiry (all freed ${freedAfterS.toFixed(1)} s after the attack stopped)`,
    );

    await bystanders.expectAllAnswer();
    // A legitimate register with a body of several blocks goes through again.
    const links = Array.from({ length: 300 }, (_, i) => `</${3300 + i}/0>`).join(',');
    expect(links.length).toBeGreaterThan(2 * 1024); // three blocks
    const device = await h.device({ endpoint: 'large-links', links });
    expect((await device.register()).code).toBe('2.01');
  }, 60_000);
});
