import { RateLimiter } from '../../../src/limits/rate-limiter';

describe('RateLimiter', () => {
  it('allows a burst, then the rate, per key', () => {
    const r = new RateLimiter(10, 5);
    const t = 1_000_000;
    for (let i = 0; i < 5; i++) expect(r.take('a', t)).toBe(true);
    expect(r.take('a', t)).toBe(false);
    expect(r.retryAfter('a', t)).toBe(1);
    expect(r.take('b', t)).toBe(true); // another source has its own bucket
    expect(r.take('a', t + 100)).toBe(true); // 10/s: one token after 100 ms
    expect(r.take('a', t + 100)).toBe(false);
    expect(r.take('a', t + 10_000)).toBe(true);
  });

  it('forgets sources whose bucket is full again, so the table shrinks when they stop', () => {
    const r = new RateLimiter(100, 10);
    for (let i = 0; i < 1000; i++) r.take(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(r.size).toBe(1000);
    r.take('late', 1000); // 100 ms refill period long passed: the sweep runs from take
    expect(r.size).toBe(1);
  });

  it('is bounded: a new key beyond capacity is refused while every bucket is still refilling', () => {
    const r = new RateLimiter(1, 10, 3);
    expect(['a', 'b', 'c'].map((k) => r.take(k, 0))).toEqual([true, true, true]);
    expect(r.take('d', 1)).toBe(false);
    expect(r.size).toBe(3);
    expect(r.take('d', 20_000)).toBe(true); // a, b, c refilled and were swept
  });

  it('refuses nonsense settings', () => {
    expect(() => new RateLimiter(0, 1)).toThrow(RangeError);
    expect(() => new RateLimiter(1, 0)).toThrow(RangeError);
  });
});
