import { Block1Receiver } from '../../../src/coap/block1-receiver';
import { DedupCache } from '../../../src/coap/dedup-cache';
import { ExpiringMap } from '../../../src/coap/expiring-map';

describe('ExpiringMap', () => {
  it('expires entries in insertion order and sweeps on insertion', () => {
    const map = new ExpiringMap<{ expiresAt: number }>(100);
    map.set('a', { expiresAt: 10 }, 0);
    map.set('b', { expiresAt: 20 }, 5);
    expect(map.get('a', 9)).toBeDefined();
    expect(map.get('a', 10)).toBeUndefined();
    map.set('c', { expiresAt: 40 }, 25); // sweeps b
    expect(map.size).toBe(1);
    map.sweep(40);
    expect(map.size).toBe(0);
  });

  it('evicts the oldest entry at capacity', () => {
    const map = new ExpiringMap<{ expiresAt: number }>(2);
    map.set('a', { expiresAt: 100 }, 0);
    map.set('b', { expiresAt: 100 }, 0);
    map.set('c', { expiresAt: 100 }, 0);
    expect(map.get('a', 1)).toBeUndefined();
    expect(map.get('b', 1)).toBeDefined();
    expect(map.size).toBe(2);
  });
});

describe('DedupCache', () => {
  it('remembers a message with its reply for the lifetime', () => {
    const cache = new DedupCache(1000, 10);
    const key = DedupCache.key({ address: '10.0.0.1', port: 5683 }, 42);
    expect(key).toBe('10.0.0.1:5683#42');
    const entry = cache.remember(key, 0);
    expect(cache.lookup(key, 1)?.reply).toBeUndefined();
    entry.reply = Buffer.from('r');
    expect(cache.lookup(key, 999)?.reply?.toString()).toBe('r');
    expect(cache.lookup(key, 1000)).toBeUndefined();
  });
});

describe('Block1Receiver', () => {
  const block = (num: number, more: boolean, szx = 0) => ({ num, more, szx });

  it('assembles in order and completes once', () => {
    const r = new Block1Receiver(1000, 6, 1000, 10);
    expect(r.receive('k', block(0, true), Buffer.alloc(16, 1), undefined, 0)).toEqual({ kind: 'continue', echo: block(0, true) });
    expect(r.receive('k', block(1, true), Buffer.alloc(16, 2), undefined, 1).kind).toBe('continue');
    const done = r.receive('k', block(2, false), Buffer.alloc(3, 3), undefined, 2);
    expect(done.kind).toBe('complete');
    expect(done.kind === 'complete' && done.body.length).toBe(35);
    expect(r.size).toBe(0);
  });

  it('rejects a wrong-sized intermediate block with 4.00, a gap with 4.08, too much with 4.13', () => {
    const r = new Block1Receiver(40, 6, 1000, 10);
    expect(r.receive('k', block(0, true), Buffer.alloc(15), undefined, 0)).toEqual({ kind: 'reject', code: '4.00' });
    r.receive('k', block(0, true), Buffer.alloc(16), undefined, 0);
    expect(r.receive('k', block(2, true), Buffer.alloc(16), undefined, 0)).toEqual({ kind: 'reject', code: '4.08' });
    r.receive('k', block(0, true), Buffer.alloc(16), undefined, 0);
    r.receive('k', block(1, true), Buffer.alloc(16), undefined, 0);
    expect(r.receive('k', block(2, true), Buffer.alloc(16), undefined, 0)).toEqual({ kind: 'reject', code: '4.13' });
    expect(r.receive('k', block(0, true), Buffer.alloc(16), 41, 0)).toEqual({ kind: 'reject', code: '4.13' });
  });

  it('asks for its smaller block size and accepts the client continuing at the same offset', () => {
    const r = new Block1Receiver(10_000, 4, 1000, 10);
    expect(r.receive('k', block(0, true, 6), Buffer.alloc(1024), undefined, 0)).toEqual({ kind: 'continue', echo: block(0, true, 4) });
    expect(r.receive('k', block(4, false, 4), Buffer.alloc(10), undefined, 0).kind).toBe('complete');
  });
});
