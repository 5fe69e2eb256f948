/**
 * Device profiles over MQTT, end to end: a real gateway (embedded broker, UDP), test devices and an
 * MQTT client. A profile gives a device its device_id, observes and reads on register, and publishes
 * telemetry, attributes and status on their own topics; RPC methods run operations and answer with
 * the device's result; a changed profiles_file applies on SIGHUP (reloadCredentials) without restart.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import pino from 'pino';
import { startGateway, type RunningGateway } from '../../../src/app/app';
import { loadConfigFile, parseConfig } from '../../../src/app/config';
import { loadSchema } from '../../../src/package-root';
import { MqttProbe, type ReceivedMessage } from '../../support/mqtt-probe';
import { freeTcpPort, freeUdpPort } from '../../support/ports';
import { TestDevice } from '../../support/test-device';

jest.setTimeout(30_000);

const PROFILES = `profiles:
  - name: thermometer
    match:
      endpoint: "thermo-*"
      objects: [3303]
    device_id: "dev-\${endpoint}"
    tenant: acme
    observe:
      strategy: single
      paths:
        /3303/0/5700: { pmin: 1, pmax: 60 }
    telemetry:
      /3303/0/5700: temperature
      /3303/0/5701: unit
      /3/0/9: battery_level
    attributes:
      /3/0/0: manufacturer
      /3/0/1: model
      /3/0/2: serial
    rpc:
      reboot: { execute: /3/0/4 }
      battery: { read: /3/0/9 }
      set_unit: { write: /3303/0/5701 }
`;

let dir: string;
let profilesFile: string;
let udpPort: number;
let gw: RunningGateway | undefined;
let probe: MqttProbe | undefined;
const devices: TestDevice[] = [];
const servers: http.Server[] = [];
const logLines: string[] = [];
const ajv = new Ajv({ strict: false });
const validUplink = ajv.compile(loadSchema('uplink.schema.json'));
const validProfileMessage = ajv.compile(loadSchema('profile-messages.schema.json'));

/** Every message published so far is what schemas/ documents: uplink messages, and telemetry, attributes and status. */
function expectDocumentedMessages(): void {
  for (const m of probe!.messages) {
    if (m.topic.includes('/up/')) expect({ topic: m.topic, valid: validUplink(m.json), errors: validUplink.errors }).toMatchObject({ valid: true });
    else if (/^(telemetry|attributes|status)\//.test(m.topic)) expect({ topic: m.topic, valid: validProfileMessage(m.json), errors: validProfileMessage.errors }).toMatchObject({ valid: true });
  }
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-profiles-'));
  profilesFile = path.join(dir, 'profiles.yaml');
  fs.writeFileSync(profilesFile, PROFILES);
});

/** A gateway with the profiles of profiles_file, or with `extra` configuration instead. */
async function start(extra = `profiles_file: "${profilesFile}"`): Promise<void> {
  udpPort = await freeUdpPort();
  const mqttPort = await freeTcpPort();
  const config = parseConfig(
    [
      'store:\n  type: memory',
      'http:\n  enable: false',
      `embedded_broker:\n  bind: "127.0.0.1:${mqttPort}"`,
      `listeners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"`,
      'lwm2m:\n  coap:\n    ack_timeout: 0.2',
      extra,
    ].join('\n'),
  );
  logLines.length = 0;
  gw = await startGateway(config, pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
  probe = await MqttProbe.connect(gw.mqttUrl, '#');
}

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const d of devices.splice(0)) await d.close();
  await probe?.close();
  probe = undefined;
  await gw?.close();
  gw = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function device(endpoint: string): Promise<TestDevice> {
  const d = await TestDevice.start({ endpoint, gateway: { host: '127.0.0.1', port: udpPort } });
  devices.push(d);
  await d.register();
  await probe!.waitOn(`lwm2m/${endpoint}/up/register`);
  return d;
}

