/**
 * `npm run bench`: the gateway against a bare UDP ⇄ MQTT forwarder (the cost floor), both through
 * the same Mosquitto, with the same simulated devices, measured in the same run; prints a table of
 * figures and ratios next to their targets. Nothing is asserted: the exit code is 0 whatever the figures.
 *
 * Options (argv, or the BENCH_* environment variable named in brackets):
 *   --quick                 small counts, for a trial run (~40 s, and ~10 s for the dtls part)
 *   --devices N             registrations run and read pool (BENCH_DEVICES, default 10000)
 *   --observed N            devices sending notifications (BENCH_OBSERVED, default 1000)
 *   --notifications N       notifications in total (BENCH_NOTIFICATIONS, default 100000)
 *   --rates R1,R2           read rates, commands/s (BENCH_RATES, default 1000,5000)
 *   --read-seconds S        read time per target and rate, split into rounds (BENCH_READ_SECONDS, default 8)
 *   --read-rounds N         alternating read rounds per target and rate (BENCH_READ_ROUNDS, default 4)
 *   --memory N1,N2          memory run device counts (BENCH_MEMORY, default 10000,50000)
 *   --rounds N              alternating rounds per target for registrations and notifications (BENCH_ROUNDS, default 2)
 *   --only LIST             subset of reg,notify,read,mem,dtls,scale,metrics,firmware (BENCH_ONLY; default all but scale,
 *                           metrics and firmware)
 *   --store LIST            stores the reg, notify and mem parts run the gateway with, each on fresh gateways:
 *                           memory,embedded,redis (BENCH_STORE, default all three; memory is always run: the reference)
 *   --scale-devices N       the scale part (opt-in: --only scale): devices registered and observed in one gateway with
 *                           the embedded store, then the restart time (BENCH_SCALE_DEVICES, default 100000)
 *   --metrics-notifications N  the metrics part (opt-in: --only metrics): notifications per gateway, one with /metrics
 *                           scraped every second, one with the management plane on but not scraped, one with
 *                           http.enable false, from --observed devices each (BENCH_METRICS_NOTIFICATIONS, default 240000),
 *                           in rounds rotating the three (a multiple of 3, at least 6)
 *   --firmware-devices N    the firmware part (opt-in: --only firmware): devices one image is pushed to at once, by the
 *                           gateway's firmware jobs (MQTT firmware-update commands) and by a bare CoAP Block1 client
 *                           (the baseline); a warm-up push each, then --rounds rounds (BENCH_FIRMWARE_DEVICES, default 100)
 *   --firmware-kb N         the firmware part's image size, KiB (BENCH_FIRMWARE_KB, default 256)
 *   --dtls-handshakes N     PSK handshakes timed, ECDHE-ECDSA ones: half as many (BENCH_DTLS_HANDSHAKES, default 2000)
 *   --dtls-notifications N  notifications per link (UDP, DTLS) from 200 devices (BENCH_DTLS_NOTIFICATIONS, default 40000)
 *   --dtls-sessions N       established DTLS sessions of the memory run (BENCH_DTLS_SESSIONS, default 10000)
 *   --profile               gateway and forwarder children with --cpu-prof, profiles in a temp directory (BENCH_PROFILE=1)
 *   --pin                   pin the targets to the last CPU, load generator and broker to CPU 0 (taskset; BENCH_PIN=1)
 *   BENCH_TRACE_GC=1        gateway and forwarder children with --trace-gc (GC pauses on stderr)
 *   BENCH_GW_ARGS='FLAGS'   extra node flags for the gateway child (e.g. --trace-gc-nvp: promoted bytes per scavenge)
 *   --max-seconds S         hard bound on the whole run (BENCH_MAX_SECONDS, default 900, 2400 with the scale part)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FORWARDER_UP_FILTER } from './baseline-forwarder';
import { type ChildHandle, startChild } from './child';
import { type BenchContext, type TargetKind, cpuPerOp } from './context';
import { type DtlsOptions, type DtlsResults, dtlsReport, runDtlsPart } from './dtls-bench';
import { type FirmwareResults, firmwareReport, runFirmwarePart } from './firmware-push';
import { type MetricsResults, metricsReport, runMetricsPart } from './metrics-bench';
import { parseFlags, positiveNumber } from './flags';
import { DevicePool, type SimDevice, openFileLimit } from './load-generator';
import { type MemoryStep, measureMemory } from './memory';
import { type MosquittoBroker, findMosquitto, startMosquitto } from './mosquitto';
import { canPin, pinningPlan, pinToCpu } from './pinning';
import { MqttProbe } from './mqtt-clients';
import { NOTIFICATION_FORMATS, type NotificationResult, type Observed, baselineObservations, combineNotifications, observationsInFormat, gatewayObservations, measureNotifications, observeDevices } from './notifications';
import { type ReadResult, combineReads, measureReads } from './read-latency';
import { type RegistrationResult, combineRegistrations, measureRegistrations } from './registrations';
import { fmt, fmtBytes, fmtInt, fmtMs, fmtPercent, formatTable, ratio, sleep } from './stats';
import { stealShare } from './machine-steal';
import { type ScaleResult, runScalePart, scaleReport } from './scale';
import { type BenchStore, type StoreKind, disposeAllStores, killStoresNow, openBenchStore, parseStores, storeAvailable } from './stores';

type Part = 'reg' | 'notify' | 'read' | 'mem' | 'dtls' | 'scale' | 'metrics' | 'firmware';
const PARTS: readonly Part[] = ['reg', 'notify', 'read', 'mem', 'dtls', 'scale', 'metrics', 'firmware'];
/** The parts run without --only: the scale part takes long, the metrics and firmware parts are checks of their own: they run only when asked for. */
const DEFAULT_PARTS: readonly Part[] = ['reg', 'notify', 'read', 'mem', 'dtls'];
/** Per store, the least ratio of its registrations/s and notifications/s to the memory store's (issue 11). */
const STORE_TARGETS: Record<StoreKind, number> = { memory: 1, embedded: 0.8, redis: 0.5 };

