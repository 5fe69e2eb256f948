import dgram from 'node:dgram';
import { BLOCK_OVERHEAD_BYTES, BODY_OVERHEAD_BYTES, Block1Receiver } from '../../../src/coap/block1-receiver';
import { ExpiringMap } from '../../../src/coap/expiring-map';
import { OptionNumber, decodeMessage, decodeUint, encodeBlock, encodeMessage, findOption, resolveCoapConfig } from '../../../src/coap';
import type { CoapLimit } from '../../../src/coap';
import type { Peer } from '../../../src/transport/transport';
import { RawSocket, startEndpoint, type EndpointUnderTest } from './udp-harness';

const block = (num: number, more: boolean, szx = 0) => ({ num, more, szx });
/** What a body of `blocks` 16-byte blocks under key 'k…' is charged. */
const charged = (key: string, blocks: number, bytes = 16 * blocks) => BODY_OVERHEAD_BYTES + key.length + bytes + blocks * BLOCK_OVERHEAD_BYTES;

describe('ExpiringMap drop notices', () => {
  it('tells of entries dropped by expiry (sweep, get) and by capacity, not of deletes', () => {
    const dropped: string[] = [];
    const map = new ExpiringMap<{ expiresAt: number }>(2, (key) => dropped.push(key));
    map.set('a', { expiresAt: 10 }, 0);
    map.set('b', { expiresAt: 20 }, 0);
    map.set('c', { expiresAt: 30 }, 0); // capacity: 'a' makes room
    expect(dropped).toEqual(['a']);
    expect(map.firstExpiry()).toBe(20);
    expect(map.get('b', 25)).toBeUndefined();
    map.delete('c');
    expect(dropped).toEqual(['a', 'b']);
    map.set('d', { expiresAt: 40 }, 0);
    map.sweep(40);
    expect(dropped).toEqual(['a', 'b', 'd']);
    expect(map.firstExpiry()).toBeUndefined();
  });
});

