/**
 * `${device_id}` in lwm2m.mountpoint: a device's topics are named by the id its profile gives it
 * (the endpoint name without a profile). Ids that cannot be topic levels, and prefixes another
 * registered device holds, are refused before admission (also with `${clientid}`, which a device
 * chooses itself: the attack of registering under someone else's topics); a changed profile moves
 * a device's topics on SIGHUP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startGateway, type RunningGateway } from '../../../src/app/app';
import { parseConfig } from '../../../src/app/config';
import { MqttProbe } from '../../support/mqtt-probe';
import { freeTcpPort, freeUdpPort } from '../../support/ports';
import { TestDevice } from '../../support/test-device';

jest.setTimeout(30_000);

let dir: string;
let udpPort: number;
let gw: RunningGateway | undefined;
let probe: MqttProbe | undefined;
const devices: TestDevice[] = [];
const logLines: string[] = [];

const profiles = (template: string) => `profiles:
  - name: meters
    match: { endpoint: "meter-*" }
    device_id: "${template}"
    device_id_map: ids.yaml
    tenant: acme
`;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-devid-'));
  // meter-twin-a and meter-twin-b claim one id.
  fs.writeFileSync(path.join(dir, 'ids.yaml'), 'meter-twin-a: twin\nmeter-twin-b: twin\n');
  fs.writeFileSync(path.join(dir, 'profiles.yaml'), profiles('m-${endpoint}'));
});

afterEach(async () => {
  for (const d of devices.splice(0)) await d.close();
  await probe?.close();
  probe = undefined;
  await gw?.close();
  gw = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(mountpoint: string): Promise<void> {
  udpPort = await freeUdpPort();
  const config = parseConfig(
    [
      'store:\n  type: memory',
      'http:\n  enable: false',
      `embedded_broker:\n  bind: "127.0.0.1:${await freeTcpPort()}"`,
      `listeners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"`,
      `lwm2m:\n  mountpoint: "${mountpoint}"\n  coap:\n    ack_timeout: 0.2`,
      `profiles_file: "${path.join(dir, 'profiles.yaml')}"`,
    ].join('\n'),
  );
  logLines.length = 0;
  gw = await startGateway(config, pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
  probe = await MqttProbe.connect(gw.mqttUrl, '#');
}

async function device(endpoint: string, query?: string[]): Promise<{ device: TestDevice; code: string }> {
  const d = await TestDevice.start({ endpoint, gateway: { host: '127.0.0.1', port: udpPort }, query });
  devices.push(d);
  const { code } = await d.register();
  return { device: d, code };
}

/** Reads /3/0/0 through the prefix; the answer's code. */
async function read(prefix: string, reqID: number): Promise<string> {
  const from = probe!.mark();
  await probe!.publish(`${prefix}dn`, { reqID, msgType: 'read', data: { path: '/3/0/0' } });
  const answer = await probe!.waitOn(`${prefix}up/resp`, { reqID }, 5000, from);
  return (answer.json as { data: { code: string } }).data.code;
}

