import { readBoundedBody } from '../../../src/limits/bounded-body';

describe('readBoundedBody', () => {
  it('reads a body up to the limit, bytes as they are', async () => {
    const body = Buffer.from([0, 255, 128, 10]);
    expect((await readBoundedBody(new Response(body), 4))?.equals(body)).toBe(true);
    expect(await readBoundedBody(new Response(null), 4)).toEqual(Buffer.alloc(0));
  });

  it('gives up past the limit and cancels the rest of the stream', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(1024)),
      cancel: () => {
        cancelled = true;
      },
    });
    expect(await readBoundedBody(new Response(stream), 4096)).toBeUndefined();
    expect(cancelled).toBe(true);
  });
});
