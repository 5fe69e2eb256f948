/**
 * Issue 14: software management jobs (OMA object 9) through MQTT, against the test device's
 * simulated Software Management object: install by push (Block1) and by pull (the gateway serves
 * the package over CoAP), the device's failures (integrity check, installation), uninstall (also for
 * update), activate and deactivate, cancel at each stage, a gateway restart mid-install, several
 * instances, and the checks made before anything is executed.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import pino from 'pino';
import { startGateway, type RunningGateway } from '../../../src/app/app';
import { parseConfig } from '../../../src/app/config';
import { loadSchema } from '../../../src/package-root';
import { finalJobEvent, jobEvents, registeredDevice, until } from '../../support/job-events';
import { MqttProbe, type ReceivedMessage } from '../../support/mqtt-probe';
import { freeTcpPort, freeUdpPort } from '../../support/ports';
import { SoftwareObject, SoftwareState, SoftwareUpdateResult, type SoftwareObjectOptions } from '../../support/software-object';
import { DEVICE_ENTRIES, TestDevice, type DeviceRequestHandler } from '../../support/test-device';

jest.setTimeout(60_000);

interface SoftwareEvent {
  jobId: string;
  state: string;
  operation: string;
  instance: number;
  forUpdate?: boolean;
  method?: string;
  image?: string;
  uri?: string;
  progress?: number;
  updateResult?: number;
  result?: string;
  pkgName?: string;
  pkgVersion?: string;
  activationState?: boolean;
  error?: string;
  code?: string;
  reqID?: unknown;
}

let dir: string;
let imagesDir: string;
let udpPort: number;
let mqttPort: number;
let gw: RunningGateway | undefined;
let probe: MqttProbe | undefined;
const devices: { device: TestDevice; software: SoftwareObject }[] = [];
const validUplink = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-sw-'));
  imagesDir = path.join(dir, 'images');
  fs.mkdirSync(imagesDir);
  udpPort = await freeUdpPort();
  mqttPort = await freeTcpPort();
});

afterEach(async () => {
  for (const { device, software } of devices.splice(0)) {
    software.stop();
    await device.close();
  }
  await probe?.close();
  probe = undefined;
  await gw?.close();
  gw = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<void> {
  const config = parseConfig(
    [
      `store:\n  dir: "${path.join(dir, 'store')}"`,
      'http:\n  bind: "127.0.0.1:0"',
      `embedded_broker:\n  bind: "127.0.0.1:${mqttPort}"`,
      `listeners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"`,
      'lwm2m:\n  coap:\n    ack_timeout: 0.1',
      `firmware:\n  dir: "${imagesDir}"\n  poll_interval: 0.2\n  public_host: 127.0.0.1`,
    ].join('\n'),
  );
  gw = await startGateway(config, pino({ level: 'silent' }));
  probe = await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#');
}

function pkg(name: string, size: number): Buffer {
  const bytes = randomBytes(size);
  fs.writeFileSync(path.join(imagesDir, name), bytes);
  return bytes;
}

async function device(endpoint: string, options: SoftwareObjectOptions = {}): Promise<{ device: TestDevice; software: SoftwareObject }> {
  const software = new SoftwareObject({ newPkgName: 'app', newPkgVersion: '2.0', ...options });
  const d = await registeredDevice(probe!, udpPort, { endpoint, entries: [...DEVICE_ENTRIES, ...software.entries()], handlers: [software.handler] });
  devices.push({ device: d, software });
  return { device: d, software };
}

function events(endpoint: string): SoftwareEvent[] {
  return jobEvents<SoftwareEvent>(probe!, `lwm2m/${endpoint}/up/software`);
}

function finalEvent(endpoint: string, jobId?: string): Promise<SoftwareEvent> {
  return finalJobEvent<SoftwareEvent>(probe!, `lwm2m/${endpoint}/up/software`, jobId);
}

async function command(endpoint: string, reqID: number, msgType: string, data: Record<string, unknown>): Promise<{ code: string; jobId?: string; error?: string; reqPath: string }> {
  await probe!.publish(`lwm2m/${endpoint}/dn`, { reqID, msgType, data });
  const m: ReceivedMessage = await probe!.waitOn(`lwm2m/${endpoint}/up/resp`, { reqID }, 10_000);
  expect({ valid: validUplink(m.json), errors: validUplink.errors }).toMatchObject({ valid: true });
  return (m.json as { data: { code: string; jobId?: string; error?: string; reqPath: string } }).data;
}

/** Starts a job and waits for its end. */
async function job(endpoint: string, reqID: number, msgType: string, data: Record<string, unknown>): Promise<SoftwareEvent> {
  const answer = await command(endpoint, reqID, msgType, data);
  expect(answer).toMatchObject({ code: '2.01' });
  return finalEvent(endpoint, answer.jobId);
}


