import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { startGateway, type RunningGateway } from '../../src/app/app';
import { parseConfig } from '../../src/app/config';
import { DtlsClientTransport } from '../support/dtls-client-transport';
import { MqttProbe } from '../support/mqtt-probe';
import { TestDevice } from '../support/test-device';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hex = (text: string) => Buffer.from(text).toString('hex');

/** A gateway with a DTLS listener and a PSK file the test rewrites. */
describe('LwM2M over DTLS (PSK) with identity binding', () => {
  let dir: string;
  let pskFile: string;
  let gw: RunningGateway;
  let probe: MqttProbe;
  const devices: TestDevice[] = [];
  let logLines: string[];

  const writePsk = (entries: { identity: string; key: string; endpoint?: string }[]) => fs.writeFileSync(pskFile, YAML.stringify(entries));

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtls-it-'));
    pskFile = path.join(dir, 'psk.yaml');
    writePsk([
      { identity: 'dev-a', key: hex('secret-a') },
      { identity: 'id-9', key: hex('secret-9'), endpoint: 'urn:dev:9' },
    ]);
    const config = parseConfig(
      [
        'store:\n  type: memory', 'http:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:0"',
        'listeners:\n  udp:\n    bind: "127.0.0.1:0"',
        `  dtls:\n    enable: true\n    bind: "127.0.0.1:0"\n    psk_file: "${pskFile}"`,
      ].join('\n'),
    );
    logLines = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
    gw = await startGateway(config, log);
    probe = await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#');
  });

  afterEach(async () => {
    for (const d of devices.splice(0)) await d.close();
    await probe.close();
    await gw.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const device = async (endpoint: string, identity: string, key: string) => {
    const d = await TestDevice.start({ endpoint, gateway: { host: '127.0.0.1', port: gw.dtlsPort! }, dtls: { identity, key } });
    devices.push(d);
    return d;
  };

  it('registers the endpoint its PSK identity names and is driven through MQTT', async () => {
    expect(gw.dtlsPort).toBeGreaterThan(0);
    const d = await device('dev-a', 'dev-a', 'secret-a');
    expect((await d.register()).code).toBe('2.01');
    await probe.waitOn('lwm2m/dev-a/up/register');
    const from = probe.mark();
    await probe.publish('lwm2m/dev-a/dn', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
    const r = await probe.waitFor((m) => m.topic === 'lwm2m/dev-a/up/resp', 5000, from);
    expect(r.json).toMatchObject({ reqID: 1, msgType: 'read', data: { code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] } });
  });

  it('a PSK entry with endpoint binds the identity to that endpoint', async () => {
    const d = await device('urn:dev:9', 'id-9', 'secret-9');
    expect((await d.register()).code).toBe('2.01');
    await probe.waitOn('lwm2m/urn:dev:9/up/register');
  });

  it('an endpoint other than the credential names gets 4.03, is logged, and never reaches MQTT', async () => {
    const d = await device('dev-b', 'dev-a', 'secret-a');
    expect((await d.register()).code).toBe('4.03');
    const d9 = await device('id-9', 'id-9', 'secret-9');
    expect((await d9.register()).code).toBe('4.03');
    await sleep(100);
    expect(probe.messages.filter((m) => m.topic.includes('/up/'))).toEqual([]);
    const refusal = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'registration refused' && l.ep === 'dev-b');
    expect(refusal).toMatchObject({ code: '4.03' });
    expect(String(refusal?.reason)).toContain('dev-a');
  });

  it('an update or deregister from another credential is refused with 4.03', async () => {
    const a = await device('dev-a', 'dev-a', 'secret-a');
    expect((await a.register()).code).toBe('2.01');
    const other = await device('urn:dev:9', 'id-9', 'secret-9');
    other.location = a.location;
    expect((await other.update()).code).toBe('4.03');
    expect((await other.deregister()).code).toBe('4.03');
    expect(gw.server.store.byEndpoint('dev-a')).toBeDefined();
  });

  it('a wrong key and an unknown identity fail the handshake; no key material is logged', async () => {
    await expect(DtlsClientTransport.connect({ gateway: { host: '127.0.0.1', port: gw.dtlsPort! }, identity: 'dev-a', key: 'wrong-key', timeoutMs: 1500 })).rejects.toThrow();
    await expect(DtlsClientTransport.connect({ gateway: { host: '127.0.0.1', port: gw.dtlsPort! }, identity: 'nobody', key: 'secret-a', timeoutMs: 1500 })).rejects.toThrow();
    await sleep(100);
    expect(gw.dtls!.stats().sessions).toBe(0);
    const all = logLines.join('\n');
    expect(all).not.toContain('secret-a');
    expect(all).not.toContain(hex('secret-a'));
  });

  it('the PSK file is re-read on reload without dropping established sessions', async () => {
    const a = await device('dev-a', 'dev-a', 'secret-a');
    expect((await a.register()).code).toBe('2.01');
    await expect(DtlsClientTransport.connect({ gateway: { host: '127.0.0.1', port: gw.dtlsPort! }, identity: 'dev-new', key: 'secret-new', timeoutMs: 1500 })).rejects.toThrow();
    writePsk([
      { identity: 'dev-a', key: hex('secret-a') },
      { identity: 'dev-new', key: hex('secret-new') },
    ]);
    gw.reloadCredentials();
    const n = await device('dev-new', 'dev-new', 'secret-new');
    expect((await n.register()).code).toBe('2.01');
    // The established session of dev-a carries on.
    const from = probe.mark();
    await probe.publish('lwm2m/dev-a/dn', { reqID: 2, msgType: 'read', data: { path: '/3/0/9' } });
    expect((await probe.waitFor((m) => m.topic === 'lwm2m/dev-a/up/resp', 5000, from)).json).toMatchObject({ data: { code: '2.05' } });
  });

  it('the same identity from a new address closes the old session and the registration follows', async () => {
    const a1 = await device('dev-a', 'dev-a', 'secret-a');
    expect((await a1.register()).code).toBe('2.01');
    const a2 = await device('dev-a', 'dev-a', 'secret-a');
    a2.location = a1.location;
    expect((await a2.update()).code).toBe('2.04');
    expect(gw.dtls!.stats().sessions).toBe(1);
    const from = probe.mark();
    await probe.publish('lwm2m/dev-a/dn', { reqID: 3, msgType: 'read', data: { path: '/3/0/0' } });
    expect((await probe.waitFor((m) => m.topic === 'lwm2m/dev-a/up/resp', 5000, from)).json).toMatchObject({ data: { code: '2.05' } });
    expect(a2.requests.length).toBe(1);
    expect(a1.requests.length).toBe(0);
  });
});

