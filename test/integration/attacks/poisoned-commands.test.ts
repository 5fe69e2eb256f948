/**
 * Finding 4 of issue 9: one command must not stick a device's queue. Before the fix a command
 * with a field nested 5,000 deep was sent to the device, and the answer (which echoes the field)
 * threw "Maximum call stack size exceeded": it was never answered and its in-flight slot never
 * freed, so every later command for the device went unanswered until it re-registered. And
 * `data.key` "constructor", "__proto__" or "toString" found members of Object.prototype in the
 * lwm2m.keys table: no answer at all. Now such commands are refused before they are queued, with
 * one error answer each, and the device goes on answering.
 */
import { Bystanders } from '../../support/bystanders';
import { startHarness, type Harness } from '../../support/harness';
import type { ReceivedMessage } from '../../support/mqtt-probe';
import type { TestDevice } from '../../support/test-device';
import { whileBystandersRead } from '../../support/under-attack';

const MAX_COMMAND_SIZE = 65_536;

function nested(depth: number, leaf: unknown = 1): string {
  return '['.repeat(depth) + JSON.stringify(leaf) + ']'.repeat(depth);
}

describe('poisoned commands (issue 9, finding 4)', () => {
  let h: Harness;
  let bystanders: Bystanders;
  let online: TestDevice;
  let sleeper: TestDevice;
  let nextReqId = 1;

  beforeAll(async () => {
    h = await startHarness(
      `lwm2m:\n  max_queued_commands: 100\n  max_command_size: ${MAX_COMMAND_SIZE}\n  qmode_time_window: 1\n  keys:\n    manufacturer: /3/0/0\n`,
    );
    bystanders = await Bystanders.start(h, 50);
    online = await h.device({ endpoint: 'poisoned' });
    expect((await online.register()).code).toBe('2.01');
    sleeper = await h.device({ endpoint: 'poisoned-sleeper', binding: 'UQ', lifetime: 3600 });
    expect((await sleeper.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/poisoned-sleeper/up/register');
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  /** Publishes a raw payload carrying a fresh reqID (as "reqID":N, first); resolves with its one answer. */
  async function ask(endpoint: string, body: string, timeoutMs = 5000): Promise<ReceivedMessage> {
    const reqID = nextReqId++;
    const from = h.probe.mark();
    await h.probe.publish(`lwm2m/${endpoint}/dn`, `{"reqID":${reqID},${body}}`);
    const answer = await h.probe.waitOn(`lwm2m/${endpoint}/up/resp`, { reqID }, timeoutMs, from);
    // Exactly one: nothing more for this reqID a little later.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.probe.messages.slice(from).filter((m) => m.topic === answer.topic && m.json.reqID === reqID)).toHaveLength(1);
    return answer;
  }

  async function expectReadWorks(endpoint: string): Promise<void> {
    const answer = await ask(endpoint, '"msgType":"read","data":{"path":"/3/0/0"}');
    expect(answer.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] });
  }

  it('a field nested 5,000 deep is refused 4.00, and the device answers the next command', async () => {
    const deep = nested(5000);
    await whileBystandersRead(bystanders, async () => {
      for (const body of [
        `"msgType":"read","data":{"path":"/3/0/0"},"extra":${deep}`, // echoed: threw when answering
        `"msgType":"write","data":{"path":"/3/0/13","value":${deep}}`, // in data: threw while parsing
        `"msgType":"read","data":{"path":"/3/0/0","x":${deep}},"mheaders":{"ttl":0}`,
      ]) {
        expect(Buffer.byteLength(body)).toBeGreaterThan(10_000);
        const answer = await ask('poisoned', body);
        expect(answer.json.data).toMatchObject({ code: '4.00', codeMsg: 'bad_request', error: expect.stringContaining('deeper than 32 levels') });
        expect(answer.json.msgType).toBe(body.startsWith('"msgType":"write"') ? 'write' : 'read');
        await expectReadWorks('poisoned');
      }
      // 32 levels is fine: the field is echoed as given.
      const ok = await ask('poisoned', `"msgType":"read","data":{"path":"/3/0/0"},"extra":${nested(31)}`);
      expect(ok.json.data).toMatchObject({ code: '2.05' });
      expect(ok.json.extra).toEqual(JSON.parse(nested(31)));
    });
    await bystanders.expectAllAnswer();
  });

  it('a sleeping device: the deep command is refused at once, the commands queued around it are answered on wake-up', async () => {
    await whileBystandersRead(bystanders, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1200)); // past qmode_time_window: asleep
      const from = h.probe.mark();
      const before = nextReqId++;
      await h.probe.publish('lwm2m/poisoned-sleeper/dn', { reqID: before, msgType: 'read', data: { path: '/3/0/0' } });
      const refused = await ask('poisoned-sleeper', `"msgType":"read","data":{"path":"/3/0/0"},"extra":${nested(5000)}`);
      expect(refused.json.data).toMatchObject({ code: '4.00' });
      const after = nextReqId++;
      await h.probe.publish('lwm2m/poisoned-sleeper/dn', { reqID: after, msgType: 'read', data: { path: '/3/0/1' } });
      expect((await sleeper.update()).code).toBe('2.04');
      for (const reqID of [before, after]) {
        expect((await h.probe.waitOn('lwm2m/poisoned-sleeper/up/resp', { reqID }, 5000, from)).json.data).toMatchObject({ code: '2.05' });
      }
    });
    await bystanders.expectAllAnswer();
  });

  it('names of Object.prototype members (data.key, msgType, type, contentFormat, fields) are answered like any other name', async () => {
    await whileBystandersRead(bystanders, async () => {
      for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
        const answer = await ask('poisoned', `"msgType":"read","data":{"key":${JSON.stringify(key)}}`);
        expect(answer.json.data).toMatchObject({ reqPath: key, code: '4.00', error: `data.key "${key}" is not in lwm2m.keys` });
      }
      const byKey = await ask('poisoned', '"msgType":"read","data":{"key":"manufacturer"}');
      expect(byKey.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] });
      for (const body of [
        '"msgType":"constructor","data":{"path":"/3/0/0"}',
        '"msgType":"__proto__","data":{"path":"/3/0/0"}',
        '"msgType":"write","data":{"path":"/3/0/1","type":"constructor","value":"x"}',
        '"msgType":"write","data":{"basePath":"/3/0","content":[{"path":"1","type":"toString","value":"x"}]}',
        '"msgType":"read","data":{"path":"/3/0/0","contentFormat":"constructor"}',
        '"msgType":"read","data":{"path":"/3/0/0","contentFormat":"__proto__"}',
      ]) {
        const answer = await ask('poisoned', body);
        expect(answer.json.data).toMatchObject({ code: '4.00' });
      }
      // A "__proto__" field is a field like any other: echoed, never a prototype.
      const proto = await ask('poisoned', '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"msgType":"read","data":{"path":"/3/0/0"}');
      expect(proto.json.data).toMatchObject({ code: '2.05' });
      expect(Object.hasOwn(proto.json, '__proto__')).toBe(true);
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
      await expectReadWorks('poisoned');
    });
    await bystanders.expectAllAnswer();
  });

  it('a command larger than lwm2m.max_command_size is answered 4.13, echoing its reqID when it is not hugely larger', async () => {
    await whileBystandersRead(bystanders, async () => {
      const pad = 'x'.repeat(MAX_COMMAND_SIZE);
      const answer = await ask('poisoned', `"msgType":"read","data":{"path":"/3/0/0"},"pad":"${pad}"`);
      expect(answer.json.data).toEqual({
        reqPath: '/3/0/0',
        code: '4.13',
        codeMsg: 'request_entity_too_large',
        error: expect.stringMatching(new RegExp(`^command of \\d{5} bytes is larger than lwm2m\\.max_command_size \\(${MAX_COMMAND_SIZE} bytes\\)$`)),
      });
      expect(answer.json.msgType).toBe('read');
      expect(answer.json.pad).toBeUndefined(); // only short scalar fields are echoed

      // Hugely larger: not parsed at all; the answer cannot echo the reqID.
      const from = h.probe.mark();
      await h.probe.publish('lwm2m/poisoned/dn', `{"reqID":"huge","msgType":"read","data":{"path":"/3/0/0"},"pad":"${'y'.repeat(4 * MAX_COMMAND_SIZE)}"}`);
      const huge = await h.probe.waitFor((m) => m.topic === 'lwm2m/poisoned/up/resp' && (m.json.data as { code?: string }).code === '4.13', 5000, from);
      expect(huge.json).toEqual({ data: expect.objectContaining({ reqPath: null, code: '4.13' }) });
      await expectReadWorks('poisoned');
    });
    await bystanders.expectAllAnswer();
  });
  it('a command cannot pass itself off as auto-observe: it is answered 4.04 when its device deregisters', async () => {
    const spoofer = await h.device({ endpoint: 'poisoned-spoofer', binding: 'UQ', lifetime: 3600 });
    expect((await spoofer.register()).code).toBe('2.01');
    await new Promise((resolve) => setTimeout(resolve, 1200)); // past qmode_time_window: asleep, so the command waits
    const reqID = nextReqId++;
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/poisoned-spoofer/dn', { reqID, msgType: 'read', is_auto_observe: true, data: { path: '/3/0/0' } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await spoofer.deregister()).code).toBe('2.02');
    const answer = await h.probe.waitOn('lwm2m/poisoned-spoofer/up/resp', { reqID }, 5000, from);
    expect(answer.json.data).toMatchObject({ code: '4.04', error: expect.stringContaining('deregistered') });
  });
});
