import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoapEndpoint, type CoapRequest, type CoapResponse } from '../../../src/coap';
import { decodeEntries } from '../../../src/lwm2m/codec';
import { ContentFormat } from '../../../src/lwm2m/codec/content-format';
import { ObjectModel } from '../../../src/lwm2m/model/object-model';
import { parsePath } from '../../../src/lwm2m/path';
import type { Peer } from '../../../src/transport/transport';
import { UdpTransport } from '../../../src/transport/udp-transport';
import { SoftwareObject, SoftwareState, SoftwareUpdateResult, type SoftwareObjectOptions } from '../../support/software-object';
import { coapFileServer } from '../../support/coap-download';
import { DEVICE_ENTRIES, TestDevice } from '../../support/test-device';

/** The LwM2M server side of these tests: a CoAP endpoint that sends requests to the device. */
interface Rig {
  server: CoapEndpoint;
  serverTransport: UdpTransport;
  device: TestDevice;
  software: SoftwareObject;
  /** More simulated objects on the same device (other instances of object 9). */
  others: SoftwareObject[];
  devicePeer: Peer;
}

const rigs: Rig[] = [];
const extras: { close(): Promise<void> }[] = [];
const model = ObjectModel.withBuiltins();

async function start(options: SoftwareObjectOptions = {}, others: SoftwareObject[] = []): Promise<Rig> {
  const serverTransport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
  const server = new CoapEndpoint(serverTransport, { ackTimeout: 0.5, maxRetransmit: 3 });
  const software = new SoftwareObject({ newPkgName: 'app', newPkgVersion: '2.0.0', ...options });
  const device = await TestDevice.start({
    endpoint: 'sw-dev',
    gateway: { host: '127.0.0.1', port: serverTransport.address().port },
    entries: [...DEVICE_ENTRIES, ...software.entries(), ...others.flatMap((o) => o.entries())],
    handlers: [software.handler, ...others.map((o) => o.handler)],
  });
  const rig = { server, serverTransport, device, software, others, devicePeer: { address: '127.0.0.1', port: device.port } };
  rigs.push(rig);
  return rig;
}

afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    for (const sw of [rig.software, ...rig.others]) sw.stop();
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

/** Observes `path`; the first response and every notification, mapped by `each`, in order. */
async function observeWith<T>(rig: Rig, path: string, each: (res: CoapResponse) => T): Promise<T[]> {
  const values: T[] = [];
  await new Promise<void>((resolve, reject) => {
    rig.server.request(
      rig.devicePeer,
      { method: 'GET', uriPath: path.split('/').slice(1), observe: 0 },
      {
        onResponse: (res) => {
          if (res.observe === undefined) reject(new Error(`observe ${path}: ${res.code}`));
          values.push(each(res));
          resolve();
        },
        onNotification: (res) => values.push(each(res)),
        onTimeout: () => reject(new Error('timeout')),
        onError: reject,
      },
    );
  });
  return values;
}

/** The values of a resource's observation, as text. */
const observe = (rig: Rig, path: string) => observeWith(rig, path, (res) => res.payload.toString());

/** Update State, Update Result and Activation State out of each TLV notification of /9/0. */
const observeInstance = (rig: Rig) =>
  observeWith(rig, '/9/0', (res) => {
    const values = new Map(decodeEntries(res.contentFormat ?? ContentFormat.TLV, res.payload, parsePath('/9/0'), model).map((e) => [e.path, e.value]));
    return [values.get('/9/0/7'), values.get('/9/0/9'), values.get('/9/0/12')];
  });

/** Polls until `condition` holds; the jest timeout bounds the wait. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

const text = (value: string) => ({ contentFormat: ContentFormat.TEXT, payload: Buffer.from(value) });
const segments = (path: string) => path.split('/').slice(1);
const exec = (rig: Rig, path: string, args?: string) =>
  send(rig, { method: 'POST', uriPath: segments(path), ...(args === undefined ? {} : text(args)) });
const push = (rig: Rig, pkg: Buffer, instance = 0) =>
  send(rig, { method: 'PUT', uriPath: ['9', String(instance), '2'], contentFormat: ContentFormat.OPAQUE, payload: pkg });
const writeUri = (rig: Rig, uri: string) => send(rig, { method: 'PUT', uriPath: ['9', '0', '3'], ...text(uri) });
const readText = async (rig: Rig, path: string) => (await send(rig, { method: 'GET', uriPath: segments(path) })).payload.toString();
const codeOf = async (rig: Rig, req: CoapRequest) => (await send(rig, req)).code;

/** Pushes a package and waits for DELIVERED. */
async function deliver(rig: Rig, pkg = Buffer.from('package')): Promise<void> {
  expect((await push(rig, pkg)).code).toBe('2.04');
  await until(() => rig.software.currentState === SoftwareState.DELIVERED);
}

