/** mulberry32: a small seeded PRNG, so that a failing fuzz run can be replayed. Values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` random bytes. */
export function randomBytes(next: () => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(next() * 256)));
}

/** One to three edits of a seed payload: overwrite, insert or delete a byte, or truncate. */
export function mutateBytes(next: () => number, seed: Buffer): Buffer {
  const bytes = [...seed];
  const edits = 1 + Math.floor(next() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (bytes.length + 1));
    switch (Math.floor(next() * 4)) {
      case 0:
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = Math.floor(next() * 256);
        break;
      case 1:
        bytes.splice(at, 0, Math.floor(next() * 256));
        break;
      case 2:
        bytes.splice(at, 1);
        break;
      default:
        bytes.length = Math.min(bytes.length, at);
    }
  }
  return Buffer.from(bytes);
}
