/**
 * Robustness: 100k random and mutated datagrams and 10k random JSON commands leave the gateway
 * alive and the registered devices working. Bounded in count and time (well under a minute).
 */
import dgram from 'node:dgram';
import { generate } from 'coap-packet';
import { startHarness, type Harness } from '../support/harness';
import type { TestDevice } from '../support/test-device';
import { seededRandom as prng } from '../support/seeded-random';


const SEED = Number(process.env.FUZZ_SEED ?? 20261121);

function seedDatagrams(): Buffer[] {
  const q = (s: string) => ({ name: 'Uri-Query' as const, value: Buffer.from(s) });
  const p = (s: string) => ({ name: 'Uri-Path' as const, value: Buffer.from(s) });
  return [
    generate({ confirmable: true, code: 'POST', messageId: 1, token: Buffer.from([1, 2]), options: [p('rd'), q('ep=fuzz'), q('lt=60'), { name: 'Content-Format', value: Buffer.from([40]) }], payload: Buffer.from('</1/0>,</3/0>,</3303/0>') }),
    generate({ confirmable: true, code: 'POST', messageId: 2, token: Buffer.from([3]), options: [p('rd'), p('nonexistent'), q('lt=60')] }),
    generate({ confirmable: false, code: 'GET', messageId: 3, token: Buffer.from([4, 5, 6, 7]), options: [p('3'), p('0'), p('0'), { name: 'Observe', value: Buffer.alloc(0) }] }),
    generate({ ack: true, code: '2.05', messageId: 4, token: Buffer.from([8, 9, 10, 11, 12, 13, 14, 15]), options: [{ name: 'Content-Format', value: Buffer.from([0x2d, 0x16]) }], payload: Buffer.from([0xc8, 0x00, 0x14, 0x4f, 0x70, 0x65, 0x6e]) }),
    generate({ confirmable: true, code: 'POST', messageId: 5, token: Buffer.from([1]), options: [p('rd'), q('ep=blk'), { name: 'Block1', value: Buffer.from([0x0a]) }], payload: Buffer.alloc(64, 0x3c) }),
    generate({ confirmable: false, code: '2.05', messageId: 6, token: Buffer.from([1, 1, 1, 1]), options: [{ name: 'Observe', value: Buffer.from([5]) }, { name: 'Block2', value: Buffer.from([0x1a]) }], payload: Buffer.from('abc') }),
    generate({ reset: true, messageId: 7, code: '0.00' }),
    generate({ confirmable: true, code: 'DELETE', messageId: 8, token: Buffer.from([2]), options: [p('rd'), p('zzz')] }),
  ];
}

function mutate(seed: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(seed);
  const kind = Math.floor(rnd() * 4);
  if (kind === 0) {
    const flips = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < flips; i++) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
    return b;
  }
  if (kind === 1) return b.subarray(0, Math.floor(rnd() * b.length));
  if (kind === 2) {
    for (let i = 0; i < 3; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    return b;
  }
  return Buffer.concat([b, randomBytes(rnd, Math.floor(rnd() * 32))]);
}

function randomBytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

const MSG_TYPES = ['read', 'discover', 'write', 'write-attr', 'execute', 'create', 'delete', 'observe', 'cancel-observe', 'bogus', '', 42];
const PATHS = ['/3/0/0', '/3303/0', '/3', '3/0/9/', '/1/0/1', '/x/y', '', '/65536', '/3/0/7/0', '/3/0/0?a=b', '/', '/1/2/3/4/5'];
const TYPES = ['String', 'Integer', 'Unsigned Integer', 'Float', 'Boolean', 'Opaque', 'Time', 'Objlnk', 'Corelnk', 'Nope', null];
const VALUES: unknown[] = ['abc', 1, -1, 1.5, '12', true, 'false', null, { a: 1 }, [1], 'AQID', '1:2', 2 ** 70, '', 'zz'];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}