interface Options {
  devices: number;
  observed: number;
  notifications: number;
  notifyWindow: number;
  rates: number[];
  readSeconds: number;
  readRounds: number;
  memory: number[];
  memoryBatch: number;
  memoryExchangeLifetime: number;
  warmupDevices: number;
  rounds: number;
  parts: Set<Part>;
  /** The stores of the reg, notify and mem parts, memory first. */
  stores: StoreKind[];
  scaleDevices: number;
  /** Notifications per gateway of the metrics part. */
  metricsNotifications: number;
  /** Devices and image size (KiB) of the firmware part. */
  firmwareDevices: number;
  firmwareKb: number;
  dtls: DtlsOptions;
  profile: boolean;
  /** Pin targets and load to separate CPUs with taskset (default when possible). */
  pin: boolean;
  maxSeconds: number;
}

function parseOptions(argv: string[]): Options {
  const known = ['pin', 'quick', 'devices', 'observed', 'notifications', 'rates', 'read-seconds', 'read-rounds', 'memory', 'only', 'profile', 'max-seconds', 'rounds', 'dtls-handshakes', 'dtls-notifications', 'dtls-sessions', 'store', 'scale-devices', 'metrics-notifications', 'firmware-devices', 'firmware-kb'];
  const flags = parseFlags(argv, known, ['quick', 'profile', 'pin']);
  const env = (flag: string) => process.env[`BENCH_${flag.toUpperCase().replace(/-/g, '_')}`];
  const get = (flag: string) => flags.get(flag) ?? env(flag);
  const quick = get('quick') === '1' || get('quick') === 'true';
  const num = (flag: string, dflt: number, quickValue: number) => positiveNumber(flag, get(flag), quick ? quickValue : dflt);
  const list = (flag: string, dflt: number[], quickValue: number[]) => {
    const v = get(flag);
    if (v === undefined) return quick ? quickValue : dflt;
    const values = v.split(',').map(Number);
    if (values.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`--${flag}: not a list of positive numbers (${v})`);
    return values;
  };
  const only = get('only');
  const parts = new Set<Part>((only ?? DEFAULT_PARTS.join(',')).split(',').map((p) => p.trim()) as Part[]);
  for (const p of parts) if (!PARTS.includes(p)) throw new Error(`--only: unknown part ${p}`);
  const stores = parseStores(get('store'));
  if (!stores.includes('memory')) stores.unshift('memory');
  stores.sort((a, b) => (a === 'memory' ? -1 : b === 'memory' ? 1 : 0));
  const dtlsHandshakes = Math.floor(num('dtls-handshakes', 2000, 500));
  return {
    devices: Math.floor(num('devices', 10_000, 1000)),
    observed: Math.floor(num('observed', 1000, 200)),
    notifications: Math.floor(num('notifications', 100_000, 10_000)),
    notifyWindow: 1000,
    rates: list('rates', [1000, 5000], [1000, 5000]),
    readSeconds: num('read-seconds', 8, 1),
    readRounds: Math.floor(num('read-rounds', 4, 1)),
    memory: list('memory', [10_000, 50_000], [2000, 5000]).map(Math.floor),
    memoryBatch: 10_000,
    memoryExchangeLifetime: quick ? 3 : 20,
    warmupDevices: quick ? 100 : 500,
    rounds: Math.floor(num('rounds', 2, 2)),
    parts,
    stores,
    scaleDevices: Math.floor(num('scale-devices', 100_000, 20_000)),
    metricsNotifications: Math.floor(num('metrics-notifications', 240_000, 30_000)),
    firmwareDevices: Math.floor(num('firmware-devices', 100, 20)),
    firmwareKb: Math.floor(num('firmware-kb', 256, 64)),
    dtls: {
      pskHandshakes: dtlsHandshakes,
      ecdheHandshakes: Math.max(1, Math.ceil(dtlsHandshakes / 2)),
      concurrency: 64,
      devices: quick ? 100 : 200,
      notifications: Math.floor(num('dtls-notifications', 40_000, 5000)),
      window: 1000,
      rounds: Math.floor(num('rounds', 2, 2)),
      sessions: Math.floor(num('dtls-sessions', 10_000, 2000)),
    },
    profile: get('profile') === '1' || get('profile') === 'true',
    pin: get('pin') === '1' && canPin(),
    maxSeconds: num('max-seconds', parts.has('scale') ? 2400 : 900, parts.has('scale') ? 900 : 400),
  };
}

const startedAt = performance.now();
function log(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
}

/** Target order of a round: baseline first in even rounds, gateway first in odd ones. */
function alternate(round: number): TargetKind[] {
  return round % 2 === 0 ? ['baseline', 'gateway'] : ['gateway', 'baseline'];
}

export interface GatewayYamlOptions {
  /** The store section (default: the memory store). */
  store?: BenchStore;
  /** lwm2m.blockwise.exchange_lifetime, seconds (also the dedup lifetime). */
  exchangeLifetime?: number;
  /** mqtt.client_id: gateways running side by side need distinct ones (default bench-gateway). */
  clientId?: string;
  /** UDP port (default 0: any). */
  udpPort?: number;
  /** lwm2m.max_registrations (default: the gateway's, 100000). */
  maxRegistrations?: number;
  /** lwm2m.mountpoint (default the gateway's, lwm2m/${endpoint_name}/). */
  mountpoint?: string;
  /** http.bind of the management plane (default 127.0.0.1:0); false: http.enable false (no metrics either). */
  httpBind?: string | false;
}

