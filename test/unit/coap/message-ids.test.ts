import { MessageIds } from '../../../src/coap/message-ids';

const A = { address: '127.0.0.1', port: 5000 };
const B = { address: '127.0.0.1', port: 5001 };
const LIFETIME = 247_000;

describe('MessageIds: one counter per peer (RFC 7252 §4.4)', () => {
  it('counts up per peer, and one peer does not use up another peer\'s ids', () => {
    const ids = new MessageIds(LIFETIME, 100);
    const a0 = ids.next(A, 0);
    for (let i = 0; i < 100_000; i++) ids.next(B, 1);
    expect(ids.next(A, 2)).toBe((a0 + 1) & 0xffff);
    expect(ids.next(A, 3)).toBe((a0 + 2) & 0xffff);
  });

  it('hands one peer 65,536 different ids before any comes back', () => {
    const ids = new MessageIds(LIFETIME, 100);
    const seen = new Set<number>();
    for (let i = 0; i < 0x10000; i++) seen.add(ids.next(A, i));
    expect(seen.size).toBe(0x10000);
    const first = ids.next(A, 0x10000);
    expect(seen.has(first)).toBe(true);
  });

  it('forgets a peer EXCHANGE_LIFETIME after its last message, not before', () => {
    const ids = new MessageIds(LIFETIME, 100);
    ids.next(A, 0);
    ids.next(A, 100_000);
    ids.sweep(LIFETIME + 1);
    expect(ids.size).toBe(1);
    ids.sweep(100_000 + LIFETIME);
    expect(ids.size).toBe(0);
  });

  it('holds at most capacity peers', () => {
    const ids = new MessageIds(LIFETIME, 10);
    for (let port = 1; port <= 1000; port++) ids.next({ address: '10.0.0.1', port }, port);
    expect(ids.size).toBe(10);
  });
});
