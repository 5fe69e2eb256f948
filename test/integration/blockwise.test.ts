/** RFC 7959 block-wise transfers through the whole gateway, seen from MQTT. */
import { startHarness, type Harness } from '../support/harness';
import { DEVICE_ENTRIES } from '../support/test-device';

describe('block-wise transfers through the gateway', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('Block1 uplink: a register payload sent in 64-byte blocks is reassembled once', async () => {
    h = await startHarness();
    const links = Array.from({ length: 60 }, (_, i) => `</${3300 + i}/0>`).join(',');
    const d = await h.device({ endpoint: 'big-reg', links, coap: { blockwise: { enable: true, maxBlockSize: 64, maxBodySize: 65536, exchangeLifetime: 247 } } });
    const res = await d.register();
    expect(res.code).toBe('2.01');
    const m = await h.probe.waitOn('lwm2m/big-reg/up/register');
    expect((m.json.data as { objectList: string[] }).objectList).toHaveLength(60);
    expect(h.probe.on('lwm2m/big-reg/up/register')).toHaveLength(1);
  });

  it('Block1 uplink beyond max_body_size is refused with 4.13', async () => {
    h = await startHarness('lwm2m:\n  blockwise:\n    max_body_size: 256\n');
    const links = Array.from({ length: 60 }, (_, i) => `</${3300 + i}/0>`).join(',');
    const d = await h.device({ endpoint: 'too-big', links, coap: { blockwise: { enable: true, maxBlockSize: 64, maxBodySize: 65536, exchangeLifetime: 247 } } });
    const res = await d.register();
    expect(res.code).toBe('4.13');
  });

  it('Block2: a large device answer is fetched block by block and published once', async () => {
    h = await startHarness();
    const big = 'x'.repeat(3000);
    const d = await h.device({
      endpoint: 'big-read',
      entries: [...DEVICE_ENTRIES, { path: '/3/0/15', type: 'string', value: big }],
      coap: { blockwise: { enable: true, maxBlockSize: 256, maxBodySize: 65536, exchangeLifetime: 247 } },
    });
    await d.register();
    await h.probe.waitOn('lwm2m/big-read/up/register');
    await h.probe.publish('lwm2m/big-read/dn', { reqID: 1, msgType: 'read', data: { path: '/3/0/15' } });
    const r = await h.probe.waitOn('lwm2m/big-read/up/resp', { reqID: 1 });
    expect(r.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/15', value: big }] });
    expect(d.requests.filter((q) => q.uriPath.join('/') === '3/0/15').length).toBeGreaterThan(1);
  });

  it('Block1 downlink: a large write goes out in max_block_size blocks and arrives whole', async () => {
    h = await startHarness('lwm2m:\n  blockwise:\n    max_block_size: 128\n');
    const d = await h.device({ endpoint: 'big-write' });
    await d.register();
    await h.probe.waitOn('lwm2m/big-write/up/register');
    const blob = Buffer.alloc(2000, 7);
    await h.probe.publish('lwm2m/big-write/dn', { reqID: 2, msgType: 'write', data: { path: '/5/0/0', type: 'Opaque', value: blob.toString('base64') } });
    const r = await h.probe.waitOn('lwm2m/big-write/up/resp', { reqID: 2 });
    expect(r.json.data).toMatchObject({ code: '2.04' });
    expect(d.values.get('/5/0/0')?.value).toEqual(blob);
  });
});