describe('${device_id} in the mountpoint', () => {
  it("names a device's topics by its profile's device id, and by its endpoint name without a profile", async () => {
    await start('lwm2m/${device_id}/');
    expect((await device('meter-1')).code).toBe('2.01');
    const register = await probe!.waitOn('lwm2m/m-meter-1/up/register');
    expect(register.json).toMatchObject({ msgType: 'register', device_id: 'm-meter-1', data: { ep: 'meter-1' } });
    expect(await read('lwm2m/m-meter-1/', 1)).toBe('2.05');
    expect(probe!.messages.some((m) => m.topic.startsWith('lwm2m/meter-1/'))).toBe(false);
    // The map's id comes first; a device no profile matches keeps its endpoint name.
    expect((await device('meter-twin-a')).code).toBe('2.01');
    await probe!.waitOn('lwm2m/twin/up/register');
    expect((await device('sensor-9')).code).toBe('2.01');
    await probe!.waitOn('lwm2m/sensor-9/up/register');
    expect(await read('lwm2m/sensor-9/', 2)).toBe('2.05');
  });

  it('refuses a device whose id another registered device has, or whose id cannot be a topic level; the others keep answering', async () => {
    await start('lwm2m/${device_id}/');
    const { device: first } = await device('meter-twin-a');
    await probe!.waitOn('lwm2m/twin/up/register');
    const twin = await device('meter-twin-b');
    expect(twin.code).toBe('4.00');
    // The template gives meter-a+b the id m-meter-a+b: a wildcard in a topic level.
    const bad = await device('meter-a+b');
    expect(bad.code).toBe('4.00');
    expect(logLines.some((l) => l.includes('meter-twin-b') && l.includes('another registered device'))).toBe(true);
    // (Refusals are logged once per source address every 10 s: the second one from 127.0.0.1 is not.)
    // The first holder still gets its commands, and nothing was published for the refused ones.
    expect(await read('lwm2m/twin/', 3)).toBe('2.05');
    expect(first.requests.length).toBeGreaterThan(0);
    expect(probe!.on('lwm2m/twin/up/register')).toHaveLength(1);
    // Once the holder is gone the id is free again.
    await first.deregister();
    await probe!.waitOn('lwm2m/twin/up/deregister');
    const freed = probe!.mark();
    expect((await twin.device.register()).code).toBe('2.01');
    await probe!.waitOn('lwm2m/twin/up/register', {}, 5000, freed);
    expect(probe!.on('lwm2m/twin/up/register').map((m) => (m.json as { data: { ep: string } }).data.ep)).toEqual(['meter-twin-a', 'meter-twin-b']);
    // Its re-registration is no conflict with itself.
    expect((await twin.device.register()).code).toBe('2.01');
  });

  it("${clientid}: a device cannot register under another device's topics by sending its device_id", async () => {
    await start('lwm2m/${clientid}/');
    expect((await device('victim')).code).toBe('2.01');
    await probe!.waitOn('lwm2m/victim/up/register');
    const attacker = await device('attacker', ['device_id=victim']);
    expect(attacker.code).toBe('4.00');
    expect(await read('lwm2m/victim/', 4)).toBe('2.05');
    expect(attacker.device.requests).toHaveLength(0);
  });

  it("a profile change on SIGHUP moves a device's topics to its new id", async () => {
    await start('lwm2m/${device_id}/');
    await device('meter-2');
    await probe!.waitOn('lwm2m/m-meter-2/up/register');
    fs.writeFileSync(path.join(dir, 'profiles.yaml'), profiles('n-${endpoint}'));
    gw!.reloadCredentials();
    expect(logLines.some((l) => l.includes('device profiles reloaded'))).toBe(true);
    expect(await read('lwm2m/n-meter-2/', 5)).toBe('2.05');
    const from = probe!.mark();
    await probe!.publish('lwm2m/m-meter-2/dn', { reqID: 6, msgType: 'read', data: { path: '/3/0/0' } });
    expect((await probe!.waitOn('lwm2m/m-meter-2/up/resp', { reqID: 6 }, 5000, from)).json).toMatchObject({ data: { code: '4.04' } });
    const answer = await probe!.waitOn('lwm2m/n-meter-2/up/resp', { reqID: 5 });
    expect(answer.json).toMatchObject({ device_id: 'n-meter-2' });
  });

  it('two devices may swap ids on SIGHUP: each takes the prefix the other leaves', async () => {
    fs.writeFileSync(path.join(dir, 'ids.yaml'), 'meter-x: one\nmeter-y: two\n');
    await start('lwm2m/${device_id}/');
    const { device: x } = await device('meter-x');
    const { device: y } = await device('meter-y');
    await probe!.waitOn('lwm2m/two/up/register');
    fs.writeFileSync(path.join(dir, 'ids.yaml'), 'meter-x: two\nmeter-y: one\n');
    gw!.reloadCredentials();
    const before = { x: x.requests.length, y: y.requests.length };
    expect(await read('lwm2m/one/', 7)).toBe('2.05');
    expect(y.requests.length).toBe(before.y + 1);
    expect(await read('lwm2m/two/', 8)).toBe('2.05');
    expect(x.requests.length).toBe(before.x + 1);
    expect(logLines.filter((l) => l.includes('device moved to the topic prefix of its new device id'))).toHaveLength(2);
  });
});
