/**
 * An HTTP response body read to its end, or undefined (and the rest cancelled) once it passes
 * `limit` bytes: an answer larger than expected is never held in memory. Reading to the end (or
 * cancelling) also hands the connection back to the pool.
 */
export async function readBoundedBody(res: Response, limit: number): Promise<Buffer | undefined> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
