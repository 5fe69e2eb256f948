import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { BootstrapTestClient, type BootstrapClientVersion, type BootstrapStep } from '../../support/bootstrap-client';
import { brokerKind, startHarness, type Harness } from '../../support/harness';
import type { ReceivedMessage } from '../../support/mqtt-probe';
import { TestDevice } from '../../support/test-device';

/**
 * Bootstrap over DTLS PSK: the device opens the session with its factory bootstrap credential, gets
 * a freshly minted PSK for the gateway's own DTLS listener, and registers there with it at once
 * (`psk_key: generate`: the gateway provisions its DM listener while it writes the device). The
 * session is bound to the credential: it bootstraps only the endpoint its credential names.
 */
describe('bootstrap server over DTLS (PSK)', () => {
  let h: Harness;
  let dir: string;
  const logLines: string[] = [];
  const clients: BootstrapTestClient[] = [];
  const devices: TestDevice[] = [];
  const bootstrapKeys = { 'bs-id-1': 'bootstrap-key-one', 'bs-id-2': 'bootstrap-key-two', 'bs-id-3': 'bootstrap-key-three' };
  /** More devices, each with its own factory credential `bs-<ep>` / `key-of-<ep>`. */
  const VERSIONED = ['dtls-v1.0', 'dtls-v1.2'];
  const FAILING: BootstrapStep[] = ['discover', 'read', 'delete', 'write', 'finish'];
  const more = [...VERSIONED, ...FAILING.map((step) => `dtls-fail-${step}`)];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-dtls-'));
    const pskFile = path.join(dir, 'bootstrap-psk.yaml');
    fs.writeFileSync(
      pskFile,
      YAML.stringify([
        { identity: 'bs-id-1', key: Buffer.from(bootstrapKeys['bs-id-1']).toString('hex'), endpoint: 'dtls-dev-1' },
        { identity: 'bs-id-2', key: Buffer.from(bootstrapKeys['bs-id-2']).toString('hex'), endpoint: 'dtls-dev-2' },
        { identity: 'bs-id-3', key: Buffer.from(bootstrapKeys['bs-id-3']).toString('hex'), endpoint: 'dtls-pack' },
        ...more.map((ep) => ({ identity: `bs-${ep}`, key: Buffer.from(`key-of-${ep}`).toString('hex'), endpoint: ep })),
      ]),
    );
    const configFile = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(configFile, 'endpoints: {}\n');
    h = await startHarness(
      [
        `listeners:\n  bootstrap_dtls:\n    enable: true\n    bind: "127.0.0.1:0"\n    psk_file: "${pskFile}"\n  bootstrap_udp:\n    enable: true\n    bind: "127.0.0.1:0"`,
        `bootstrap:\n  config_file: "${configFile}"\n  session_timeout: 5s\n  request_rate:\n    per_source: 1000\n    burst: 1000`,
        'log:\n  level: debug',
        // Small blocks: a Bootstrap-Pack then takes several Block2 requests.
        'lwm2m:\n  blockwise:\n    max_block_size: 64',
      ].join('\n'),
      brokerKind(),
      'dtls',
      logLines,
      'debug',
    );
    fs.writeFileSync(
      configFile,
      YAML.stringify({
        defaults: {
          read: ['/1'],
          servers: [{ short_server_id: 101, uri: `coaps://127.0.0.1:${h.gw.dtlsPort}`, security_mode: 'psk', psk_identity: '${endpoint}', psk_key: 'generate', lifetime: 300 }],
        },
        endpoints: {
          'dtls-pack': {
            servers: [{ short_server_id: 101, uri: `coaps://127.0.0.1:${h.gw.dtlsPort}`, security_mode: 'psk', psk_key: 'generate', security_instance_id: 1 }],
          },
        },
      }),
    );
    h.gw.reloadCredentials();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const d of devices.splice(0)) await d.close();
  });

  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function dtlsClient(endpoint: string, identity: keyof typeof bootstrapKeys): Promise<BootstrapTestClient> {
    const c = await BootstrapTestClient.start({ endpoint, version: '1.1', server: { host: '127.0.0.1', port: h.gw.bootstrapDtlsPort! }, dtls: { identity, key: bootstrapKeys[identity] } });
    clients.push(c);
    return c;
  }

  const eventOf = (m: ReceivedMessage) => m.json.data as Record<string, unknown>;

  it('hands out a fresh PSK that the gateway accepts at once: registered over DTLS and driven over MQTT', async () => {
    const from = h.probe.mark();
    const c = await dtlsClient('dtls-dev-1', 'bs-id-1');
    expect((await c.requestBootstrap()).code).toBe('2.04');
    expect(await c.finished).toEqual({ code: '2.04' });
    const finished = await h.probe.waitFor((m) => m.topic === 'lwm2m/dtls-dev-1/up/bootstrap' && eventOf(m).status === 'finished', 8000, from);
    // read: the configuration reads /1 first; this factory device has no Server instance yet.
    expect(eventOf(finished)).toEqual({ ep: 'dtls-dev-1', status: 'finished', step: 'finish', code: '2.04', lwm2m: '1.1', security: 'psk', read: [] });

    const dm = c.dmServer();
    expect(dm).toMatchObject({ uri: `coaps://127.0.0.1:${h.gw.dtlsPort}`, mode: 0, identity: 'dtls-dev-1' });
    expect(dm!.key).toHaveLength(16);

    const device = await TestDevice.start({ endpoint: 'dtls-dev-1', dtls: dm!.dtls!, gateway: dm!.address! });
    devices.push(device);
    expect((await device.register()).code).toBe('2.01');
    const register = await h.probe.waitOn('lwm2m/dtls-dev-1/up/register', { msgType: 'register' }, 5000, from);
    expect(register.json.data).toMatchObject({ security: 'psk', identity: 'dtls-dev-1' });
    await h.probe.publish('lwm2m/dtls-dev-1/dn', { reqID: 3, msgType: 'read', data: { path: '/3/0/1' } });
    const answer = await h.probe.waitOn('lwm2m/dtls-dev-1/up/resp', { msgType: 'read' }, 5000, from);
    expect(answer.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/1', value: 'Lightweight M2M Client' }] });

    // The minted key never leaves the device exchange: not on MQTT, not in the logs.
    const secrets = [dm!.key!.toString('hex'), dm!.key!.toString('base64'), bootstrapKeys['bs-id-1'], Buffer.from(bootstrapKeys['bs-id-1']).toString('hex')];
    for (const m of h.probe.messages) for (const s of secrets) expect(m.payload.toString()).not.toContain(s);
    for (const line of logLines) for (const s of secrets) expect(line).not.toContain(s);
  });

  it('a second bootstrap replaces the endpoint’s key: the old one no longer opens a session', async () => {
    const first = await dtlsClient('dtls-dev-2', 'bs-id-2');
    expect((await first.requestBootstrap()).code).toBe('2.04');
    await first.finished;
    const oldKey = first.dmServer()!;
    await first.close();
    clients.splice(clients.indexOf(first), 1);
    const second = await dtlsClient('dtls-dev-2', 'bs-id-2');
    expect((await second.requestBootstrap()).code).toBe('2.04');
    await second.finished;
    const newKey = second.dmServer()!;
    expect(newKey.key!.equals(oldKey.key!)).toBe(false);
    const device = await TestDevice.start({ endpoint: 'dtls-dev-2', dtls: newKey.dtls!, gateway: newKey.address! });
    devices.push(device);
    expect((await device.register()).code).toBe('2.01');
    await expect(TestDevice.start({ endpoint: 'dtls-dev-2', dtls: oldKey.dtls!, gateway: oldKey.address!, coap: { ackTimeout: 0.2, maxRetransmit: 0 } }).then((d) => devices.push(d))).rejects.toThrow();
  });

  it('refuses an endpoint the bootstrap credential does not name (4.03), and says so on MQTT', async () => {
    const from = h.probe.mark();
    const c = await dtlsClient('dtls-dev-2', 'bs-id-1');
    expect((await c.requestBootstrap()).code).toBe('4.03');
    const failed = await h.probe.waitFor((m) => m.topic === 'lwm2m/dtls-dev-2/up/bootstrap' && eventOf(m).status === 'failed', 5000, from);
    expect(eventOf(failed)).toMatchObject({ ep: 'dtls-dev-2', step: 'request', code: '4.03', security: 'psk' });
    expect(c.steps).toEqual([]);
  });

  it('refuses over plain UDP an endpoint that the DTLS listener’s PSK file names (4.03): its keys would go to anyone', async () => {
    await h.device({ endpoint: 'dm-only' }); // a psk_file entry of listeners.dtls names it
    const from = h.probe.mark();
    const c = await BootstrapTestClient.start({ endpoint: 'dm-only', version: '1.1', server: { host: '127.0.0.1', port: h.gw.bootstrapUdpPort! } });
    clients.push(c);
    expect((await c.requestBootstrap()).code).toBe('4.03');
    const failed = await h.probe.waitFor((m) => m.topic === 'lwm2m/dm-only/up/bootstrap', 5000, from);
    expect(eventOf(failed)).toMatchObject({ status: 'failed', step: 'request', code: '4.03', error: 'endpoint "dm-only" is bound to a DTLS credential and may not bootstrap without it' });
  });

  it('refuses over plain UDP an endpoint that a bootstrap credential names (4.03)', async () => {
    const c = await BootstrapTestClient.start({ endpoint: 'dtls-dev-1', version: '1.1', server: { host: '127.0.0.1', port: h.gw.bootstrapUdpPort! } });
    clients.push(c);
    expect((await c.requestBootstrap()).code).toBe('4.03');
    expect(c.steps).toEqual([]);
  });

  it('serves a block-wise Bootstrap-Pack from one pack: one key minted, and it works', async () => {
    const from = h.probe.mark();
    const c = await dtlsClient('dtls-pack', 'bs-id-3');
    const res = await c.requestPack();
    expect(res.code).toBe('2.05');
    expect(res.payload.length).toBeGreaterThan(64);
    const dm = c.dmServer()!;
    expect(dm).toMatchObject({ securityInstanceId: 1, identity: 'dtls-pack', mode: 0 });
    const device = await TestDevice.start({ endpoint: 'dtls-pack', dtls: dm.dtls!, gateway: dm.address! });
    devices.push(device);
    expect((await device.register()).code).toBe('2.01');
    const events = () => h.probe.messages.slice(from).filter((m) => m.topic === 'lwm2m/dtls-pack/up/bootstrap').map((m) => eventOf(m).status);
    expect(events()).toEqual(['started', 'finished']);
    // A new Bootstrap-Pack-Request (no Block2, or block 0) is a new bootstrap: looked up, minted, told.
    await c.close();
    clients.splice(clients.indexOf(c), 1);
    const again = await dtlsClient('dtls-pack', 'bs-id-3');
    expect((await again.requestPack()).code).toBe('2.05');
    expect(again.dmServer()!.key!.equals(dm.key!)).toBe(false);
    await h.probe.waitFor(() => events().length === 4, 5000, from);
    expect(events()).toEqual(['started', 'finished', 'started', 'finished']);
  });

  async function factoryClient(endpoint: string, version: BootstrapClientVersion, fail?: { step: BootstrapStep; code: string }): Promise<BootstrapTestClient> {
    const c = await BootstrapTestClient.start({ endpoint, version, server: { host: '127.0.0.1', port: h.gw.bootstrapDtlsPort! }, dtls: { identity: `bs-${endpoint}`, key: `key-of-${endpoint}` }, fail });
    clients.push(c);
    return c;
  }

  describe.each<[BootstrapClientVersion, BootstrapStep[]]>([
    ['1.0', ['discover', 'delete', 'delete', 'write', 'write', 'finish']],
    ['1.2', ['discover', 'read', 'delete', 'delete', 'write', 'write', 'finish']],
  ])('a %s client over DTLS', (version, steps) => {
    it('goes through the whole sequence and registers over DTLS with the key it got', async () => {
      const ep = `dtls-v${version}`;
      const from = h.probe.mark();
      const c = await factoryClient(ep, version);
      expect((await c.requestBootstrap()).code).toBe('2.04');
      expect(await c.finished).toEqual({ code: '2.04' });
      expect(c.steps).toEqual(steps);
      const finished = await h.probe.waitFor((m) => m.topic === `lwm2m/${ep}/up/bootstrap` && eventOf(m).status === 'finished', 8000, from);
      expect(eventOf(finished)).toMatchObject({ lwm2m: version, security: 'psk' });
      const dm = c.dmServer()!;
      const device = await TestDevice.start({ endpoint: ep, lwm2m: version, dtls: dm.dtls!, gateway: dm.address! });
      devices.push(device);
      expect((await device.register()).code).toBe('2.01');
    });
  });

  describe.each<[BootstrapStep, string]>([
    ['discover', '5.00'],
    ['read', '4.01'],
    ['delete', '4.00'],
    ['write', '4.04'],
    ['finish', '4.06'],
  ])('a DTLS client that answers %s with %s', (step, code) => {
    it('fails the bootstrap at that step, on MQTT, and nothing after it is sent', async () => {
      const ep = `dtls-fail-${step}`;
      const from = h.probe.mark();
      const c = await factoryClient(ep, '1.1', { step, code });
      expect((await c.requestBootstrap()).code).toBe('2.04');
      const failed = await h.probe.waitFor((m) => m.topic === `lwm2m/${ep}/up/bootstrap` && eventOf(m).status === 'failed', 8000, from);
      expect(eventOf(failed)).toMatchObject({ ep, step, code, security: 'psk' });
      expect(c.steps[c.steps.length - 1]).toBe(step);
    });
  });
});
