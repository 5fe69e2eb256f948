import { type BlockValue, blockSize } from './options';

export type Block2Slice = { block: BlockValue; data: Buffer } | 'out-of-range' | undefined;

/**
 * The part of a response body to send (RFC 7959 §2.4): the block the client asked for, in the
 * smaller of its size and ours; or, unasked, block 0 when the body exceeds our block size.
 * undefined: send the body whole. 'out-of-range': the client asked for a block past the end.
 * Stateless: a later block is cut from the handler's fresh answer, so no response is cached.
 */
export function sliceBlock2(body: Buffer, requested: BlockValue | undefined, maxSzx: number): Block2Slice {
  let szx: number;
  let offset: number;
  if (requested) {
    szx = Math.min(requested.szx, maxSzx);
    offset = requested.num * blockSize(requested.szx);
  } else {
    if (body.length <= blockSize(maxSzx)) return undefined;
    szx = maxSzx;
    offset = 0;
  }
  const size = blockSize(szx);
  if (offset > 0 && offset >= body.length) return 'out-of-range';
  const end = Math.min(offset + size, body.length);
  return { block: { num: offset / size, more: end < body.length, szx }, data: body.subarray(offset, end) };
}