export function gatewayYaml(mqttUrl: string, options: GatewayYamlOptions = {}): string {
  const { exchangeLifetime } = options;
  return [
    ...(options.store?.yaml ?? ['store:', '  type: memory']),
    'mqtt:',
    `  url: "${mqttUrl}"`,
    `  client_id: ${options.clientId ?? 'bench-gateway'}`,
    'http:',
    ...(options.httpBind === false ? ['  enable: false'] : [`  bind: "${options.httpBind ?? '127.0.0.1:0'}"`]),
    'listeners:',
    '  udp:',
    `    bind: "127.0.0.1:${options.udpPort ?? 0}"`,
    '    recbuf: 8388608',
    'lwm2m:',
    '  auto_observe: false',
    // Every simulated device sends from 127.0.0.1: the per-source limits would throttle the bench.
    '  registration_rate: { per_source: 1000000, burst: 1000000 }',
    ...(options.maxRegistrations === undefined ? [] : [`  max_registrations: ${options.maxRegistrations}`]),
    ...(options.mountpoint === undefined ? [] : [`  mountpoint: "${options.mountpoint}"`]),
    ...(exchangeLifetime === undefined ? [] : ['  blockwise:', `    exchange_lifetime: ${exchangeLifetime}`]),
    'log:',
    '  level: silent',
    '',
  ].join('\n');
}

interface Results {
  registrations?: { gateway: RegistrationResult; baseline: RegistrationResult };
  notifications?: { gateway: NotificationResult; baseline: NotificationResult };
  /** The same registrations and notifications against a gateway per store (memory: the `gateway` above). */
  registrationsByStore?: Partial<Record<StoreKind, RegistrationResult>>;
  notificationsByStore?: Partial<Record<StoreKind, NotificationResult>>;
  /** Gateway notifications/s per content format (TLV first: the reference of the ratios). */
  notificationFormats?: { name: string; result: NotificationResult }[];
  reads: { gateway: ReadResult; baseline: ReadResult }[];
  memory?: MemoryStep[];
  /** Per store: memory per registered and observed device. */
  memoryObserved?: { store: StoreKind; steps: MemoryStep[] }[];
  scale?: ScaleResult;
  dtls?: DtlsResults;
  metrics?: MetricsResults;
  firmware?: FirmwareResults;
  notes: string[];
}

/** Everything started, to stop on the way out whatever happens. */
const running = {
  broker: undefined as MosquittoBroker | undefined,
  children: new Set<ChildHandle>(),
  pools: new Set<DevicePool>(),
  probe: undefined as MqttProbe | undefined,
};

async function startTarget(script: string, env: Record<string, string>, execArgv: string[]): Promise<ChildHandle> {
  return startTargetWith(script, env, execArgv);
}

/** startTarget, with the child's stderr lines to a handler (and a long start-up timeout: a restore may take long). */
async function startTargetWith(script: string, env: Record<string, string>, execArgv: string[], onStderrLine?: (line: string) => void): Promise<ChildHandle> {
  const child = await startChild(script, env, execArgv, onStderrLine ? 600_000 : 20_000, onStderrLine);
  running.children.add(child);
  return child;
}

async function stopTarget(child: ChildHandle): Promise<void> {
  running.children.delete(child);
  await child.close();
}

/** One gateway under test per store, side by side (idle but for its own rounds). */
interface StoreTarget {
  kind: StoreKind;
  store: BenchStore;
  gateway: ChildHandle;
  ctx: BenchContext;
  /** Where a device's commands go for this gateway. */
  commandTopic(dev: SimDevice): string;
}

/** Order of the targets in a round: as given in even rounds, reversed in odd ones. */
function rotate<T>(items: T[], round: number): T[] {
  return round % 2 === 0 ? items : [...items].reverse();
}

