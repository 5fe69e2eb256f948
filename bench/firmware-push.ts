/**
 * (f) Firmware push (`--only firmware`, opt-in): one image (default 256 KiB, --firmware-kb) pushed
 * to N devices at once (default 100, --firmware-devices) by the gateway's firmware jobs, against
 * the same image pushed to the same devices by a bare CoAP client: the cost floor of a push.
 *
 * - Gateway: a child process with `firmware.dir` holding the image; the devices (bench/firmware-device.ts,
 *   in this process) register, then a `firmware-update` command per device goes out on MQTT at once.
 *   Each job reads /5/0, observes it, writes Package /5/0/0 block by block (Block1, 1 KiB, one in
 *   flight per device), waits for State Downloaded, executes Update /5/0/2, waits for Update Result 1
 *   and reads /3/0/3. Total time: the first command to the last `succeeded` on `up/firmware`;
 *   per device: its command to its `succeeded`.
 * - Baseline: a child process (bench/firmware-pusher.ts) PUTs the whole image to /5/0/0 of every
 *   device at once through a src/coap endpoint (Block1, 1 KiB, one in flight per device) and stops
 *   at the last 2.04: no MQTT, no job, no read, no observe, no execute. Per device: to its 2.04.
 * - CPU: the target process's (gateway child, or pusher child) over the push, per KiB delivered
 *   (N × image size); datagrams per KiB: all the devices sent and received over the push.
 * A warm-up push of each target first (not counted), then `rounds` rounds, the order alternating.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildHandle } from './child';
import { type CpuSpent, type TargetKind, addCpu, cpuPerOp, startProcessCpuMeter } from './context';
import { type DatagramCounts, FirmwareBenchDevice, addCounts, zeroCounts } from './firmware-device';
import type { PushReply, PushRequest } from './firmware-pusher';
import { machineTicks, ticksSince } from './machine-steal';
import { processCpuSeconds } from './mosquitto';
import { MqttProbe } from './mqtt-clients';
import type { GatewayYamlOptions } from './run';
import { fmt, fmtInt, fmtMs, percentile, ratio, sleep } from './stats';

export interface FirmwareOptions {
  devices: number;
  imageKb: number;
  rounds: number;
  /** --profile: CPU profiles of the gateway (firmware-gateway) and the pusher (firmware-baseline) here. */
  profileDir?: string;
}

/** How the part starts what it measures (bench/run.ts owns the broker, the children and the YAML). */
export interface FirmwareDeps {
  brokerUrl: string;
  brokerPid: number;
  gatewayYaml(options: GatewayYamlOptions): string;
  startGateway(yaml: string, execArgv: string[]): Promise<ChildHandle>;
  stopGateway(child: ChildHandle): Promise<void>;
  log(message: string): void;
}

/** One target's pushes, rounds added up. */
export interface PushResult {
  kind: TargetKind;
  pushes: number;
  /** Devices per push times pushes. */
  attempted: number;
  succeeded: number;
  /** Wall time of the pushes, first command to last success, added up. */
  elapsedMs: number;
  /** Each device's time to its success, every round. */
  perDeviceMs: number[];
  cpu: CpuSpent;
  counts: DatagramCounts;
  /** Package writes whose bytes were not the image. */
  corrupt: number;
  /** The first few failures, "endpoint: why". */
  failures: string[];
}

export interface FirmwareResults {
  devices: number;
  imageBytes: number;
  rounds: number;
  gateway: PushResult;
  baseline: PushResult;
  notes: string[];
}

/** A push whose devices have all been silent this long is over: the rest count as failed. */
const STALL_MS = 30_000;
const MAX_FAILURES_KEPT = 5;
/** Bounds on the flags: the devices are sockets of this process, the image is held by each of them. */
const MAX_DEVICES = 10_000;
const MAX_IMAGE_KB = 64 * 1024;
const FIRMWARE_TOPIC_SUFFIX = '/up/firmware';
const RESPONSE_TOPIC_SUFFIX = '/up/resp';
const TOPIC_PREFIX = 'lwm2m/';

