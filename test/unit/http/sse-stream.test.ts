/** The SSE writer over a real node:http server and real sockets. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { formatSseEvent, SseStream } from '../../../src/http/sse-stream';

describe('formatSseEvent', () => {
  it('writes id, event and data, and ends with a blank line', () => {
    expect(formatSseEvent(7, 'notify', '{"a":1}').toString()).toBe('id: 7\nevent: notify\ndata: {"a":1}\n\n');
  });

  it('splits data with line breaks over data lines (a bare line break would end the field)', () => {
    expect(formatSseEvent(1, 'x', 'a\nb\r\nc\rd').toString()).toBe('id: 1\nevent: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('refuses an event name with a line break', () => {
    expect(() => formatSseEvent(1, 'a\nevent: b', '{}')).toThrow(RangeError);
  });
});

describe('SseStream', () => {
  let server: http.Server;
  let port: number;
  let streams: SseStream[];
  let drops: string[];
  let maxBuffered: number;
  let headers: Record<string, string>;

  beforeEach(async () => {
    streams = [];
    drops = [];
    maxBuffered = 1024;
    headers = {};
    server = http.createServer((_req, res) => {
      const stream = SseStream.open(res, { maxBuffered, onDrop: (reason) => drops.push(reason) }, headers);
      if (stream) streams.push(stream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const s of streams) s.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Opens a stream and reads it until `until` holds of the text so far (or the body ends). */
  function read(until: (text: string) => boolean): Promise<{ res: http.IncomingMessage; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (until(text)) {
            req.destroy();
            resolve({ res, text });
          }
        });
        res.on('end', () => resolve({ res, text }));
      });
      req.on('error', reject);
    });
  }

  async function opened(): Promise<SseStream> {
    while (streams.length === 0) await new Promise((r) => setTimeout(r, 5));
    return streams[streams.length - 1];
  }

  it('answers 200 with the SSE headers, then events and comments as written; close() ends the body', async () => {
    headers = { 'x-extra': 'yes' };
    const reading = read(() => false);
    const stream = await opened();
    expect(stream.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(stream.send(formatSseEvent(1, 'a', '{}'))).toBe(true);
    expect(stream.comment('keep\nalive')).toBe(true);
    stream.close();
    expect(stream.isOpen).toBe(false);
    expect(stream.send('late')).toBe(false);
    const { res, text } = await reading;
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', 'x-extra': 'yes' });
    expect(text).toBe('id: 1\nevent: a\ndata: {}\n\n: keep alive\n\n');
  });

  it('close listeners run once when the peer goes away', async () => {
    const reading = read((text) => text.includes('\n\n'));
    const stream = await opened();
    let closed = 0;
    stream.onClose(() => closed++);
    stream.send(formatSseEvent(1, 'a', '{}'));
    await reading; // the client destroys its end
    while (stream.isOpen) await new Promise((r) => setTimeout(r, 5));
    expect(closed).toBe(1);
    stream.close();
    stream.onClose(() => closed++); // already closed: at once
    expect(closed).toBe(2);
    expect(drops).toEqual([]);
  });

  it('a peer that does not read is dropped once its unwritten bytes pass maxBuffered, onDrop told once with why', async () => {
    const slow = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.pause();
    slow.on('error', () => undefined);
    slow.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const stream = await opened();
    let closed = false;
    stream.onClose(() => (closed = true));
    const event = formatSseEvent(1, 'big', JSON.stringify('x'.repeat(64 * 1024)));
    let writes = 0;
    while (stream.send(event)) {
      writes++;
      if (writes > 10_000) throw new Error('never dropped');
      // Let the kernel take what it will, as between real events.
      if (writes % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(closed).toBe(true);
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatch(/^\d+ bytes unread, more than 1024 \(http\.events\.max_buffered\)$/);
    expect(stream.send(event)).toBe(false);
    slow.destroy();
  });

  it('refuses a header with a line break (no header injection)', async () => {
    headers = { 'x-bad': 'a\r\nset-cookie: b' };
    const errors: unknown[] = [];
    server.removeAllListeners('request');
    server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      try {
        SseStream.open(res, { maxBuffered, onDrop: () => undefined }, headers);
      } catch (err) {
        errors.push(err);
        res.socket?.destroy();
      }
    });
    await read(() => false).catch(() => undefined);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
  });
});