async function throughputParts(opts: Options, broker: MosquittoBroker, results: Results, profileDir: string | undefined): Promise<void> {
  const gwArgs = (name: string) => ['--expose-gc', ...(process.env.BENCH_GW_ARGS?.split(' ').filter((a) => a !== '') ?? []), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [])];
  // The memory store's gateway is "the gateway" of every gateway-vs-baseline row; the others only
  // run registrations and notifications, each compared with it.
  const storeKinds = opts.parts.has('reg') || opts.parts.has('notify') ? opts.stores.filter((k) => storeAvailable(k)) : ['memory' as const];
  for (const k of opts.stores) if (!storeAvailable(k)) results.notes.push(`store ${k}: not measured (redis-server is not installed)`);
  // The gateways share the broker: each store's gateway but the memory one's has a mountpoint of its
  // own (lwm2m/NAME/<store>/), so a command reaches one gateway only.
  const targets: StoreTarget[] = [];
  for (const kind of storeKinds) {
    const store = await openBenchStore(kind);
    const name = kind === 'memory' ? 'gateway' : `gateway-${kind}`;
    const mountpoint = kind === 'memory' ? undefined : `lwm2m/\${endpoint_name}/${kind}/`;
    const gateway = await startTarget('gateway-process', { BENCH_GATEWAY_CONFIG: gatewayYaml(broker.url, { store, clientId: `bench-${name}`, mountpoint }) }, gwArgs(name));
    targets.push({ kind, store, gateway, ctx: undefined as unknown as BenchContext, commandTopic: (dev) => `lwm2m/${dev.name}/${kind === 'memory' ? '' : `${kind}/`}dn` });
  }
  const gateway = targets[0].gateway;
  const fwdArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-name=forwarder.cpuprofile'] : [];
  const baseline = await startTarget('baseline-forwarder', { BENCH_MQTT_URL: broker.url, BENCH_RECBUF: '8388608' }, fwdArgs);
  log(`${targets.map((t) => `gateway (${t.kind} store) pid ${t.gateway.pid} udp ${t.gateway.udpPort}${t.store.pid ? ` (redis-server pid ${t.store.pid})` : ''}`).join('; ')}; baseline forwarder pid ${baseline.pid} udp ${baseline.udpPort}; mosquitto pid ${broker.pid} port ${broker.port}`);
  if (opts.pin) {
    const { targetCpu, loadCpu } = pinningPlan();
    const ok = [...targets.map((t) => pinToCpu(t.gateway.pid, targetCpu)), pinToCpu(baseline.pid, targetCpu), pinToCpu(broker.pid, loadCpu), pinToCpu(process.pid, loadCpu)].every(Boolean);
    results.notes.push(ok ? `pinned: gateways and forwarder on cpu ${targetCpu}, load generator and mosquitto on cpu ${loadCpu} (--pin)` : 'pinning failed: processes not pinned');
  }
  const probe = await MqttProbe.connect(broker.url, ['lwm2m/+/up/#', ...(targets.length > 1 ? ['lwm2m/+/+/up/#'] : []), FORWARDER_UP_FILTER]);
  running.probe = probe;

  const limit = openFileLimit() ?? 1024;
  let devices = opts.devices;
  const needed = devices + opts.warmupDevices + 200;
  if (needed > limit) {
    devices = Math.max(100, limit - opts.warmupDevices - 200);
    results.notes.push(`ulimit -n is ${limit}: ${devices} live devices instead of ${opts.devices}`);
  }
  log(`opening ${devices + opts.warmupDevices} device sockets (ulimit -n ${limit})`);
  const pool = await DevicePool.create(devices + opts.warmupDevices, 0);
  running.pools.add(pool);
  const ctx: BenchContext = { pool, probe, gateway, baseline, brokerPid: broker.pid, log };
  for (const t of targets) t.ctx = { ...ctx, gateway: t.gateway };
  const measured = pool.devices.slice(0, devices);
  const warm = pool.devices.slice(devices);
  /** A round's runners: the baseline, then each store's gateway. */
  type Runner = { label: string; kind: TargetKind; ctx: BenchContext; store?: StoreKind; commandTopic?: (dev: SimDevice) => string };
  const runners: Runner[] = [{ label: 'baseline', kind: 'baseline', ctx }, ...targets.map((t) => ({ label: t.kind === 'memory' ? 'gateway' : `gw ${t.kind}`, kind: 'gateway' as const, ctx: t.ctx, store: t.kind, commandTopic: t.commandTopic }))];
  const labelWidth = Math.max(...runners.map((r) => r.label.length));

  // The gateway needs registered devices for reads and notifications, so registrations always run.
  // Rounds alternate the targets (B G, then G B, ...) so that a burst of load from elsewhere on
  // the machine does not land on one target only; each target's figure adds its rounds up.
  log(`warm-up: ${warm.length} registrations on each target`);
  for (const r of runners) await measureRegistrations(r.ctx, r.kind, warm);
  log(`(a) registrations: ${devices} devices in ${opts.rounds} rounds per target${targets.length > 1 ? ` (stores: ${targets.map((t) => t.kind).join(', ')})` : ''}`);
  const regRounds = new Map<Runner, RegistrationResult[]>(runners.map((r) => [r, []]));
  const chunk = Math.ceil(devices / opts.rounds);
  for (let round = 0; round < opts.rounds; round++) {
    const slice = measured.slice(round * chunk, (round + 1) * chunk);
    if (slice.length === 0) break;
    for (const runner of rotate(runners, round)) {
      const r = await measureRegistrations(runner.ctx, runner.kind, slice);
      regRounds.get(runner)?.push(r);
      log(`    ${runner.label.padEnd(labelWidth)} ${fmtInt(r.perSecond)}/s (${r.completed}/${r.devices})`);
    }
  }
  const combinedReg = new Map(runners.map((r) => [r, combineRegistrations(regRounds.get(r) ?? [])]));
  const regBaseline = combinedReg.get(runners[0]) as RegistrationResult;
  const regGateway = combinedReg.get(runners[1]) as RegistrationResult;
  if (opts.parts.has('reg')) {
    results.registrations = { gateway: regGateway, baseline: regBaseline };
    results.registrationsByStore = Object.fromEntries(runners.filter((r) => r.store).map((r) => [r.store, combinedReg.get(r)]));
  }
  for (const t of targets) {
    const registered = (await t.gateway.usage()).registrations ?? 0;
    if (registered < devices + warm.length) results.notes.push(`gateway (${t.kind} store) holds ${registered} registrations of ${devices + warm.length}`);
  }

  if (opts.parts.has('read')) {
    log('(c) reads: warm-up 1 s at 1000/s on each target');
    await measureReads(ctx, 'baseline', measured, 1000, 1, 1000);
    await measureReads(ctx, 'gateway', measured, 1000, 1, 1000);
    for (const [n, rate] of opts.rates.entries()) {
      // Short alternating rounds: steal on a shared VM comes in bursts of seconds, and one long
      // run per target measured mostly which of the two a burst fell on.
      const seconds = opts.readSeconds / opts.readRounds;
      log(`(c) reads at ${rate}/s over ${devices} devices: ${opts.readRounds} rounds of ${fmt(seconds, 1)} s per target`);
      const rounds: Record<TargetKind, ReadResult[]> = { gateway: [], baseline: [] };
      for (let round = 0; round < opts.readRounds; round++) {
        for (const kind of alternate(n + round)) {
          const r = await measureReads(ctx, kind, measured, rate, seconds);
          rounds[kind].push(r);
          log(`    ${kind.padEnd(8)} p50 ${fmtMs(r.latency.p50)} p99 ${fmtMs(r.latency.p99)} ms (${r.answered}/${r.offered}), CPU stolen ${fmtPercent(stealShare(r.cpu.machine))}`);
        }
      }
      results.reads.push({ gateway: combineReads(rounds.gateway), baseline: combineReads(rounds.baseline) });
    }
  }

  if (opts.parts.has('notify')) {
    const observedDevices = measured.slice(0, Math.min(opts.observed, measured.length));
    const perRound = Math.ceil(opts.notifications / opts.rounds);
    const warmCount = Math.min(10_000, Math.ceil(opts.notifications / 10));
    log(`(b) notifications: ${opts.notifications} per target from ${observedDevices.length} devices, ${opts.rounds} rounds (warm-up ${warmCount})`);
    // Each gateway observes the devices itself (its own tokens); a device keeps the last one only,
    // so each gateway's observations are taken right after its observe commands.
    const observationsOf = new Map<Runner, Observed[]>([[runners[0], baselineObservations(observedDevices)]]);
    for (const r of runners.slice(1)) {
      const observed = await observeDevices(r.ctx, observedDevices, r.commandTopic);
      if (observed < observedDevices.length) results.notes.push(`${r.label}: only ${observed} of ${observedDevices.length} observe commands answered`);
      observationsOf.set(r, gatewayObservations(observedDevices));
    }
    const observations: Record<TargetKind, Observed[]> = { baseline: observationsOf.get(runners[0]) ?? [], gateway: observationsOf.get(runners[1]) ?? [] };
    for (const r of runners) await measureNotifications(r.ctx, r.kind, observationsOf.get(r) ?? [], warmCount, opts.notifyWindow);
    const rounds = new Map<Runner, NotificationResult[]>(runners.map((r) => [r, []]));
    for (let round = 0; round < opts.rounds; round++) {
      for (const runner of rotate(runners, round)) {
        const r = await measureNotifications(runner.ctx, runner.kind, observationsOf.get(runner) ?? [], perRound, opts.notifyWindow);
        rounds.get(runner)?.push(r);
        log(`    ${runner.label.padEnd(labelWidth)} ${fmtInt(r.perSecond)}/s (${r.received}/${r.sent})`);
      }
    }
    const combined = new Map(runners.map((r) => [r, combineNotifications(rounds.get(r) ?? [])]));
    results.notifications = { gateway: combined.get(runners[1]) as NotificationResult, baseline: combined.get(runners[0]) as NotificationResult };
    results.notificationsByStore = Object.fromEntries(runners.filter((r) => r.store).map((r) => [r.store, combined.get(r)]));

    // The same notifications in TLV, SenML CBOR and LwM2M CBOR, alternating, against the gateway only.
    log(`(b2) notification formats: ${NOTIFICATION_FORMATS.map((f) => f.name).join(', ')}, ${perRound} each per round, ${opts.rounds} rounds`);
    const byFormat = NOTIFICATION_FORMATS.map((f) => ({ ...f, observed: observationsInFormat(observations.gateway, f.format), rounds: [] as NotificationResult[] }));
    for (const f of byFormat) await measureNotifications(ctx, 'gateway', f.observed, Math.ceil(warmCount / 2), opts.notifyWindow);
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? byFormat : [...byFormat].reverse();
      for (const f of order) {
        const r = await measureNotifications(ctx, 'gateway', f.observed, perRound, opts.notifyWindow);
        f.rounds.push(r);
        log(`    ${f.name.padEnd(10)} ${fmtInt(r.perSecond)}/s (${r.received}/${r.sent})`);
      }
    }
    results.notificationFormats = byFormat.map((f) => ({ name: f.name, result: combineNotifications(f.rounds) }));
  }

  const c = pool.counters;
  if (c.resets + c.malformed + c.unexpected + c.sendErrors > 0) {
    results.notes.push(`devices saw ${c.resets} RST, ${c.malformed} malformed, ${c.unexpected} unexpected datagrams, ${c.sendErrors} socket errors`);
  }
  await probe.close();
  running.probe = undefined;
  await pool.close();
  running.pools.delete(pool);
  for (const t of targets) {
    await stopTarget(t.gateway);
    await t.store.dispose();
  }
  await stopTarget(baseline);
  if (profileDir) log(`CPU profiles (${targets.map((t) => (t.kind === 'memory' ? 'gateway' : `gateway-${t.kind}`)).join(', ')}, forwarder .cpuprofile) in ${profileDir}`);
}

