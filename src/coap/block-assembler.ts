export type BlockAppendResult = 'ok' | 'out-of-order' | 'too-large';

/**
 * Collects the blocks of one body (RFC 7959) in order: each block must start where the previous
 * ended (offsets, not block numbers, so that a change of block size mid-transfer works).
 */
export class BlockAssembler {
  private readonly parts: Buffer[] = [];
  private received = 0;

  constructor(private readonly maxBodySize: number) {}

  /** Bytes received so far: the offset where the next block must start. */
  get length(): number {
    return this.received;
  }

  append(offset: number, data: Buffer): BlockAppendResult {
    if (offset !== this.received) return 'out-of-order';
    if (this.received + data.length > this.maxBodySize) return 'too-large';
    this.parts.push(data);
    this.received += data.length;
    return 'ok';
  }

  body(): Buffer {
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.received);
  }
}
