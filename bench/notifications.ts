/**
 * (b) Uplink notifications → MQTT messages per second.
 * Gateway: each observed device has answered an `observe` command (ACK 2.05, Observe 0x010000) and
 * then sends NON 2.05 notifications with that token and increasing 3-byte Observe values; the
 * subscriber counts `lwm2m/+/up/notify`. Baseline: the same datagrams, counted on `fwd/+/up`.
 * Closed loop: at most `window` notifications sent and not yet seen by the subscriber, so the
 * kernel buffers do not overflow; a stalled window is written off as lost.
 */
import { randomBytes } from 'node:crypto';
import { type BenchContext, type CpuMeter, type CpuSpent, type TargetKind, addCpu, startCpuMeter, targetOf } from './context';
import type { MqttProbe } from './mqtt-clients';
import { type DeviceObservation, FIRST_OBSERVE, READ_PATH, type SimDevice, indexOfGatewayTopic, observationFor } from './load-generator';
import { runWindowed } from './pacing';
import { ContentFormat, encodeNode } from '../src/lwm2m/codec';
import { ObjectModel } from '../src/lwm2m/model/object-model';
import type { Node } from '../src/lwm2m/node';
import { parsePath } from '../src/lwm2m/path';

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

/**
 * Sends an observe command to every device and waits for the gateway's 2.05 answers; returns how
 * many are observed. `commandTopic`: the device's command topic (default `lwm2m/NAME/dn`).
 */
export async function observeDevices(ctx: Pick<BenchContext, 'probe'>, devices: SimDevice[], commandTopic: (dev: SimDevice) => string = (dev) => `lwm2m/${dev.name}/dn`): Promise<number> {
  const { probe } = ctx;
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
      probe.publish(commandTopic(dev), JSON.stringify({ reqID: i + 1, msgType: 'observe', data: { path: READ_PATH } }));
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

/** A device and the observation it notifies on. */
export interface Observed {
  dev: SimDevice;
  obs: DeviceObservation;
}

/** The baseline has nothing to set up: every device gets a token of its own. */
export function baselineObservations(devices: SimDevice[]): Observed[] {
  return devices.map((dev) => ({ dev, obs: observationFor(randomBytes(8), FIRST_OBSERVE) }));
}

/** The value every device notifies (/3303/0/5700 = 21.5), encoded in each format the comparison runs. */
export const NOTIFICATION_FORMATS: ReadonlyArray<{ name: string; format: number }> = [
  { name: 'TLV', format: ContentFormat.TLV },
  { name: 'SenML CBOR', format: ContentFormat.SENML_CBOR },
  { name: 'LwM2M CBOR', format: ContentFormat.LWM2M_CBOR },
];

/** The gateway's observations re-expressed in another content format (same tokens and sequence). */
export function observationsInFormat(observed: Observed[], format: number): Observed[] {
  const path = parsePath(READ_PATH);
  const node: Node = { kind: 'single', id: path.resourceId as number, type: 'float', value: 21.5 };
  const payload = encodeNode(format, path, node, ObjectModel.withBuiltins());
  return observed.map(({ dev, obs }) => {
    const again = observationFor(obs.token, obs.seq, format, payload);
    // Share the sequence: every format's notifications must be newer than the previous ones.
    return { dev, obs: Object.defineProperty(again, 'seq', { get: () => obs.seq, set: (v: number) => (obs.seq = v) }) };
  });
}

/** The observations the gateway set up (observeDevices). */
export function gatewayObservations(devices: SimDevice[]): Observed[] {
  const result: Observed[] = [];
  for (const dev of devices) if (dev.observation) result.push({ dev, obs: dev.observation });
  return result;
}

export async function measureNotifications(ctx: BenchContext, kind: TargetKind, observed: Observed[], total: number, window: number): Promise<NotificationResult> {
  const { pool, probe } = ctx;
  const port = targetOf(ctx, kind).udpPort;
  if (observed.length === 0) throw new Error(`${kind}: no observed device`);
  const round = await runNotificationRound({
    probe,
    counts: kind === 'gateway' ? (topic) => topic.endsWith('/up/notify') : (topic) => topic.startsWith('fwd/'),
    sample: kind === 'gateway',
    send: (i) => {
      const { dev, obs } = observed[i % observed.length];
      pool.send(dev, pool.notificationPacket(dev, obs), port);
    },
    total,
    window,
    meter: await startCpuMeter(ctx, kind),
  });
  return { kind, observed: observed.length, ...round };
}

/** One windowed notification run: what is sent, what the subscriber counts, and the CPU it took. */
export interface NotificationRoundSpec {
  probe: MqttProbe;
  /** Whether a message on this topic is one of the notifications counted. */
  counts(topic: string): boolean;
  /** Keep the first counted message as a sample of what was published. */
  sample: boolean;
  send(i: number): void;
  total: number;
  window: number;
  meter: CpuMeter;
}

/** Sends notifications in a closed loop (at most `window` unseen) and measures the rate the subscriber sees. */
export async function runNotificationRound(spec: NotificationRoundSpec): Promise<NotificationRound> {
  let received = 0;
  let sample: string | undefined;
  let kick = () => {};
  spec.probe.onMessage((topic, payload) => {
    if (!spec.counts(topic)) return;
    received++;
    if (spec.sample && sample === undefined) sample = `${topic} ${payload.toString()}`;
    kick();
  });
  const run = runWindowed({
    total: spec.total,
    window: spec.window,
    send: spec.send,
    completed: () => received,
    stallMs: 500,
    drainMs: 1000,
    deadlineMs: 90_000,
  });
  kick = run.kick;
  const result = await run.done;
  spec.probe.clearHandler();
  const cpu = await spec.meter.stop();
  const elapsedMs = result.lastCompletionAt - result.startedAt;
  return {
    sent: result.sent,
    received: result.completed,
    lost: result.sent - result.completed,
    elapsedMs,
    perSecond: (result.completed / elapsedMs) * 1000,
    cpu,
    sample,
  };
}

/** What a windowed notification round measured, whatever the target or link. */
export interface NotificationRound {
  sent: number;
  received: number;
  lost: number;
  elapsedMs: number;
  perSecond: number;
  cpu: CpuSpent;
  sample?: string;
}

/** Rounds of one target (or link) added up: the rate is all messages received over all measured time. */
export function combineNotifications<T extends NotificationRound>(rounds: T[]): T {
  const total = rounds.reduce((a, r) => ({
    ...a,
    sent: a.sent + r.sent,
    received: a.received + r.received,
    lost: a.lost + r.lost,
    elapsedMs: a.elapsedMs + r.elapsedMs,
    cpu: addCpu(a.cpu, r.cpu),
    sample: a.sample ?? r.sample,
  }));
  return { ...total, perSecond: (total.received / total.elapsedMs) * 1000 };
}
