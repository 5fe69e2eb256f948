import { BlockAssembler } from './block-assembler';
import { ExpiringMap } from './expiring-map';
import { type BlockValue, blockSize } from './options';

/**
 * What a held block costs beyond its payload (its Buffer view and the datagram allocation it keeps,
 * measured at ~200 bytes on Node 20), and what a body costs beyond its blocks (entry, assembler,
 * key). Charged against the pending-bytes budgets so that tiny blocks cannot hold far more memory
 * than the budget says.
 */
export const BLOCK_OVERHEAD_BYTES = 256;
export const BODY_OVERHEAD_BYTES = 512;

interface PartialBody {
  expiresAt: number;
  /** The source address whose budget the body is charged to. */
  readonly source: string;
  /** Bytes charged so far (payload plus overheads). */
  charged: number;
  readonly assembler: BlockAssembler;
}

/** Budgets of unfinished bodies, in bytes as charged (see BLOCK_OVERHEAD_BYTES). */
export interface PendingBudget {
  total: number;
  perSource: number;
}

export type Block1Outcome =
  /** Answer 2.31 Continue with this Block1. */
  | { kind: 'continue'; echo: BlockValue }
  /** Last block: the handler gets the whole body; the final response echoes this Block1. */
  | { kind: 'complete'; body: Buffer; echo: BlockValue }
  /** 4.08 (missing/out-of-order block), 4.13 (too large; answer with Size1), 4.00 (bad block size). */
  | { kind: 'reject'; code: '4.00' | '4.08' | '4.13' }
  /**
   * A pending-bytes budget is spent and the body was dropped: the source's (4.13) or everyone's
   * (5.03, retry after `retryAfterS`, when the oldest unfinished body expires at the latest).
   */
  | { kind: 'over-budget'; scope: 'source'; code: '4.13'; limit: number }
  | { kind: 'over-budget'; scope: 'total'; code: '5.03'; limit: number; retryAfterS: number };

/**
 * Server side of a block-wise request body (RFC 7959 §2.3): partial bodies keyed by the caller
 * (peer + method + path). A body is dropped when no block came for `idleMs` (each block restarts
 * the clock). The bytes held are charged to the source address and to a total, both bounded.
 */
export class Block1Receiver {
  private readonly partial: ExpiringMap<PartialBody>;
  private readonly bySource = new Map<string, number>();
  private pending = 0;

  constructor(
    private readonly maxBodySize: number,
    private readonly maxSzx: number,
    private readonly idleMs: number,
    capacity: number,
    private readonly budget: PendingBudget = { total: Infinity, perSource: Infinity },
  ) {
    this.partial = new ExpiringMap<PartialBody>(capacity, (_key, body) => this.release(body));
  }

  get size(): number {
    return this.partial.size;
  }

  /** Bytes charged to unfinished bodies, all sources together. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Bytes charged to unfinished bodies from one source address. */
  pendingBytesOf(source: string): number {
    return this.bySource.get(source) ?? 0;
  }

  /**
   * One block arrives. `announcedSize` is the Size1 option, if any; `source` is the peer's address,
   * whose budget the body is charged to.
   */
  receive(key: string, block: BlockValue, data: Buffer, announcedSize: number | undefined, now: number, source = ''): Block1Outcome {
    const size = blockSize(block.szx);
    let body: PartialBody | undefined;
    if (block.num === 0) {
      // A new body replaces an unfinished one of the same key (the client restarted).
      const previous = this.partial.get(key, now);
      if (previous) this.drop(key, previous);
      if (announcedSize !== undefined && announcedSize > this.maxBodySize) return { kind: 'reject', code: '4.13' };
      body = { expiresAt: 0, source, charged: 0, assembler: new BlockAssembler(this.maxBodySize) };
      const refused = this.charge(body, BODY_OVERHEAD_BYTES + key.length, now);
      if (refused) return refused;
    } else {
      body = this.partial.get(key, now);
      if (!body) return { kind: 'reject', code: '4.08' };
    }
    // Every block but the last is exactly the announced size, else offsets would be ambiguous.
    if (block.more && data.length !== size) {
      this.drop(key, body);
      return { kind: 'reject', code: '4.00' };
    }
    const refused = this.charge(body, data.length + BLOCK_OVERHEAD_BYTES, now);
    if (refused) {
      this.drop(key, body);
      return refused;
    }
    const result = body.assembler.append(block.num * size, data);
    if (result !== 'ok') {
      this.drop(key, body);
      return { kind: 'reject', code: result === 'too-large' ? '4.13' : '4.08' };
    }
    // Echo the block; ask for smaller blocks from now on if ours are smaller (§2.5: the client
    // continues at the offset it reached, in units of our size).
    const echo: BlockValue = { num: block.num, more: block.more, szx: Math.min(block.szx, this.maxSzx) };
    if (!block.more) {
      this.drop(key, body);
      return { kind: 'complete', body: body.assembler.body(), echo };
    }
    // Re-inserting moves the body to the back: every entry lives idleMs after its last block, so
    // insertion order stays expiry order.
    body.expiresAt = now + this.idleMs;
    this.partial.set(key, body, now);
    return { kind: 'continue', echo };
  }

  sweep(now: number): void {
    this.partial.sweep(now);
  }

  clear(): void {
    this.partial.clear();
    this.bySource.clear();
    this.pending = 0;
  }

  /** Charges `bytes` to the body and its source, or says which budget refuses them (nothing charged). */
  private charge(body: PartialBody, bytes: number, now: number): Block1Outcome | undefined {
    if (this.overBudget(body.source, bytes)) {
      // Expired bodies not swept yet may be what fills a budget: sweep, then judge again.
      this.partial.sweep(now);
      if ((this.bySource.get(body.source) ?? 0) + bytes > this.budget.perSource) {
        return { kind: 'over-budget', scope: 'source', code: '4.13', limit: this.budget.perSource };
      }
      if (this.pending + bytes > this.budget.total) {
        const oldest = this.partial.firstExpiry() ?? now + this.idleMs;
        return { kind: 'over-budget', scope: 'total', code: '5.03', limit: this.budget.total, retryAfterS: Math.max(1, Math.ceil((oldest - now) / 1000)) };
      }
    }
    body.charged += bytes;
    this.pending += bytes;
    this.bySource.set(body.source, (this.bySource.get(body.source) ?? 0) + bytes);
    return undefined;
  }

  private overBudget(source: string, bytes: number): boolean {
    return this.pending + bytes > this.budget.total || (this.bySource.get(source) ?? 0) + bytes > this.budget.perSource;
  }

  /** Forgets a body (the map holds it under `key` or not at all) and releases its bytes. */
  private drop(key: string, body: PartialBody): void {
    this.partial.delete(key);
    this.release(body);
  }

  /** Returns a body's bytes to the budgets (once: the body is left with nothing charged). */
  private release(body: PartialBody): void {
    if (body.charged === 0) return;
    this.pending -= body.charged;
    const left = (this.bySource.get(body.source) ?? 0) - body.charged;
    if (left > 0) this.bySource.set(body.source, left);
    else this.bySource.delete(body.source);
    body.charged = 0;
  }
}
