import type { ChildHandle } from './child';
import { type MachineTicks, machineTicks, stealShare, ticksSince } from './machine-steal';
import type { DevicePool } from './load-generator';
import { processCpuSeconds } from './mosquitto';
import type { MqttProbe } from './mqtt-clients';

export type TargetKind = 'gateway' | 'baseline';

/** Everything a throughput/latency scenario needs; both targets share the broker, the probe and the devices. */
export interface BenchContext {
  pool: DevicePool;
  probe: MqttProbe;
  gateway: ChildHandle;
  baseline: ChildHandle;
  brokerPid: number;
  log(message: string): void;
}

export function targetOf(ctx: BenchContext, kind: TargetKind): ChildHandle {
  return kind === 'gateway' ? ctx.gateway : ctx.baseline;
}

/** CPU milliseconds spent during a scenario by the target process, the broker and this (load generator + MQTT probe) process. */
export interface CpuSpent {
  targetMs: number;
  brokerMs: number;
  loadMs: number;
  /** The whole machine's CPU ticks over the run, and those stolen by the hypervisor. */
  machine: MachineTicks;
}

export interface CpuMeter {
  stop(): Promise<CpuSpent>;
}

export function startCpuMeter(ctx: BenchContext, kind: TargetKind): Promise<CpuMeter> {
  return startProcessCpuMeter(targetOf(ctx, kind), ctx.brokerPid);
}

/** CPU of a target child, the broker and this process over a run. */
export async function startProcessCpuMeter(target: ChildHandle, brokerPid: number): Promise<CpuMeter> {
  const t0 = await target.cpu();
  const b0 = processCpuSeconds(brokerPid);
  const l0 = process.cpuUsage();
  const m0 = machineTicks();
  return {
    async stop() {
      const t1 = await target.cpu();
      const b1 = processCpuSeconds(brokerPid);
      const l1 = process.cpuUsage(l0);
      return {
        targetMs: (t1.user + t1.system - t0.user - t0.system) / 1000,
        brokerMs: (b1 - b0) * 1000,
        loadMs: (l1.user + l1.system) / 1000,
        machine: ticksSince(m0),
      };
    },
  };
}

/** "gateway 12.3 µs, broker 4.5 µs, load 6.7 µs per message" */
export function cpuPerOp(cpu: CpuSpent, ops: number): string {
  const per = (ms: number) => (ops > 0 && Number.isFinite(ms) ? `${((ms * 1000) / ops).toFixed(1)} µs` : 'n/a');
  const steal = stealShare(cpu.machine);
  return `target ${per(cpu.targetMs)}, broker ${per(cpu.brokerMs)}, load generator ${per(cpu.loadMs)}${Number.isFinite(steal) ? `; machine CPU stolen ${(steal * 100).toFixed(0)}%` : ''}`;
}

export function addCpu(a: CpuSpent, b: CpuSpent): CpuSpent {
  return {
    targetMs: a.targetMs + b.targetMs,
    brokerMs: a.brokerMs + b.brokerMs,
    loadMs: a.loadMs + b.loadMs,
    machine: { total: a.machine.total + b.machine.total, steal: a.machine.steal + b.machine.steal },
  };
}
