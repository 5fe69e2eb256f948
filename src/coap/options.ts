/** Option numbers and option value encodings (RFC 7252 §5.10, RFC 7641, RFC 7959). */

export const OptionNumber = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  Oscore: 9,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  HopLimit: 16,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  NoResponse: 258,
} as const;

/** A raw option as it appears on the wire. */
export interface CoapOption {
  number: number;
  value: Buffer;
}

/** Odd option numbers are critical: a recipient that does not understand one must reject the message (§5.4.1). */
export function isCriticalOption(number: number): boolean {
  return (number & 1) === 1;
}

const EMPTY = Buffer.alloc(0);

/** Minimal-length big-endian unsigned integer (§3.2: zero is the empty value). */
export function encodeUint(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`uint option value out of range: ${value}`);
  }
  if (value === 0) return EMPTY;
  const length = value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x1000000 ? 3 : 4;
  const buf = Buffer.allocUnsafe(length);
  buf.writeUIntBE(value, 0, length);
  return buf;
}

/** Decodes a uint option value; -1 when it is longer than 4 bytes (not a valid uint option). */
export function decodeUint(value: Buffer): number {
  if (value.length === 0) return 0;
  if (value.length > 4) return -1;
  return value.readUIntBE(0, value.length);
}

/** Block1/Block2 option value: block number, more flag and size exponent (RFC 7959 §2.2). */
export interface BlockValue {
  num: number;
  more: boolean;
  /** Block size is 2^(szx+4): 0 → 16 bytes … 6 → 1024 bytes. */
  szx: number;
}

export const MAX_SZX = 6;
const MAX_BLOCK_NUM = 0xfffff; // 20 bits in a 3-byte value

export function blockSize(szx: number): number {
  return 1 << (szx + 4);
}

/** The SZX for a block size; throws unless size is a power of two in 16..1024. */
export function szxForSize(size: number): number {
  for (let szx = 0; szx <= MAX_SZX; szx++) if (blockSize(szx) === size) return szx;
  throw new RangeError(`block size must be a power of two between 16 and 1024, got ${size}`);
}

export function encodeBlock(block: BlockValue): Buffer {
  if (block.num < 0 || block.num > MAX_BLOCK_NUM || block.szx < 0 || block.szx > MAX_SZX) {
    throw new RangeError(`invalid block ${block.num}/${block.szx}`);
  }
  return encodeUint((block.num << 4) | (block.more ? 8 : 0) | block.szx);
}

/** Decodes a block option; undefined when longer than 3 bytes or SZX is the reserved 7 (→ 4.00). */
export function decodeBlock(value: Buffer): BlockValue | undefined {
  if (value.length > 3) return undefined;
  const raw = decodeUint(value);
  const szx = raw & 7;
  if (szx === 7) return undefined;
  return { num: raw >>> 4, more: (raw & 8) !== 0, szx };
}
