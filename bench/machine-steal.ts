import fs from 'node:fs';

/**
 * CPU time the hypervisor gave to other guests ("steal", /proc/stat) against all CPU time of this
 * machine, in clock ticks. On a shared VM, steal comes in bursts of seconds that stretch every
 * process's latency; a latency figure is only comparable with another measured under similar steal.
 */
export interface MachineTicks {
  total: number;
  steal: number;
}

const NO_TICKS: MachineTicks = Object.freeze({ total: 0, steal: 0 });

/** Ticks since boot, summed over all CPUs; zeros where /proc/stat is not available. */
export function machineTicks(): MachineTicks {
  let text: string;
  try {
    text = fs.readFileSync('/proc/stat', 'latin1');
  } catch {
    return NO_TICKS;
  }
  const line = text.slice(0, text.indexOf('\n'));
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f))) return NO_TICKS;
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] };
}

export function ticksSince(start: MachineTicks): MachineTicks {
  const now = machineTicks();
  return { total: now.total - start.total, steal: now.steal - start.steal };
}

/** Share of the machine's CPU time stolen, NaN when nothing was counted. */
export function stealShare(t: MachineTicks): number {
  return t.total > 0 ? t.steal / t.total : NaN;
}