function randomCommand(rnd: () => number): string {
  const r = rnd();
  if (r < 0.05) return randomBytes(rnd, Math.floor(rnd() * 40)).toString('latin1');
  if (r < 0.1) return JSON.stringify(pick(rnd, VALUES));
  const data: Record<string, unknown> = {};
  if (rnd() < 0.8) data.path = pick(rnd, PATHS);
  if (rnd() < 0.2) data.basePath = pick(rnd, PATHS);
  if (rnd() < 0.4) data.type = pick(rnd, TYPES);
  if (rnd() < 0.5) data.value = pick(rnd, VALUES);
  if (rnd() < 0.2) data.content = Array.from({ length: Math.floor(rnd() * 3) }, () => ({ path: pick(rnd, ['0', '1/5700', '/0/1', 'x']), type: pick(rnd, TYPES), value: pick(rnd, VALUES) }));
  if (rnd() < 0.2) data.pmin = pick(rnd, VALUES);
  if (rnd() < 0.1) data.args = pick(rnd, VALUES);
  const cmd: Record<string, unknown> = { reqID: Math.floor(rnd() * 1e6), msgType: pick(rnd, MSG_TYPES), data: rnd() < 0.95 ? data : pick(rnd, VALUES) };
  if (rnd() < 0.1) cmd.encoding = pick(rnd, ['hex', 'base64', 'rot13']);
  if (rnd() < 0.1) cmd.mheaders = { ttl: pick(rnd, [0, 1, -1, 'x', 100]) };
  return JSON.stringify(cmd);
}

describe('robustness', () => {
  let h: Harness;
  let main: TestDevice;
  beforeAll(async () => {
    h = await startHarness('lwm2m:\n  coap:\n    ack_timeout: 0.2\n    max_retransmit: 1\n');
    main = await h.device({ endpoint: 'survivor', lifetime: 3600 });
    expect((await main.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/survivor/up/register');
  });
  afterAll(async () => {
    await h.close();
  });

  async function survivorWorks(reqID: number): Promise<void> {
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/survivor/dn', { reqID, msgType: 'read', data: { path: '/3/0/0' } });
    let r = await h.probe.waitOn('lwm2m/survivor/up/resp', { reqID }, 10000, from);
    // The reads before may have filled its queue (5.03, lwm2m.max_queued_commands): it must drain.
    for (let i = 0; i < 40 && (r.json.data as { code?: string }).code === '5.03'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const again = h.probe.mark();
      await h.probe.publish('lwm2m/survivor/dn', { reqID, msgType: 'read', data: { path: '/3/0/0' } });
      r = await h.probe.waitOn('lwm2m/survivor/up/resp', { reqID }, 10000, again);
    }
    expect(r.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] });
    expect((await main.update()).code).toBe('2.04');
  }

  it('100k random and mutated datagrams', async () => {
    const rnd = prng(SEED);
    const seeds = seedDatagrams();
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    socket.on('message', () => undefined);
    const deadline = Date.now() + 40000;
    let sent = 0;
    try {
      while (sent < 100000 && Date.now() < deadline) {
        for (let i = 0; i < 250; i++, sent++) {
          const d = rnd() < 0.3 ? randomBytes(rnd, Math.floor(rnd() * 64)) : mutate(pick(rnd, seeds), rnd);
          socket.send(d, h.gw.udpPort, '127.0.0.1');
        }
        // let the gateway's event loop (same process) drain the socket
        await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      socket.close();
    }
    expect(sent).toBeGreaterThan(50000);
    await survivorWorks(1);
  }, 60000);

  it('10k random JSON commands', async () => {
    const rnd = prng(SEED + 1);
    const victim = await h.device({ endpoint: 'victim' });
    await victim.register();
    await h.probe.waitOn('lwm2m/victim/up/register');
    const topics = ['lwm2m/victim/dn', 'lwm2m/victim/dn/x', 'lwm2m/nobody/dn', 'lwm2m/survivor/dn/'];
    const deadline = Date.now() + 30000;
    let sent = 0;
    while (sent < 10000 && Date.now() < deadline) {
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++, sent++) {
        const topic = pick(rnd, topics);
        // the survivor only gets commands that cannot change its state
        const payload = topic.startsWith('lwm2m/survivor') ? JSON.stringify({ reqID: -i, msgType: 'read', data: { path: pick(rnd, PATHS) } }) : randomCommand(rnd);
        batch.push(h.probe.publish(topic, payload, 0));
      }
      await Promise.all(batch);
    }
    expect(sent).toBe(10000);
    // every command to the victim topic got an answer or sits in its queue; none crashed anything
    await survivorWorks(2);
  }, 60000);
});
