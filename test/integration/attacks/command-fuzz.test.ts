/**
 * Fuzzing the MQTT command path with the device queue in the loop (issue 9, findings 1 and 4):
 * thousands of random and mutated commands — deep nesting, oversized payloads, names of
 * Object.prototype members, huge arrays, floods past the queue bound — for an online device and
 * for a sleeping queue-mode device. The gateway must survive; every command must get exactly one
 * answer (refused ones at once; queued ones when the device wakes); other devices keep answering.
 * Replay a failure with FUZZ_SEED=<seed>.
 */
import { Bystanders } from '../../support/bystanders';
import { startHarness, type Harness } from '../../support/harness';
import type { ReceivedMessage } from '../../support/mqtt-probe';
import { mutateBytes, seededRandom } from '../../support/seeded-random';
import { SoftwareObject } from '../../support/software-object';
import { DEVICE_ENTRIES } from '../../support/test-device';
import { publishFlood, whileBystandersRead } from '../../support/under-attack';

const SEED = Number(process.env.FUZZ_SEED ?? 20261209);
const MAX_QUEUED = 20;
const MAX_COMMAND_SIZE = 65_536;
const COMMANDS_PER_DEVICE = 5000;
const MUTATED_REQ_ID_BASE = 1_000_000_000;

type Random = () => number;

function pick<T>(rnd: Random, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'isPrototypeOf'];
const MSG_TYPES = ['read', 'discover', 'write', 'write-attr', 'execute', 'create', 'delete', 'observe', 'cancel-observe', 'read-composite', 'write-composite', 'observe-composite', 'cancel-observe-composite', 'discover-all', 'observe-read-all', 'rpc', 'rpc', 'firmware-update', 'firmware-cancel', 'software-install', 'software-uninstall', 'software-activate', 'software-deactivate', 'software-cancel', 'bogus', ...PROTO_NAMES];
const RPC_METHODS = ['reboot', 'set_timezone', 'battery', 'nope', '', ...PROTO_NAMES];
const PATHS = ['/3/0/0', '/3/0/1', '/3303/0', '/3', '/3/0/7/0', '/1/0/1', '/3/0/0?a=b', '/x/y', '', '/65536', '/1/2/3/4/5', ...PROTO_NAMES];
const TYPES = ['String', 'Integer', 'Unsigned Integer', 'Float', 'Boolean', 'Opaque', 'Time', 'Objlnk', 'Nope', null, ...PROTO_NAMES];
const VALUES: unknown[] = ['abc', 1, -1, 1.5, '12', true, null, { a: 1 }, [1], 'AQID', '1:2', 2 ** 70, '', ...PROTO_NAMES];
const FORMATS: unknown[] = ['senml+json', 'tlv', 11542, 110, 'nope', -1, ...PROTO_NAMES];

/** Deep values are written as text (JSON.stringify itself fails on them): a placeholder string, replaced after stringify. */
const deepTexts = new Map<string, string>();

function nested(rnd: Random): string {
  const depth = pick(rnd, [2, 20, 30, 33, 40, 200, 5000]);
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    if (rnd() < 0.5) {
      open += '[';
      close = ']' + close;
    } else {
      open += `{${JSON.stringify(pick(rnd, ['a', ...PROTO_NAMES]))}:`;
      close = '}' + close;
    }
  }
  const token = `@deep${deepTexts.size}@`;
  deepTexts.set(token, open + JSON.stringify(pick(rnd, VALUES)) + close);
  return token;
}

function toJson(command: unknown): string {
  return JSON.stringify(command).replace(/"@deep\d+@"/g, (token) => deepTexts.get(token.slice(1, -1)) as string);
}

function hugeArray(rnd: Random): unknown[] {
  const n = pick(rnd, [1000, 5000, 20_000]);
  const item = pick(rnd, ['/3/0/0', 1, { path: '/3/0/1', type: 'String', value: 'x' }]);
  return new Array<unknown>(n).fill(item);
}

