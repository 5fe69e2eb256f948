/** `lwm2m.keys`: `{"key": NAME}` in place of `path` in any command (issue: names for paths). */
import Ajv from 'ajv';
import { loadSchema } from '../../src/package-root';
import { startHarness, type Harness } from '../support/harness';

const validUplink = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));

describe('commands by key (lwm2m.keys)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness('lwm2m:\n  keys:\n    batteryLevel: /3/0/9\n    temperature: /3303/0/5700\n    device: /3/0\n');
  });
  afterEach(async () => {
    await h.close();
  });

  async function command(cmd: Record<string, unknown>, topic = 'up/resp') {
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/keyed/dn', cmd);
    const m = await h.probe.waitFor((x) => x.topic === `lwm2m/keyed/${topic}` && x.json.reqID === cmd.reqID, 5000, from);
    expect(validUplink(m.json)).toBe(true);
    return m.json as { reqID: number; msgType: string; data: Record<string, unknown> };
  }

  it('read, write, observe and cancel by key reach the mapped paths; the answer names the key', async () => {
    const d = await h.device({ endpoint: 'keyed' });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/keyed/up/register');

    const read = await command({ reqID: 1, msgType: 'read', data: { key: 'batteryLevel' } });
    expect(read).toEqual({ reqID: 1, msgType: 'read', data: { reqPath: 'batteryLevel', code: '2.05', codeMsg: 'content', content: [{ path: '/3/0/9', value: 100 }] } });
    expect(d.requests.at(-1)).toMatchObject({ method: 'GET', uriPath: ['3', '0', '9'] });

    const write = await command({ reqID: 2, msgType: 'write', data: { key: 'temperature', type: 'Float', value: 19.5 } });
    expect(write.data).toMatchObject({ reqPath: 'temperature', code: '2.04' });
    expect(d.values.get('/3303/0/5700')?.value).toBe(19.5);

    const instance = await command({ reqID: 3, msgType: 'read', data: { key: 'device' } });
    expect(instance.data.content).toEqual(expect.arrayContaining([{ path: '/3/0/9', value: 100 }]));

    const observe = await command({ reqID: 4, msgType: 'observe', data: { key: 'temperature' } });
    expect(observe.data).toMatchObject({ reqPath: 'temperature', code: '2.05', content: [{ path: '/3303/0/5700', value: 19.5 }] });
    const from = h.probe.mark();
    d.values.set('/3303/0/5700', { path: '/3303/0/5700', type: 'float', value: 20.5 });
    d.notify('/3303/0/5700');
    const notify = await h.probe.waitOn('lwm2m/keyed/up/notify', { reqID: 4 }, 5000, from);
    expect(notify.json).toMatchObject({ msgType: 'notify', data: { reqPath: 'temperature', content: [{ path: '/3303/0/5700', value: 20.5 }] } });

    const cancel = await command({ reqID: 5, msgType: 'cancel-observe', data: { key: 'temperature' } });
    expect(cancel.data).toMatchObject({ reqPath: 'temperature', code: '2.05' });
    expect((await command({ reqID: 6, msgType: 'observe-read-all', data: {} })).data).toMatchObject({ content: [] });
  });

  it('a key that is not configured gets 4.00 naming it, and reaches no device', async () => {
    const d = await h.device({ endpoint: 'keyed' });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/keyed/up/register');
    const before = d.requests.length;
    const r = await command({ reqID: 9, msgType: 'read', data: { key: 'humidity' } });
    expect(r).toMatchObject({ reqID: 9, msgType: 'read', data: { reqPath: 'humidity', code: '4.00', error: 'data.key "humidity" is not in lwm2m.keys' } });
    expect(d.requests.length).toBe(before);
  });
});