function emptyResult(kind: TargetKind): PushResult {
  return { kind, pushes: 0, attempted: 0, succeeded: 0, elapsedMs: 0, perDeviceMs: [], cpu: { targetMs: 0, brokerMs: 0, loadMs: 0, machine: { total: 0, steal: 0 } }, counts: zeroCounts(), corrupt: 0, failures: [] };
}

function addPush(total: PushResult, push: PushResult): PushResult {
  return {
    kind: total.kind,
    pushes: total.pushes + push.pushes,
    attempted: total.attempted + push.attempted,
    succeeded: total.succeeded + push.succeeded,
    elapsedMs: total.elapsedMs + push.elapsedMs,
    perDeviceMs: [...total.perDeviceMs, ...push.perDeviceMs],
    cpu: addCpu(total.cpu, push.cpu),
    counts: addCounts(total.counts, push.counts),
    corrupt: total.corrupt + push.corrupt,
    failures: [...total.failures, ...push.failures].slice(0, MAX_FAILURES_KEPT),
  };
}

/** The `{"msgType":…,"data":{…}}` object of an uplink message, or undefined when it is not one. */
function uplinkData(payload: Buffer): Record<string, unknown> | undefined {
  let message: unknown;
  try {
    message = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const data = typeof message === 'object' && message !== null ? (message as { data?: unknown }).data : undefined;
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
}

/** Devices and datagram counts before a push: Idle, counters at zero. */
function prepare(devices: FirmwareBenchDevice[]): void {
  for (const d of devices) {
    d.resetFirmware();
    d.resetCounts();
  }
}

function countsOf(devices: FirmwareBenchDevice[]): DatagramCounts {
  return devices.reduce((sum, d) => addCounts(sum, d.counts), zeroCounts());
}

function corruptOf(devices: FirmwareBenchDevice[]): number {
  return devices.reduce((sum, d) => sum + d.packagesCorrupt, 0);
}

/** One push by the gateway: a firmware-update command per device, all at once, until each job has ended. */
async function gatewayPush(devices: FirmwareBenchDevice[], imageName: string, gateway: ChildHandle, probe: MqttProbe, deps: FirmwareDeps): Promise<PushResult> {
  prepare(devices);
  const corruptBefore = corruptOf(devices);
  const index = new Map(devices.map((d, i) => [d.name, i]));
  const doneAt = new Array<number>(devices.length).fill(NaN);
  const failures: string[] = [];
  const ended = new Set<number>();
  let lastEventAt = performance.now();
  const end = (i: number, failure?: string) => {
    if (ended.has(i)) return;
    ended.add(i);
    if (failure === undefined) doneAt[i] = performance.now();
    else failures.push(`${devices[i].name}: ${failure}`);
  };
  probe.onMessage((topic, payload) => {
    if (!topic.startsWith(TOPIC_PREFIX)) return;
    const isEvent = topic.endsWith(FIRMWARE_TOPIC_SUFFIX);
    if (!isEvent && !topic.endsWith(RESPONSE_TOPIC_SUFFIX)) return;
    const i = index.get(topic.slice(TOPIC_PREFIX.length, topic.length - (isEvent ? FIRMWARE_TOPIC_SUFFIX : RESPONSE_TOPIC_SUFFIX).length));
    const data = uplinkData(payload);
    if (i === undefined || !data) return;
    lastEventAt = performance.now();
    if (!isEvent) {
      if (data.code !== '2.01') end(i, `firmware-update answered ${String(data.code)}: ${String(data.error ?? '')}`);
      return;
    }
    if (data.state === 'succeeded') end(i);
    else if (data.state === 'failed' || data.state === 'cancelled') end(i, `job ${String(data.state)}: ${String(data.error ?? '')}`);
  });
  const meter = await startProcessCpuMeter(gateway, deps.brokerPid);
  const started = performance.now();
  devices.forEach((d, i) => probe.publish(`${TOPIC_PREFIX}${d.name}/dn`, JSON.stringify({ reqID: i, msgType: 'firmware-update', data: { image: imageName } })));
  lastEventAt = performance.now();
  while (ended.size < devices.length && performance.now() - lastEventAt < STALL_MS) await sleep(5);
  const cpu = await meter.stop();
  probe.clearHandler();
  const times = doneAt.filter((t) => !Number.isNaN(t)).map((t) => t - started);
  for (const i of doneAt.keys()) if (!ended.has(i)) failures.push(`${devices[i].name}: no end within ${STALL_MS / 1000} s of silence`);
  return onePush('gateway', devices, times, cpu, corruptBefore, failures);
}

/** One push's result: `times` are the successful devices' times. */
function onePush(kind: TargetKind, devices: FirmwareBenchDevice[], times: number[], cpu: CpuSpent, corruptBefore: number, failures: string[]): PushResult {
  return {
    kind,
    pushes: 1,
    attempted: devices.length,
    succeeded: times.length,
    elapsedMs: times.length > 0 ? Math.max(...times) : NaN,
    perDeviceMs: times,
    cpu,
    counts: countsOf(devices),
    corrupt: corruptOf(devices) - corruptBefore,
    failures: failures.slice(0, MAX_FAILURES_KEPT),
  };
}

/** The baseline pusher child (bench/firmware-pusher.ts). */
class Pusher {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: PushReply) => void>();
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (raw: unknown) => {
      const reply = raw as Partial<PushReply>;
      if (reply.type !== 'pushed' || typeof reply.id !== 'number') return;
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply as PushReply);
    });
  }

  static start(imageFile: string, execArgv: string[]): Promise<Pusher> {
    const child = fork(path.join(__dirname, 'firmware-pusher.js'), [], { env: { ...process.env, BENCH_FIRMWARE_IMAGE: imageFile }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('firmware-pusher did not become ready within 20 s'));
      }, 20_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`firmware-pusher exited during start-up (code ${code})`));
      });
      child.on('message', (raw: unknown) => {
        const m = raw as { type?: unknown; error?: unknown };
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(new Pusher(child));
        } else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`firmware-pusher failed to start: ${String(m.error)}`));
        }
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  push(ports: number[], timeoutMs: number): Promise<PushReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`firmware-pusher: no answer to a push within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      const request: PushRequest = { type: 'push', id, ports };
      this.child.send(request);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const killTimer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.child.send({ type: 'close' });
    await this.exited;
    clearTimeout(killTimer);
  }
}

/** One push by the bare CoAP client: the whole image PUT to every device at once. */
async function baselinePush(devices: FirmwareBenchDevice[], pusher: Pusher, brokerPid: number, timeoutMs: number): Promise<PushResult> {
  prepare(devices);
  const corruptBefore = corruptOf(devices);
  const b0 = processCpuSeconds(brokerPid);
  const l0 = process.cpuUsage();
  const m0 = machineTicks();
  const reply = await pusher.push(
    devices.map((d) => d.port),
    timeoutMs,
  );
  const l1 = process.cpuUsage(l0);
  const cpu: CpuSpent = { targetMs: reply.cpuMicros / 1000, brokerMs: (processCpuSeconds(brokerPid) - b0) * 1000, loadMs: (l1.user + l1.system) / 1000, machine: ticksSince(m0) };
  const times = reply.perDeviceMs.filter((t) => Number.isFinite(t));
  return onePush('baseline', devices, times, cpu, corruptBefore, reply.failures);
}

function checkOptions(opts: FirmwareOptions): void {
  if (!Number.isInteger(opts.devices) || opts.devices < 1 || opts.devices > MAX_DEVICES) throw new RangeError(`--firmware-devices: 1..${MAX_DEVICES} (got ${opts.devices})`);
  if (!Number.isInteger(opts.imageKb) || opts.imageKb < 1 || opts.imageKb > MAX_IMAGE_KB) throw new RangeError(`--firmware-kb: an integer 1..${MAX_IMAGE_KB} (got ${opts.imageKb})`);
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new RangeError(`--rounds: a positive integer (got ${opts.rounds})`);
}

export async function runFirmwarePart(opts: FirmwareOptions, deps: FirmwareDeps): Promise<FirmwareResults> {
  checkOptions(opts);
  const { log } = deps;
  const notes: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-firmware-'));
  const imagesDir = path.join(dir, 'images');
  fs.mkdirSync(imagesDir);
  const imageName = `bench-${opts.imageKb}k.bin`;
  const imageFile = path.join(imagesDir, imageName);
  const image = randomBytes(opts.imageKb * 1024);
  fs.writeFileSync(imageFile, image);
  const profile = (name: string) => (opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
  const yaml =
    deps.gatewayYaml({ clientId: 'bench-gateway-firmware', maxRegistrations: opts.devices + 1000 }) +
    // The jobs observe /5/0 (the devices accept): the poll interval only matters if a notification is missed.
    ['firmware:', `  dir: "${imagesDir}"`, '  poll_interval: 1', '  job_timeout: 600', ''].join('\n');
  const devices: FirmwareBenchDevice[] = [];
  let gateway: ChildHandle | undefined;
  let pusher: Pusher | undefined;
  let probe: MqttProbe | undefined;
  try {
    gateway = await deps.startGateway(yaml, profile('firmware-gateway'));
    pusher = await Pusher.start(imageFile, profile('firmware-baseline'));
    log(`(f) firmware push: ${opts.devices} devices x ${opts.imageKb} KiB; gateway pid ${gateway.pid}, baseline pusher pid ${pusher.pid}; a warm-up push each, then ${opts.rounds} rounds`);
    probe = await MqttProbe.connect(deps.brokerUrl, [`${TOPIC_PREFIX}+${FIRMWARE_TOPIC_SUFFIX}`, `${TOPIC_PREFIX}+${RESPONSE_TOPIC_SUFFIX}`]);
    for (let i = 0; i < opts.devices; i++) devices.push(await FirmwareBenchDevice.open(`fw-bench-${String(i).padStart(5, '0')}`, image));
    const codes = await Promise.all(devices.map((d) => d.register((gateway as ChildHandle).udpPort)));
    const refused = codes.filter((c) => c !== '2.01');
    if (refused.length > 0) throw new Error(`firmware: ${refused.length} of ${devices.length} registrations failed (${refused[0]})`);
    // The baseline's answer may take as long as the gateway's jobs could: bounded by the same silence rule per block.
    const baselineTimeoutMs = STALL_MS + opts.imageKb * 1000;
    const targets: Record<TargetKind, () => Promise<PushResult>> = {
      gateway: () => gatewayPush(devices, imageName, gateway as ChildHandle, probe as MqttProbe, deps),
      baseline: () => baselinePush(devices, pusher as Pusher, deps.brokerPid, baselineTimeoutMs),
    };
    const totals: Record<TargetKind, PushResult> = { gateway: emptyResult('gateway'), baseline: emptyResult('baseline') };
    const describe = (r: PushResult) => `${r.succeeded}/${r.attempted} in ${fmtMs(r.elapsedMs)} ms, target CPU ${fmtMs(r.cpu.targetMs)} ms, ${fmtInt(r.counts.datagramsIn + r.counts.datagramsOut)} datagrams${r.failures.length > 0 ? `; first failure ${r.failures[0]}` : ''}`;
    for (const kind of ['baseline', 'gateway'] as const) {
      const warm = await targets[kind]();
      log(`    warm-up  ${kind.padEnd(8)} ${describe(warm)}`);
      await sleep(500);
    }
    for (let round = 0; round < opts.rounds; round++) {
      const order: TargetKind[] = round % 2 === 0 ? ['baseline', 'gateway'] : ['gateway', 'baseline'];
      for (const kind of order) {
        const r = await targets[kind]();
        totals[kind] = addPush(totals[kind], r);
        log(`    round ${round + 1}  ${kind.padEnd(8)} ${describe(r)}`);
        // The jobs' last requests (cancel of the observation) settle before the next push.
        await sleep(500);
      }
    }
    return { devices: opts.devices, imageBytes: image.length, rounds: opts.rounds, gateway: totals.gateway, baseline: totals.baseline, notes };
  } finally {
    await probe?.close().catch(() => undefined);
    for (const d of devices) await d.close();
    await pusher?.close().catch(() => undefined);
    if (gateway) await deps.stopGateway(gateway).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** KiB delivered by a target: successful devices × image size. */
function deliveredKb(r: PushResult, imageBytes: number): number {
  return (r.succeeded * imageBytes) / 1024;
}

/** Table rows and detail lines of the firmware part. */
export function firmwareReport(f: FirmwareResults): { rows: string[][]; details: string[] } {
  const { gateway: g, baseline: b } = f;
  const kb = (r: PushResult) => deliveredKb(r, f.imageBytes);
  const perPushS = (r: PushResult) => (r.pushes > 0 ? r.elapsedMs / r.pushes / 1000 : NaN);
  const sorted = (r: PushResult) => Float64Array.from(r.perDeviceMs).sort();
  const p50 = (r: PushResult) => percentile(sorted(r), 50) / 1000;
  const max = (r: PushResult) => percentile(sorted(r), 100) / 1000;
  const cpuPerKb = (r: PushResult) => (kb(r) > 0 ? (r.cpu.targetMs * 1000) / kb(r) : NaN);
  const datagramsPerKb = (r: PushResult) => (kb(r) > 0 ? (r.counts.datagramsIn + r.counts.datagramsOut) / kb(r) : NaN);
  const label = `firmware push ${f.devices} dev x ${Math.round(f.imageBytes / 1024)} KiB`;
  const lost = (r: PushResult) => (r.succeeded < r.attempted ? ` (${r.attempted - r.succeeded} failed)` : '');
  const rows = [
    [`${label}: total time (s)`, `${fmt(perPushS(g))}${lost(g)}`, `${fmt(perPushS(b))}${lost(b)}`, fmt(ratio(perPushS(g), perPushS(b))), '-', '-'],
    ['  per device p50 / max (s)', `${fmt(p50(g))} / ${fmt(max(g))}`, `${fmt(p50(b))} / ${fmt(max(b))}`, `${fmt(ratio(p50(g), p50(b)))} / ${fmt(ratio(max(g), max(b)))}`, '-', '-'],
    ['  target CPU per KiB delivered (µs)', fmt(cpuPerKb(g), 1), fmt(cpuPerKb(b), 1), fmt(ratio(cpuPerKb(g), cpuPerKb(b))), '-', '-'],
    ['  datagrams per KiB delivered', fmt(datagramsPerKb(g)), fmt(datagramsPerKb(b)), fmt(ratio(datagramsPerKb(g), datagramsPerKb(b))), '-', '-'],
  ];
  const details = [g, b].map((r) => {
    const c = r.counts;
    return (
      `firmware ${r.kind.padEnd(8)}: ${r.succeeded}/${r.attempted} devices over ${r.pushes} pushes, ${fmtMs(r.elapsedMs)} ms in all (${fmt(perPushS(r))} s per push, ${fmtInt(kb(r) / (r.elapsedMs / 1000))} KiB/s); ` +
      `target CPU ${fmt(r.cpu.targetMs / 1000)} s (${fmt(r.cpu.targetMs / 1000 / Math.max(1, r.pushes))} s per push); CPU per KiB: ${cpuPerOp(r.cpu, kb(r))}; ` +
      `datagrams at the devices: ${fmtInt(c.datagramsIn)} in, ${fmtInt(c.datagramsOut)} out, ${fmtInt((c.bytesIn + c.bytesOut) / 1024)} KiB on the wire (CoAP); ` +
      `${r.corrupt} packages with wrong bytes${r.failures.length > 0 ? `; failures: ${r.failures.join('; ')}` : ''}`
    );
  });
  details.push(...f.notes.map((n) => `note: ${n}`));
  return { rows, details };
}