/** A random command object; its reqID is `reqID` (top level), so its answer can be told apart. */
function randomCommand(rnd: Random, reqID: number): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  if (rnd() < 0.7) data.path = pick(rnd, PATHS);
  if (rnd() < 0.15) data.key = pick(rnd, ['manufacturer', ...PROTO_NAMES]);
  if (rnd() < 0.15) data.basePath = pick(rnd, PATHS);
  if (rnd() < 0.3) data.type = pick(rnd, TYPES);
  if (rnd() < 0.4) data.value = rnd() < 0.1 ? nested(rnd) : pick(rnd, VALUES);
  if (rnd() < 0.15) data.content = Array.from({ length: Math.floor(rnd() * 3) }, () => ({ path: pick(rnd, ['0', '1', '/3/0/1', 'x', ...PROTO_NAMES]), type: pick(rnd, TYPES), value: pick(rnd, VALUES) }));
  if (rnd() < 0.1) data.paths = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(rnd, PATHS));
  if (rnd() < 0.1) data.contentFormat = pick(rnd, FORMATS);
  if (rnd() < 0.1) data.pmin = pick(rnd, VALUES);
  if (rnd() < 0.2) data.method = rnd() < 0.9 ? pick(rnd, RPC_METHODS) : pick(rnd, VALUES);
  if (rnd() < 0.15) data.params = rnd() < 0.1 ? nested(rnd) : rnd() < 0.5 ? pick(rnd, VALUES) : { value: pick(rnd, VALUES), type: pick(rnd, TYPES) };
  if (rnd() < 0.05) data.image = pick(rnd, ['fw.bin', '../etc/passwd', '', ...PROTO_NAMES]);
  if (rnd() < 0.05) data.uri = pick(rnd, ['coap://127.0.0.1/fw', 'file:///etc/passwd', 'x'.repeat(300), ...PROTO_NAMES]);
  if (rnd() < 0.05) data.instance = pick(rnd, [0, 1, -1, 65535, 1.5, '0', null, ...PROTO_NAMES]);
  if (rnd() < 0.05) data.forUpdate = pick(rnd, VALUES);
  if (rnd() < 0.05) data[pick(rnd, PROTO_NAMES)] = pick(rnd, VALUES);
  const cmd: Record<string, unknown> = { reqID, msgType: pick(rnd, MSG_TYPES), data: rnd() < 0.95 ? data : pick(rnd, VALUES) };
  const r = rnd();
  if (r < 0.05) cmd.extra = nested(rnd);
  else if (r < 0.08) cmd.extra = hugeArray(rnd);
  else if (r < 0.1) data.paths = hugeArray(rnd);
  else if (r < 0.12) cmd.pad = 'p'.repeat(MAX_COMMAND_SIZE * pick(rnd, [1, 3]));
  else if (r < 0.17) cmd[pick(rnd, PROTO_NAMES)] = rnd() < 0.5 ? pick(rnd, VALUES) : { polluted: true };
  if (rnd() < 0.1) cmd.encoding = pick(rnd, ['hex', 'base64', 'rot13']);
  if (rnd() < 0.15) cmd.mheaders = { ttl: pick(rnd, [0, 0, 1, 100, -1, 'x']) };
  return cmd;
}

interface Sent {
  payload: string;
  /** The answer echoes this reqID (it is absent only when the gateway could not read the command). */
  reqID?: number;
}

/** Commands for one device: mostly generated, some mutated bytes (reqID unknown), some floods of one read. */
function commandsFor(rnd: Random, count: number, firstReqId: number): Sent[] {
  const sent: Sent[] = [];
  const huge = MAX_COMMAND_SIZE * 2;
  while (sent.length < count) {
    const reqID = firstReqId + sent.length;
    const r = rnd();
    if (r < 0.1) {
      // a burst past the queue bound
      for (let i = 0; i < 50 && sent.length < count; i++) {
        const id = firstReqId + sent.length;
        sent.push({ payload: JSON.stringify({ reqID: id, msgType: 'read', data: { path: '/3/0/0' } }), reqID: id });
      }
    } else if (r < 0.25) {
      // Mutated: its reqID (if it survives) is far from every tracked one, whatever digits an edit removes.
      const seed = Buffer.from(toJson(randomCommand(rnd, MUTATED_REQ_ID_BASE + reqID)));
      sent.push({ payload: mutateBytes(rnd, seed).toString('utf8') });
    } else {
      const payload = toJson(randomCommand(rnd, reqID));
      sent.push({ payload, reqID: Buffer.byteLength(payload) > huge ? undefined : reqID });
    }
  }
  return sent;
}