describe('Block1Receiver pending-bytes budgets', () => {
  it('charges blocks as they arrive and releases them on completion, rejection and replacement', () => {
    const r = new Block1Receiver(10_000, 6, 1000, 100, { total: 1e6, perSource: 1e6 });
    r.receive('k1', block(0, true), Buffer.alloc(16), undefined, 0, 'A');
    r.receive('k1', block(1, true), Buffer.alloc(16), undefined, 0, 'A');
    expect(r.pendingBytes).toBe(charged('k1', 2));
    expect(r.pendingBytesOf('A')).toBe(charged('k1', 2));
    expect(r.receive('k1', block(2, false), Buffer.alloc(3), undefined, 0, 'A').kind).toBe('complete');
    expect(r.pendingBytes).toBe(0);
    expect(r.pendingBytesOf('A')).toBe(0);

    r.receive('k2', block(0, true), Buffer.alloc(16), undefined, 0, 'A');
    expect(r.receive('k2', block(5, true), Buffer.alloc(16), undefined, 0, 'A')).toEqual({ kind: 'reject', code: '4.08' });
    expect(r.pendingBytes).toBe(0);

    r.receive('k3', block(0, true), Buffer.alloc(16), undefined, 0, 'A');
    r.receive('k3', block(1, true), Buffer.alloc(16), undefined, 0, 'A');
    r.receive('k3', block(0, true), Buffer.alloc(16), undefined, 0, 'A'); // the client restarted the body
    expect(r.pendingBytes).toBe(charged('k3', 1));
    r.clear();
    expect(r.pendingBytes).toBe(0);
    expect(r.pendingBytesOf('A')).toBe(0);
  });

  it('refuses beyond the per-source budget with 4.13 and drops that body; other sources go on', () => {
    const perSource = charged('kX', 3) + 10;
    const r = new Block1Receiver(10_000, 6, 1000, 100, { total: 1e6, perSource });
    for (let i = 0; i < 3; i++) expect(r.receive('kA', block(i, true), Buffer.alloc(16), undefined, 0, 'A').kind).toBe('continue');
    expect(r.receive('kA', block(3, true), Buffer.alloc(16), undefined, 0, 'A')).toEqual({ kind: 'over-budget', scope: 'source', code: '4.13', limit: perSource });
    expect(r.pendingBytesOf('A')).toBe(0);
    expect(r.size).toBe(0);
    expect(r.receive('kB', block(0, true), Buffer.alloc(16), undefined, 0, 'B').kind).toBe('continue');
  });

  it('refuses beyond the total with 5.03 and the seconds until the oldest body expires', () => {
    const total = charged('kA', 2) + charged('kB', 1) + 5;
    const r = new Block1Receiver(10_000, 6, 60_000, 100, { total, perSource: total });
    r.receive('kA', block(0, true), Buffer.alloc(16), undefined, 0, 'A');
    r.receive('kA', block(1, true), Buffer.alloc(16), undefined, 1000, 'A');
    r.receive('kB', block(0, true), Buffer.alloc(16), undefined, 2000, 'B');
    // kA's last block came at 1000, so it expires at 61000: 59 s from now.
    expect(r.receive('kC', block(0, true), Buffer.alloc(16), undefined, 2000, 'C')).toEqual({
      kind: 'over-budget',
      scope: 'total',
      code: '5.03',
      limit: total,
      retryAfterS: 59,
    });
    expect(r.pendingBytes).toBe(charged('kA', 2) + charged('kB', 1));
  });

  it('drops a body idle longer than the idle bound, releasing its bytes; each block restarts the clock', () => {
    const r = new Block1Receiver(10_000, 6, 1000, 100, { total: 1e6, perSource: 1e6 });
    r.receive('old', block(0, true), Buffer.alloc(16), undefined, 0, 'A');
    r.receive('busy', block(0, true), Buffer.alloc(16), undefined, 100, 'B');
    r.receive('old', block(1, true), Buffer.alloc(16), undefined, 900, 'A'); // refreshed: now the newest
    r.receive('busy', block(1, true), Buffer.alloc(16), undefined, 1050, 'B');
    r.sweep(1899);
    expect(r.size).toBe(2);
    r.sweep(1900);
    expect(r.size).toBe(1);
    expect(r.pendingBytesOf('A')).toBe(0);
    expect(r.pendingBytesOf('B')).toBe(charged('busy', 2));
    expect(r.receive('old', block(2, true), Buffer.alloc(16), undefined, 1900, 'A')).toEqual({ kind: 'reject', code: '4.08' });
    r.sweep(2050);
    expect(r.pendingBytes).toBe(0);
  });

  it('sweeps expired bodies before refusing for the total', () => {
    const total = charged('kA', 1) + 5;
    const r = new Block1Receiver(10_000, 6, 1000, 100, { total, perSource: total });
    r.receive('kA', block(0, true), Buffer.alloc(16), undefined, 0, 'A');
    expect(r.receive('kB', block(0, true), Buffer.alloc(16), undefined, 500, 'B').kind).toBe('over-budget');
    expect(r.receive('kB', block(0, true), Buffer.alloc(16), undefined, 1000, 'B').kind).toBe('continue');
  });

  it('charges each block a bookkeeping cost, so tiny blocks cannot hold more than the budget says', () => {
    const r = new Block1Receiver(1e6, 6, 1000, 100_000, { total: 64 * 1024, perSource: 64 * 1024 });
    let accepted = 0;
    for (let i = 0; i < 1000; i++) if (r.receive('k', block(i, true), Buffer.alloc(16), undefined, 0, 'A').kind === 'continue') accepted++;
    expect(accepted).toBe(Math.floor((64 * 1024 - BODY_OVERHEAD_BYTES - 1) / (16 + BLOCK_OVERHEAD_BYTES)));
  });
});

