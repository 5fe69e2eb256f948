/**
 * Issue 14: firmware update jobs (OMA object 5) through MQTT, against the test device's simulated
 * Firmware Update object: push with Block1 (with datagram loss), pull over CoAP (Block2 from the
 * gateway) and HTTP, an outside URI, device failure, cancel, a restart mid-download, a queue-mode
 * device, and the checks made before anything is sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import pino from 'pino';
import { startGateway, type RunningGateway } from '../../../src/app/app';
import { parseConfig } from '../../../src/app/config';
import { loadSchema } from '../../../src/package-root';
import { finalJobEvent, jobEvents, registeredDevice, until } from '../../support/job-events';
import { FirmwareObject, FirmwareState, UpdateResult, type FirmwareObjectOptions } from '../../support/firmware-object';
import { MqttProbe, type ReceivedMessage } from '../../support/mqtt-probe';
import { freeTcpPort, freeUdpPort } from '../../support/ports';
import { seededRandom } from '../../support/seeded-random';
import { DEVICE_ENTRIES, TestDevice } from '../../support/test-device';

jest.setTimeout(60_000);

interface FirmwareEvent {
  jobId: string;
  state: string;
  method: string;
  progress?: number;
  updateResult?: number;
  result?: string;
  firmwareVersion?: string;
  pkgVersion?: string;
  error?: string;
  code?: string;
  reqID?: unknown;
  image?: string;
  uri?: string;
}

let dir: string;
let imagesDir: string;
let udpPort: number;
let mqttPort: number;
let gw: RunningGateway | undefined;
let probe: MqttProbe | undefined;
const devices: { device: TestDevice; firmware: FirmwareObject }[] = [];
const servers: Server[] = [];
const logLines: string[] = [];
const validUplink = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-fw-'));
  imagesDir = path.join(dir, 'images');
  fs.mkdirSync(imagesDir);
  udpPort = await freeUdpPort();
  mqttPort = await freeTcpPort();
  logLines.length = 0;
});

afterEach(async () => {
  for (const { device, firmware } of devices.splice(0)) {
    firmware.stop();
    await device.close();
  }
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await probe?.close();
  probe = undefined;
  await gw?.close();
  gw = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(extra = ''): Promise<void> {
  const config = parseConfig(
    [
      `store:\n  dir: "${path.join(dir, 'store')}"`,
      'http:\n  bind: "127.0.0.1:0"',
      `embedded_broker:\n  bind: "127.0.0.1:${mqttPort}"`,
      `listeners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"`,
      'lwm2m:\n  coap:\n    ack_timeout: 0.1\n  qmode_time_window: 2',
      `firmware:\n  dir: "${imagesDir}"\n  poll_interval: 0.2\n  public_host: 127.0.0.1${extra ? `\n${extra}` : ''}`,
    ].join('\n'),
  );
  gw = await startGateway(config, pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }));
  probe = await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#');
}

async function restart(): Promise<void> {
  await probe?.close();
  await gw?.close();
  await start();
}

function image(name: string, size: number): Buffer {
  const bytes = randomBytes(size);
  fs.writeFileSync(path.join(imagesDir, name), bytes);
  return bytes;
}

async function device(endpoint: string, options: FirmwareObjectOptions = {}, binding?: string): Promise<{ device: TestDevice; firmware: FirmwareObject }> {
  const firmware = new FirmwareObject({ newVersion: '2.0.0', pkgVersion: '2.0.0', ...options });
  const d = await registeredDevice(probe!, udpPort, { endpoint, binding, entries: [...DEVICE_ENTRIES, { path: '/3/0/3', type: 'string', value: '1.0.0' }, ...firmware.entries()], handlers: [firmware.handler] });
  const entry = { device: d, firmware };
  devices.push(entry);
  return entry;
}

function events(endpoint: string): FirmwareEvent[] {
  return jobEvents<FirmwareEvent>(probe!, `lwm2m/${endpoint}/up/firmware`);
}

function finalEvent(endpoint: string, timeoutMs = 45_000): Promise<FirmwareEvent> {
  return finalJobEvent<FirmwareEvent>(probe!, `lwm2m/${endpoint}/up/firmware`, undefined, timeoutMs);
}

async function command(endpoint: string, reqID: number, msgType: string, data: Record<string, unknown>): Promise<ReceivedMessage> {
  await probe!.publish(`lwm2m/${endpoint}/dn`, { reqID, msgType, data });
  return probe!.waitOn(`lwm2m/${endpoint}/up/resp`, { reqID }, 10_000);
}

function answerData(m: ReceivedMessage): { code: string; jobId?: string; error?: string; reqPath: string } {
  return (m.json as { data: { code: string; jobId?: string; error?: string; reqPath: string } }).data;
}

/** Counts the PUT datagrams that reach the device (push blocks, retransmissions included) from now on. */
function countPuts(d: TestDevice): { count: number } {
  const counter = { count: 0 };
  const emit = d.transport.emit.bind(d.transport);
  d.transport.emit = (event: string | symbol, ...args: unknown[]) => {
    const bytes = args[0];
    if (event === 'datagram' && Buffer.isBuffer(bytes) && bytes.length > 1 && bytes[1] === 0x03) counter.count++;
    return emit(event, ...args);
  };
  return counter;
}