async function memoryPart(opts: Options, broker: MosquittoBroker, results: Results): Promise<void> {
  const limit = openFileLimit() ?? 1024;
  const batch = Math.max(100, Math.min(opts.memoryBatch, limit - 500));
  const maxRegistrations = Math.max(...opts.memory) + 1000;
  // Idle devices (registered, nothing else) with the memory store: the figure before stores existed.
  {
    const gateway = await startTarget('gateway-process', { BENCH_GATEWAY_CONFIG: gatewayYaml(broker.url, { exchangeLifetime: opts.memoryExchangeLifetime, maxRegistrations }) }, ['--expose-gc']);
    log(`(d) memory: fresh gateway pid ${gateway.pid}, ${opts.memory.join(' / ')} idle devices in batches of ${batch} sockets`);
    results.memory = await measureMemory(gateway, { counts: opts.memory, batchSize: batch, exchangeLifetimeS: opts.memoryExchangeLifetime, log });
    await stopTarget(gateway);
  }
  // Registered and observed once (observe command through MQTT), per store, each on a fresh gateway.
  const probe = await MqttProbe.connect(broker.url, ['lwm2m/+/up/#']);
  running.probe = probe;
  results.memoryObserved = [];
  try {
    for (const kind of opts.stores.filter((k) => storeAvailable(k))) {
      await sleep(200);
      const store = await openBenchStore(kind);
      try {
        const gateway = await startTarget('gateway-process', { BENCH_GATEWAY_CONFIG: gatewayYaml(broker.url, { store, exchangeLifetime: opts.memoryExchangeLifetime, clientId: `bench-gateway-mem-${kind}`, maxRegistrations }) }, ['--expose-gc']);
        log(`(d2) memory, ${kind} store: fresh gateway pid ${gateway.pid}, ${opts.memory.join(' / ')} devices registered and observed, in batches of ${batch} sockets`);
        const steps = await measureMemory(gateway, { counts: opts.memory, batchSize: batch, exchangeLifetimeS: opts.memoryExchangeLifetime, observe: probe, log });
        results.memoryObserved.push({ store: kind, steps });
        await stopTarget(gateway);
      } finally {
        await store.dispose();
      }
    }
  } finally {
    await probe.close();
    running.probe = undefined;
  }
}

