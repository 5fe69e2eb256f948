import { LogThrottle } from '../../../src/limits/log-throttle';

describe('LogThrottle', () => {
  it('admits one line per key per interval and counts the ones left out', () => {
    const l = new LogThrottle(1000);
    expect(l.admit('a', 0)).toEqual({ suppressed: 0 });
    expect(l.admit('a', 10)).toBeUndefined();
    expect(l.admit('a', 999)).toBeUndefined();
    expect(l.admit('b', 999)).toEqual({ suppressed: 0 });
    expect(l.admit('a', 1000)).toEqual({ suppressed: 2 });
    expect(l.admit('a', 1500)).toBeUndefined();
  });

  it('stays within its capacity under a flood of distinct keys', () => {
    const l = new LogThrottle(10_000, 100);
    for (let i = 0; i < 10_000; i++) expect(l.admit(`k${i}`, i)).toBeDefined();
    expect(l.size).toBeLessThanOrEqual(100);
  });
});
