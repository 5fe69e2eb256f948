import { RingQueue } from '../../../../src/lwm2m/device/ring-queue';

describe('RingQueue peek and removeWhere', () => {
  it('peeks at the oldest without taking it', () => {
    const q = new RingQueue<number>(4);
    expect(q.peek()).toBeUndefined();
    q.push(1);
    q.push(2);
    expect(q.peek()).toBe(1);
    expect(q.size).toBe(2);
  });

  it('removes in place, keeps order, across wrap-around, and clears the freed slots', () => {
    const q = new RingQueue<{ n: number }>(8);
    for (let i = 0; i < 6; i++) q.push({ n: i });
    for (let i = 0; i < 4; i++) q.shift(); // head now near the end of the ring
    for (let i = 6; i < 12; i++) q.push({ n: i }); // wraps: 4..11
    const seen: number[] = [];
    q.removeWhere((item) => {
      seen.push(item.n);
      return item.n % 3 === 0;
    });
    expect(seen).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    const rest: number[] = [];
    for (let item = q.shift(); item !== undefined; item = q.shift()) rest.push(item.n);
    expect(rest).toEqual([4, 5, 7, 8, 10, 11]);
    const slots = (q as unknown as { slots: unknown[] }).slots;
    expect(slots.filter((s) => s !== undefined)).toHaveLength(0);
  });

  it('handles 200k items without recursion and allocates nothing until the first push', () => {
    const q = new RingQueue<number>(8);
    expect((q as unknown as { slots: unknown[] }).slots).toHaveLength(0);
    for (let i = 0; i < 200_000; i++) q.push(i);
    q.removeWhere((n) => n % 2 === 1);
    expect(q.size).toBe(100_000);
    expect(q.peek()).toBe(0);
    q.removeWhere(() => true);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });
});
