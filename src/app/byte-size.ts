/** A size as written in gateway.yaml: bytes as a number, or "512", "64KB", "4MB", "1GB" (EMQX's bytesize). */
export type ByteSizeInput = number | string;

// The units EMQX (hocon) accepts: all lower or all upper case, no "B" or "KiB".
const BYTE_SIZE_PATTERN = /^(\d+)(kb|KB|mb|MB|gb|GB)?$/;

// Powers of 1024, as EMQX counts them: "4MB" is 4194304 bytes, the default max_body_size.
const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
};

/** Converts a size to bytes (KB = 1024); throws RangeError when malformed or beyond 2^53 - 1. */
export function parseByteSize(value: ByteSizeInput): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`invalid size: ${value} (expected a whole number of bytes)`);
    return value;
  }
  const match = BYTE_SIZE_PATTERN.exec(value);
  if (!match) throw new RangeError(`invalid size: "${value}" (expected bytes or a string such as "64KB", "4MB", "1GB")`);
  const bytes = Number(match[1]) * (match[2] === undefined ? 1 : BYTES_PER_UNIT[match[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`invalid size: "${value}" is too large`);
  return bytes;
}
