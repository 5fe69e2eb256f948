/**
 * Finding 6 of the hardening issue: query values `pwd`, `apikey` and `key` were published in
 * up/register. Every parameter whose name contains pass, pwd, secret, token, key, psk or auth (any
 * case) is now left out of register and update messages; `lwm2m.secret_query_keys` changes the list.
 */
import { startHarness, type Harness } from '../../support/harness';
import { Bystanders } from '../../support/bystanders';
import { RawDevice } from '../../support/raw-device';
import { whileBystandersRead } from '../../support/under-attack';

const SECRETS = ['pwd=s1', 'apikey=s2', 'key=s3', 'Password=s4', 'X-Auth-Token=s5', 'psk=s6', 'client_secret=s7', 'API_KEY=s8', 'authorization=s9'];

describe('attack: secrets in register queries', () => {
  let h: Harness;
  let device: RawDevice;
  afterEach(async () => {
    await device.close();
    await h.close();
  });

  it('publishes none of them on register or update, and keeps the other parameters', async () => {
    h = await startHarness();
    const bystanders = await Bystanders.start(h, 50);
    device = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
    const res = await whileBystandersRead(bystanders, () => device.register('leaky', ['lt=300', 'imei=42', ...SECRETS]));
    expect(res.code).toBe('2.01');
    const m = await h.probe.waitOn('lwm2m/leaky/up/register');
    expect(m.json.data).toMatchObject({ ep: 'leaky', lt: 300, imei: '42', security: 'none' });
    for (const s of SECRETS) expect(m.payload.toString()).not.toContain(s.split('=')[0]);
    for (let i = 1; i <= 9; i++) expect(m.payload.toString()).not.toContain(`"s${i}"`);

    // An update may add query parameters too.
    const location = res.options.filter((o) => o.name === 'Location-Path').map((o) => o.value.toString());
    expect((await device.request('POST', location, ['session_token=s10'], { token: Buffer.from([5]) })).code).toBe('2.04');
    const u = await h.probe.waitOn('lwm2m/leaky/up/update');
    expect(u.payload.toString()).not.toContain('s10');
    await bystanders.expectAllAnswer();
  });

  it('lwm2m.secret_query_keys replaces the list', async () => {
    h = await startHarness('lwm2m:\n  secret_query_keys: [sessionid]\n');
    device = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
    expect((await device.register('custom', ['SessionId=x1', 'apikey=visible'])).code).toBe('2.01');
    const m = await h.probe.waitOn('lwm2m/custom/up/register');
    expect(m.payload.toString()).not.toContain('x1');
    expect(m.json.data).toMatchObject({ apikey: 'visible' });
  });
});
