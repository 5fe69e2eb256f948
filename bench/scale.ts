/**
 * (e) Scale (`--only scale`, opt-in: a few minutes): N devices (default 100,000) registered and
 * observed once each in one gateway process with the embedded store, then a restart on the same
 * store directory.
 *
 * - Registration: devices in batches of live sockets (closed after each batch, as in the memory
 *   part), each batch registered (ACKs, bench/registrations.ts registerDevices) then observed (an
 *   `observe` command per device through MQTT, answered by the device). Registration time counts
 *   the registrations only; observe time the observe commands.
 * - Then, once the duplicate-detection entries have expired: RSS and heap of the gateway (after a
 *   forced GC), the registrations and observations it holds, the store directory's size.
 * - Restart: the gateway is closed (its close flushes the store), and a new gateway process is
 *   forked on the same directory and UDP port. Sentinel devices (registered and observed before the
 *   batches, sockets kept open) send an Update (CON POST /rd/<id>, the same message id every 20 ms)
 *   from the moment of the fork: restart time = fork to the first ACK 2.04. The new child logs at
 *   info on stderr (BENCH_GATEWAY_LOG): its "state restored from the store" line gives the counts
 *   restored and the restore's own ms. Last, one sentinel sends a notification on its pre-restart
 *   observation: it must come out on MQTT (`up/notify`).
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildHandle, ChildUsage } from './child';
import { DevicePool, type SimDevice } from './load-generator';
import { MqttProbe } from './mqtt-clients';
import { observeDevices } from './notifications';
import { registerDevices } from './registrations';
import type { GatewayYamlOptions } from './run';
import { fmt, fmtBytes, fmtInt, fmtMs, sleep } from './stats';
import { openBenchStore } from './stores';

export interface ScaleOptions {
  devices: number;
  /** Sockets open at once. */
  batchSize: number;
  /** --profile: CPU profiles of both gateway processes (scale-gateway.cpuprofile, scale-restart.cpuprofile) here. */
  profileDir?: string;
}

export interface ScaleDeps {
  brokerUrl: string;
  gatewayYaml(options: GatewayYamlOptions): string;
  /** With onStderrLine, the child logs at info on stderr and its lines go there. */
  startGateway(yaml: string, execArgv: string[], onStderrLine?: (line: string) => void): Promise<ChildHandle>;
  stopGateway(child: ChildHandle): Promise<void>;
  log(message: string): void;
}

/** The "state restored from the store" line's fields. */
export interface RestoreLine {
  registrations?: number;
  observations?: number;
  commands?: number;
  dropped?: number;
  ms?: number;
}

export interface ScaleResult {
  devices: number;
  registered: number;
  observed: number;
  registerMs: number;
  observeMs: number;
  /** Gateway process after a forced GC, once idle: RSS and heap+external, and their growth over the empty gateway. */
  usage: ChildUsage;
  base: ChildUsage;
  storeBytes: number;
  closeMs: number;
  /** Fork to the child's ready message (its restore included). */
  readyMs: number;
  /** Fork to the first ACK 2.04 of a sentinel's Update; and to the last sentinel's. */
  firstUpdateMs: number;
  allUpdatesMs: number;
  sentinels: number;
  /** Sentinels whose Update was answered by a separate response (empty ACK first: it waited for the restore). */
  separateResponses: number;
  restore?: RestoreLine;
  /** After the restart (forced GC). */
  restartedUsage?: ChildUsage;
  /** A notification on a pre-restart observation reached MQTT. */
  notificationAfterRestart: boolean;
  exchangeLifetimeS: number;
}

const SENTINELS = 20;
const EXCHANGE_LIFETIME_S = 20;
const UPDATE_RETRY_MS = 20;

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

function directorySize(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    total += entry.isDirectory() ? directorySize(file) : fs.statSync(file).size;
  }
  return total;
}

function heapBytes(u: ChildUsage): number {
  return u.memory.heapUsed + u.memory.external;
}

