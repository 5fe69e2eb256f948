import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoapEndpoint, type CoapRequest, type CoapResponse } from '../../../src/coap';
import { ContentFormat } from '../../../src/lwm2m/codec/content-format';
import type { Peer } from '../../../src/transport/transport';
import { UdpTransport } from '../../../src/transport/udp-transport';
import { FirmwareObject, FirmwareState, UpdateResult, type FirmwareObjectOptions } from '../../support/firmware-object';
import { coapFileServer } from '../../support/coap-download';
import { DEVICE_ENTRIES, TestDevice } from '../../support/test-device';

/** The LwM2M server side of these tests: a CoAP endpoint that sends requests to the device. */
interface Rig {
  server: CoapEndpoint;
  serverTransport: UdpTransport;
  device: TestDevice;
  firmware: FirmwareObject;
  devicePeer: Peer;
}

const rigs: Rig[] = [];
const extras: { close(): Promise<void> }[] = [];

async function start(options: FirmwareObjectOptions = {}): Promise<Rig> {
  const serverTransport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
  const server = new CoapEndpoint(serverTransport, { ackTimeout: 0.5, maxRetransmit: 3 });
  const firmware = new FirmwareObject({ newVersion: '2.0.0', ...options });
  const device = await TestDevice.start({
    endpoint: 'fw-dev',
    gateway: { host: '127.0.0.1', port: serverTransport.address().port },
    entries: [...DEVICE_ENTRIES, { path: '/3/0/3', type: 'string', value: '1.0.0' }, ...firmware.entries()],
    handlers: [firmware.handler],
  });
  const rig = { server, serverTransport, device, firmware, devicePeer: { address: '127.0.0.1', port: device.port } };
  rigs.push(rig);
  return rig;
}

afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    rig.firmware.stop();
    await rig.device.close();
    await rig.server.close();
    await rig.serverTransport.close();
  }
  for (const extra of extras.splice(0)) await extra.close();
});

function send(rig: Rig, req: CoapRequest): Promise<CoapResponse> {
  return new Promise((resolve, reject) => {
    rig.server.request(rig.devicePeer, req, { onResponse: resolve, onTimeout: () => reject(new Error('timeout')), onError: reject });
  });
}

/** Observes `path`; the values of the first response and of every notification, as text, in order. */
async function observe(rig: Rig, path: string): Promise<string[]> {
  const values: string[] = [];
  await new Promise<void>((resolve, reject) => {
    rig.server.request(
      rig.devicePeer,
      { method: 'GET', uriPath: path.split('/').slice(1), observe: 0 },
      {
        onResponse: (res) => {
          if (res.observe === undefined) reject(new Error(`observe ${path}: ${res.code}`));
          values.push(res.payload.toString());
          resolve();
        },
        onNotification: (res) => values.push(res.payload.toString()),
        onTimeout: () => reject(new Error('timeout')),
        onError: reject,
      },
    );
  });
  return values;
}

/** Polls until `condition` holds; the jest timeout bounds the wait. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

const text = (value: string) => ({ contentFormat: ContentFormat.TEXT, payload: Buffer.from(value) });
const execute = (rig: Rig) => send(rig, { method: 'POST', uriPath: ['5', '0', '2'] });
const push = (rig: Rig, image: Buffer) => send(rig, { method: 'PUT', uriPath: ['5', '0', '0'], contentFormat: ContentFormat.OPAQUE, payload: image });
const readText = async (rig: Rig, path: string) => (await send(rig, { method: 'GET', uriPath: path.split('/').slice(1) })).payload.toString();

/** A CoAP server on UDP that serves `image` at /fw/image (Block2 slicing by its endpoint). */
async function imageServer(image: Buffer): Promise<string> {
  const server = await coapFileServer('fw/image', image);
  extras.push(server);
  return server.uri;
}

