/**
 * (b) Uplink notifications → MQTT messages per second.
 * Gateway: each observed device has answered an `observe` command (ACK 2.05, Observe 0x010000) and
 * then sends NON 2.05 notifications with that token and increasing 3-byte Observe values; the
 * subscriber counts `lwm2m/+/up/notify`. Baseline: the same datagrams, counted on `fwd/+/up`.
 * Closed loop: at most `window` notifications sent and not yet seen by the subscriber, so the
 * kernel buffers do not overflow; a stalled window is written off as lost.
 */
import { randomBytes } from 'node:crypto';
import { type BenchContext, type CpuSpent, type TargetKind, startCpuMeter, targetOf } from './context';
import { FIRST_OBSERVE, READ_PATH, type SimDevice, indexOfGatewayTopic, observationFor } from './load-generator';
import { runWindowed } from './pacing';

export interface NotificationResult {
  kind: TargetKind;
  observed: number;
  sent: number;
  received: number;
  lost: number;
  elapsedMs: number;
  perSecond: number;
  cpu: CpuSpent;
  /** One message as the subscriber got it (gateway), to show the content is right. */
  sample?: string;
}

/** Sends an observe command to every device and waits for the gateway's 2.05 answers; returns how many are observed. */
export async function observeDevices(ctx: BenchContext, devices: SimDevice[]): Promise<number> {
  const { pool, probe } = ctx;
  for (const dev of devices) dev.observation = undefined;
  const answered = new Set<number>();
  let kick = () => {};
  probe.onMessage((topic, payload) => {
    if (!topic.endsWith('/up/resp')) return;
    const msg = JSON.parse(payload.toString()) as { msgType?: string; data?: { code?: string } };
    if (msg.msgType === 'observe' && msg.data?.code === '2.05') {
      answered.add(indexOfGatewayTopic(topic));
      kick();
    }
  });
  const run = runWindowed({
    total: devices.length,
    window: 200,
    send: (i) => {
      const dev = devices[i];
      probe.publish(`lwm2m/${dev.name}/dn`, JSON.stringify({ reqID: i + 1, msgType: 'observe', data: { path: READ_PATH } }));
    },
    completed: () => answered.size,
    stallMs: 3000,
    drainMs: 3000,
    deadlineMs: 30_000,
  });
  kick = run.kick;
  await run.done;
  probe.clearHandler();
  return devices.filter((dev) => dev.observation !== undefined && answered.has(dev.index)).length;
}

/** Gives every device an observation of its own for the baseline (nothing to set up there). */
export function baselineObservations(devices: SimDevice[]): void {
  for (const dev of devices) dev.observation = observationFor(randomBytes(8), FIRST_OBSERVE);
}

export async function measureNotifications(ctx: BenchContext, kind: TargetKind, devices: SimDevice[], total: number, window: number): Promise<NotificationResult> {
  const { pool, probe } = ctx;
  const port = targetOf(ctx, kind).udpPort;
  const observed = devices.filter((dev) => dev.observation !== undefined);
  if (observed.length === 0) throw new Error(`${kind}: no observed device`);
  let received = 0;
  let sample: string | undefined;
  let kick = () => {};
  if (kind === 'gateway') {
    probe.onMessage((topic, payload) => {
      if (!topic.endsWith('/up/notify')) return;
      received++;
      if (sample === undefined) sample = `${topic} ${payload.toString()}`;
      kick();
    });
  } else {
    probe.onMessage((topic) => {
      if (!topic.startsWith('fwd/')) return;
      received++;
      kick();
    });
  }
  const meter = await startCpuMeter(ctx, kind);
  const run = runWindowed({
    total,
    window,
    send: (i) => {
      const dev = observed[i % observed.length];
      pool.send(dev, pool.notificationPacket(dev), port);
    },
    completed: () => received,
    stallMs: 500,
    drainMs: 1000,
    deadlineMs: 90_000,
  });
  kick = run.kick;
  const result = await run.done;
  probe.clearHandler();
  const cpu = await meter.stop();
  const elapsedMs = result.lastCompletionAt - result.startedAt;
  return {
    kind,
    observed: observed.length,
    sent: result.sent,
    received: result.completed,
    lost: result.sent - result.completed,
    elapsedMs,
    perSecond: (result.completed / elapsedMs) * 1000,
    cpu,
    sample,
  };
}