describe('CoapEndpoint Block1 budgets', () => {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
  });

  async function endpoint(maxPendingBytes: number, maxPendingBytesPerSource: number): Promise<EndpointUnderTest> {
    const e = await startEndpoint({ blockwise: { maxPendingBytes, maxPendingBytesPerSource } });
    opened.push(e);
    e.endpoint.setRequestHandler(() => ({ code: '2.04', payload: Buffer.alloc(0) }));
    return e;
  }
  async function raw(): Promise<RawSocket> {
    const r = await RawSocket.open();
    opened.push(r);
    return r;
  }
  let mid = 1;
  function blockRequest(path: string, num: number, more: boolean): Buffer {
    const messageId = mid++;
    return encodeMessage({
      type: 'CON',
      code: '0.02',
      messageId,
      token: Buffer.from([messageId & 0xff, messageId >> 8]),
      options: [
        { number: OptionNumber.UriPath, value: Buffer.from(path) },
        { number: OptionNumber.Block1, value: encodeBlock({ num, more, szx: 6 }) },
      ],
      payload: Buffer.alloc(1024, num),
    });
  }

  it('answers 4.13 with Size1 past the source budget, emitting a limit event, and releases the body', async () => {
    const perBody = (path: string, blocks: number) => BODY_OVERHEAD_BYTES + `127.0.0.1:00000 POST ${path}`.length + blocks * (1024 + BLOCK_OVERHEAD_BYTES);
    const e = await endpoint(perBody('a', 4) + 100, perBody('a', 3) + 100);
    const limits: { peer: Peer; limit: CoapLimit; code: string; detail: string }[] = [];
    e.endpoint.on('limit', (peer: Peer, limit: CoapLimit, code: string, detail: string) => limits.push({ peer, limit, code, detail }));
    const a = await raw();
    const b = await raw();
    for (let i = 0; i < 3; i++) {
      a.send(e.peer, blockRequest('a', i, true));
      expect(decodeMessage(await a.next()).code).toBe('2.31');
    }
    expect(e.endpoint.stats().pendingBytes).toBeGreaterThan(3 * 1024);
    a.send(e.peer, blockRequest('a', 3, true));
    const tooLarge = decodeMessage(await a.next());
    expect(tooLarge.code).toBe('4.13');
    expect(decodeUint(findOption(tooLarge.options, OptionNumber.Size1)!)).toBe(resolveCoapConfig().blockwise.maxBodySize);
    expect(e.endpoint.stats()).toMatchObject({ pendingBytes: 0, partialBodies: 0 });
    expect(limits).toEqual([{ peer: a.peer, limit: 'block1_pending_per_source', code: '4.13', detail: expect.stringContaining('max_pending_bytes_per_source') }]);

    // Both sockets come from 127.0.0.1: one source. Fill most of it from a, then b goes beyond.
    for (let i = 0; i < 3; i++) {
      a.send(e.peer, blockRequest('a', i, true));
      await a.next();
    }
    b.send(e.peer, blockRequest('b', 0, true));
    expect(decodeMessage(await b.next()).code).toBe('4.13');
    expect(limits).toHaveLength(2);
  });

  it('answers 5.03 with Max-Age when all sources together hold the total', async () => {
    const e = await endpoint(3000, 2000);
    const limits: string[] = [];
    e.endpoint.on('limit', (_peer: Peer, limit: CoapLimit, code: string) => limits.push(`${limit} ${code}`));
    const a = await raw();
    a.send(e.peer, blockRequest('x', 0, true));
    expect(decodeMessage(await a.next()).code).toBe('2.31');
    // Another source address (all of 127/8 is local on Linux).
    const other = dgram.createSocket('udp4');
    opened.push({ close: () => new Promise<void>((resolve) => other.close(() => resolve())) });
    await new Promise<void>((resolve) => other.bind(0, '127.0.0.2', resolve));
    const answer = new Promise<Buffer>((resolve) => other.once('message', resolve));
    other.send(blockRequest('x', 0, true), e.peer.port, e.peer.address);
    const refused = decodeMessage(await answer);
    expect(refused.code).toBe('5.03');
    // The idle bound is MAX_TRANSMIT_WAIT (93 s with the default timing): a's body expires then.
    const maxAge = decodeUint(findOption(refused.options, OptionNumber.MaxAge)!);
    expect(maxAge).toBeGreaterThanOrEqual(92);
    expect(maxAge).toBeLessThanOrEqual(93);
    expect(limits).toEqual(['block1_pending_total 5.03']);
    expect(e.endpoint.stats().partialBodies).toBe(1);
    await e.endpoint.close();
    expect(e.endpoint.stats()).toMatchObject({ pendingBytes: 0, partialBodies: 0 });
  });
});
