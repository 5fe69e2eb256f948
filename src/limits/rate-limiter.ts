/**
 * Token buckets per key (a source address): `rate` tokens per second up to `burst`. A key whose
 * bucket is full again is indistinguishable from a new one, so such entries are dropped by `sweep`
 * and the table holds only sources active within the last burst/rate seconds. It is bounded too:
 * when `capacity` keys are held, a new key is refused until a sweep frees room (an attacker
 * spreading over many addresses then hits the limit itself, not the gateway's memory).
 * Sweeps run from `take` at most once per refill period (burst/rate seconds).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillMs: number;
  private lastSweep = 0;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly capacity = 100_000,
  ) {
    if (!(rate > 0) || !(burst >= 1)) throw new RangeError('rate must be > 0 and burst >= 1');
    this.refillMs = (burst / rate) * 1000;
  }

  /** Takes one token for `key`; false when its bucket is empty (or the table is full). */
  take(key: string, now = Date.now()): boolean {
    // Amortised clean-up: at most one sweep per refill period, so idle sources do not pile up.
    if (now - this.lastSweep >= this.refillMs) this.sweep(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.capacity) {
        this.sweep(now);
        if (this.buckets.size >= this.capacity) return false;
      }
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Seconds until `key` has a token again (0 when it has one), for Max-Age. */
  retryAfter(key: string, now = Date.now()): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return 0;
    const tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.rate);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Forgets buckets that have refilled completely. */
  sweep(now = Date.now()): void {
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at >= this.refillMs) this.buckets.delete(key);
    }
  }
}
