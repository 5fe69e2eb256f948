/**
 * (a) Registrations per second.
 * Gateway: a register is complete when the device has its ACK 2.01 AND the subscriber has the
 * `lwm2m/NAME/up/register` message. Baseline: the same register datagram, complete when the
 * forwarder's publish of it reaches the subscriber (nothing answers the device).
 * Both closed loop with the same window.
 */
import { portOfForwarderTopic } from './baseline-forwarder';
import { type BenchContext, type CpuSpent, type TargetKind, addCpu, startCpuMeter, targetOf } from './context';
import { type DevicePool, type SimDevice, indexOfGatewayTopic } from './load-generator';
import { runWindowed } from './pacing';

export interface RegistrationResult {
  kind: TargetKind;
  devices: number;
  completed: number;
  /** Devices without a complete registration at the end. */
  lost: number;
  elapsedMs: number;
  perSecond: number;
  /** Register answers other than 2.01 (gateway). */
  refused: number;
  cpu: CpuSpent;
}

export const REGISTRATION_WINDOW = 256;

/** Flags per device of a contiguous slice of the pool (by index). */
class DeviceFlags {
  private readonly flags: Uint8Array;
  count = 0;

  constructor(
    private readonly first: number,
    size: number,
  ) {
    this.flags = new Uint8Array(size);
  }

  /** Sets the flag; true if it was not set before. */
  set(index: number): boolean {
    const i = index - this.first;
    if (!(i >= 0 && i < this.flags.length) || this.flags[i]) return false;
    this.flags[i] = 1;
    this.count++;
    return true;
  }

  has(index: number): boolean {
    return this.flags[index - this.first] === 1;
  }
}

/** Devices must be a contiguous range of indexes. */
export async function measureRegistrations(ctx: BenchContext, kind: TargetKind, devices: SimDevice[]): Promise<RegistrationResult> {
  const { pool, probe } = ctx;
  const port = targetOf(ctx, kind).udpPort;
  const first = devices[0].index;
  const acks = new DeviceFlags(first, devices.length);
  const published = new DeviceFlags(first, devices.length);
  let refused = 0;
  const completed = kind === 'gateway' ? () => Math.min(acks.count, published.count) : () => published.count;
  const meter = await startCpuMeter(ctx, kind);

  let kick = () => {};
  if (kind === 'gateway') {
    pool.hooks = {
      onRegisterAck: (dev, code) => {
        if (code !== '2.01') refused++;
        else if (acks.set(dev.index)) kick();
      },
    };
    probe.onMessage((topic) => {
      if (topic.endsWith('/up/register') && published.set(indexOfGatewayTopic(topic))) kick();
    });
  } else {
    pool.hooks = {};
    probe.onMessage((topic) => {
      const dev = pool.byPort.get(portOfForwarderTopic(topic));
      if (dev && published.set(dev.index)) kick();
    });
  }

  const run = runWindowed({
    total: devices.length,
    window: REGISTRATION_WINDOW,
    send: (i) => pool.send(devices[i], pool.registerPacket(devices[i]), port),
    completed,
    stallMs: 1000,
    drainMs: 2000,
    deadlineMs: 60_000,
  });
  kick = run.kick;
  const result = await run.done;
  probe.clearHandler();
  pool.hooks = {};
  const cpu = await meter.stop();
  const elapsedMs = result.lastCompletionAt - result.startedAt;
  return {
    kind,
    devices: devices.length,
    completed: result.completed,
    lost: devices.length - result.completed,
    elapsedMs,
    perSecond: (result.completed / elapsedMs) * 1000,
    refused,
    cpu,
  };
}

/**
 * Registers devices with the gateway at `port`, ACKs only (no MQTT), with one retransmission pass
 * for the unanswered ones (same message id: the gateway replays its answer). Returns the number registered.
 */
export async function registerDevices(pool: DevicePool, devices: SimDevice[], port: number): Promise<number> {
  const first = devices[0].index;
  const acks = new DeviceFlags(first, devices.length);
  let kick = () => {};
  pool.hooks = {
    onRegisterAck: (dev, code) => {
      if (code === '2.01' && acks.set(dev.index)) kick();
    },
  };
  let pending = devices;
  for (let pass = 0; pass < 3 && pending.length > 0; pass++) {
    const batch = pending;
    const before = acks.count;
    const run = runWindowed({
      total: batch.length,
      window: REGISTRATION_WINDOW,
      send: (i) => pool.send(batch[i], pool.registerPacket(batch[i]), port),
      completed: () => acks.count - before,
      stallMs: 1000,
      drainMs: 1500,
      deadlineMs: 120_000,
    });
    kick = run.kick;
    await run.done;
    pending = batch.filter((dev) => !acks.has(dev.index));
  }
  pool.hooks = {};
  return acks.count;
}

/** Rounds of one target added up: the rate is all completions over all measured time. */
export function combineRegistrations(rounds: RegistrationResult[]): RegistrationResult {
  const total = rounds.reduce((a, r) => ({
    ...a,
    devices: a.devices + r.devices,
    completed: a.completed + r.completed,
    lost: a.lost + r.lost,
    elapsedMs: a.elapsedMs + r.elapsedMs,
    refused: a.refused + r.refused,
    cpu: addCpu(a.cpu, r.cpu),
  }));
  return { ...total, perSecond: (total.completed / total.elapsedMs) * 1000 };
}
