/**
 * (c) Downlink read round trip: MQTT publish → device → MQTT response, open loop at a fixed
 * offered rate, each command to the next device round-robin. The latency of a command runs from
 * the time it was due (not when the load generator got round to it) to its answer at the subscriber.
 * Gateway: `{"reqID":N,"msgType":"read","data":{"path":"/3303/0/5700"}}` on `lwm2m/NAME/dn`,
 * answer on `lwm2m/NAME/up/resp`. Baseline: a ready-made CoAP GET /3303/0/5700 (token = N) on
 * `fwd/127.0.0.1:PORT/dn`, the device's ACK 2.05 comes back on `fwd/127.0.0.1:PORT/up`.
 */
import { generate } from 'coap-packet';
import { forwarderDownTopic } from './baseline-forwarder';
import { type BenchContext, type CpuSpent, type TargetKind, addCpu, startCpuMeter } from './context';
import { stealShare } from './machine-steal';
import { LOOPBACK, READ_PATH, type SimDevice } from './load-generator';
import { runOpenLoop, waitUntil } from './pacing';
import { type LatencySummary, summarize } from './stats';

export interface ReadResult {
  kind: TargetKind;
  rate: number;
  offered: number;
  answered: number;
  /** Answers other than 2.05 / unreadable. */
  errors: number;
  lost: number;
  latency: LatencySummary;
  /** How late the load generator itself sent, p99 (ms): if large, the figures are the generator's. */
  sendLagP99: number;
  cpu: CpuSpent;
  /** Round trips (ms) of the answered commands and send lags (ms), kept to pool rounds. */
  samples: { latency: number[]; lag: number[] };
  /** p99 (ms) and share of the machine's CPU stolen by the hypervisor, per round. */
  rounds: { p99: number; steal: number }[];
}

const READ_SEGMENTS = READ_PATH.split('/').filter((s) => s !== '');
let nextReqId = 1;

export async function measureReads(ctx: BenchContext, kind: TargetKind, devices: SimDevice[], rate: number, durationS: number, drainMs = 3000): Promise<ReadResult> {
  const { probe } = ctx;
  const total = Math.max(1, Math.round(rate * durationS));
  const base = nextReqId;
  nextReqId += total;
  const due = new Float64Array(total);
  const latency = new Float64Array(total).fill(NaN);
  const lag: number[] = [];
  let answered = 0;
  let errors = 0;

  const record = (reqId: number, ok: boolean) => {
    const i = reqId - base;
    if (!(i >= 0 && i < total) || !Number.isNaN(latency[i])) return;
    if (!ok) {
      errors++;
      latency[i] = -1;
      return;
    }
    latency[i] = performance.now() - due[i];
    answered++;
  };

  if (kind === 'gateway') {
    probe.onMessage((topic, payload) => {
      if (!topic.endsWith('/up/resp')) return;
      let msg: { reqID?: number; msgType?: string; data?: { code?: string } };
      try {
        msg = JSON.parse(payload.toString()) as typeof msg;
      } catch {
        errors++;
        return;
      }
      if (msg.msgType === 'read' && typeof msg.reqID === 'number') record(msg.reqID, msg.data?.code === '2.05');
    });
  } else {
    probe.onMessage((topic, payload) => {
      if (!topic.startsWith('fwd/') || payload.length < 8 || (payload[0] & 0x0f) !== 4) return;
      record(payload.readUInt32BE(4), payload[1] === 0x45); // 0x45 = 2.05
    });
  }

  const meter = await startCpuMeter(ctx, kind);
  await runOpenLoop({
    rate,
    total,
    send: (i, dueAt) => {
      due[i] = dueAt;
      lag.push(performance.now() - dueAt);
      const dev = devices[i % devices.length];
      const reqId = base + i;
      if (kind === 'gateway') {
        probe.publish(`lwm2m/${dev.name}/dn`, `{"reqID":${reqId},"msgType":"read","data":{"path":"${READ_PATH}"}}`);
      } else {
        const get = generate({
          confirmable: true,
          code: 'GET',
          messageId: reqId & 0xffff,
          token: Buffer.from([(reqId >>> 24) & 0xff, (reqId >>> 16) & 0xff, (reqId >>> 8) & 0xff, reqId & 0xff]),
          options: READ_SEGMENTS.map((s) => ({ name: 'Uri-Path' as const, value: Buffer.from(s) })),
        });
        probe.publish(forwarderDownTopic(LOOPBACK, dev.port), get);
      }
    },
  });
  await waitUntil(() => answered + errors >= total, drainMs);
  probe.clearHandler();
  const cpu = await meter.stop();
  const values: number[] = [];
  for (const v of latency) if (v >= 0) values.push(v);
  return {
    kind,
    rate,
    offered: total,
    answered,
    errors,
    lost: total - answered - errors,
    latency: summarize(values),
    sendLagP99: summarize(lag).p99,
    cpu,
    samples: { latency: values, lag },
    rounds: [{ p99: summarize(values).p99, steal: stealShare(cpu.machine) }],
  };
}

/** The rounds of one target at one rate as one run: counts and CPU added, percentiles over all samples. */
export function combineReads(rounds: ReadResult[]): ReadResult {
  const latency = rounds.flatMap((r) => r.samples.latency);
  const lag = rounds.flatMap((r) => r.samples.lag);
  const sum = (f: (r: ReadResult) => number) => rounds.reduce((a, r) => a + f(r), 0);
  return {
    kind: rounds[0].kind,
    rate: rounds[0].rate,
    offered: sum((r) => r.offered),
    answered: sum((r) => r.answered),
    errors: sum((r) => r.errors),
    lost: sum((r) => r.lost),
    latency: summarize(latency),
    sendLagP99: summarize(lag).p99,
    cpu: rounds.map((r) => r.cpu).reduce(addCpu),
    samples: { latency, lag },
    rounds: rounds.flatMap((r) => r.rounds),
  };
}
