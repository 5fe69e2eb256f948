/**
 * The LwM2M 1.1/1.2 content formats end to end: an MQTT read command asking for "senml+json",
 * "senml+cbor", "lwm2m+cbor" or "cbor" reaches the device as Accept, the device answers in that format and MQTT
 * gets typed values.
 */
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { startHarness, type Harness } from '../support/harness';
import type { TestDevice } from '../support/test-device';

describe('SenML JSON, SenML CBOR, LwM2M CBOR and CBOR answers through MQTT', () => {
  let h: Harness;
  let d: TestDevice;
  beforeEach(async () => {
    h = await startHarness();
    d = await h.device({ endpoint: 'senml' });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/senml/up/register');
  });
  afterEach(async () => {
    await h.close();
  });

  async function command(cmd: Record<string, unknown>) {
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/senml/dn', cmd);
    const m = await h.probe.waitFor((x) => x.topic === 'lwm2m/senml/up/resp' && x.json.msgType !== 'ack', 5000, from);
    return m.json as { msgType: string; data: Record<string, unknown> };
  }

  it.each([
    ['senml+json', ContentFormat.SENML_JSON],
    ['senml+cbor', ContentFormat.SENML_CBOR],
    [112, ContentFormat.SENML_CBOR],
    ['lwm2m+cbor', ContentFormat.LWM2M_CBOR],
    [11544, ContentFormat.LWM2M_CBOR],
  ])('a read of an instance with contentFormat %j is asked with that Accept and decoded typed', async (contentFormat, accept) => {
    const r = await command({ reqID: 1, msgType: 'read', data: { path: '/3/0', contentFormat } });
    const get = d.requests.find((q) => q.method === 'GET' && q.uriPath.join('/') === '3/0');
    expect(get?.accept).toBe(accept);
    expect(r.data).toMatchObject({ reqPath: '/3/0', code: '2.05' });
    expect(r.data.content).toEqual([
      { path: '/3/0/0', value: 'Open Mobile Alliance' },
      { path: '/3/0/1', value: 'Lightweight M2M Client' },
      { path: '/3/0/2', value: '345000123' },
      { path: '/3/0/9', value: 100 },
      { path: '/3/0/13', value: 1367491215 },
      { path: '/3/0/7/0', value: 3800 },
      { path: '/3/0/7/1', value: 5000 },
    ]);
  });

  it('contentFormat 110 works too, and a resource answered in SenML JSON unasked is decoded', async () => {
    const r = await command({ reqID: 2, msgType: 'read', data: { path: '/3303/0/5700', contentFormat: 110 } });
    expect(r.data).toMatchObject({ code: '2.05', content: [{ path: '/3303/0/5700', value: 21.5 }] });
    d.behaviour.resourceFormat = ContentFormat.SENML_JSON;
    const plain = await command({ reqID: 3, msgType: 'read', data: { path: '/3/0/9' } });
    expect(plain.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/9', value: 100 }] });
  });

  it('a single resource in plain CBOR (60) and in LwM2M CBOR', async () => {
    const cbor = await command({ reqID: 4, msgType: 'read', data: { path: '/3303/0/5700', contentFormat: 'cbor' } });
    expect(d.requests.at(-1)?.accept).toBe(ContentFormat.CBOR);
    expect(cbor.data).toMatchObject({ code: '2.05', content: [{ path: '/3303/0/5700', value: 21.5 }] });
    const text = await command({ reqID: 5, msgType: 'read', data: { path: '/3/0/0', contentFormat: 60 } });
    expect(text.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] });
    const lwm2m = await command({ reqID: 6, msgType: 'read', data: { path: '/3/0/7', contentFormat: 'lwm2m+cbor' } });
    expect(lwm2m.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/7/0', value: 3800 }, { path: '/3/0/7/1', value: 5000 }] });
  });
});
