/**
 * Finding 1 of issue 9: one device's command queue must not take the gateway down. Before the
 * fix, 150k commands for one online device (130k for a sleeping queue-mode device), or one
 * registration with 2 MiB of object links under auto_observe, filled the queue without bound and
 * the expiry sweep's `splice(0, n, ...kept)` threw "Maximum call stack size exceeded" from a timer:
 * the process died for every device. Now a device holds at most lwm2m.max_queued_commands; every
 * command beyond it is answered 5.03 at once, and auto-observe commands beyond it are dropped.
 */
import { Bystanders } from '../../support/bystanders';
import { startHarness, type Harness } from '../../support/harness';
import type { ReceivedMessage } from '../../support/mqtt-probe';
import { publishFlood, whileBystandersRead } from '../../support/under-attack';

const MAX_QUEUED = 100;

/** `count` reads of /3/0/0 with reqIDs 0..count-1. */
function* reads(count: number): Generator<string> {
  for (let i = 0; i < count; i++) yield `{"reqID":${i},"msgType":"read","data":{"path":"/3/0/0"}}`;
}

/** The messages on `topic` from index `from` of the probe's record, once there are `count` of them (or the time is up). */
async function collect(h: Harness, topic: string, count: number, timeoutMs: number, from: number): Promise<ReceivedMessage[]> {
  const found: ReceivedMessage[] = [];
  let next = from;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = h.probe.messages;
    for (; next < all.length; next++) if (all[next].topic === topic) found.push(all[next]);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Answers by reqID: fails unless each of 0..count-1 got exactly one; returns how many had each code. */
function tallyOnePerCommand(answers: ReceivedMessage[], count: number): Map<string, number> {
  const seen = new Uint8Array(count);
  const codes = new Map<string, number>();
  for (const a of answers) {
    const reqID = a.json.reqID as number;
    expect(Number.isInteger(reqID) && reqID >= 0 && reqID < count).toBe(true);
    seen[reqID]++;
    const code = (a.json.data as { code: string }).code;
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  const missing = seen.indexOf(0);
  const twice = seen.findIndex((n) => n > 1);
  expect({ missing, twice }).toEqual({ missing: -1, twice: -1 });
  return codes;
}

function expectQueueFullAnswer(a: ReceivedMessage | undefined): void {
  expect(a?.json).toMatchObject({
    msgType: 'read',
    data: { reqPath: '/3/0/0', code: '5.03', codeMsg: 'service_unavailable', error: expect.stringContaining(`lwm2m.max_queued_commands: ${MAX_QUEUED}`) },
  });
}

describe('command flood (issue 9, finding 1)', () => {
  let h: Harness;
  let bystanders: Bystanders;
  beforeAll(async () => {
    h = await startHarness(`lwm2m:\n  max_queued_commands: ${MAX_QUEUED}\n  qmode_time_window: 1\n`);
    bystanders = await Bystanders.start(h, 50);
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  it('150k reads for one online device: the queue stays bounded, every read is answered once, others keep answering', async () => {
    const COUNT = 150_000;
    const device = await h.device({ endpoint: 'flooded' });
    expect((await device.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/flooded/up/register');
    const from = h.probe.mark();
    const answers = await whileBystandersRead(bystanders, async () => {
      await publishFlood(h.gw.mqttUrl, 'lwm2m/flooded/dn', reads(COUNT));
      return collect(h, 'lwm2m/flooded/up/resp', COUNT, 30_000, from);
    });

    const codes = tallyOnePerCommand(answers, COUNT);
    // The device answers reads as fast as they go; all the others were refused at once.
    expect(codes.get('5.03')).toBeGreaterThan(COUNT / 2);
    expect((codes.get('5.03') ?? 0) + (codes.get('2.05') ?? 0)).toBe(COUNT);
    expectQueueFullAnswer(answers.find((a) => (a.json.data as { code: string }).code === '5.03'));
    expect(h.gw.gateway.engine.device('flooded')?.queue.size).toBe(0);

    await bystanders.expectAllAnswer();
    const after = h.probe.mark();
    await h.probe.publish('lwm2m/flooded/dn', { reqID: 'after', msgType: 'read', data: { path: '/3/0/0' } });
    expect((await h.probe.waitOn('lwm2m/flooded/up/resp', { reqID: 'after' }, 10_000, after)).json.data).toMatchObject({ code: '2.05' });
  }, 90_000);

  it('130k reads for a sleeping queue-mode device: 100 wait for it, the rest are answered 5.03 at once', async () => {
    const COUNT = 130_000;
    const device = await h.device({ endpoint: 'sleeper', binding: 'UQ', lifetime: 3600 });
    expect((await device.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/sleeper/up/register');
    await new Promise((resolve) => setTimeout(resolve, 1200)); // past qmode_time_window: asleep
    const from = h.probe.mark();
    const refused = await whileBystandersRead(bystanders, async () => {
      await publishFlood(h.gw.mqttUrl, 'lwm2m/sleeper/dn', reads(COUNT));
      const answers = await collect(h, 'lwm2m/sleeper/up/resp', COUNT - MAX_QUEUED, 30_000, from);
      // Past an expiry sweep (every second) with the queue full: the sweep is what crashed.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return answers;
    });
    expect(refused).toHaveLength(COUNT - MAX_QUEUED);
    expect(refused.every((a) => (a.json.data as { code: string }).code === '5.03')).toBe(true);
    expectQueueFullAnswer(refused[0]);
    expect(h.gw.gateway.engine.device('sleeper')?.queue.size).toBe(MAX_QUEUED);
    expect(device.requests).toHaveLength(0);

    // The device wakes: the commands that waited go to it, in order, and are answered.
    expect((await device.update()).code).toBe('2.04');
    const answers = await collect(h, 'lwm2m/sleeper/up/resp', COUNT, 20_000, from);
    const codes = tallyOnePerCommand(answers, COUNT);
    expect(codes.get('2.05')).toBe(MAX_QUEUED);
    expect(device.requests).toHaveLength(MAX_QUEUED);
    await bystanders.expectAllAnswer();
  }, 90_000);
});

describe('auto-observe flood (issue 9, finding 1)', () => {
  let h: Harness;
  let bystanders: Bystanders;
  beforeAll(async () => {
    // max_object_links (default 1024) would refuse the register itself (4.13): here the queue is under test.
    h = await startHarness(`lwm2m:\n  max_queued_commands: ${MAX_QUEUED}\n  auto_observe: true\n  max_object_links: 1000000\n`);
    bystanders = await Bystanders.start(h, 50);
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  it('a register with 2 MiB of object links (Block1) queues 100 auto-observes and drops the rest', async () => {
    const links: string[] = [];
    let size = 0;
    for (let i = 0; size < 2 * 1024 * 1024; i++) {
      const link = `</${10_000 + (i % 50_000)}/${Math.floor(i / 50_000)}>`;
      links.push(link);
      size += link.length + 1;
    }
    const device = await h.device({ endpoint: 'linker', lifetime: 3600 });
    const from = h.probe.mark();
    const answers = await whileBystandersRead(bystanders, async () => {
      expect((await device.register([], links.join(','))).code).toBe('2.01');
      const register = await h.probe.waitOn('lwm2m/linker/up/register', {}, 20_000, from);
      expect((register.json.data as { objectList: string[] }).objectList).toHaveLength(links.length);
      const observeAnswers = await collect(h, 'lwm2m/linker/up/resp', MAX_QUEUED, 20_000, from);
      // Past an expiry sweep, then nothing more comes: the rest were dropped, not queued.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return observeAnswers;
    });
    expect(answers).toHaveLength(MAX_QUEUED);
    expect(h.probe.on('lwm2m/linker/up/resp')).toHaveLength(MAX_QUEUED);
    expect(answers.every((a) => a.json.msgType === 'observe' && a.json.is_auto_observe === true)).toBe(true);
    expect(h.gw.gateway.engine.device('linker')?.queue.size).toBe(0);
    await bystanders.expectAllAnswer();
  }, 90_000);
});
