/**
 * "Log once per source per interval": a refusal repeated by one source (an attack, a broken device)
 * must not flood the log. `admit(key, now)` says whether to log now and how many repeats were
 * suppressed since the last line. The table is bounded: when full, the oldest keys are dropped (a
 * forgotten key only means one more log line).
 */
export class LogThrottle {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 10_000,
    private readonly capacity = 10_000,
  ) {}

  /** undefined: stay silent; otherwise log now, mentioning `suppressed` repeats since the last line. */
  admit(key: string, now = Date.now()): { suppressed: number } | undefined {
    const entry = this.seen.get(key);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    if (entry !== undefined) this.seen.delete(key);
    else if (this.seen.size >= this.capacity) this.evict(now);
    this.seen.set(key, { at: now, suppressed: 0 });
    return { suppressed };
  }

  get size(): number {
    return this.seen.size;
  }

  /** Drops entries whose interval has passed (insertion order is time order), else the oldest quarter. */
  private evict(now: number): void {
    let dropped = 0;
    for (const [key, entry] of this.seen) {
      if (now - entry.at < this.intervalMs && dropped >= this.capacity / 4) break;
      this.seen.delete(key);
      dropped++;
    }
  }
}