/** Pushes, installs and waits for INSTALLED. */
async function installPackage(rig: Rig): Promise<void> {
  await deliver(rig);
  expect((await exec(rig, '/9/0/4')).code).toBe('2.04');
  await until(() => rig.software.currentState === SoftwareState.INSTALLED);
}

/** A CoAP server on UDP that serves `pkg` at /sw/pkg (Block2 slicing by its endpoint). */
async function packageServer(pkg: Buffer): Promise<string> {
  const server = await coapFileServer('sw/pkg', pkg);
  extras.push(server);
  return server.uri;
}

describe('SoftwareObject (OMA LwM2M object 9 on a TestDevice)', () => {
  it('reads /9/0 as TLV and its resources as text; write-only and executable resources refuse reads', async () => {
    const rig = await start({ pkgName: 'app', pkgVersion: '1.0.0' });
    const instance = await send(rig, { method: 'GET', uriPath: ['9', '0'] });
    expect(instance.code).toBe('2.05');
    expect(instance.contentFormat).toBe(ContentFormat.TLV);
    expect(decodeEntries(ContentFormat.TLV, instance.payload, parsePath('/9/0'), model).map((e) => e.path)).toEqual(
      ['/9/0/0', '/9/0/1', '/9/0/7', '/9/0/8', '/9/0/9', '/9/0/12'],
    );
    expect(await readText(rig, '/9/0/0')).toBe('app');
    expect(await readText(rig, '/9/0/1')).toBe('1.0.0');
    expect(await readText(rig, '/9/0/7')).toBe('0');
    expect(await readText(rig, '/9/0/9')).toBe('0');
    expect(await readText(rig, '/9/0/12')).toBe('0');
    for (const r of ['2', '3', '4', '6', '10', '11', '14', '15']) {
      expect(await codeOf(rig, { method: 'GET', uriPath: ['9', '0', r] })).toBe('4.05');
    }
    // Checkpoint and Package Settings are left out.
    expect(await codeOf(rig, { method: 'GET', uriPath: ['9', '0', '5'] })).toBe('4.04');

    expect(await readText(rig, '/9/0/8')).toBe('0');
    expect(await codeOf(rig, { method: 'PUT', uriPath: ['9', '0', '8'], ...text('1') })).toBe('2.04');
    expect(await readText(rig, '/9/0/8')).toBe('1');
    expect(rig.software.instance().updateSupportedObjects).toBe(true);
    expect(await codeOf(rig, { method: 'PUT', uriPath: ['9', '0', '8'], ...text('maybe') })).toBe('4.00');
  });

  it('takes a 300 KB push with Block1, verifies, installs on execute and notifies Update State and Result in order', async () => {
    const installed: number[] = [];
    const rig = await start({ onInstalled: (_device, id) => installed.push(id) });
    const states = await observe(rig, '/9/0/7');
    const results = await observe(rig, '/9/0/9');
    const pkg = randomBytes(300 * 1024);

    expect((await push(rig, pkg)).code).toBe('2.04');
    expect(rig.software.received?.equals(pkg)).toBe(true);
    await until(() => rig.software.currentState === SoftwareState.DELIVERED);
    expect(rig.software.updateResult).toBe(SoftwareUpdateResult.DELIVERED);

    expect((await exec(rig, '/9/0/4')).code).toBe('2.04');
    await until(() => states.length === 5 && results.length === 4);
    expect(states).toEqual(['0', '1', '2', '3', '4']);
    expect(results).toEqual(['0', '1', '3', '2']);
    expect(rig.software.history).toEqual([
      { state: SoftwareState.DOWNLOAD_STARTED, result: SoftwareUpdateResult.DOWNLOADING, active: false },
      { state: SoftwareState.DOWNLOADED, result: SoftwareUpdateResult.DOWNLOADING, active: false },
      { state: SoftwareState.DELIVERED, result: SoftwareUpdateResult.DELIVERED, active: false },
      { state: SoftwareState.INSTALLED, result: SoftwareUpdateResult.INSTALLED, active: false },
    ]);
    expect(await readText(rig, '/9/0/0')).toBe('app');
    expect(await readText(rig, '/9/0/1')).toBe('2.0.0');
    expect(await readText(rig, '/9/0/12')).toBe('0');
    expect(installed).toEqual([0]);
    // A package is taken only in INITIAL.
    expect((await push(rig, Buffer.from('other'))).code).toBe('4.05');
  });

  it('pulls a 50 KB package from a CoAP server with Block2', async () => {
    const rig = await start();
    const states = await observe(rig, '/9/0/7');
    const results = await observe(rig, '/9/0/9');
    const pkg = randomBytes(50 * 1024);
    const uri = await packageServer(pkg);

    expect((await writeUri(rig, uri)).code).toBe('2.04');
    await until(() => rig.software.currentState === SoftwareState.DELIVERED);
    expect(rig.software.received?.equals(pkg)).toBe(true);
    expect(rig.software.instance().packageUri).toBe(uri);
    await until(() => states.length === 4 && results.length === 3);
    expect(states).toEqual(['0', '1', '2', '3']);
    expect(results).toEqual(['0', '1', '3']);

    expect((await exec(rig, '/9/0/4')).code).toBe('2.04');
    await until(() => rig.software.currentState === SoftwareState.INSTALLED);
    expect(rig.software.updateResult).toBe(SoftwareUpdateResult.INSTALLED);
  });

  it('pulls over HTTP with the default fetcher, with Basic auth from User Name and Password', async () => {
    const rig = await start();
    const pkg = randomBytes(20 * 1024);
    const expected = `Basic ${Buffer.from('user:secret').toString('base64')}`;
    const http = createServer((req, res) => {
      if (req.headers.authorization !== expected) res.statusCode = 401;
      res.end(req.url === '/sw.bin' && res.statusCode === 200 ? pkg : undefined);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    extras.push({ close: () => new Promise<void>((resolve) => http.close(() => resolve())) });
    const uri = `http://127.0.0.1:${(http.address() as AddressInfo).port}/sw.bin`;

    expect(await codeOf(rig, { method: 'PUT', uriPath: ['9', '0', '14'], ...text('user') })).toBe('2.04');
    expect(await codeOf(rig, { method: 'PUT', uriPath: ['9', '0', '15'], ...text('secret') })).toBe('2.04');
    expect(rig.software.instance().credentials).toEqual({ userName: 'user', password: 'secret' });
    expect((await writeUri(rig, uri)).code).toBe('2.04');
    await until(() => rig.software.currentState === SoftwareState.DELIVERED);
    expect(rig.software.received?.equals(pkg)).toBe(true);
  });

  it('activates and deactivates only in INSTALLED and notifies Activation State', async () => {
    const rig = await start();
    expect((await exec(rig, '/9/0/10')).code).toBe('4.05');
    expect((await exec(rig, '/9/0/11')).code).toBe('4.05');
    await installPackage(rig);
    const active = await observe(rig, '/9/0/12');

    expect((await exec(rig, '/9/0/10')).code).toBe('2.04');
    expect(rig.software.activationState).toBe(true);
    // Activating an active package changes nothing.
    expect((await exec(rig, '/9/0/10')).code).toBe('2.04');
    expect((await exec(rig, '/9/0/11')).code).toBe('2.04');
    await until(() => active.length === 3);
    expect(active).toEqual(['0', '1', '0']);
    expect(rig.software.history.slice(-2)).toEqual([
      { state: SoftwareState.INSTALLED, result: SoftwareUpdateResult.INSTALLED, active: true },
      { state: SoftwareState.INSTALLED, result: SoftwareUpdateResult.INSTALLED, active: false },
    ]);
  });

  it('comes up installed and active, or activates on install when configured', async () => {
    const running = await start({ installed: true, active: true, pkgName: 'app', pkgVersion: '1.0.0' });
    expect(await readText(running, '/9/0/7')).toBe(String(SoftwareState.INSTALLED));
    expect(await readText(running, '/9/0/12')).toBe('1');
    expect(() => new SoftwareObject({ active: true })).toThrow(RangeError);

    const autostart = await start({ activeAfterInstall: true });
    await installPackage(autostart);
    expect(await readText(autostart, '/9/0/12')).toBe('1');
  });

  it('uninstalls: "1" keeps the software for the update, "0" removes the package or the software; both end in INITIAL / 0', async () => {
    const rig = await start({ installed: true, active: true, pkgName: 'app', pkgVersion: '1.0.0' });
    const names = await observe(rig, '/9/0/0');
    expect((await exec(rig, '/9/0/6', '2')).code).toBe('4.00');

    expect((await exec(rig, '/9/0/6', '1')).code).toBe('2.04');
    expect(rig.software.instance()).toMatchObject({ state: SoftwareState.INITIAL, result: 0, active: false, pkgName: 'app', pkgVersion: '1.0.0' });
    expect((await exec(rig, '/9/0/6')).code).toBe('4.05');

    // A delivered package is dropped by Uninstall.
    await deliver(rig);
    expect((await exec(rig, '/9/0/6', '1')).code).toBe('4.05');
    expect((await exec(rig, '/9/0/6', '0')).code).toBe('2.04');
    expect(rig.software.instance()).toMatchObject({ state: SoftwareState.INITIAL, result: 0, received: undefined });

    await installPackage(rig);
    expect(await readText(rig, '/9/0/0')).toBe('app');
    expect((await exec(rig, '/9/0/6')).code).toBe('2.04');
    expect(rig.software.instance()).toMatchObject({ state: SoftwareState.INITIAL, result: 0, pkgName: '', pkgVersion: '' });
    await until(() => names.length === 2);
    expect(names).toEqual(['app', '']);
  });

  it('reports an uninstall failure (59) and stays INSTALLED', async () => {
    const rig = await start({ installed: true, failUninstallWith: SoftwareUpdateResult.UNINSTALL_FAILED });
    expect((await exec(rig, '/9/0/6', '0')).code).toBe('2.04');
    expect(rig.software.currentState).toBe(SoftwareState.INSTALLED);
    expect(rig.software.updateResult).toBe(SoftwareUpdateResult.UNINSTALL_FAILED);
  });

  it.each([SoftwareUpdateResult.INTEGRITY_FAILURE, SoftwareUpdateResult.UNSUPPORTED_PACKAGE])(
    'ends a failing integrity check with %i and goes back to INITIAL',
    async (failCheckWith) => {
      const rig = await start({ failCheckWith, checkDelayMs: 20 });
      const states = await observe(rig, '/9/0/7');
      const results = await observe(rig, '/9/0/9');
      expect((await push(rig, Buffer.from('package'))).code).toBe('2.04');
      await until(() => results.length === 3 && states.length === 4);
      expect(results).toEqual(['0', '1', String(failCheckWith)]);
      expect(states).toEqual(['0', '1', '2', '0']);
      expect(rig.software.received).toBeUndefined();
      expect((await exec(rig, '/9/0/4')).code).toBe('4.05');
    },
  );

  it('ends a failing install with 58 and stays DELIVERED; Install while installing is 4.05', async () => {
    const rig = await start({ failInstallWith: SoftwareUpdateResult.INSTALL_FAILED, installDelayMs: 50 });
    const results = await observe(rig, '/9/0/9');
    await deliver(rig);
    expect((await exec(rig, '/9/0/4')).code).toBe('2.04');
    expect((await exec(rig, '/9/0/4')).code).toBe('4.05');
    await until(() => results.length === 4);
    expect(results).toEqual(['0', '1', '3', '58']);
    expect(rig.software.currentState).toBe(SoftwareState.DELIVERED);
    expect(rig.software.received).toBeDefined();
    expect(await readText(rig, '/9/0/0')).toBe('');
    // The package stays for a retry.
    expect((await exec(rig, '/9/0/4')).code).toBe('2.04');
  });

  it('reports an invalid URI (56) with 4.00, a missing package (56), a lost connection (52) and a forced download failure', async () => {
    const rig = await start();
    expect((await writeUri(rig, 'not a uri')).code).toBe('4.00');
    expect(rig.software.updateResult).toBe(SoftwareUpdateResult.INVALID_URI);
    expect((await writeUri(rig, 'ftp://127.0.0.1/sw.bin')).code).toBe('4.00');
    expect(rig.software.currentState).toBe(SoftwareState.INITIAL);

    const uri = await packageServer(Buffer.from('x'));
    expect((await writeUri(rig, uri.replace('/sw/pkg', '/missing'))).code).toBe('2.04');
    await until(() => rig.software.history.length === 3);
    expect(rig.software.history.slice(1)).toEqual([
      { state: SoftwareState.DOWNLOAD_STARTED, result: SoftwareUpdateResult.DOWNLOADING, active: false },
      { state: SoftwareState.INITIAL, result: SoftwareUpdateResult.INVALID_URI, active: false },
    ]);

    const lost = await start({ fetch: () => Promise.reject(new Error('connection reset')) });
    expect((await writeUri(lost, 'coap://127.0.0.1:9/sw')).code).toBe('2.04');
    await until(() => lost.software.updateResult === SoftwareUpdateResult.CONNECTION_LOST);
    expect(lost.software.currentState).toBe(SoftwareState.INITIAL);

    const full = await start({ failDownloadWith: SoftwareUpdateResult.NOT_ENOUGH_STORAGE });
    expect((await push(full, Buffer.from('package'))).code).toBe('2.04');
    expect(full.software.instance()).toMatchObject({ state: SoftwareState.INITIAL, result: 50, received: undefined });
  });

  it('cancels a download with an empty Package URI and a delivered package with an empty Package: INITIAL, Update Result 0', async () => {
    const rig = await start({ fetch: () => new Promise<Buffer>(() => undefined) });
    expect((await writeUri(rig, 'coap://127.0.0.1:9/sw')).code).toBe('2.04');
    expect(rig.software.currentState).toBe(SoftwareState.DOWNLOAD_STARTED);
    // Only the cancel is allowed while downloading.
    expect((await push(rig, Buffer.from('other'))).code).toBe('4.05');
    expect((await exec(rig, '/9/0/6')).code).toBe('4.05');
    expect((await writeUri(rig, '')).code).toBe('2.04');
    expect(rig.software.instance()).toMatchObject({ state: SoftwareState.INITIAL, result: 0, packageUri: '' });

    await deliver(rig);
    expect((await push(rig, Buffer.alloc(0))).code).toBe('2.04');
    expect(rig.software.instance()).toMatchObject({ state: SoftwareState.INITIAL, result: 0, received: undefined });
  });

  it('notifies observers of /9/0 with the whole instance on every change', async () => {
    const rig = await start();
    const changes = await observeInstance(rig);
    await installPackage(rig);
    expect((await exec(rig, '/9/0/10')).code).toBe('2.04');
    await until(() => changes.length === 6);
    expect(changes).toEqual([
      [0, 0, false],
      [1, 1, false],
      [2, 1, false],
      [3, 3, false],
      [4, 2, false],
      [4, 2, true],
    ]);
  });

  it('runs one state machine per instance, across one or several SoftwareObjects', async () => {
    const other = new SoftwareObject({ instances: [2], failCheckWith: SoftwareUpdateResult.INTEGRITY_FAILURE });
    const rig = await start({ instances: [0, 1] }, [other]);
    expect(rig.device.linkPayload()).toContain('</9/0>,</9/1>,</9/2>');

    expect((await push(rig, Buffer.from('package'), 1)).code).toBe('2.04');
    expect((await push(rig, Buffer.from('package'), 2)).code).toBe('2.04');
    await until(() => rig.software.instance(1).state === SoftwareState.DELIVERED && other.updateResult === SoftwareUpdateResult.INTEGRITY_FAILURE);
    expect(rig.software.currentState).toBe(SoftwareState.INITIAL);
    expect(await readText(rig, '/9/0/7')).toBe('0');
    expect(await readText(rig, '/9/1/7')).toBe('3');
    expect(await readText(rig, '/9/2/9')).toBe('53');
    expect(await codeOf(rig, { method: 'GET', uriPath: ['9', '3', '7'] })).toBe('4.04');
    expect(() => rig.software.instance(2)).toThrow('no simulated instance /9/2');
  });

  it('refuses writes to read-only resources, the instance and the object with 4.05, and leaves Write-Attributes to the device', async () => {
    const rig = await start();
    expect(await codeOf(rig, { method: 'PUT', uriPath: ['9', '0', '7'], ...text('4') })).toBe('4.05');
    expect(await codeOf(rig, { method: 'PUT', uriPath: ['9', '0', '9'], ...text('2') })).toBe('4.05');
    expect(await codeOf(rig, { method: 'POST', uriPath: ['9', '0', '12'] })).toBe('4.05');
    expect(await codeOf(rig, { method: 'PUT', uriPath: ['9', '0'], contentFormat: ContentFormat.TLV, payload: Buffer.from([0xc1, 0x07, 0x04]) })).toBe('4.05');
    expect(await codeOf(rig, { method: 'DELETE', uriPath: ['9', '0'] })).toBe('4.05');
    expect(await codeOf(rig, { method: 'POST', uriPath: ['9'], contentFormat: ContentFormat.TLV, payload: Buffer.from([0xc1, 0x07, 0x04]) })).toBe('4.05');
    expect(rig.software.history).toEqual([]);

    expect(await codeOf(rig, { method: 'PUT', uriPath: ['9', '0', '7'], uriQuery: ['pmin=10'] })).toBe('2.04');
    expect(rig.device.attributes.get('/9/0/7')).toEqual(['pmin=10']);
  });
});