export async function runScalePart(options: ScaleOptions, deps: ScaleDeps): Promise<ScaleResult> {
  const { log } = deps;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scale-store-'));
  const store = await openBenchStore('embedded', { dir });
  const udpPort = await freeUdpPort();
  const yaml = deps.gatewayYaml({ store, udpPort, maxRegistrations: options.devices + SENTINELS + 1000, clientId: 'bench-gateway-scale', exchangeLifetime: EXCHANGE_LIFETIME_S });
  const probe = await MqttProbe.connect(deps.brokerUrl, ['lwm2m/+/up/#']);
  let sentinels: DevicePool | undefined;
  let gateway: ChildHandle | undefined;
  try {
    const profile = (name: string) => (options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
    gateway = await deps.startGateway(yaml, ['--expose-gc', ...profile('scale-gateway')]);
    const base = await gateway.usage();
    log(`(e) scale: gateway pid ${gateway.pid} udp ${udpPort}, embedded store in ${dir}; ${fmtInt(options.devices)} devices registered and observed in batches of ${options.batchSize} sockets, ${SENTINELS} sentinels kept open`);

    // Sentinels: indexes after the measured ones, their Location-Path kept for the Update.
    sentinels = await DevicePool.create(SENTINELS, options.devices, 64 * 1024);
    const locations = new Map<SimDevice, string[]>();
    const sentinelPool = sentinels;
    sentinelPool.hooks = {
      onRegisterAck: (dev, code, packet) => {
        if (code !== '2.01') return;
        locations.set(
          dev,
          packet.options.filter((o) => o.name === 'Location-Path').map((o) => o.value.toString()),
        );
      },
    };
    for (const dev of sentinelPool.devices) sentinelPool.send(dev, sentinelPool.registerPacket(dev), udpPort);
    const until = Date.now() + 5000;
    while (locations.size < SENTINELS && Date.now() < until) await sleep(20);
    sentinelPool.hooks = {};
    if (locations.size < SENTINELS) throw new Error(`scale: ${locations.size} of ${SENTINELS} sentinels registered`);
    await observeDevices({ probe }, sentinelPool.devices);

    let registerMs = 0;
    let observeMs = 0;
    let registered = 0;
    let observed = 0;
    const started = performance.now();
    for (let first = 0; first < options.devices; first += options.batchSize) {
      const size = Math.min(options.batchSize, options.devices - first);
      const pool = await DevicePool.create(size, first, 64 * 1024);
      try {
        const t0 = performance.now();
        registered += await registerDevices(pool, pool.devices, udpPort);
        const t1 = performance.now();
        observed += await observeDevices({ probe }, pool.devices);
        const t2 = performance.now();
        registerMs += t1 - t0;
        observeMs += t2 - t1;
      } finally {
        await pool.close();
      }
      log(`    ${fmtInt(first + size)} devices: ${fmtInt(registered)} registered (${fmtInt(registerMs / 1000)} s), ${fmtInt(observed)} observed (${fmtInt(observeMs / 1000)} s), ${fmt((performance.now() - started) / 1000, 0)} s so far`);
    }
    // The last duplicate-detection entries expire (and are swept, every 5 s) before the figures.
    await sleep(EXCHANGE_LIFETIME_S * 1000 + 6000);
    const usage = await gateway.usage();
    log(`    gateway holds ${fmtInt(usage.registrations ?? NaN)} registrations, ${fmtInt(usage.observations ?? NaN)} observations; RSS ${fmtBytes(usage.memory.rss)}, heap+external ${fmtBytes(heapBytes(usage))}`);

    const closeStarted = performance.now();
    await deps.stopGateway(gateway);
    gateway = undefined;
    const closeMs = performance.now() - closeStarted;
    const storeBytes = directorySize(dir);
    log(`    gateway closed in ${fmtMs(closeMs)} ms; store directory ${fmtBytes(storeBytes)}; restarting on it`);

    // Restart: Updates from the sentinels from the fork on, until each has its 2.04.
    let restore: RestoreLine | undefined;
    const answeredAt = new Map<SimDevice, number>();
    let separate = 0;
    sentinelPool.hooks = {
      onRegisterAck: (dev, code) => {
        if (code === '2.04' && !answeredAt.has(dev)) answeredAt.set(dev, performance.now());
      },
      // An Update that arrived while the gateway restored is answered later: empty ACK, then a CON 2.04.
      onSeparateResponse: (dev, code) => {
        if (code !== '2.04' || answeredAt.has(dev)) return;
        answeredAt.set(dev, performance.now());
        separate++;
      },
    };
    const updates = sentinelPool.devices.map((dev) => sentinelPool.updatePacket(dev, locations.get(dev) ?? [], sentinelPool.nextMid(dev)));
    const forkAt = performance.now();
    const resend = setInterval(() => {
      sentinelPool.devices.forEach((dev, i) => {
        if (!answeredAt.has(dev)) sentinelPool.send(dev, updates[i], udpPort);
      });
    }, UPDATE_RETRY_MS);
    let readyMs = NaN;
    try {
      gateway = await deps.startGateway(yaml, ['--expose-gc', ...profile('scale-restart')], (line) => {
        let entry: { msg?: string } & RestoreLine;
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          process.stderr.write(`${line}\n`);
          return;
        }
        if (entry.msg === 'state restored from the store') restore = { registrations: entry.registrations, observations: entry.observations, commands: entry.commands, dropped: entry.dropped, ms: entry.ms };
      });
      readyMs = performance.now() - forkAt;
      const until2 = Date.now() + 30_000;
      while (answeredAt.size < SENTINELS && Date.now() < until2) await sleep(10);
    } finally {
      clearInterval(resend);
      sentinelPool.hooks = {};
    }
    const times = [...answeredAt.values()].map((t) => t - forkAt);
    const firstUpdateMs = times.length > 0 ? Math.min(...times) : NaN;
    const allUpdatesMs = times.length === SENTINELS ? Math.max(...times) : NaN;
    log(`    restarted: ready after ${fmtMs(readyMs)} ms, first Update answered 2.04 after ${fmtMs(firstUpdateMs)} ms (${answeredAt.size}/${SENTINELS} sentinels, ${separate} of them as separate responses); restore line ${JSON.stringify(restore ?? null)}`);
    const restartedUsage = await gateway.usage();

    // A notification on an observation made before the restart reaches MQTT.
    const dev = sentinelPool.devices[0];
    let notified = false;
    probe.onMessage((topic) => {
      if (topic === `lwm2m/${dev.name}/up/notify`) notified = true;
    });
    if (dev.observation) sentinelPool.send(dev, sentinelPool.notificationPacket(dev, dev.observation), udpPort);
    const until3 = Date.now() + 5000;
    while (!notified && Date.now() < until3) await sleep(10);
    probe.clearHandler();

    return {
      devices: options.devices,
      registered,
      observed,
      registerMs,
      observeMs,
      usage,
      base,
      storeBytes,
      closeMs,
      readyMs,
      firstUpdateMs,
      allUpdatesMs,
      sentinels: SENTINELS,
      separateResponses: separate,
      restore,
      restartedUsage,
      notificationAfterRestart: notified,
      exchangeLifetimeS: EXCHANGE_LIFETIME_S,
    };
  } finally {
    if (gateway) await deps.stopGateway(gateway).catch(() => undefined);
    await sentinels?.close();
    await probe.close().catch(() => undefined);
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Table rows and detail lines of the scale part. */
export function scaleReport(r: ScaleResult): { rows: string[][]; details: string[] } {
  const label = r.devices >= 1000 && r.devices % 1000 === 0 ? `${r.devices / 1000}k` : `${r.devices}`;
  const perDevice = (bytes: number) => fmtBytes(bytes / r.devices);
  const rows = [
    [`scale @${label}: RSS (embedded store)`, fmtBytes(r.usage.memory.rss), '-', '-', '-', '-'],
    [`scale @${label}: registration time`, `${fmt(r.registerMs / 1000, 1)} s`, '-', '-', '-', '-'],
    [`scale @${label}: restart to first Update 2.04`, `${fmtInt(r.firstUpdateMs)} ms`, '-', '-', '-', '-'],
  ];
  const restore = r.restore;
  const details = [
    `scale @${r.devices}, embedded store: ${r.registered} registered in ${fmtMs(r.registerMs)} ms (${fmtInt((r.registered / r.registerMs) * 1000)}/s), ${r.observed} observed in ${fmtMs(r.observeMs)} ms (${fmtInt((r.observed / r.observeMs) * 1000)}/s); gateway holds ${r.usage.registrations} registrations, ${r.usage.observations} observations`,
    `scale @${r.devices}: after a forced GC, idle: RSS ${fmtBytes(r.usage.memory.rss)} (${perDevice(r.usage.memory.rss - r.base.memory.rss)} per device over the empty gateway's ${fmtBytes(r.base.memory.rss)}), heap+external ${fmtBytes(heapBytes(r.usage))} (${perDevice(heapBytes(r.usage) - heapBytes(r.base))} per device), V8 heap total ${fmtBytes(r.usage.memory.heapTotal)}; store directory ${fmtBytes(r.storeBytes)}`,
    `scale @${r.devices} restart: close ${fmtMs(r.closeMs)} ms; fork to ready ${fmtMs(r.readyMs)} ms; fork to first Update 2.04 ${fmtMs(r.firstUpdateMs)} ms, to all ${r.sentinels} sentinels' ${fmtMs(r.allUpdatesMs)} ms (${r.separateResponses} answered by a separate response); "state restored from the store": ${restore ? `${restore.registrations} registrations, ${restore.observations} observations, ${restore.commands} commands, ${restore.dropped} dropped, ${restore.ms} ms` : 'line not seen'}`,
    `scale @${r.devices} after restart: RSS ${r.restartedUsage ? fmtBytes(r.restartedUsage.memory.rss) : 'n/a'}, heap+external ${r.restartedUsage ? fmtBytes(heapBytes(r.restartedUsage)) : 'n/a'}, V8 heap total ${r.restartedUsage ? fmtBytes(r.restartedUsage.memory.heapTotal) : 'n/a'}, ${r.restartedUsage?.registrations ?? 'n/a'} registrations and ${r.restartedUsage?.observations ?? 'n/a'} observations held; a notification on a pre-restart observation ${r.notificationAfterRestart ? 'reached MQTT' : 'did NOT reach MQTT'} (dedup lifetime ${r.exchangeLifetimeS} s in this gateway)`,
  ];
  return { rows, details };
}