async function answersOn(h: Harness, topic: string, count: number, timeoutMs: number, from: number): Promise<ReceivedMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = h.probe.messages.slice(from).filter((m) => m.topic === topic);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Exactly one answer per command: per reqID for those that carry one, and in total. */
function expectOneAnswerEach(answers: ReceivedMessage[], sent: readonly Sent[]): void {
  const expected = new Set(sent.flatMap((s) => (s.reqID === undefined ? [] : [s.reqID])));
  const seen = new Map<number, number>();
  for (const a of answers) {
    const id = a.json.reqID;
    if (typeof id === 'number' && expected.has(id)) seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  const missing = [...expected].filter((id) => !seen.has(id));
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  expect({ missing: missing.slice(0, 10), twice: twice.slice(0, 10) }).toEqual({ missing: [], twice: [] });
  expect(answers).toHaveLength(sent.length);
  // coap_timeout / coap_reset / ack echo the command's data with reqPath; every other answer has a code.
  const EXCHANGE_EVENTS = ['coap_timeout', 'coap_reset', 'ack'];
  for (const a of answers) {
    if (EXCHANGE_EVENTS.includes(a.json.msgType as string)) expect(a.json.data).toHaveProperty('reqPath');
    else expect(typeof (a.json.data as { code?: unknown } | undefined)?.code).toBe('string');
  }
}

describe(`command fuzz with the queue in the loop (seed ${SEED})`, () => {
  let h: Harness;
  let bystanders: Bystanders;
  beforeAll(async () => {
    h = await startHarness(
      `lwm2m:\n  max_queued_commands: ${MAX_QUEUED}\n  max_command_size: ${MAX_COMMAND_SIZE}\n  qmode_time_window: 1\n  keys:\n    manufacturer: /3/0/0\n` +
        // ttl 0 commands reach a sleeping device at once; it does not answer, and they time out in seconds.
        '  coap:\n    ack_timeout: 0.5\n    max_retransmit: 2\n' +
        // The fuzzed devices have a profile: rpc calls run (or are refused) through it.
        'profiles:\n  - name: fuzzed\n    match: { endpoint: "fuzzed*" }\n    telemetry: { /3/0/9: battery_level }\n' +
        '    rpc: { reboot: { execute: /3/0/4 }, set_timezone: { write: /3/0/15 }, battery: { read: /3/0/9 } }\n',
    );
    bystanders = await Bystanders.start(h, 50);
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  it(`${COMMANDS_PER_DEVICE} commands to an online device: each answered once, the device and the others still answer`, async () => {
    const rnd = seededRandom(SEED);
    // Software Management instances, so that software-* commands reach their jobs (and the device's object 9).
    const software = new SoftwareObject({ instances: [0, 1], installed: true, downloadDelayMs: 100 });
    const device = await h.device({ endpoint: 'fuzzed', lifetime: 3600, entries: [...DEVICE_ENTRIES, ...software.entries()], handlers: [software.handler] });
    expect((await device.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/fuzzed/up/register');
    const sent = commandsFor(rnd, COMMANDS_PER_DEVICE, 1);
    const from = h.probe.mark();
    const answers = await whileBystandersRead(bystanders, async () => {
      await publishFlood(h.gw.mqttUrl, 'lwm2m/fuzzed/dn', sent.map((s) => s.payload));
      return answersOn(h, 'lwm2m/fuzzed/up/resp', sent.length, 30_000, from);
    });
    expectOneAnswerEach(answers, sent);
    const codes = new Set(answers.map((a) => (a.json.data as { code: string }).code));
    for (const code of ['2.05', '4.00', '4.13', '5.03']) expect(codes).toContain(code);
    // Software jobs did start (and others were refused with a reason), on the device's object 9.
    const softwareCodes = new Set(answers.filter((a) => String(a.json.msgType).startsWith('software-')).map((a) => (a.json.data as { code: string }).code));
    for (const code of ['2.01', '4.00']) expect(softwareCodes).toContain(code);
    const errors = answers.map((a) => String((a.json.data as { error?: string }).error));
    for (const text of ['deeper than 32 levels', 'is not in lwm2m.keys', 'max_queued_commands', 'max_command_size']) {
      expect(errors.some((e) => e.includes(text))).toBe(true);
    }

    const after = h.probe.mark();
    await h.probe.publish('lwm2m/fuzzed/dn', { reqID: 'after', msgType: 'read', data: { path: '/3/0/0' } });
    expect((await h.probe.waitOn('lwm2m/fuzzed/up/resp', { reqID: 'after' }, 10_000, after)).json.data).toMatchObject({ code: '2.05' });
    await bystanders.expectAllAnswer();
    software.stop();
  }, 90_000);

  it(`${COMMANDS_PER_DEVICE} commands to a sleeping queue-mode device: refused ones answered at once, queued ones on wake-up`, async () => {
    const rnd = seededRandom(SEED + 1);
    const device = await h.device({ endpoint: 'fuzzed-sleeper', binding: 'UQ', lifetime: 3600 });
    expect((await device.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/fuzzed-sleeper/up/register');
    await new Promise((resolve) => setTimeout(resolve, 1200)); // past qmode_time_window: asleep
    device.behaviour.silent = true; // as a sleeping device is: ttl 0 commands, sent anyway, time out
    const sent = commandsFor(rnd, COMMANDS_PER_DEVICE, 100_001);
    const from = h.probe.mark();
    const session = h.gw.gateway.engine.device('fuzzed-sleeper');
    // While it sleeps, everything is answered at once but what waits in its queue.
    const refused = await whileBystandersRead(bystanders, async () => {
      await publishFlood(h.gw.mqttUrl, 'lwm2m/fuzzed-sleeper/dn', sent.map((s) => s.payload));
      const early = await answersOn(h, 'lwm2m/fuzzed-sleeper/up/resp', sent.length - MAX_QUEUED, 30_000, from);
      await new Promise((resolve) => setTimeout(resolve, 1200)); // an expiry sweep with the queue full
      return early;
    });
    expect(refused.length).toBeGreaterThanOrEqual(sent.length - MAX_QUEUED);
    expect(refused.filter((a) => (a.json.data as { code: string }).code === '5.03').length).toBeGreaterThan(0);
    expect(session?.queue.size).toBeGreaterThan(0); // some commands do wait

    device.behaviour.silent = false;
    expect((await device.update()).code).toBe('2.04');
    const answers = await answersOn(h, 'lwm2m/fuzzed-sleeper/up/resp', sent.length, 20_000, from);
    expectOneAnswerEach(answers, sent);
    expect(session?.queue.size).toBe(0);
    await bystanders.expectAllAnswer();
  }, 90_000);
});
