/** Commands the gateway answers itself: discover-all, observe-read-all, observe-cancel-all. */
import Ajv from 'ajv';
import { loadSchema } from '../../src/package-root';
import { startHarness, type Harness } from '../support/harness';

const validUplink = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway-local commands', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness('lwm2m:\n  qmode_time_window: 1\n');
  });
  afterEach(async () => {
    await h.close();
  });

  async function command(ep: string, cmd: Record<string, unknown>) {
    const from = h.probe.mark();
    await h.probe.publish(`lwm2m/${ep}/dn`, cmd);
    const m = await h.probe.waitFor((x) => x.topic === `lwm2m/${ep}/up/resp` && x.json.msgType === cmd.msgType, 5000, from);
    expect(validUplink(m.json)).toBe(true);
    return m.json as { reqID?: unknown; msgType: string; data: Record<string, unknown> };
  }

  it('discover-all answers from the registration, even while a queue-mode device sleeps', async () => {
    const d = await h.device({ endpoint: 'q1', binding: 'UQ', links: '</1/0>,</3/0>;ver=1.1,</3303/0>' });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/q1/up/register');
    await sleep(1200); // past qmode_time_window: the device sleeps
    const requestsBefore = d.requests.length;
    const r = await command('q1', { reqID: 7, msgType: 'discover-all', data: {} });
    expect(r).toMatchObject({ reqID: 7, data: { code: '2.05', reqPath: null, content: ['</1/0>', '</3/0>;ver=1.1', '</3303/0>'] } });
    expect(d.requests.length).toBe(requestsBefore);
  });

  it('observe-read-all lists observations; observe-cancel-all cancels them (reactive RST) and answers the count', async () => {
    const d = await h.device({ endpoint: 'obs' });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/obs/up/register');
    expect((await command('obs', { reqID: 1, msgType: 'observe', data: { path: '/3303/0/5700' } })).data).toMatchObject({ code: '2.05' });
    expect((await command('obs', { reqID: 2, msgType: 'observe', data: { path: '/3/0/9' } })).data).toMatchObject({ code: '2.05' });
    const list = await command('obs', { reqID: 3, msgType: 'observe-read-all', data: {} });
    expect(list.data).toMatchObject({ code: '2.05', content: [{ path: '/3303/0/5700', reqID: 1 }, { path: '/3/0/9', reqID: 2 }] });

    const cancelled = await command('obs', { reqID: 4, msgType: 'observe-cancel-all', data: {} });
    expect(cancelled).toMatchObject({ reqID: 4, data: { code: '2.02', count: 2 } });
    expect((await command('obs', { reqID: 5, msgType: 'observe-read-all', data: {} })).data).toMatchObject({ content: [] });

    // The device's next notification is refused with RST and not published.
    const from = h.probe.mark();
    const rst = new Promise<void>((resolve) => d.coap.once('observeCancelled', () => resolve()));
    d.notify('/3303/0/5700', true);
    await rst;
    await sleep(100);
    expect(h.probe.messages.slice(from).filter((m) => m.topic === 'lwm2m/obs/up/notify')).toEqual([]);
    expect((await command('obs', { reqID: 6, msgType: 'observe-cancel-all', data: {} })).data).toMatchObject({ count: 0 });
  });
});