describe('without the DTLS addon', () => {
  it('serves UDP and logs clearly why DTLS is off', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtls-off-'));
    const pskFile = path.join(dir, 'psk.yaml');
    fs.writeFileSync(pskFile, YAML.stringify([{ identity: 'a', key: hex('k') }]));
    const config = parseConfig(
      ['store:\n  type: memory', 'http:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:0"', 'listeners:\n  udp:\n    bind: "127.0.0.1:0"', `  dtls:\n    enable: true\n    bind: "127.0.0.1:0"\n    psk_file: "${pskFile}"`].join('\n'),
    );
    const lines: string[] = [];
    const gw = await startGateway(config, pino({ level: 'info' }, { write: (line: string) => lines.push(line) }), {
      loadNativeDtls: () => ({ ok: false, reason: 'lwm2m_dtls.node not found (run npm run build:native)' }),
    });
    const probe = await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#');
    const d = await TestDevice.start({ endpoint: 'plain', gateway: { host: '127.0.0.1', port: gw.udpPort } });
    try {
      expect(gw.dtlsPort).toBeUndefined();
      expect((await d.register()).code).toBe('2.01');
      await probe.waitOn('lwm2m/plain/up/register');
      const off = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).startsWith('DTLS is off'));
      expect(off).toMatchObject({ level: 50, reason: 'lwm2m_dtls.node not found (run npm run build:native)' });
    } finally {
      await d.close();
      await probe.close();
      await gw.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