async function dtlsPart(opts: Options, broker: MosquittoBroker, results: Results): Promise<void> {
  results.dtls = await runDtlsPart(opts.dtls, {
    brokerUrl: broker.url,
    brokerPid: broker.pid,
    startGateway: (yaml, execArgv) => startTarget('gateway-process', { BENCH_GATEWAY_CONFIG: yaml }, execArgv),
    stopGateway: stopTarget,
    log,
  });
  if (!results.dtls) results.notes.push('dtls: part skipped, the DTLS addon is not available (npm ci builds it)');
}

function statusOf(ok: boolean | undefined): string {
  return ok === undefined ? '-' : ok ? 'yes' : 'NO';
}

function printResults(opts: Options, results: Results): void {
  const rows: string[][] = [];
  const details: string[] = [];
  const r = results.registrations;
  if (r) {
    const q = ratio(r.gateway.perSecond, r.baseline.perSecond);
    rows.push([`registrations/s (${fmtInt(r.gateway.devices)} devices)`, fmtInt(r.gateway.perSecond), fmtInt(r.baseline.perSecond), fmt(q), '>= 0.40', statusOf(Number.isFinite(q) ? q >= 0.4 : undefined)]);
    for (const x of [r.gateway, r.baseline]) {
      details.push(
        `registrations ${x.kind.padEnd(8)}: ${x.completed}/${x.devices} complete in ${fmtMs(x.elapsedMs)} ms, lost ${x.lost}${x.refused ? `, refused ${x.refused}` : ''}; CPU per registration: ${cpuPerOp(x.cpu, x.completed)}`,
      );
    }
  }
  const n = results.notifications;
  if (n) {
    const q = ratio(n.gateway.perSecond, n.baseline.perSecond);
    rows.push([`notifications/s (${fmtInt(n.gateway.observed)} dev, ${fmtInt(n.gateway.sent)} msgs)`, fmtInt(n.gateway.perSecond), fmtInt(n.baseline.perSecond), fmt(q), '>= 0.80', statusOf(Number.isFinite(q) ? q >= 0.8 : undefined)]);
    rows.push(['  notification loss', `${fmtInt(n.gateway.lost)}`, `${fmtInt(n.baseline.lost)}`, '-', '-', '-']);
    for (const x of [n.gateway, n.baseline]) {
      details.push(`notifications ${x.kind.padEnd(8)}: ${x.received}/${x.sent} received in ${fmtMs(x.elapsedMs)} ms, lost ${x.lost}; CPU per notification: ${cpuPerOp(x.cpu, x.received)}`);
    }
    if (n.gateway.sample) details.push(`notification as published: ${n.gateway.sample}`);
  }
  // Each store's gateway against the memory store's (same devices, same rounds, alternating).
  const storeRows = (what: string, byStore: Partial<Record<StoreKind, RegistrationResult | NotificationResult>> | undefined, ops: (x: RegistrationResult | NotificationResult) => number) => {
    const reference = byStore?.memory;
    if (!byStore || !reference) return;
    for (const kind of opts.stores) {
      const x = byStore[kind];
      if (kind === 'memory' || !x) continue;
      const q = ratio(x.perSecond, reference.perSecond);
      const target = STORE_TARGETS[kind];
      rows.push([`${what}/s ${kind} store vs memory store`, fmtInt(x.perSecond), fmtInt(reference.perSecond), fmt(q), `>= ${target.toFixed(2)}`, statusOf(Number.isFinite(q) ? q >= target : undefined)]);
    }
    for (const kind of opts.stores) {
      const x = byStore[kind];
      if (x) details.push(`${what} ${kind} store${' '.repeat(Math.max(0, 8 - kind.length))}: ${fmtInt(x.perSecond)}/s, ${ops(x)} in ${fmtMs(x.elapsedMs)} ms, lost ${x.lost}; CPU per op: ${cpuPerOp(x.cpu, ops(x))}`);
    }
  };
  storeRows('registrations', results.registrationsByStore, (x) => ('completed' in x ? x.completed : 0));
  storeRows('notifications', results.notificationsByStore, (x) => ('received' in x ? x.received : 0));
  const formats = results.notificationFormats;
  if (formats && formats.length > 0) {
    const reference = formats[0];
    for (const f of formats.slice(1)) {
      const q = ratio(f.result.perSecond, reference.result.perSecond);
      rows.push([`notifications/s ${f.name} vs ${reference.name}`, fmtInt(f.result.perSecond), fmtInt(reference.result.perSecond), fmt(q), '-', '-']);
    }
    for (const f of formats) {
      details.push(`notifications ${f.name.padEnd(10)}: ${f.result.received}/${f.result.sent} received in ${fmtMs(f.result.elapsedMs)} ms, lost ${f.result.lost}; CPU per notification: ${cpuPerOp(f.result.cpu, f.result.received)}${f.result.sample ? `; as published: ${f.result.sample}` : ''}`);
    }
  }
  for (const { gateway: g, baseline: b } of results.reads) {
    const q50 = ratio(g.latency.p50, b.latency.p50);
    const q99 = ratio(g.latency.p99, b.latency.p99);
    const rateLabel = g.rate >= 1000 && g.rate % 1000 === 0 ? `${g.rate / 1000}k` : `${g.rate}`;
    const lostMark = (x: ReadResult) => (x.lost + x.errors > 0 ? ` (${x.lost + x.errors} lost)` : '');
    rows.push([
      `read p50/p99 @${rateLabel}/s (ms)`,
      `${fmtMs(g.latency.p50)} / ${fmtMs(g.latency.p99)}${lostMark(g)}`,
      `${fmtMs(b.latency.p50)} / ${fmtMs(b.latency.p99)}${lostMark(b)}`,
      `${fmt(q50)} / ${fmt(q99)}`,
      'p99 <= 1.50',
      statusOf(Number.isFinite(q99) ? q99 <= 1.5 && g.lost + g.errors === 0 : undefined),
    ]);
    for (const x of [g, b]) {
      details.push(
        `reads @${x.rate}/s ${x.kind.padEnd(8)}: ${x.answered}/${x.offered} answered, ${x.errors} errors, ${x.lost} lost; p50 ${fmtMs(x.latency.p50)} p90 ${fmtMs(x.latency.p90)} p99 ${fmtMs(x.latency.p99)} max ${fmtMs(x.latency.max)} ms; send lag p99 ${fmtMs(x.sendLagP99)} ms; CPU per read: ${cpuPerOp(x.cpu, x.answered)}; rounds (p99 ms / CPU stolen): ${x.rounds.map((r) => `${fmtMs(r.p99)}/${fmtPercent(r.steal)}`).join(' ')}`,
      );
    }
  }
  for (const m of results.memory ?? []) {
    const label = m.devices >= 1000 && m.devices % 1000 === 0 ? `${m.devices / 1000}k` : `${m.devices}`;
    rows.push([`memory per idle device @${label}`, fmtBytes(m.heapPerDevice), '-', '-', '<= 2048 B', statusOf(Number.isFinite(m.heapPerDevice) ? m.heapPerDevice <= 2048 : undefined)]);
    details.push(
      `memory @${m.devices}: ${m.registered} registrations held; heap+external per device ${fmtBytes(m.heapPerDevice)} idle, ${fmtBytes(m.heapPerDeviceJustRegistered)} just registered (dedup entries included); RSS delta per device ${fmtBytes(m.rssPerDevice)}; registered in ${fmtMs(m.registerMs)} ms`,
    );
  }
  for (const { store, steps } of results.memoryObserved ?? []) {
    for (const m of steps) {
      const label = m.devices >= 1000 && m.devices % 1000 === 0 ? `${m.devices / 1000}k` : `${m.devices}`;
      // The 2 KB target is the memory store's; the others' figures are reported alongside.
      const target = store === 'memory' ? '<= 2048 B' : '-';
      rows.push([`memory per observed device @${label} (${store} store)`, fmtBytes(m.heapPerDevice), '-', '-', target, store === 'memory' ? statusOf(Number.isFinite(m.heapPerDevice) ? m.heapPerDevice <= 2048 : undefined) : '-']);
      details.push(
        `memory @${m.devices} observed, ${store} store: ${m.registered} registrations and ${m.observed ?? 'n/a'} observations held; heap+external per device ${fmtBytes(m.heapPerDevice)} idle, ${fmtBytes(m.heapPerDeviceJustRegistered)} just observed; RSS delta per device ${fmtBytes(m.rssPerDevice)}; registered and observed in ${fmtMs(m.registerMs)} ms (observe commands ${fmtMs(m.observeMs ?? NaN)} ms)`,
      );
    }
  }
  const scale = results.scale ? scaleReport(results.scale) : undefined;
  if (scale) {
    rows.push(...scale.rows);
    details.push(...scale.details);
  }
  const dtls = results.dtls ? dtlsReport(results.dtls) : undefined;
  if (dtls) {
    rows.push(...dtls.rows);
    details.push(...dtls.details);
  }
  const metrics = results.metrics ? metricsReport(results.metrics) : undefined;
  if (metrics) {
    rows.push(...metrics.rows);
    details.push(...metrics.details);
  }
  const firmware = results.firmware ? firmwareReport(results.firmware) : undefined;
  if (firmware) {
    rows.push(...firmware.rows);
    details.push(...firmware.details);
  }
  const out: string[] = [];
  out.push('');
  out.push(formatTable(['benchmark', 'gateway', 'baseline', 'ratio', 'target', 'met'], rows));
  out.push('');
  out.push('ratio = gateway / baseline (for reads: p50 ratio / p99 ratio). baseline = bare UDP <-> MQTT forwarder (bench/baseline-forwarder.ts), same broker, same devices.');
  if (results.registrationsByStore || results.notificationsByStore) out.push('"X store vs memory store" rows: gateway column = the gateway with store X, baseline column = the gateway with the memory store (fresh gateways, same devices, rounds alternating).');
  out.push('memory = V8 heap used + external after a forced GC in the gateway process, (after - before) / devices; nothing comparable in the baseline.');
  if (dtls) out.push(...dtls.legend);
  if (metrics) out.push('"metrics scraped vs http off" row: gateway column = a gateway whose /metrics is scraped every second, baseline column = one with http.enable false; "scraped vs not scraped": baseline column = management plane on, never scraped (same device count each, rounds rotating).');
  if (firmware) out.push('firmware rows: gateway column = firmware-update jobs over MQTT (read, observe, Block1 push, execute, read), baseline column = a bare CoAP client PUTting the image (Block1) to the same devices; both 1 KiB blocks, one in flight per device. CPU = the pushing process only.');
  if (details.length > 0) {
    out.push('');
    out.push('details (CPU per operation: target = gateway or forwarder process, broker = mosquitto, load generator = this process):');
    for (const d of details) out.push(`  ${d}`);
  }
  for (const note of results.notes) out.push(`  note: ${note}`);
  out.push(`  machine: ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}, node ${process.version}; options: devices ${opts.devices}, observed ${opts.observed}, notifications ${opts.notifications}, rates ${opts.rates.join(',')}/s x ${opts.readSeconds} s in ${opts.readRounds} rounds, memory ${opts.memory.join(',')}; stores ${opts.stores.join(',')}; dtls handshakes ${opts.dtls.pskHandshakes} PSK + ${opts.dtls.ecdheHandshakes} ECDHE, notifications ${opts.dtls.notifications} per link, sessions ${opts.dtls.sessions}${opts.parts.has('firmware') ? `; firmware ${opts.firmwareDevices} devices x ${opts.firmwareKb} KiB, ${opts.rounds} rounds` : ''}`);
  process.stdout.write(out.join('\n') + '\n');
}

