import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContentFormat } from '../../../src/lwm2m/codec/content-format';
import { BootstrapTestClient, type BootstrapClientVersion, type BootstrapStep } from '../../support/bootstrap-client';
import { startHarness, type Harness } from '../../support/harness';
import type { ReceivedMessage } from '../../support/mqtt-probe';
import { RawDevice } from '../../support/raw-device';
import { TestDevice } from '../../support/test-device';

/**
 * The whole client-initiated bootstrap over UDP, as a 1.0, 1.1 and 1.2 client plays it (OMA LwM2M TS
 * Core §5.2.7, §6.1): factory state → Bootstrap-Request → Discover / Read / Delete / Write / Finish →
 * the device registers with the server it was given and answers a read through MQTT. Then the errors
 * a device can answer at each step, and what the gateway refuses before a session starts.
 */
describe('bootstrap server over UDP', () => {
  let h: Harness;
  let dir: string;
  let configFile: string;
  const clients: BootstrapTestClient[] = [];
  const devices: TestDevice[] = [];

  /** The configuration file, with the DM server at the harness's own UDP listener. */
  function writeConfig(extraDefaults = '', endpoints = ''): void {
    const text = [
      'defaults:',
      '  read: ["/1"]',
      '  servers:',
      '    - short_server_id: 101',
      `      uri: "coap://127.0.0.1:${h.gw.udpPort}"`,
      '      security_mode: nosec',
      '      lifetime: 120',
      '      binding: U',
      extraDefaults,
      'endpoints:',
      '  "strict-no-read":',
      '    discover: false',
      '    delete: ["/"]',
      '    servers:',
      '      - short_server_id: 7',
      `        uri: "coap://127.0.0.1:${h.gw.udpPort}"`,
      '        security_mode: nosec',
      '    acls:',
      '      - object_id: 3',
      '        object_instance_id: 0',
      '        acl: { "7": 15 }',
      '        owner: 7',
      '  "bs-pack":',
      '    servers:',
      '      - short_server_id: 101',
      `        uri: "coap://127.0.0.1:${h.gw.udpPort}"`,
      '        security_mode: nosec',
      '        lifetime: 120',
      '        security_instance_id: 1',
      '  "bs-keys":',
      '    servers:',
      '      - short_server_id: 5',
      '        uri: "coaps://127.0.0.1:5684"',
      '        security_mode: psk',
      '        psk_key: "5ec2e7ba5ec2e7ba"',
      endpoints,
    ].join('\n');
    fs.writeFileSync(configFile, text);
    h.gw.reloadCredentials();
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-'));
    configFile = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(configFile, 'endpoints: {}\n');
    h = await startHarness(
      [
        'listeners:\n  bootstrap_udp:\n    enable: true\n    bind: "127.0.0.1:0"',
        `bootstrap:\n  config_file: "${configFile}"\n  session_timeout: 4s\n  request_rate:\n    per_source: 1000\n    burst: 1000`,
      ].join('\n'),
    );
    writeConfig();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const d of devices.splice(0)) await d.close();
  });

  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function client(endpoint: string, version: BootstrapClientVersion, extra: Partial<Parameters<typeof BootstrapTestClient.start>[0]> = {}): Promise<BootstrapTestClient> {
    const c = await BootstrapTestClient.start({ endpoint, version, server: { host: '127.0.0.1', port: h.gw.bootstrapUdpPort! }, ...extra });
    clients.push(c);
    return c;
  }

  const bootstrapTopic = (ep: string) => `lwm2m/${ep}/up/bootstrap`;
  const eventOf = (m: ReceivedMessage) => m.json.data as Record<string, unknown>;
  const waitStatus = (ep: string, status: string, from: number) => h.probe.waitFor((m) => m.topic === bootstrapTopic(ep) && eventOf(m).status === status, 8000, from);

  describe.each<[BootstrapClientVersion, number, BootstrapStep[]]>([
    ['1.0', ContentFormat.TLV, ['discover', 'delete', 'delete', 'write', 'write', 'finish']],
    ['1.1', ContentFormat.TLV, ['discover', 'read', 'delete', 'delete', 'write', 'write', 'finish']],
    ['1.2', ContentFormat.SENML_CBOR, ['discover', 'read', 'delete', 'delete', 'write', 'write', 'finish']],
  ])('a %s client', (version, format, steps) => {
    it('goes from factory state to registered and answers a read through MQTT', async () => {
      const ep = `bs-${version}`;
      const from = h.probe.mark();
      // A Server instance left from the factory: Bootstrap-Read (1.1+) shows it, Bootstrap-Delete removes it.
      const factoryServer = [
        { path: '/1/0/0', type: 'integer' as const, value: 99 },
        { path: '/1/0/1', type: 'integer' as const, value: 86400 },
      ];
      const c = await client(ep, version, { extraObjects: factoryServer });
      expect((await c.requestBootstrap()).code).toBe('2.04');
      expect(await c.finished).toEqual({ code: '2.04' });
      expect(c.steps).toEqual(steps);
      // Every write in the format this version gets by default; the bootstrap account kept at /0/0.
      expect(c.requests.filter((r) => r.step === 'write').map((r) => [r.path, r.contentFormat])).toEqual([
        ['/0/1', format],
        ['/1/0', format],
      ]);
      const started = eventOf(await waitStatus(ep, 'started', from));
      expect(started).toEqual({ ep, status: 'started', step: 'request', code: '2.04', security: 'none' });
      const finished = eventOf(await waitStatus(ep, 'finished', from));
      // 1.1 and later are Bootstrap-Read of /1 first (the configuration's `read`): what it returned comes along.
      const read = version === '1.0' ? {} : { read: [{ path: '/1/0/0', value: 99 }, { path: '/1/0/1', value: 86400 }] };
      expect(finished).toEqual({ ep, status: 'finished', step: 'finish', code: '2.04', lwm2m: version, security: 'none', ...read });

      const dm = c.dmServer();
      expect(dm).toMatchObject({ uri: `coap://127.0.0.1:${h.gw.udpPort}`, shortServerId: 101, lifetime: 120, binding: 'U', mode: 3, securityInstanceId: 1 });
      expect(c.objects('/0/0').find((e) => e.path === '/0/0/1')?.value).toBe(true);

      // The device now uses what it was given: registers there, and MQTT drives it.
      const device = await TestDevice.start({ endpoint: ep, lwm2m: version, lifetime: dm!.lifetime, gateway: dm!.address! });
      devices.push(device);
      expect((await device.register()).code).toBe('2.01');
      await h.probe.waitOn(`lwm2m/${ep}/up/register`, { msgType: 'register' }, 5000, from);
      await h.probe.publish(`lwm2m/${ep}/dn`, { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
      const answer = await h.probe.waitOn(`lwm2m/${ep}/up/resp`, { msgType: 'read' }, 5000, from);
      expect(answer.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] });
    });
  });

  it('writes in the format the 1.1 client prefers (pct)', async () => {
    const c = await client('bs-pct', '1.1', { pct: ContentFormat.SENML_CBOR });
    expect((await c.requestBootstrap()).code).toBe('2.04');
    expect(await c.finished).toEqual({ code: '2.04' });
    expect(c.requests.filter((r) => r.step === 'write').map((r) => r.contentFormat)).toEqual([ContentFormat.SENML_CBOR, ContentFormat.SENML_CBOR]);
  });

  it('follows a per-endpoint entry: no discover, delete "/", its own short server id, an ACL', async () => {
    const c = await client('strict-no-read', '1.1');
    expect((await c.requestBootstrap()).code).toBe('2.04');
    expect(await c.finished).toEqual({ code: '2.04' });
    expect(c.steps).toEqual(['delete', 'write', 'write', 'write', 'finish']);
    expect(c.requests[0].path).toBe('/');
    expect(c.dmServer()).toMatchObject({ shortServerId: 7, lifetime: 300 });
    expect(c.objects('/2/0').map((e) => [e.path, e.value])).toEqual([
      ['/2/0/0', 3],
      ['/2/0/1', 0],
      ['/2/0/2/7', 15],
      ['/2/0/3', 7],
    ]);
  });

  it('goes on without Bootstrap-Discover when a 1.0 client does not know it (4.05)', async () => {
    const from = h.probe.mark();
    const c = await client('bs-nodiscover', '1.0', { fail: { step: 'discover', code: '4.05' } });
    expect((await c.requestBootstrap()).code).toBe('2.04');
    expect(await c.finished).toEqual({ code: '2.04' });
    expect(eventOf(await waitStatus('bs-nodiscover', 'finished', from))).toMatchObject({ lwm2m: '1.0' });
  });

  describe.each<[BootstrapStep, string, string]>([
    ['discover', '5.00', 'Bootstrap-Discover answered 5.00'],
    ['read', '4.01', 'Bootstrap-Read of /1 answered 4.01'],
    ['delete', '4.00', 'Bootstrap-Delete of /0 answered 4.00'],
    ['write', '4.00', 'Bootstrap-Write of /0/1 answered 4.00'],
    ['finish', '4.06', 'the device found the configuration inconsistent (Not Acceptable)'],
    ['finish', '5.00', 'the device failed to apply the configuration (Internal Server Error)'],
  ])('a device that answers %s with %s', (step, code, error) => {
    it('fails the bootstrap at that step with the code and why, on MQTT', async () => {
      const ep = `bs-fail-${step}-${code.replace('.', '')}`;
      const from = h.probe.mark();
      const c = await client(ep, '1.1', { fail: { step, code } });
      expect((await c.requestBootstrap()).code).toBe('2.04');
      const failed = eventOf(await waitStatus(ep, 'failed', from));
      expect(failed).toEqual({ ep, status: 'failed', step, code, error, lwm2m: step === 'discover' ? undefined : '1.1', security: 'none' });
      // Nothing after the failed step was sent.
      expect(c.steps[c.steps.length - 1]).toBe(step);
    });
  });

  it('fails a device that stops answering mid-way (CoAP timeout) and frees the endpoint', async () => {
    const ep = 'bs-silent';
    const from = h.probe.mark();
    const c = await client(ep, '1.1', { silentAt: 'write' });
    expect((await c.requestBootstrap()).code).toBe('2.04');
    const failed = eventOf(await waitStatus(ep, 'failed', from));
    expect(failed).toMatchObject({ ep, status: 'failed', step: 'write' });
    expect(String(failed.error)).toMatch(/no answer from the device|did not finish within 4 s/);
    c.behaviour.silentAt = undefined;
    const again = h.probe.mark();
    expect((await c.requestBootstrap()).code).toBe('2.04');
    await waitStatus(ep, 'finished', again);
  });

  it('refuses a second bootstrap of an endpoint while one runs (5.03 with Max-Age)', async () => {
    const first = await client('bs-twice', '1.1', { silentAt: 'delete' });
    expect((await first.requestBootstrap()).code).toBe('2.04');
    const second = await client('bs-twice', '1.1');
    const res = await second.requestBootstrap();
    expect(res.code).toBe('5.03');
    expect(second.steps).toEqual([]);
  });

  it('answers 4.01 to an endpoint with no configuration, and says so on MQTT', async () => {
    writeConfig('', '');
    fs.writeFileSync(configFile, fs.readFileSync(configFile, 'utf8').replace(/^defaults:[\s\S]*?(?=^endpoints:)/m, ''));
    h.gw.reloadCredentials();
    try {
      const from = h.probe.mark();
      const c = await client('bs-unknown', '1.1');
      expect((await c.requestBootstrap()).code).toBe('4.01');
      expect(eventOf(await waitStatus('bs-unknown', 'failed', from))).toEqual({
        ep: 'bs-unknown',
        status: 'failed',
        step: 'request',
        code: '4.01',
        error: 'no bootstrap configuration for endpoint "bs-unknown"',
        security: 'none',
      });
      expect(c.steps).toEqual([]);
    } finally {
      writeConfig();
    }
  });

  it('writes no keys over plain UDP unless bootstrap.allow_keys_over_udp (4.03): anyone may ask for any endpoint there', async () => {
    const from = h.probe.mark();
    const c = await client('bs-keys', '1.1');
    expect((await c.requestBootstrap()).code).toBe('4.03');
    expect(c.steps).toEqual([]);
    const failed = eventOf(await waitStatus('bs-keys', 'failed', from));
    expect(failed).toMatchObject({ step: 'request', code: '4.03' });
    expect(String(failed.error)).toMatch(/allow_keys_over_udp/);
    expect((await c.requestPack()).code).toBe('4.03');
    for (const m of h.probe.messages) expect(m.payload.toString()).not.toMatch(/5ec2e7ba/i);
  });

  it('refuses a request without ep, or with a pct it cannot write (4.00)', async () => {
    const c = await client('bs-bad', '1.1');
    expect((await c.requestBootstrap([])).code).toBe('4.00');
    expect((await c.requestBootstrap(['ep=bs-bad', 'pct=50'])).code).toBe('4.00');
    expect((await c.requestBootstrap(['ep=bs#bad'])).code).toBe('4.00');
    expect(c.steps).toEqual([]);
  });

  it('refuses a Bootstrap-Pack when the configuration leaves Security instance ids open (4.04: the device falls back)', async () => {
    const from = h.probe.mark();
    const c = await client('bs-pack-open', '1.2');
    expect((await c.requestPack()).code).toBe('4.04');
    expect(c.dmServer()).toBeUndefined();
    const failed = eventOf(await waitStatus('bs-pack-open', 'failed', from));
    expect(failed).toMatchObject({ step: 'pack', code: '4.04' });
    expect(String(failed.error)).toMatch(/security_instance_id/);
    // The Bootstrap-Request sequence then learns where the bootstrap account is, and works.
    expect((await c.requestBootstrap()).code).toBe('2.04');
    expect(await c.finished).toEqual({ code: '2.04' });
  });

  it('answers a 1.2 Bootstrap-Pack-Request with the whole configuration', async () => {
    const from = h.probe.mark();
    const c = await client('bs-pack', '1.2');
    const res = await c.requestPack();
    expect(res.code).toBe('2.05');
    expect(res.contentFormat).toBe(ContentFormat.SENML_CBOR);
    expect(c.dmServer()).toMatchObject({ uri: `coap://127.0.0.1:${h.gw.udpPort}`, shortServerId: 101, lifetime: 120 });
    expect(eventOf(await waitStatus('bs-pack', 'finished', from))).toMatchObject({ step: 'pack', code: '2.05' });
  });

  it('answers a Bootstrap-Pack block it has no pack for with 4.08, never with a newly built pack', async () => {
    const raw = await RawDevice.start(h.gw.bootstrapUdpPort!);
    try {
      const res = await raw.request('GET', ['bspack'], ['ep=bs-pack'], { options: [{ name: 'Block2', value: Buffer.from([0x16]) }] });
      expect(res.code).toBe('4.08');
    } finally {
      await raw.close();
    }
  });

  it('serves POST /bs on the LwM2M listener too (bootstrap.on_dm_listeners)', async () => {
    const c = await BootstrapTestClient.start({ endpoint: 'bs-on-dm', version: '1.1', server: { host: '127.0.0.1', port: h.gw.udpPort } });
    clients.push(c);
    expect((await c.requestBootstrap()).code).toBe('2.04');
    expect(await c.finished).toEqual({ code: '2.04' });
  });

  it('makes a registered device bootstrap again on an MQTT bootstrap-request (executes /1/x/9)', async () => {
    const device = await h.device({ endpoint: 'bs-trigger' });
    expect((await device.register()).code).toBe('2.01');
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/bs-trigger/dn', { reqID: 9, msgType: 'bootstrap-request', data: {} });
    const answer = await h.probe.waitOn('lwm2m/bs-trigger/up/resp', { msgType: 'bootstrap-request' }, 5000, from);
    expect(answer.json).toEqual({ reqID: 9, msgType: 'bootstrap-request', data: { reqPath: '/1/0/9', code: '2.04', codeMsg: 'changed' } });
    expect(device.executed).toEqual([{ path: '/1/0/9', args: '' }]);
  });

  it('streams the bootstrap events on the management plane, filtered by endpoint', async () => {
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${h.gw.httpPort}/api/v5/gateways/lwm2m/events?endpoint_name=bs-sse`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const finished = (async () => {
      while (!text.includes('"status":"finished"')) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
    })();
    const c = await client('bs-sse', '1.1');
    expect((await c.requestBootstrap()).code).toBe('2.04');
    await finished;
    controller.abort();
    expect(text).toContain('event: bootstrap');
    expect(text).toContain('"endpoint_name":"bs-sse","topic":"lwm2m/bs-sse/up/bootstrap"');
  });

  it('takes the bootstrap-request command over HTTP too, answered as on MQTT', async () => {
    const device = await h.device({ endpoint: 'bs-trigger-http' });
    expect((await device.register()).code).toBe('2.01');
    const res = await fetch(`http://127.0.0.1:${h.gw.httpPort}/api/v5/gateways/lwm2m/clients/bs-trigger-http/bootstrap-request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reqID: 4, data: { path: '/1/0' } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ reqID: 4, msgType: 'bootstrap-request', data: { reqPath: '/1/0/9', code: '2.04', codeMsg: 'changed' } });
    expect(device.executed).toEqual([{ path: '/1/0/9', args: '' }]);
  });

  it('refuses a bootstrap-request whose path is no Server instance (4.00)', async () => {
    const device = await h.device({ endpoint: 'bs-trigger-bad' });
    expect((await device.register()).code).toBe('2.01');
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/bs-trigger-bad/dn', { reqID: 5, msgType: 'bootstrap-request', data: { path: '/3/0/4' } });
    const answer = await h.probe.waitOn('lwm2m/bs-trigger-bad/up/resp', { reqID: 5 }, 5000, from);
    expect(answer.json.data).toMatchObject({ code: '4.00', error: 'data.path of bootstrap-request must be a Server instance /1/x (or its trigger /1/x/9)' });
    expect(device.executed).toEqual([]);
  });
});