describe('software management jobs over MQTT', () => {
  it('install by push: Block1 writes of Package /9/0/2, DELIVERED, Install, INSTALLED with the new package name and version', async () => {
    await start();
    const bytes = pkg('app-2.0.bin', 100 * 1024);
    const { software } = await device('sw-push');
    const answer = await command('sw-push', 1, 'software-install', { image: 'app-2.0.bin' });
    expect(answer).toMatchObject({ code: '2.01', reqPath: '/9/0' });
    expect(answer.jobId).toMatch(/^[0-9a-f]{16}$/);
    const last = await finalEvent('sw-push');
    expect(last).toEqual({
      jobId: answer.jobId,
      operation: 'install',
      instance: 0,
      method: 'push',
      image: 'app-2.0.bin',
      state: 'succeeded',
      updateResult: SoftwareUpdateResult.INSTALLED,
      result: 'installed',
      pkgName: 'app',
      pkgVersion: '2.0',
      activationState: false,
      reqID: 1,
    });
    expect(software.received?.equals(bytes)).toBe(true);
    expect(software.currentState).toBe(SoftwareState.INSTALLED);
    const states = events('sw-push').map((e) => e.state);
    expect(states[0]).toBe('downloading');
    expect(states.slice(-3)).toEqual(['delivered', 'installing', 'succeeded']);
    const progress = events('sw-push').filter((e) => e.progress !== undefined).map((e) => e.progress as number);
    expect(progress[0]).toBe(0);
    expect(progress[progress.length - 1]).toBe(1);
    for (const m of probe!.on('lwm2m/sw-push/up/software')) expect({ message: m.json, valid: validUplink(m.json), errors: validUplink.errors }).toMatchObject({ valid: true });
    const metrics = await (await fetch(`http://127.0.0.1:${gw!.httpPort}/metrics`)).text();
    expect(metrics).toContain('lwm2m_software_jobs_started_total{operation="install"} 1');
    expect(metrics).toContain('lwm2m_software_jobs_ended_total{operation="install",result="succeeded"} 1');
    expect(metrics).toMatch(/^lwm2m_software_jobs 0$/m);
    expect(metrics).toContain('lwm2m_firmware_jobs_ended_total{result="succeeded"} 0');
    // The installed package is then activated (README's session).
    expect(await job('sw-push', 2, 'software-activate', {})).toMatchObject({ state: 'succeeded', operation: 'activate', pkgVersion: '2.0', activationState: true, reqID: 2 });
    expect(software.activationState).toBe(true);
  });

  it('install by pull: the device downloads the package from the gateway over CoAP (Block2)', async () => {
    await start();
    const bytes = pkg('app-pull.bin', 40 * 1024);
    const { software } = await device('sw-pull');
    const last = await job('sw-pull', 2, 'software-install', { image: 'app-pull.bin', method: 'pull' });
    expect(last).toMatchObject({ state: 'succeeded', operation: 'install', method: 'pull', pkgVersion: '2.0' });
    expect(software.instance().packageUri).toMatch(new RegExp(`^coap://127\\.0\\.0\\.1:${udpPort}/fw/[0-9a-f]{32}$`));
    expect(software.received?.equals(bytes)).toBe(true);
    expect(events('sw-pull').map((e) => e.state)).toEqual(['downloading', 'delivered', 'installing', 'succeeded']);
  });

  it('the device fails the integrity check (Update Result 53): the job fails with the result and its name', async () => {
    await start();
    pkg('bad.bin', 2048);
    const { software } = await device('sw-53', { failCheckWith: SoftwareUpdateResult.INTEGRITY_FAILURE });
    const last = await job('sw-53', 3, 'software-install', { image: 'bad.bin' });
    expect(last).toMatchObject({ state: 'failed', updateResult: 53, result: 'integrity_check_failure' });
    expect(last.error).toContain('Update Result 53');
    expect(software.currentState).toBe(SoftwareState.INITIAL);
  });

  it('a failed installation (Update Result 58) stays DELIVERED; software-uninstall then removes the package', async () => {
    await start();
    pkg('app.bin', 2048);
    const { software } = await device('sw-58', { failInstallWith: SoftwareUpdateResult.INSTALL_FAILED });
    const failed = await job('sw-58', 4, 'software-install', { image: 'app.bin' });
    expect(failed).toMatchObject({ state: 'failed', updateResult: 58, result: 'installation_failure' });
    expect(software.currentState).toBe(SoftwareState.DELIVERED);
    const removed = await job('sw-58', 5, 'software-uninstall', {});
    expect(removed).toMatchObject({ state: 'succeeded', operation: 'uninstall', instance: 0, forUpdate: false });
    // Only an install's end carries Update Result (the outcome of the install).
    expect(removed.updateResult).toBeUndefined();
    expect(removed.method).toBeUndefined();
    expect(software.currentState).toBe(SoftwareState.INITIAL);
    expect(events('sw-58').filter((e) => e.operation === 'uninstall').map((e) => e.state)).toEqual(['uninstalling', 'succeeded']);
  });

  it('activate and deactivate follow Activation State; uninstall for update keeps the software for the next install', async () => {
    await start();
    pkg('app-3.bin', 1024);
    const { software } = await device('sw-act', { installed: true, pkgName: 'app', pkgVersion: '1.0', newPkgVersion: '3.0' });
    expect(await job('sw-act', 6, 'software-activate', {})).toMatchObject({ state: 'succeeded', operation: 'activate', activationState: true, pkgVersion: '1.0' });
    expect(software.activationState).toBe(true);
    // Deactivate through the HTTP API's command route: the same answer as on up/resp, the same job.
    const res = await fetch(`http://127.0.0.1:${gw!.httpPort}/api/v5/gateways/lwm2m/clients/sw-act/software-deactivate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reqID: 7, data: {} }),
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { msgType: string; data: { code: string; jobId: string; reqPath: string } };
    expect(answer).toMatchObject({ msgType: 'software-deactivate', data: { code: '2.01', reqPath: '/9/0' } });
    expect(await finalEvent('sw-act', answer.data.jobId)).toMatchObject({ state: 'succeeded', operation: 'deactivate', activationState: false });
    expect(software.activationState).toBe(false);
    // Installed software is not replaced behind the operator's back: install asks for an uninstall first.
    const refused = await job('sw-act', 8, 'software-install', { image: 'app-3.bin' });
    expect(refused.state).toBe('failed');
    expect(refused.error).toContain('software-uninstall');
    expect(software.received).toBeUndefined();
    expect(await job('sw-act', 9, 'software-uninstall', { forUpdate: true })).toMatchObject({ state: 'succeeded', forUpdate: true, pkgName: 'app', pkgVersion: '1.0' });
    expect(software.currentState).toBe(SoftwareState.INITIAL);
    expect(await job('sw-act', 10, 'software-install', { image: 'app-3.bin' })).toMatchObject({ state: 'succeeded', pkgVersion: '3.0' });
    // Activate outside INSTALLED is refused by the check, before anything is executed.
    await job('sw-act', 11, 'software-uninstall', {});
    const notInstalled = await job('sw-act', 12, 'software-activate', {});
    expect(notInstalled).toMatchObject({ state: 'failed' });
    expect(notInstalled.error).toContain('not INSTALLED');
    const metrics = await (await fetch(`http://127.0.0.1:${gw!.httpPort}/metrics`)).text();
    expect(metrics).toContain('lwm2m_software_jobs_ended_total{operation="activate",result="succeeded"} 1');
    expect(metrics).toContain('lwm2m_software_jobs_ended_total{operation="activate",result="failed"} 1');
  });

  it('software-cancel while downloading resets Package URI; once DELIVERED and installing it executes Uninstall', async () => {
    await start();
    pkg('slow.bin', 1024);
    const slow = await device('sw-cancel-dl', { downloadDelayMs: 60_000 });
    await command('sw-cancel-dl', 13, 'software-install', { image: 'slow.bin', method: 'pull' });
    await until(() => slow.software.currentState === SoftwareState.DOWNLOAD_STARTED);
    expect(await command('sw-cancel-dl', 14, 'software-cancel', {})).toMatchObject({ code: '2.04' });
    expect(await finalEvent('sw-cancel-dl')).toMatchObject({ state: 'cancelled', code: '2.04' });
    expect(slow.software.currentState).toBe(SoftwareState.INITIAL);
    expect(slow.software.instance().packageUri).toBe('');

    const installing = await device('sw-cancel-inst', { installDelayMs: 60_000 });
    await command('sw-cancel-inst', 15, 'software-install', { image: 'slow.bin' });
    await until(() => events('sw-cancel-inst').some((e) => e.state === 'installing'));
    expect(await command('sw-cancel-inst', 16, 'software-cancel', {})).toMatchObject({ code: '2.04' });
    expect(await finalEvent('sw-cancel-inst')).toMatchObject({ state: 'cancelled' });
    expect(installing.software.currentState).toBe(SoftwareState.INITIAL);
    expect(installing.software.received).toBeUndefined();
    expect(await command('sw-cancel-inst', 17, 'software-cancel', {})).toMatchObject({ code: '4.04', error: 'no software job is under way on this endpoint' });
  });

  it('a gateway restart while installing: the job comes back from the store and ends when the device is INSTALLED', async () => {
    await start();
    pkg('app.bin', 4096);
    const { software } = await device('sw-restart', { installDelayMs: 1500 });
    const answer = await command('sw-restart', 18, 'software-install', { image: 'app.bin' });
    await until(() => events('sw-restart').some((e) => e.state === 'installing'));
    await probe!.close();
    await gw!.close();
    await start();
    const last = await finalEvent('sw-restart', answer.jobId);
    expect(last).toMatchObject({ jobId: answer.jobId, state: 'succeeded', operation: 'install', pkgVersion: '2.0', reqID: 18 });
    expect(software.currentState).toBe(SoftwareState.INSTALLED);
  });

  it('a gateway restart while an Activate is unanswered: the job reads the instance again, sends Activate again and ends', async () => {
    await start();
    const software = new SoftwareObject({ installed: true, pkgName: 'app', pkgVersion: '1.0' });
    let activates = 0;
    // The first Activate is never answered (the device hangs), so the job is left at its execute.
    const hang: DeviceRequestHandler = (req) => {
      if (req.method !== 'POST' || req.uriPath.join('/') !== '9/0/10') return undefined;
      activates++;
      return activates === 1 ? new Promise<never>(() => undefined) : undefined;
    };
    const d = await registeredDevice(probe!, udpPort, { endpoint: 'sw-act-restart', entries: [...DEVICE_ENTRIES, ...software.entries()], handlers: [hang, software.handler] });
    devices.push({ device: d, software });
    const answer = await command('sw-act-restart', 30, 'software-activate', {});
    await until(() => activates === 1);
    await probe!.close();
    await gw!.close();
    await start();
    expect(await finalEvent('sw-act-restart', answer.jobId)).toMatchObject({ jobId: answer.jobId, state: 'succeeded', operation: 'activate', activationState: true, reqID: 30 });
    expect(activates).toBe(2);
    expect(software.activationState).toBe(true);
  });

  it('several instances: data.instance names one; bad commands are answered with the reason, one software job per device', async () => {
    await start();
    pkg('a.bin', 512);
    const { software } = await device('sw-multi', { instances: [0, 1], installDelayMs: 500 });
    expect(await command('sw-multi', 19, 'software-install', { image: 'a.bin' })).toMatchObject({ code: '4.00', reqPath: '/9', error: expect.stringContaining('/9/0, /9/1') });
    expect(await command('sw-multi', 20, 'software-install', { image: 'a.bin', instance: 7 })).toMatchObject({ code: '4.04', reqPath: '/9/7' });
    expect(await command('sw-multi', 21, 'software-install', { image: 'a.bin', instance: 1.5 })).toMatchObject({ code: '4.00' });
    expect(await command('sw-multi', 22, 'software-activate', { instance: 1, uri: 'coap://x/y' })).toMatchObject({ code: '4.00', error: 'data.uri applies to software-install only' });
    expect(await command('sw-multi', 23, 'software-activate', { instance: 1, forUpdate: true })).toMatchObject({ code: '4.00' });
    expect(await command('sw-multi', 24, 'software-install', { instance: 1 })).toMatchObject({ code: '4.00' });
    expect(await command('sw-multi', 25, 'software-install', { instance: 1, image: 'missing.bin' })).toMatchObject({ code: '4.04' });
    const started = await command('sw-multi', 26, 'software-install', { image: 'a.bin', instance: 1 });
    expect(started).toMatchObject({ code: '2.01', reqPath: '/9/1' });
    expect(await command('sw-multi', 27, 'software-install', { image: 'a.bin', instance: 0 })).toMatchObject({ code: '4.09', jobId: started.jobId });
    expect(await finalEvent('sw-multi', started.jobId)).toMatchObject({ state: 'succeeded', instance: 1 });
    expect(software.instance(1).state).toBe(SoftwareState.INSTALLED);
    expect(software.instance(0).state).toBe(SoftwareState.INITIAL);
  });

  it('a device without object 9 is refused 4.04', async () => {
    await start();
    const d = await TestDevice.start({ endpoint: 'sw-none', gateway: { host: '127.0.0.1', port: udpPort }, entries: DEVICE_ENTRIES });
    devices.push({ device: d, software: new SoftwareObject() });
    await d.register();
    await probe!.waitOn('lwm2m/sw-none/up/register');
    expect(await command('sw-none', 28, 'software-uninstall', {})).toMatchObject({ code: '4.04', error: 'the device has no Software Management object (/9 is not in its object list)' });
  });
});
