import { FairInbox, type FairInboxLimits } from '../../../src/gateway/fair-inbox';

interface Item {
  key: string;
  n: number;
  bytes: number;
}

const ROOMY: FairInboxLimits = { perKey: 1_000_000, items: 1_000_000, bytes: Number.MAX_SAFE_INTEGER };

function inbox(limits: FairInboxLimits = ROOMY): FairInbox<Item> {
  return new FairInbox<Item>(limits, (item) => item.bytes);
}

function drain(q: FairInbox<Item>): Item[] {
  const out: Item[] = [];
  for (let item = q.shift(); item !== undefined; item = q.shift()) out.push(item);
  return out;
}

const label = (item: Item): string => `${item.key}${item.n}`;

describe('FairInbox', () => {
  it('takes one item per key per turn, in the order the keys first had items waiting', () => {
    const q = inbox();
    for (let n = 0; n < 4; n++) q.push('flood', { key: 'flood', n, bytes: 1 });
    q.push('a', { key: 'a', n: 0, bytes: 1 });
    q.push('b', { key: 'b', n: 0, bytes: 1 });
    q.push('a', { key: 'a', n: 1, bytes: 1 });
    expect(drain(q).map(label)).toEqual(['flood0', 'a0', 'b0', 'flood1', 'a1', 'flood2', 'flood3']);
    expect(q.size).toBe(0);
  });

  it('a key that arrives behind a long backlog waits for one item of it at most', () => {
    const q = inbox();
    for (let n = 0; n < 10_000; n++) q.push('flood', { key: 'flood', n, bytes: 1 });
    expect(q.shift()?.key).toBe('flood');
    q.push('late', { key: 'late', n: 0, bytes: 1 });
    expect(q.shift()?.key).toBe('flood');
    expect(q.shift()?.key).toBe('late');
  });

  it('keeps each key first-in-first-out however pushes and shifts interleave', () => {
    const q = inbox();
    const next = new Map<string, number>();
    const expected = new Map<string, number>();
    let seed = 1;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    for (let step = 0; step < 20_000; step++) {
      if (random() < 0.55) {
        const key = `k${Math.floor(random() * 20)}`;
        const n = next.get(key) ?? 0;
        next.set(key, n + 1);
        expect(q.push(key, { key, n, bytes: 1 })).toBeUndefined();
      } else {
        const item = q.shift();
        if (item === undefined) continue;
        expect(item.n).toBe(expected.get(item.key) ?? 0);
        expected.set(item.key, item.n + 1);
      }
    }
    for (const item of drain(q)) {
      expect(item.n).toBe(expected.get(item.key) ?? 0);
      expected.set(item.key, item.n + 1);
    }
    expect(expected).toEqual(next);
  });

  it('forgets a key once its last item is taken: the table does not grow with every key seen', () => {
    const q = inbox();
    for (let i = 0; i < 5_000; i++) {
      q.push(`device-${i}`, { key: `device-${i}`, n: 0, bytes: 1 });
      expect(q.shift()?.key).toBe(`device-${i}`);
    }
    expect(q.keys).toBe(0);
    expect((q as unknown as { backlogs: Map<string, unknown> }).backlogs.size).toBe(0);
    // Spares for reuse are capped and hold no key.
    const spares = (q as unknown as { spares: { key: string }[] }).spares;
    expect(spares.length).toBeLessThanOrEqual(64);
    expect(spares.every((s) => s.key === '')).toBe(true);
  });

  it('holds no reference to an item once it is taken', () => {
    const q = inbox();
    for (let n = 0; n < 100; n++) q.push('a', { key: 'a', n, bytes: 1 });
    q.push('b', { key: 'b', n: 0, bytes: 1 });
    drain(q);
    const spares = (q as unknown as { spares: { items: { slots: unknown[] } }[] }).spares;
    for (const s of spares) expect(s.items.slots.filter((x) => x !== undefined)).toHaveLength(0);
  });

  it('refuses beyond the per-key bound, keeping the other keys and the refused key once it has room', () => {
    const q = inbox({ perKey: 3, items: 100, bytes: 1000 });
    for (let n = 0; n < 3; n++) expect(q.push('a', { key: 'a', n, bytes: 1 })).toBeUndefined();
    expect(q.push('a', { key: 'a', n: 3, bytes: 1 })).toBe('key-full');
    expect(q.push('b', { key: 'b', n: 0, bytes: 1 })).toBeUndefined();
    expect(q.size).toBe(4);
    expect(q.shift()?.key).toBe('a');
    expect(q.push('a', { key: 'a', n: 4, bytes: 1 })).toBeUndefined();
    expect(drain(q).map(label)).toEqual(['b0', 'a1', 'a2', 'a4']);
  });

  it('refuses beyond the total bounds on items and bytes, and accepts again as they are taken', () => {
    const byItems = inbox({ perKey: 10, items: 3, bytes: 1000 });
    for (let i = 0; i < 3; i++) expect(byItems.push(`k${i}`, { key: `k${i}`, n: 0, bytes: 1 })).toBeUndefined();
    expect(byItems.push('k9', { key: 'k9', n: 0, bytes: 1 })).toBe('inbox-full');
    expect(byItems.push('k0', { key: 'k0', n: 1, bytes: 1 })).toBe('inbox-full');
    expect(byItems.keys).toBe(3);
    byItems.shift();
    expect(byItems.push('k9', { key: 'k9', n: 0, bytes: 1 })).toBeUndefined();

    const byBytes = inbox({ perKey: 10, items: 100, bytes: 100 });
    expect(byBytes.push('a', { key: 'a', n: 0, bytes: 60 })).toBeUndefined();
    expect(byBytes.push('b', { key: 'b', n: 0, bytes: 41 })).toBe('inbox-full');
    expect(byBytes.push('b', { key: 'b', n: 0, bytes: 40 })).toBeUndefined();
    expect(byBytes.bytes).toBe(100);
    byBytes.shift();
    expect(byBytes.bytes).toBe(40);
    expect(byBytes.keys).toBe(1);
  });
});