describe('firmware update jobs over MQTT', () => {
  it('push: a 300 KB image in Block1 writes with 10 % of datagrams lost both ways, then update, success and the new version', async () => {
    await start();
    image('fw-300k.bin', 300 * 1024);
    const { device: d, firmware } = await device('fw-push');
    // Loss is injected on the device's socket: 10 % of what it receives and 10 % of what it sends.
    const random = seededRandom(14);
    const puts = countPuts(d);
    const dropped = { in: 0, out: 0 };
    const received = d.transport.emit.bind(d.transport);
    d.transport.emit = (event: string | symbol, ...args: unknown[]) => {
      if (event !== 'datagram' || random() >= 0.1) return received(event, ...args);
      dropped.in++;
      return true;
    };
    const send = d.transport.send.bind(d.transport);
    d.transport.send = (peer, bytes) => {
      if (random() >= 0.1) return send(peer, bytes);
      dropped.out++;
    };

    const answer = answerData(await command('fw-push', 1, 'firmware-update', { image: 'fw-300k.bin' }));
    expect(answer).toMatchObject({ code: '2.01', reqPath: '/5/0' });
    expect(answer.jobId).toMatch(/^[0-9a-f]{16}$/);
    const last = await finalEvent('fw-push', 55_000);
    expect(last).toMatchObject({ jobId: answer.jobId, state: 'succeeded', method: 'push', image: 'fw-300k.bin', updateResult: 1, result: 'success', firmwareVersion: '2.0.0', pkgVersion: '2.0.0', reqID: 1 });
    expect(firmware.history.some((h) => h.state === FirmwareState.DOWNLOADED)).toBe(true);
    const states = events('fw-push').map((e) => e.state);
    expect(states[0]).toBe('downloading');
    expect(states.slice(-3)).toEqual(['downloaded', 'updating', 'succeeded']);
    const progress = events('fw-push').filter((e) => e.progress !== undefined).map((e) => e.progress as number);
    expect(progress[0]).toBe(0);
    expect(progress[progress.length - 1]).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.length).toBeGreaterThanOrEqual(10);
    // 300 blocks of 1 KiB, and retransmissions for the losses: about one datagram in ten went missing each way.
    expect(dropped.in).toBeGreaterThan(20);
    expect(dropped.out).toBeGreaterThan(20);
    expect(puts.count).toBeGreaterThan(300);
    // The metrics count the job.
    const metrics = await (await fetch(`http://127.0.0.1:${gw!.httpPort}/metrics`)).text();
    expect(metrics).toContain('lwm2m_firmware_jobs_started_total{method="push"} 1');
    expect(metrics).toContain('lwm2m_firmware_jobs_ended_total{result="succeeded"} 1');
    expect(metrics).toContain('lwm2m_firmware_jobs_ended_total{result="failed"} 0');
    expect(metrics).toMatch(/^lwm2m_firmware_jobs 0$/m);
    // Every message is what schemas/uplink.schema.json documents, and the answer too.
    const published = [...probe!.on('lwm2m/fw-push/up/firmware'), ...probe!.on('lwm2m/fw-push/up/resp')];
    for (const m of published) expect({ message: m.json, valid: validUplink(m.json), errors: validUplink.errors }).toMatchObject({ valid: true });
  });

  it('push: the device gets the exact image bytes', async () => {
    await start();
    const bytes = image('fw-exact.bin', 5000);
    const { firmware } = await device('fw-exact', { updateDelayMs: 60_000 });
    await command('fw-exact', 1, 'firmware-update', { image: 'fw-exact.bin', method: 'push' });
    await until(() => events('fw-exact').some((e) => e.state === 'updating'));
    expect(createHash('sha256').update(firmware.received!).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('pull over CoAP: the gateway serves the image under a per-job path (Block2) that expires with the job', async () => {
    await start();
    const bytes = image('fw-pull.bin', 40 * 1024);
    const { firmware } = await device('fw-pull');
    const answer = answerData(await command('fw-pull', 2, 'firmware-update', { image: 'fw-pull.bin', method: 'pull' }));
    expect(answer.code).toBe('2.01');
    const last = await finalEvent('fw-pull');
    expect(last).toMatchObject({ state: 'succeeded', method: 'pull', updateResult: 1, firmwareVersion: '2.0.0' });
    expect(firmware.packageUri).toMatch(new RegExp(`^coap://127\\.0\\.0\\.1:${udpPort}/fw/[0-9a-f]{32}$`));
    expect(events('fw-pull').map((e) => e.state)).toEqual(['downloading', 'downloaded', 'updating', 'succeeded']);
    // The path is gone with the job: a second download gets 4.04.
    const again = new FirmwareObject();
    const d2 = await TestDevice.start({ endpoint: 'fw-probe', gateway: { host: '127.0.0.1', port: udpPort }, handlers: [again.handler] });
    devices.push({ device: d2, firmware: again });
    const res = await new Promise<{ code: string }>((resolve, reject) =>
      d2.coap.request({ address: '127.0.0.1', port: udpPort }, { method: 'GET', uriPath: new URL(firmware.packageUri).pathname.split('/').slice(1) }, { onResponse: resolve, onTimeout: () => reject(new Error('timeout')) }),
    );
    expect(res.code).toBe('4.04');
    expect(bytes.length).toBe(40 * 1024);
  });

  it('pull over HTTP: firmware.http serves the image', async () => {
    await start('  http:\n    enable: true\n    bind: "127.0.0.1:0"');
    const bytes = image('fw-http.bin', 64 * 1024);
    let got: Buffer | undefined;
    const { firmware } = await device('fw-http', {
      protocols: [0, 2],
      fetch: async (uri) => {
        got = Buffer.from(await (await fetch(uri)).arrayBuffer());
        return got;
      },
    });
    expect(answerData(await command('fw-http', 3, 'firmware-update', { image: 'fw-http.bin', method: 'pull', protocol: 'http' })).code).toBe('2.01');
    expect(await finalEvent('fw-http')).toMatchObject({ state: 'succeeded', method: 'pull' });
    expect(firmware.packageUri).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${gw!.firmware.httpPort}/fw/[0-9a-f]{32}$`));
    expect(got?.equals(bytes)).toBe(true);
  });

  it('pull of an outside URI: the device downloads from there', async () => {
    await start();
    const bytes = randomBytes(10_000);
    const server = createServer((_req, res) => res.end(bytes));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pkg.bin`;
    const { firmware } = await device('fw-uri', { protocols: [0, 1, 2, 3] });
    expect(answerData(await command('fw-uri', 4, 'firmware-update', { uri })).code).toBe('2.01');
    expect(await finalEvent('fw-uri')).toMatchObject({ state: 'succeeded', method: 'pull', uri });
    expect(firmware.packageUri).toBe(uri);
  });

  it('the device fails the update with Update Result 5 (integrity check failure)', async () => {
    await start();
    image('fw-bad.bin', 3000);
    await device('fw-bad', { failWith: UpdateResult.INTEGRITY_FAILURE });
    await command('fw-bad', 5, 'firmware-update', { image: 'fw-bad.bin' });
    const last = await finalEvent('fw-bad');
    expect(last).toMatchObject({ state: 'failed', updateResult: 5, result: 'integrity_check_failure' });
    expect(last.error).toContain('Update Result 5');
  });

  it('firmware-cancel writes an empty Package URI: the device is back to Idle and the job ends cancelled', async () => {
    await start();
    image('fw-cancel.bin', 3000);
    const { firmware } = await device('fw-cancel', { downloadDelayMs: 60_000 });
    await command('fw-cancel', 6, 'firmware-update', { image: 'fw-cancel.bin', method: 'pull' });
    await until(() => firmware.currentState === FirmwareState.DOWNLOADING);
    const answer = answerData(await command('fw-cancel', 7, 'firmware-cancel', {}));
    expect(answer.code).toBe('2.04');
    expect(await finalEvent('fw-cancel')).toMatchObject({ state: 'cancelled', code: '2.04' });
    expect(firmware.currentState).toBe(FirmwareState.IDLE);
    expect(firmware.packageUri).toBe('');
    // The job is over: a new one may start, and a second cancel finds none.
    expect(answerData(await command('fw-cancel', 8, 'firmware-cancel', {})).code).toBe('4.04');
  });

  it('a restart mid-download: the job goes on from the store and succeeds', async () => {
    await start();
    const bytes = image('fw-restart.bin', 200 * 1024);
    const { device: d, firmware } = await device('fw-restart', { updateDelayMs: 50 });
    // Slow the device a little so that the restart lands mid-transfer.
    d.transport.emit = ((emit) =>
      (event: string | symbol, ...args: unknown[]) => {
        if (event === 'datagram') setTimeout(() => emit(event, ...args), 2);
        else emit(event, ...args);
        return true;
      })(d.transport.emit.bind(d.transport));
    const puts = countPuts(d);
    await command('fw-restart', 9, 'firmware-update', { image: 'fw-restart.bin' });
    await until(() => events('fw-restart').some((e) => (e.progress ?? 0) >= 0.3));
    const putsBefore = puts.count;
    const jobId = events('fw-restart')[0].jobId;
    await restart();
    const last = await finalEvent('fw-restart');
    expect(last).toMatchObject({ jobId, state: 'succeeded', updateResult: 1 });
    expect(firmware.history.some((h) => h.state === FirmwareState.DOWNLOADED)).toBe(true);
    // It went on where it was, not from the first block.
    expect(putsBefore).toBeGreaterThanOrEqual(60);
    expect(puts.count - putsBefore).toBeLessThan(200 - 40);
    expect(logLines.some((l) => l.includes('"firmwareJobs":1'))).toBe(true);
    expect(bytes.length).toBe(200 * 1024);
  });

  it('a queue-mode device: the job waits while it sleeps and goes on when it wakes', async () => {
    await start();
    image('fw-q.bin', 4000);
    const { device: d } = await device('fw-queue', {}, 'UQ');
    d.behaviour.silent = true;
    await command('fw-queue', 10, 'firmware-update', { image: 'fw-q.bin' });
    // The first request gets no answer: the device counts as asleep, and nothing more is sent.
    await until(() => logLines.some((l) => l.includes('no answer to the read of /5/0')));
    const asleep = d.requests.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(d.requests.length).toBe(asleep);
    expect(events('fw-queue').filter((e) => e.state !== 'downloading')).toEqual([]);
    d.behaviour.silent = false;
    await d.update();
    expect(await finalEvent('fw-queue')).toMatchObject({ state: 'succeeded' });
  });

  it('checks before sending: delivery method and protocol mismatches fail the job with a clear error, nothing written', async () => {
    await start();
    image('fw-x.bin', 2000);
    const { device: pullOnly, firmware: f1 } = await device('fw-pullonly', { delivery: 0 });
    await command('fw-pullonly', 11, 'firmware-update', { image: 'fw-x.bin', method: 'push' });
    const a = await finalEvent('fw-pullonly');
    expect(a).toMatchObject({ state: 'failed' });
    expect(a.error).toContain('/5/0/9 = 0');
    expect(pullOnly.requests.some((r) => r.uriPath.join('/') === '5/0/0')).toBe(false);
    expect(f1.received).toBeUndefined();

    const { firmware: f2 } = await device('fw-coaponly', { protocols: [0] });
    await command('fw-coaponly', 12, 'firmware-update', { uri: 'https://example.com/fw.bin' });
    const b = await finalEvent('fw-coaponly');
    expect(b.error).toContain('does not support https');
    expect(f2.packageUri).toBe('');
  });

  it('one job per device, and bad commands answered with the reason', async () => {
    await start();
    image('fw-one.bin', 2000);
    await device('fw-one', { downloadDelayMs: 60_000 });
    const first = answerData(await command('fw-one', 13, 'firmware-update', { image: 'fw-one.bin', method: 'pull' }));
    const second = answerData(await command('fw-one', 14, 'firmware-update', { image: 'fw-one.bin' }));
    expect(second).toMatchObject({ code: '4.09', jobId: first.jobId });
    const bad: [Record<string, unknown>, string, string][] = [
      [{}, '4.00', 'exactly one of data.uri'],
      [{ uri: 'coap://x/y', image: 'fw-one.bin' }, '4.00', 'exactly one of data.uri'],
      [{ uri: 'ftp://x/y' }, '4.00', 'coap, coaps, http, https'],
      [{ uri: 'coap://x/y', method: 'push' }, '4.00', 'push takes data.image'],
      [{ uri: `coap://x/${'a'.repeat(300)}` }, '4.00', '255 bytes'],
      [{ image: 'fw-one.bin', method: 'sideways' }, '4.00', 'data.method'],
      [{ image: 'fw-one.bin', method: 'pull', protocol: 'gopher' }, '4.00', 'data.protocol'],
    ];
    for (const [i, [data, code, error]] of bad.entries()) {
      const a = answerData(await command('fw-one', 100 + i, 'firmware-update', data));
      expect({ code: a.code, error: a.error?.includes(error) }).toEqual({ code, error: true });
    }
    const { device: d2 } = await device('fw-two');
    expect(d2).toBeDefined();
    const missing = answerData(await command('fw-two', 20, 'firmware-update', { image: 'no-such.bin' }));
    expect(missing.code).toBe('4.04');
    const traversal = answerData(await command('fw-two', 21, 'firmware-update', { image: '../store/x' }));
    expect(traversal.code).toBe('4.04');
  });

  it('a job that does not end within firmware.job_timeout fails', async () => {
    await start('  job_timeout: 1s');
    image('fw-t.bin', 2000);
    await device('fw-timeout', { downloadDelayMs: 60_000 });
    await command('fw-timeout', 30, 'firmware-update', { image: 'fw-t.bin', method: 'pull' });
    const last = await finalEvent('fw-timeout');
    expect(last.state).toBe('failed');
    expect(last.error).toContain('firmware.job_timeout');
  });

  it('a device without object 5 is refused 4.04', async () => {
    await start();
    const d = await TestDevice.start({ endpoint: 'fw-none', gateway: { host: '127.0.0.1', port: udpPort } });
    devices.push({ device: d, firmware: new FirmwareObject() });
    await d.register();
    await probe!.waitOn('lwm2m/fw-none/up/register');
    const a = answerData(await command('fw-none', 40, 'firmware-update', { uri: 'coap://127.0.0.1/x' }));
    expect(a.code).toBe('4.04');
    expect(a.error).toContain('Firmware Update object');
  });
});