describe('FirmwareObject (OMA LwM2M object 5 on a TestDevice)', () => {
  it('reads /5/0 as TLV and its resources as text', async () => {
    const rig = await start({ protocols: [0, 1, 2], delivery: 2, pkgName: 'app', pkgVersion: '1.0.0' });
    const instance = await send(rig, { method: 'GET', uriPath: ['5', '0'] });
    expect(instance.code).toBe('2.05');
    expect(instance.contentFormat).toBe(ContentFormat.TLV);
    expect(await readText(rig, '/5/0/3')).toBe('0');
    expect(await readText(rig, '/5/0/5')).toBe('0');
    expect(await readText(rig, '/5/0/9')).toBe('2');
    expect(await readText(rig, '/5/0/6')).toBe('app');
    // Package is write-only.
    expect((await send(rig, { method: 'GET', uriPath: ['5', '0', '0'] })).code).toBe('4.05');
  });

  it('takes a 300 KB push with Block1, updates on execute and notifies State and Update Result in order', async () => {
    const rig = await start();
    const states = await observe(rig, '/5/0/3');
    const results = await observe(rig, '/5/0/5');
    const image = randomBytes(300 * 1024);

    expect((await push(rig, image)).code).toBe('2.04');
    expect(rig.firmware.received?.equals(image)).toBe(true);
    expect(rig.firmware.currentState).toBe(FirmwareState.DOWNLOADED);

    expect((await execute(rig)).code).toBe('2.04');
    await until(() => results.length === 2 && states.length === 4);
    expect(states).toEqual(['0', '2', '3', '0']);
    expect(results).toEqual(['0', '1']);
    expect(rig.firmware.history).toEqual([
      { state: FirmwareState.DOWNLOADED, result: 0 },
      { state: FirmwareState.UPDATING, result: 0 },
      { state: FirmwareState.IDLE, result: UpdateResult.SUCCESS },
    ]);
    expect(await readText(rig, '/3/0/3')).toBe('2.0.0');
  });

  it('pulls a 50 KB image from a CoAP server with Block2', async () => {
    const rig = await start();
    const results = await observe(rig, '/5/0/5');
    const states = await observe(rig, '/5/0/3');
    const image = randomBytes(50 * 1024);
    const uri = await imageServer(image);

    expect((await send(rig, { method: 'PUT', uriPath: ['5', '0', '1'], ...text(uri) })).code).toBe('2.04');
    await until(() => rig.firmware.currentState === FirmwareState.DOWNLOADED);
    expect(rig.firmware.received?.equals(image)).toBe(true);
    expect(await readText(rig, '/5/0/1')).toBe(uri);
    await until(() => states.length === 3);
    expect(states).toEqual(['0', '1', '2']);
    expect(results).toEqual(['0']);
  });

  it('pulls an image over HTTP with the default fetcher', async () => {
    const rig = await start({ protocols: [0, 2] });
    const image = randomBytes(20 * 1024);
    const http = createServer((req, res) => res.end(req.url === '/fw.bin' ? image : undefined));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    extras.push({ close: () => new Promise<void>((resolve) => http.close(() => resolve())) });
    const uri = `http://127.0.0.1:${(http.address() as AddressInfo).port}/fw.bin`;

    expect((await send(rig, { method: 'PUT', uriPath: ['5', '0', '1'], ...text(uri) })).code).toBe('2.04');
    await until(() => rig.firmware.currentState === FirmwareState.DOWNLOADED);
    expect(rig.firmware.received?.equals(image)).toBe(true);
  });

  it('reports a bad URI (7), an unsupported scheme (9) and a failed download (4) in Update Result', async () => {
    const rig = await start({ protocols: [0] });
    const writeUri = (uri: string) => send(rig, { method: 'PUT', uriPath: ['5', '0', '1'], ...text(uri) });

    expect((await writeUri('not a uri')).code).toBe('2.04');
    expect(rig.firmware.updateResult).toBe(UpdateResult.INVALID_URI);
    expect((await writeUri('https://example.com/fw.bin')).code).toBe('2.04');
    expect(rig.firmware.updateResult).toBe(UpdateResult.UNSUPPORTED_PROTOCOL);

    const uri = await imageServer(Buffer.from('x'));
    expect((await writeUri(uri.replace('/fw/image', '/missing'))).code).toBe('2.04');
    await until(() => rig.firmware.currentState === FirmwareState.IDLE && rig.firmware.updateResult === UpdateResult.CONNECTION_LOST);
    expect(rig.firmware.received).toBeUndefined();
  });

  it('ends a failing update with failWith and stays Downloaded', async () => {
    const rig = await start({ failWith: UpdateResult.INTEGRITY_FAILURE });
    const results = await observe(rig, '/5/0/5');
    expect((await push(rig, Buffer.from('firmware'))).code).toBe('2.04');
    expect((await execute(rig)).code).toBe('2.04');
    await until(() => results.length === 2);
    expect(results).toEqual(['0', '5']);
    expect(rig.firmware.currentState).toBe(FirmwareState.DOWNLOADED);
    expect(await readText(rig, '/3/0/3')).toBe('1.0.0');
  });

  it('refuses Update in Idle with 4.05', async () => {
    const rig = await start();
    expect((await execute(rig)).code).toBe('4.05');
    expect(rig.firmware.history).toEqual([]);
  });

  it('cancels a download with an empty Package URI: Idle, Update Result 0', async () => {
    const rig = await start({ fetch: () => new Promise<Buffer>(() => undefined) });
    expect((await send(rig, { method: 'PUT', uriPath: ['5', '0', '1'], ...text('coap://127.0.0.1:9/fw') })).code).toBe('2.04');
    await until(() => rig.firmware.currentState === FirmwareState.DOWNLOADING);
    // Only the reset is allowed while downloading.
    expect((await push(rig, Buffer.from('other'))).code).toBe('4.05');
    expect((await send(rig, { method: 'PUT', uriPath: ['5', '0', '1'], ...text('') })).code).toBe('2.04');
    expect(rig.firmware.currentState).toBe(FirmwareState.IDLE);
    expect(rig.firmware.updateResult).toBe(UpdateResult.INITIAL);
    expect(await readText(rig, '/5/0/1')).toBe('');
  });

  it('honours the delivery method and refuses writes to read-only resources', async () => {
    const pullOnly = await start({ delivery: 0 });
    expect((await push(pullOnly, Buffer.from('fw'))).code).toBe('4.05');
    expect((await send(pullOnly, { method: 'PUT', uriPath: ['5', '0', '3'], ...text('2') })).code).toBe('4.05');
    const pushOnly = await start({ delivery: 1 });
    expect((await send(pushOnly, { method: 'PUT', uriPath: ['5', '0', '1'], ...text('coap://127.0.0.1/fw') })).code).toBe('4.05');
  });
});