async function shutdown(): Promise<void> {
  await running.probe?.close().catch(() => undefined);
  for (const pool of running.pools) await pool.close();
  for (const child of running.children) await child.close().catch(() => undefined);
  running.children.clear();
  await disposeAllStores();
  await running.broker?.stop().catch(() => undefined);
  running.broker = undefined;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!findMosquitto()) {
    process.stderr.write('bench: mosquitto is not installed (apt-get install mosquitto); nothing measured\n');
    process.exitCode = 1;
    return;
  }
  // Hard bound on the whole run: print nothing more, stop everything, leave.
  const watchdog = setTimeout(() => {
    log(`run exceeded ${opts.maxSeconds} s: stopping`);
    running.broker?.killNow();
    killStoresNow();
    process.exit(2);
  }, opts.maxSeconds * 1000);
  watchdog.unref();
  process.on('exit', () => {
    running.broker?.killNow();
    killStoresNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      running.broker?.killNow();
      process.exit(130);
    });
  }

  const results: Results = { reads: [], notes: [] };
  const profileDir = opts.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-profile-')) : undefined;
  try {
    // Mosquitto leaves Nagle on for its sends by default; with delayed ACKs that adds up to 40 ms to
    // whichever client it delivers to, gateway or forwarder alike. A latency-minded deployment turns
    // it off, and so does the benchmark (for both targets).
    const broker = await startMosquitto(['set_tcp_nodelay true']);
    results.notes.push('mosquitto runs with set_tcp_nodelay true');
    running.broker = broker;
    if (opts.parts.has('reg') || opts.parts.has('read') || opts.parts.has('notify')) await throughputParts(opts, broker, results, profileDir);
    if (opts.parts.has('mem')) {
      await sleep(200);
      await memoryPart(opts, broker, results);
    }
    if (opts.parts.has('dtls')) {
      await sleep(200);
      await dtlsPart(opts, broker, results);
    }
    if (opts.parts.has('metrics')) {
      await sleep(200);
      if (profileDir) log(`CPU profiles of the metrics part (metrics-on, metrics-unscraped, metrics-off .cpuprofile) in ${profileDir}`);
      results.metrics = await runMetricsPart(
        // Three targets: every one takes every place in the order equally often.
        { devices: opts.observed, notifications: opts.metricsNotifications, rounds: 3 * Math.max(2, Math.ceil(opts.rounds / 3)), window: opts.notifyWindow, scrapeIntervalMs: 1000 },
        {
          brokerUrl: broker.url,
          brokerPid: broker.pid,
          gatewayYaml: (o) => gatewayYaml(broker.url, o),
          startGateway: (yaml, name) => startTarget('gateway-process', { BENCH_GATEWAY_CONFIG: yaml }, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []),
          stopGateway: stopTarget,
          log,
        },
      );
    }
    if (opts.parts.has('firmware')) {
      await sleep(200);
      if (profileDir) log(`CPU profiles of the firmware part (firmware-gateway, firmware-baseline .cpuprofile) in ${profileDir}`);
      results.firmware = await runFirmwarePart(
        { devices: opts.firmwareDevices, imageKb: opts.firmwareKb, rounds: opts.rounds, profileDir },
        {
          brokerUrl: broker.url,
          brokerPid: broker.pid,
          gatewayYaml: (o) => gatewayYaml(broker.url, o),
          startGateway: (yaml, execArgv) => startTarget('gateway-process', { BENCH_GATEWAY_CONFIG: yaml }, execArgv),
          stopGateway: stopTarget,
          log,
        },
      );
    }
    if (opts.parts.has('scale')) {
      await sleep(200);
      if (profileDir) log(`CPU profiles of the scale part (scale-gateway, scale-restart .cpuprofile) in ${profileDir}`);
      results.scale = await runScalePart(
        { devices: opts.scaleDevices, batchSize: Math.max(100, Math.min(opts.memoryBatch, (openFileLimit() ?? 1024) - 500)), profileDir },
        {
          brokerUrl: broker.url,
          gatewayYaml: (yamlOptions) => gatewayYaml(broker.url, yamlOptions),
          startGateway: (yaml, execArgv, onStderrLine) => startTargetWith('gateway-process', { BENCH_GATEWAY_CONFIG: yaml, ...(onStderrLine ? { BENCH_GATEWAY_LOG: 'info' } : {}) }, execArgv, onStderrLine),
          stopGateway: stopTarget,
          log,
        },
      );
    }
  } catch (err) {
    results.notes.push(`run stopped early: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await shutdown();
  }
  printResults(opts, results);
  log('done');
}

void main();
