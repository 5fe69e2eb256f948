/**
 * (d) Memory per registered idle device. A fresh gateway child (started with --expose-gc) is
 * measured after a forced GC before any registration, then after registering 10k (and up to 50k)
 * devices. Two figures per step:
 * - "just registered": right after the registrations, with the CoAP layer's duplicate-detection
 *   entries (one per registration, kept for EXCHANGE_LIFETIME) still present;
 * - "idle": once those entries have expired, i.e. what a device that says nothing costs.
 * To get the idle figure in seconds rather than minutes the memory gateway runs with
 * `lwm2m.blockwise.exchange_lifetime` (which is also the dedup lifetime) shortened.
 * Devices are registered in batches of live sockets, closed afterwards (see load-generator.ts).
 *
 * With `observe`, each device of a batch is also observed once before its socket closes: an
 * `observe` command through MQTT per device, answered by the device (ACK 2.05 with Observe), so the
 * gateway holds one observation per device (and, with a store, has written it there). The figure is
 * then per registered and observed device.
 */
import { type ChildHandle, type ChildUsage } from './child';
import { DevicePool } from './load-generator';
import type { MqttProbe } from './mqtt-clients';
import { observeDevices } from './notifications';
import { registerDevices } from './registrations';
import { sleep } from './stats';

export interface MemoryStep {
  devices: number;
  registered: number;
  /** Per device, bytes: V8 heap used + external (Buffers), after a forced GC. */
  heapPerDeviceJustRegistered: number;
  heapPerDevice: number;
  rssPerDevice: number;
  registerMs: number;
  /** Devices observed (with `observe`), and the time the observe commands took (included in registerMs). */
  observed?: number;
  observeMs?: number;
}

function heapBytes(u: ChildUsage): number {
  return u.memory.heapUsed + u.memory.external;
}

export interface MemoryOptions {
  counts: number[];
  /** Sockets open at once. */
  batchSize: number;
  /** The shortened dedup lifetime of the memory gateway (seconds); the idle figure is taken after it (+ the 5 s sweep). */
  exchangeLifetimeS: number;
  /** Observe every device once through this MQTT probe (subscribed to `lwm2m/+/up/#`). */
  observe?: MqttProbe;
  log(message: string): void;
}

/** Registers a pool's devices and, with a probe, observes each of them; returns how many of each. */
async function registerAndObserve(pool: DevicePool, port: number, probe: MqttProbe | undefined): Promise<{ registered: number; observed: number; observeMs: number }> {
  const registered = await registerDevices(pool, pool.devices, port);
  if (!probe) return { registered, observed: 0, observeMs: 0 };
  const started = performance.now();
  const observed = await observeDevices({ probe }, pool.devices);
  return { registered, observed, observeMs: performance.now() - started };
}

/** Index of the first warm-up device: far from the measured ones (their registration message ids differ too). */
const WARMUP_FIRST_INDEX = 60_000;
const WARMUP_DEVICES = 100;

export async function measureMemory(gateway: ChildHandle, options: MemoryOptions): Promise<MemoryStep[]> {
  // A few registrations first, so that compiled code and one-time allocations are not counted per device.
  const warm = await DevicePool.create(WARMUP_DEVICES, WARMUP_FIRST_INDEX, 64 * 1024);
  try {
    await registerAndObserve(warm, gateway.udpPort, options.observe);
  } finally {
    await warm.close();
  }
  const base = await gateway.usage();
  const baseRegistrations = base.registrations ?? 0;
  const steps: MemoryStep[] = [];
  let registeredSoFar = 0;
  for (const count of [...options.counts].sort((a, b) => a - b)) {
    const started = performance.now();
    let observeMs = 0;
    for (let first = registeredSoFar; first < count; first += options.batchSize) {
      const size = Math.min(options.batchSize, count - first);
      const pool = await DevicePool.create(size, first, 64 * 1024);
      try {
        const ok = await registerAndObserve(pool, gateway.udpPort, options.observe);
        observeMs += ok.observeMs;
        if (ok.registered < size) options.log(`memory: ${size - ok.registered} of ${size} registrations unanswered`);
        if (options.observe && ok.observed < size) options.log(`memory: ${size - ok.observed} of ${size} observe commands unanswered`);
      } finally {
        await pool.close();
      }
    }
    const registerMs = performance.now() - started;
    registeredSoFar = count;
    const justRegistered = await gateway.usage();
    // Wait until the last duplicate-detection entry has expired and been swept (sweep every 5 s).
    const waitMs = options.exchangeLifetimeS * 1000 + 6000 - (performance.now() - started - registerMs);
    options.log(`memory: ${count} devices registered${options.observe ? ' and observed' : ''} in ${(registerMs / 1000).toFixed(1)} s, waiting ${(waitMs / 1000).toFixed(0)} s for the dedup entries to expire`);
    await sleep(Math.max(0, waitMs));
    const idle = await gateway.usage();
    steps.push({
      devices: count,
      registered: (idle.registrations ?? NaN) - baseRegistrations,
      heapPerDeviceJustRegistered: (heapBytes(justRegistered) - heapBytes(base)) / count,
      heapPerDevice: (heapBytes(idle) - heapBytes(base)) / count,
      rssPerDevice: (idle.memory.rss - base.memory.rss) / count,
      registerMs,
      ...(options.observe ? { observed: (idle.observations ?? NaN) - (base.observations ?? 0), observeMs } : {}),
    });
  }
  return steps;
}
