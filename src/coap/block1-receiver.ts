import { BlockAssembler } from './block-assembler';
import { ExpiringMap } from './expiring-map';
import { type BlockValue, blockSize } from './options';

interface PartialBody {
  expiresAt: number;
  assembler: BlockAssembler;
}

export type Block1Outcome =
  /** Answer 2.31 Continue with this Block1. */
  | { kind: 'continue'; echo: BlockValue }
  /** Last block: the handler gets the whole body; the final response echoes this Block1. */
  | { kind: 'complete'; body: Buffer; echo: BlockValue }
  /** 4.08 (missing/out-of-order block), 4.13 (too large; answer with Size1), 4.00 (bad block size). */
  | { kind: 'reject'; code: '4.00' | '4.08' | '4.13' };

/**
 * Server side of a block-wise request body (RFC 7959 §2.3): partial bodies keyed by the caller
 * (peer + method + path), dropped after the exchange lifetime.
 */
export class Block1Receiver {
  private readonly partial: ExpiringMap<PartialBody>;

  constructor(
    private readonly maxBodySize: number,
    private readonly maxSzx: number,
    private readonly lifetimeMs: number,
    capacity: number,
  ) {
    this.partial = new ExpiringMap<PartialBody>(capacity);
  }

  get size(): number {
    return this.partial.size;
  }

  /**
   * One block arrives. `announcedSize` is the Size1 option, if any.
   */
  receive(key: string, block: BlockValue, data: Buffer, announcedSize: number | undefined, now: number): Block1Outcome {
    const size = blockSize(block.szx);
    let body: PartialBody | undefined;
    if (block.num === 0) {
      if (announcedSize !== undefined && announcedSize > this.maxBodySize) {
        this.partial.delete(key);
        return { kind: 'reject', code: '4.13' };
      }
      body = { expiresAt: now + this.lifetimeMs, assembler: new BlockAssembler(this.maxBodySize) };
      this.partial.set(key, body, now);
    } else {
      body = this.partial.get(key, now);
      if (!body) return { kind: 'reject', code: '4.08' };
    }
    // Every block but the last is exactly the announced size, else offsets would be ambiguous.
    if (block.more && data.length !== size) {
      this.partial.delete(key);
      return { kind: 'reject', code: '4.00' };
    }
    const result = body.assembler.append(block.num * size, data);
    if (result !== 'ok') {
      this.partial.delete(key);
      return { kind: 'reject', code: result === 'too-large' ? '4.13' : '4.08' };
    }
    // Echo the block; ask for smaller blocks from now on if ours are smaller (§2.5: the client
    // continues at the offset it reached, in units of our size).
    const echo: BlockValue = { num: block.num, more: block.more, szx: Math.min(block.szx, this.maxSzx) };
    if (block.more) return { kind: 'continue', echo };
    this.partial.delete(key);
    return { kind: 'complete', body: body.assembler.body(), echo };
  }

  sweep(now: number): void {
    this.partial.sweep(now);
  }

  clear(): void {
    this.partial.clear();
  }
}
