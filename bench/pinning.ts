import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * CPU pinning with taskset (util-linux): the process under test (gateway or forwarder) gets a core of
 * its own and the load generator and the broker share the other, so that neither side's latency is
 * the scheduler moving three busy processes over two cores. Both targets are pinned alike.
 */
export function canPin(): boolean {
  if (os.cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of `pid` to `cpu`; false when taskset refused. */
export function pinToCpu(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The CPU for the targets (the last one) and the one for load generator and broker (the first). */
export function pinningPlan(): { targetCpu: number; loadCpu: number } {
  return { targetCpu: os.cpus().length - 1, loadCpu: 0 };
}