async function rpc(endpoint: string, reqID: number, method: string, params?: unknown, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const from = probe!.mark();
  await probe!.publish(`lwm2m/${endpoint}/dn`, { reqID, msgType: 'rpc', data: params === undefined ? { method } : { method, params } });
  return (await probe!.waitOn(`lwm2m/${endpoint}/up/resp`, { reqID }, timeoutMs, from)).json as Record<string, unknown>;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const json = (m: ReceivedMessage) => m.json as Record<string, unknown>;

describe('device profiles over MQTT', () => {
  it('status, attributes, telemetry from notifications, device_id in every message, offline on deregister', async () => {
    await start();
    const d = await device('thermo-1');
    // Online, on the status topic of tenant and device id.
    const online = await probe!.waitOn('status/acme/dev-thermo-1');
    expect(json(online)).toEqual({ device_id: 'dev-thermo-1', status: 'online', reason: 'register' });
    // device_id in the device's own messages.
    expect(json(probe!.on('lwm2m/thermo-1/up/register')[0])).toMatchObject({ msgType: 'register', device_id: 'dev-thermo-1' });
    // Attributes: /3/0 read once, the mapped values by name.
    const attributes = await probe!.waitOn('attributes/acme/dev-thermo-1');
    expect(json(attributes)).toEqual({ device_id: 'dev-thermo-1', attributes: { manufacturer: 'Open Mobile Alliance', model: 'Lightweight M2M Client', serial: '345000123' } });
    // The observation with its attributes written first.
    await until(() => d.observations.has('/3303/0/5700'));
    expect(d.attributes.get('/3303/0/5700')).toEqual(expect.arrayContaining(['pmin=1', 'pmax=60']));
    // The first observe answer is a value too: one point; then a notification: another.
    const first = await probe!.waitOn('telemetry/acme/dev-thermo-1');
    expect(json(first)).toMatchObject({ device_id: 'dev-thermo-1', endpoint: 'thermo-1', numeric_values: { temperature: 21.5 }, string_values: {} });
    expect(typeof json(first).ts).toBe('number');
    const from = probe!.mark();
    d.set('/3303/0/5700', 23.25);
    d.notify('/3303/0/5700');
    const point = await probe!.waitOn('telemetry/acme/dev-thermo-1', {}, 5000, from);
    expect(Object.keys(json(point)).sort()).toEqual(['device_id', 'endpoint', 'numeric_values', 'string_values', 'ts']);
    expect(json(point)).toMatchObject({ device_id: 'dev-thermo-1', endpoint: 'thermo-1', numeric_values: { temperature: 23.25 }, string_values: {} });
    const notify = await probe!.waitOn('lwm2m/thermo-1/up/notify', {}, 5000, from);
    expect(json(notify)).toMatchObject({ msgType: 'notify', device_id: 'dev-thermo-1', is_auto_observe: true, profile: 'thermometer' });
    // A read of a mapped path is telemetry too; string values go to string_values.
    const readFrom = probe!.mark();
    await probe!.publish('lwm2m/thermo-1/dn', { reqID: 5, msgType: 'read', data: { path: '/3303/0' } });
    const answer = await probe!.waitOn('lwm2m/thermo-1/up/resp', { reqID: 5 }, 5000, readFrom);
    expect(json(answer)).toMatchObject({ reqID: 5, msgType: 'read', device_id: 'dev-thermo-1' });
    const readPoint = await probe!.waitOn('telemetry/acme/dev-thermo-1', {}, 5000, readFrom);
    expect(json(readPoint)).toMatchObject({ numeric_values: { temperature: 23.25 }, string_values: { unit: 'Cel' } });
    // Deregister: offline with the reason, and the deregister message still carries the id.
    const offFrom = probe!.mark();
    await d.deregister();
    expect(json(await probe!.waitOn('status/acme/dev-thermo-1', {}, 5000, offFrom))).toEqual({ device_id: 'dev-thermo-1', status: 'offline', reason: 'deregister' });
    expect(json(await probe!.waitOn('lwm2m/thermo-1/up/deregister', {}, 5000, offFrom))).toMatchObject({ device_id: 'dev-thermo-1' });
    expectDocumentedMessages();
  });

  it('RPC: methods run their operation and answer with the device result as status; unknown methods and bad params are refused', async () => {
    await start();
    const d = await device('thermo-2');
    await probe!.waitOn('attributes/acme/dev-thermo-2');
    expect(await rpc('thermo-2', 1, 'reboot')).toMatchObject({ reqID: 1, msgType: 'rpc', device_id: 'dev-thermo-2', data: { method: 'reboot', status: 'succeeded', code: '2.04', reqPath: '/3/0/4' } });
    expect(d.executed).toEqual([{ path: '/3/0/4', args: '' }]);
    expect(await rpc('thermo-2', 2, 'battery')).toMatchObject({ msgType: 'rpc', data: { method: 'battery', status: 'succeeded', code: '2.05', content: [{ path: '/3/0/9', value: 100 }] } });
    expect(await rpc('thermo-2', 3, 'set_unit', 'Fahrenheit')).toMatchObject({ msgType: 'rpc', data: { method: 'set_unit', status: 'succeeded', code: '2.04' } });
    expect(d.values.get('/3303/0/5701')?.value).toBe('Fahrenheit');
    expect(await rpc('thermo-2', 4, 'self_destruct')).toMatchObject({ reqID: 4, msgType: 'rpc', data: { method: 'self_destruct', status: 'failed', code: '4.04', error: 'profile thermometer has no RPC method "self_destruct"' } });
    expect(await rpc('thermo-2', 5, 'set_unit', { value: 'x', colour: 'red' })).toMatchObject({ data: { status: 'failed', code: '4.00' } });
    // A device that does not answer: timeout (4 retransmissions from 0.2 s: under 10 s).
    d.behaviour.silent = true;
    expect(await rpc('thermo-2', 6, 'reboot', undefined, 15_000)).toMatchObject({ msgType: 'rpc', data: { method: 'reboot', status: 'timeout', code: 'coap_timeout' } });
    expectDocumentedMessages();
  });

  it('a device no profile matches: no device_id, no status, and rpc is refused 4.04', async () => {
    await start();
    await device('meter-1');
    expect(json(probe!.on('lwm2m/meter-1/up/register')[0]).device_id).toBeUndefined();
    expect(await rpc('meter-1', 1, 'reboot')).toMatchObject({ msgType: 'rpc', data: { status: 'failed', code: '4.04', error: 'no device profile applies to this device, so it has no RPC methods' } });
    expect(probe!.messages.some((m) => m.topic.startsWith('status/'))).toBe(false);
  });

  it('a changed profiles_file applies on SIGHUP without restart; a broken one keeps the profiles in use', async () => {
    await start();
    const d = await device('thermo-3');
    await probe!.waitOn('telemetry/acme/dev-thermo-3');
    fs.writeFileSync(profilesFile, PROFILES.replace('/3303/0/5700: temperature', '/3303/0/5700: temp_c').replace('device_id: "dev-${endpoint}"', 'device_id: "t-${endpoint}"'));
    gw!.reloadCredentials();
    expect(logLines.some((l) => l.includes('device profiles reloaded'))).toBe(true);
    const from = probe!.mark();
    d.set('/3303/0/5700', 19);
    d.notify('/3303/0/5700');
    const point = await probe!.waitOn('telemetry/acme/t-thermo-3', {}, 5000, from);
    expect(json(point)).toMatchObject({ device_id: 't-thermo-3', numeric_values: { temp_c: 19 } });
    expect(json(await probe!.waitOn('lwm2m/thermo-3/up/notify', {}, 5000, from))).toMatchObject({ device_id: 't-thermo-3' });

    fs.writeFileSync(profilesFile, 'profiles:\n  - name: broken\n    telemetry:\n      /3/0: nope\n');
    gw!.reloadCredentials();
    expect(logLines.some((l) => l.includes('device profiles not reloaded') && l.includes('profiles[0].telemetry./3/0'))).toBe(true);
    const from2 = probe!.mark();
    d.notify('/3303/0/5700');
    expect(json(await probe!.waitOn('telemetry/acme/t-thermo-3', {}, 5000, from2))).toMatchObject({ numeric_values: { temp_c: 19 } });
  });

  it('profiles in gateway.yaml, chosen by the auth hook\'s client_attrs, with the device id and tenant it returns', async () => {
    const hook = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ result: 'allow', client_attrs: { tenant: 'acme-co', device_id: 'SN-77', model: 'T1000' } }));
      });
    });
    servers.push(hook);
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = (hook.address() as AddressInfo).port;
    await start(
      [
        `auth:\n  http:\n    url: "http://127.0.0.1:${port}/auth"`,
        'profiles:',
        '  - name: other-model',
        '    match: { client_attrs: { model: T2000 } }',
        '  - name: t1000',
        '    match: { client_attrs: { model: T1000 } }',
        '    device_id: "${client_attrs.device_id}"',
        '    metric_key: "${endpoint}$${path}"',
        '    telemetry: { /3/0/9: battery_level }',
        '    attributes: { /3/0/0: manufacturer }',
      ].join('\n'),
    );
    await device('urn:imei:4711');
    expect(json(await probe!.waitOn('status/acme-co/SN-77'))).toEqual({ device_id: 'SN-77', status: 'online', reason: 'register' });
    expect(json(probe!.on('lwm2m/urn:imei:4711/up/register')[0])).toMatchObject({ device_id: 'SN-77' });
    // Per-path ingestion ids (Blockbax): the metric key template gives <endpoint>$<path>.
    expect(json(await probe!.waitOn('telemetry/acme-co/SN-77'))).toMatchObject({ device_id: 'SN-77', endpoint: 'urn:imei:4711', numeric_values: { 'urn:imei:4711$/3/0/9': 100 } });
    expect(json(await probe!.waitOn('attributes/acme-co/SN-77'))).toEqual({ device_id: 'SN-77', attributes: { manufacturer: 'Open Mobile Alliance' } });
    expectDocumentedMessages();
  });

  it('a composite observation: a notification carrying several mapped paths makes one point with several values', async () => {
    await start(
      [
        'profiles:',
        '  - name: composite',
        '    device_id: "c-${endpoint}"',
        '    tenant: t',
        '    observe: { strategy: composite, paths: { /3303/0/5700: {}, /3/0/9: {} } }',
        '    telemetry: { /3303/0/5700: temperature, /3/0/9: battery_level }',
        '    attributes: { /5/0/7: firmware_package }',
      ].join('\n'),
    );
    const d = await device('multi-1');
    await until(() => d.compositeObservations.size === 1);
    expect([...d.compositeObservations.keys()]).toEqual(['/3/0/9,/3303/0/5700']);
    // The observe answer's values first: one point of both.
    expect(json(await probe!.waitOn('telemetry/t/c-multi-1'))).toMatchObject({ numeric_values: { temperature: 21.5, battery_level: 100 } });
    const from = probe!.mark();
    d.set('/3303/0/5700', 30.5);
    d.set('/3/0/9', 42);
    d.notifyComposite(['/3303/0/5700', '/3/0/9']);
    const point = await probe!.waitOn('telemetry/t/c-multi-1', {}, 5000, from);
    expect(json(point)).toMatchObject({ device_id: 'c-multi-1', numeric_values: { temperature: 30.5, battery_level: 42 }, string_values: {} });
    await new Promise((r) => setTimeout(r, 200));
    expect(probe!.messages.slice(from).filter((m) => m.topic === 'telemetry/t/c-multi-1')).toHaveLength(1);
    // The device has no object 5: its attribute is not read at all (no 4.04 on up/resp).
    expect(d.requests.some((r) => r.uriPath.join('/').startsWith('5'))).toBe(false);
    expect(probe!.messages.some((m) => m.topic === 'lwm2m/multi-1/up/resp' && (m.json as { data: { reqPath?: string } }).data.reqPath === '/5/0')).toBe(false);
  });

  it('profiles in the configuration file itself are re-read from it on SIGHUP', async () => {
    udpPort = await freeUdpPort();
    const configFile = path.join(dir, 'gateway.yaml');
    const base = ['store:\n  type: memory', 'http:\n  enable: false', `embedded_broker:\n  bind: "127.0.0.1:${await freeTcpPort()}"`, `listeners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"`].join('\n');
    const profile = (id: string) => `\nprofiles:\n  - name: p\n    device_id: "${id}-\${endpoint}"\n    tenant: t\n`;
    fs.writeFileSync(configFile, base + profile('a'));
    logLines.length = 0;
    gw = await startGateway(loadConfigFile(configFile), pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
    probe = await MqttProbe.connect(gw.mqttUrl, '#');
    await device('inline-1');
    expect(json(await probe.waitOn('status/t/a-inline-1'))).toMatchObject({ status: 'online' });
    fs.writeFileSync(configFile, base + profile('b'));
    gw.reloadCredentials();
    const from = probe.mark();
    await devices[0].deregister();
    expect(json(await probe.waitOn('status/t/b-inline-1', {}, 5000, from))).toMatchObject({ status: 'offline' });
    // A duplicate key is a problem (the same reader as profiles_file): refused, the profiles in use stay.
    fs.writeFileSync(configFile, base + '\nprofiles: []\nprofiles: []\n');
    gw.reloadCredentials();
    expect(logLines.some((l) => l.includes('device profiles not reloaded') && /unique|duplicate/.test(l))).toBe(true);
  });
});
