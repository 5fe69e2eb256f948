/**
 * Pull over CoAPS: a device registered over DTLS (PSK) is given a coaps:// Package URI on the
 * gateway's DTLS listener and downloads the image (Block2) through its own DTLS session. The path
 * serves that device's credential only: another DTLS identity, and plain UDP, get 4.04.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import YAML from 'yaml';
import { startGateway, type RunningGateway } from '../../../src/app/app';
import { parseConfig } from '../../../src/app/config';
import type { CoapResponse } from '../../../src/coap';
import { FirmwareObject } from '../../support/firmware-object';
import { MqttProbe } from '../../support/mqtt-probe';
import { DEVICE_ENTRIES, TestDevice } from '../../support/test-device';

jest.setTimeout(30_000);

const hex = (s: string) => Buffer.from(s).toString('hex');

let dir: string;
let gw: RunningGateway | undefined;
let probe: MqttProbe | undefined;
const devices: { device: TestDevice; firmware: FirmwareObject }[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-fw-coaps-'));
  const images = path.join(dir, 'images');
  fs.mkdirSync(images);
  fs.writeFileSync(path.join(dir, 'psk.yaml'), YAML.stringify([{ identity: 'fw-a', key: hex('secret-a') }, { identity: 'fw-b', key: hex('secret-b') }]));
  const config = parseConfig(
    [
      'store:\n  type: memory',
      'http:\n  enable: false',
      'embedded_broker:\n  bind: "127.0.0.1:0"',
      'listeners:\n  udp:\n    bind: "127.0.0.1:0"',
      `  dtls:\n    enable: true\n    bind: "127.0.0.1:0"\n    psk_file: "${path.join(dir, 'psk.yaml')}"`,
      'lwm2m:\n  coap:\n    ack_timeout: 0.3',
      `firmware:\n  dir: "${images}"\n  public_host: 127.0.0.1\n  poll_interval: 0.2`,
    ].join('\n'),
  );
  gw = await startGateway(config, pino({ level: 'silent' }));
  probe = await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#');
});

afterEach(async () => {
  for (const { device, firmware } of devices.splice(0)) {
    firmware.stop();
    await device.close();
  }
  await probe?.close();
  await gw?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A GET through the device's own CoAP endpoint (its DTLS session, or UDP). */
function get(d: TestDevice, port: number, uriPath: string[]): Promise<CoapResponse> {
  return new Promise((resolve, reject) => d.coap.request({ address: '127.0.0.1', port }, { method: 'GET', uriPath }, { onResponse: resolve, onTimeout: () => reject(new Error('timeout')) }));
}

async function dtlsDevice(endpoint: string, identity: string, key: string, firmware: FirmwareObject): Promise<TestDevice> {
  const d = await TestDevice.start({
    endpoint,
    gateway: { host: '127.0.0.1', port: gw!.dtlsPort! },
    dtls: { identity, key },
    entries: [...DEVICE_ENTRIES, { path: '/3/0/3', type: 'string', value: '1.0.0' }, ...firmware.entries()],
    handlers: [firmware.handler],
  });
  devices.push({ device: d, firmware });
  expect((await d.register()).code).toBe('2.01');
  await probe!.waitOn(`lwm2m/${endpoint}/up/register`);
  return d;
}

describe('firmware pull over CoAPS', () => {
  it('the device downloads through its own DTLS session; other identities and plain UDP get 4.04', async () => {
    const bytes = randomBytes(20 * 1024);
    fs.writeFileSync(path.join(dir, 'images', 'fw-s.bin'), bytes);
    // Filled in below, once the devices exist (the fetcher runs only after they registered).
    const peers: { device?: TestDevice; other?: TestDevice; plain?: TestDevice } = {};
    const strangers: string[] = [];
    const firmware = new FirmwareObject({
      newVersion: '2.0.0',
      pkgVersion: '2.0.0',
      protocols: [1],
      updateDelayMs: 1500,
      fetch: async (uri) => {
        const uriPath = new URL(uri).pathname.split('/').slice(1);
        // While the job serves the image: another DTLS identity, and plain UDP, ask for the same path.
        strangers.push((await get(peers.other!, gw!.dtlsPort!, uriPath)).code, (await get(peers.plain!, gw!.udpPort, uriPath)).code);
        const res = await get(peers.device!, gw!.dtlsPort!, uriPath);
        if (res.code !== '2.05') throw new Error(`download answered ${res.code}`);
        return res.payload;
      },
    });
    const device = (peers.device = await dtlsDevice('fw-a', 'fw-a', 'secret-a', firmware));
    peers.other = await dtlsDevice('fw-b', 'fw-b', 'secret-b', new FirmwareObject());
    const plain = (peers.plain = await TestDevice.start({ endpoint: 'fw-udp', gateway: { host: '127.0.0.1', port: gw!.udpPort } }));
    devices.push({ device: plain, firmware: new FirmwareObject() });

    await probe!.publish('lwm2m/fw-a/dn', { reqID: 1, msgType: 'firmware-update', data: { image: 'fw-s.bin', method: 'pull' } });
    expect((await probe!.waitOn('lwm2m/fw-a/up/resp', { reqID: 1 })).json).toMatchObject({ data: { code: '2.01' } });
    await probe!.waitFor((m) => m.topic === 'lwm2m/fw-a/up/firmware' && (m.json as { data: { state: string } }).data.state === 'updating', 15_000);
    expect(firmware.packageUri).toMatch(new RegExp(`^coaps://127\\.0\\.0\\.1:${gw!.dtlsPort}/fw/[0-9a-f]{32}$`));
    expect(firmware.received?.equals(bytes)).toBe(true);
    expect(strangers).toEqual(['4.04', '4.04']);
    // Downloaded: the path serves no one any more.
    expect((await get(device, gw!.dtlsPort!, new URL(firmware.packageUri).pathname.split('/').slice(1))).code).toBe('4.04');
    const done = await probe!.waitFor((m) => m.topic === 'lwm2m/fw-a/up/firmware' && ['succeeded', 'failed'].includes((m.json as { data: { state: string } }).data.state), 15_000);
    expect(done.json).toMatchObject({ data: { state: 'succeeded', method: 'pull', firmwareVersion: '2.0.0' } });
  });
});
