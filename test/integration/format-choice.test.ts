/**
 * Content-format choice per device: a write without data.contentFormat goes out in what the device
 * announced at register (`ct` on its root link) and its LwM2M version; data.contentFormat overrides.
 */
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import Ajv from 'ajv';
import { loadSchema } from '../../src/package-root';
import { startHarness, type Harness } from '../support/harness';

const validUplink = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));

describe('content format of writes per device', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function writeFormatOf(ep: string, lwm2m: string, links: string, data: Record<string, unknown> = {}): Promise<number | undefined> {
    const d = await h.device({ endpoint: ep, lwm2m, links });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn(`lwm2m/${ep}/up/register`);
    const from = h.probe.mark();
    await h.probe.publish(`lwm2m/${ep}/dn`, { reqID: 1, msgType: 'write', data: { path: '/3/0/13', type: 'Time', value: 1700000000, ...data } });
    const r = await h.probe.waitFor((m) => m.topic === `lwm2m/${ep}/up/resp` && m.json.msgType === 'write', 5000, from);
    expect(r.json).toMatchObject({ data: { code: '2.04' } });
    expect(d.values.get('/3/0/13')?.value).toBe(1700000000);
    return d.requests.find((q) => q.method === 'PUT')?.contentFormat;
  }

  it('a 1.2 device announcing LwM2M CBOR gets LwM2M CBOR', async () => {
    expect(await writeFormatOf('v12', '1.2', '</>;rt="oma.lwm2m";ct="11544 11542",</3/0>')).toBe(ContentFormat.LWM2M_CBOR);
  });

  it('a 1.0 device gets TLV; a device announcing only SenML JSON gets SenML JSON', async () => {
    expect(await writeFormatOf('v10', '1.0', '</3/0>')).toBe(ContentFormat.TLV);
    expect(await writeFormatOf('v11j', '1.1', '</>;rt="oma.lwm2m";ct=110,</3/0>')).toBe(ContentFormat.SENML_JSON);
  });

  it('data.contentFormat overrides the choice', async () => {
    expect(await writeFormatOf('over', '1.2', '</>;rt="oma.lwm2m";ct="11544 11542",</3/0>', { contentFormat: 'tlv' })).toBe(ContentFormat.TLV);
  });

  it('object versions announced with ver are published as objectVersions; objectList stays plain', async () => {
    const d = await h.device({ endpoint: 'vers', lwm2m: '1.1', links: '</>;rt="oma.lwm2m";ct=110,</1/0>,</3>;ver=1.1,</3/0>,</3303>;ver=1.1,</3303/0>' });
    expect((await d.register()).code).toBe('2.01');
    const m = await h.probe.waitOn('lwm2m/vers/up/register');
    expect(validUplink(m.json)).toBe(true);
    expect(m.json.data).toMatchObject({ objectList: ['/1/0', '/3', '/3/0', '/3303', '/3303/0'], objectVersions: { '/3': '1.1', '/3303': '1.1' } });
    const plain = await h.device({ endpoint: 'plainvers', links: '</3/0>' });
    expect((await plain.register()).code).toBe('2.01');
    expect((await h.probe.waitOn('lwm2m/plainvers/up/register')).json.data).not.toHaveProperty('objectVersions');
  });
});
