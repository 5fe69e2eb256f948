import { RingQueue } from '../../../../src/lwm2m/device/ring-queue';

describe('RingQueue', () => {
  it('keeps first-in-first-out order across growth and wrap-around', () => {
    const q = new RingQueue<number>();
    const expected: number[] = [];
    let next = 0;
    // Interleaved pushes and shifts, so that the ring wraps before and after it grows.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < round * 7; i++) {
        q.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < round * 5 && expected.length > 0; i++) expect(q.shift()).toBe(expected.shift());
      expect(q.size).toBe(expected.length);
    }
    while (expected.length > 0) expect(q.shift()).toBe(expected.shift());
    expect(q.shift()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  it('holds no reference to an item once it is taken', () => {
    const q = new RingQueue<object>();
    for (let i = 0; i < 100; i++) q.push({ i });
    for (let i = 0; i < 100; i++) q.shift();
    const slots = (q as unknown as { slots: unknown[] }).slots;
    expect(slots.filter((s) => s !== undefined)).toHaveLength(0);
  });

  it('with releaseWhenEmpty gives its slots back when it empties (by shift or removeWhere), and works on after', () => {
    const q = new RingQueue<number>(8, true);
    expect(q.capacity).toBe(0);
    for (let i = 0; i < 20; i++) q.push(i);
    expect(q.capacity).toBe(32);
    for (let i = 0; i < 19; i++) expect(q.shift()).toBe(i);
    expect(q.capacity).toBe(32);
    expect(q.shift()).toBe(19);
    expect(q.capacity).toBe(0);
    q.push(1);
    q.push(2);
    expect(q.capacity).toBe(8);
    q.removeWhere(() => true);
    expect(q.capacity).toBe(0);
    q.push(3);
    expect(q.shift()).toBe(3);
    expect(q.shift()).toBeUndefined();
    const kept = new RingQueue<number>(8);
    kept.push(1);
    kept.shift();
    expect(kept.capacity).toBe(8);
  });
});
