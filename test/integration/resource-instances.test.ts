/** Resource instances (/O/I/R/RI, LwM2M 1.1): read, write, observe and write-attr through MQTT. */
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { startHarness, type Harness } from '../support/harness';
import type { TestDevice } from '../support/test-device';

describe('resource instances', () => {
  let h: Harness;
  let d: TestDevice;
  beforeEach(async () => {
    h = await startHarness();
    d = await h.device({ endpoint: 'ri', lwm2m: '1.1' });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/ri/up/register');
  });
  afterEach(async () => {
    await h.close();
  });

  async function command(cmd: Record<string, unknown>) {
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/ri/dn', cmd);
    const m = await h.probe.waitFor((x) => x.topic === 'lwm2m/ri/up/resp' && x.json.msgType === cmd.msgType, 5000, from);
    return m.json as { msgType: string; seqNum?: number; data: Record<string, unknown> };
  }

  it('read and write one instance of a multiple resource', async () => {
    expect((await command({ reqID: 1, msgType: 'read', data: { path: '/3/0/7/1' } })).data).toMatchObject({ reqPath: '/3/0/7/1', code: '2.05', content: [{ path: '/3/0/7/1', value: 5000 }] });
    expect((await command({ reqID: 2, msgType: 'write', data: { path: '/3/0/7/1', type: 'Integer', value: 4200 } })).data).toMatchObject({ code: '2.04' });
    const put = d.requests.find((q) => q.method === 'PUT');
    expect(put?.uriPath).toEqual(['3', '0', '7', '1']);
    expect(d.values.get('/3/0/7/1')?.value).toBe(4200);
    expect(d.values.get('/3/0/7/0')?.value).toBe(3800);
    const senml = await command({ reqID: 3, msgType: 'read', data: { path: '/3/0/7/1', contentFormat: 'senml+json' } });
    expect(senml.data).toMatchObject({ content: [{ path: '/3/0/7/1', value: 4200 }] });
    expect(d.requests.at(-1)?.accept).toBe(ContentFormat.SENML_JSON);
  });

  it('observe and write-attr on a resource instance', async () => {
    const o = await command({ reqID: 4, msgType: 'observe', data: { path: '/3/0/7/0' } });
    expect(o.data).toMatchObject({ reqPath: '/3/0/7/0', code: '2.05', content: [{ path: '/3/0/7/0', value: 3800 }] });
    d.set('/3/0/7/0', 3700);
    const from = h.probe.mark();
    d.notify('/3/0/7/0');
    const n = await h.probe.waitOn('lwm2m/ri/up/notify', {}, 5000, from);
    expect(n.json).toMatchObject({ reqID: 4, data: { content: [{ path: '/3/0/7/0', value: 3700 }] } });
    const attr = await command({ reqID: 5, msgType: 'write-attr', data: { path: '/3/0/7/0', pmin: 5, epmin: 1, epmax: 30, edge: 1, con: 1, hqmax: 4 } });
    expect(attr.data).toMatchObject({ code: '2.04' });
    expect(d.attributes.get('/3/0/7/0')).toEqual(['pmin=5', 'epmin=1', 'epmax=30', 'edge=1', 'con=1', 'hqmax=4']);
  });
});
