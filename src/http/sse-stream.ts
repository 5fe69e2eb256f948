import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface SseStreamOptions {
  /** Bytes the stream may have waiting to be written (beyond what the kernel took); beyond it the stream is dropped. */
  readonly maxBuffered: number;
  /** Told once when the stream is dropped for its backlog, with why (before `closed` listeners). */
  readonly onDrop: (reason: string) => void;
}

/**
 * One Server-Sent Events stream over the socket of a hijacked HTTP response. Writes go straight to
 * the socket (no chunked framing: the body ends with the connection), so a write never waits and
 * the socket's unwritten bytes are exactly what the peer has not taken: a peer that stops reading is
 * dropped as soon as they pass `maxBuffered`, and nothing more queues for it.
 */
export class SseStream {
  /** The peer, as `address:port`, for log lines. */
  readonly remote: string;
  private readonly socket: Socket;
  private ended = false;
  private readonly closeListeners: (() => void)[] = [];

  private constructor(
    res: ServerResponse,
    private readonly options: SseStreamOptions,
  ) {
    this.socket = res.socket as Socket;
    const address = this.socket.remoteAddress ?? 'unknown';
    this.remote = `${address.includes(':') ? `[${address}]` : address}:${this.socket.remotePort ?? 0}`;
    this.socket.once('close', () => this.finish());
    this.socket.on('error', () => this.socket.destroy());
  }

  /**
   * Answers the request with the stream's head and returns the stream, or undefined when the socket
   * is already gone. `headers` are added to the SSE ones (content type, no caching, no proxy buffering).
   */
  static open(res: ServerResponse, options: SseStreamOptions, headers: Readonly<Record<string, string>> = {}): SseStream | undefined {
    const lines = ['HTTP/1.1 200 OK', 'content-type: text/event-stream; charset=utf-8', 'cache-control: no-cache', 'x-accel-buffering: no', 'connection: close'];
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new RangeError(`header ${JSON.stringify(name)} has a line break`);
      lines.push(`${name}: ${value}`);
    }
    const socket = res.socket;
    if (!socket || socket.destroyed) return undefined;
    const stream = new SseStream(res, options);
    stream.write(`${lines.join('\r\n')}\r\n\r\n`);
    return stream;
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Writes one event (text from formatSseEvent), shared between streams; false when the stream is closed or just dropped. */
  send(event: Buffer | string): boolean {
    return this.write(event);
  }

  /** A comment line (`: text`), which keeps proxies and the peer from timing the stream out. */
  comment(text: string): boolean {
    return this.write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  /** Ends the stream (the peer sees the body end). */
  close(): void {
    if (this.ended) return;
    this.socket.end();
    this.finish();
  }

  /** `listener` runs once when the stream ends, whoever ended it. */
  onClose(listener: () => void): void {
    if (this.ended) listener();
    else this.closeListeners.push(listener);
  }

  private write(data: Buffer | string): boolean {
    if (this.ended) return false;
    this.socket.write(data);
    // What the kernel did not take stays in the socket: the peer is not reading.
    const waiting = this.socket.writableLength;
    if (waiting > this.options.maxBuffered) {
      this.options.onDrop(`${waiting} bytes unread, more than ${this.options.maxBuffered} (http.events.max_buffered)`);
      this.socket.destroy();
      this.finish();
      return false;
    }
    return true;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}

/**
 * One event's text: `id`, `event` and the data, one `data:` line per line of it (a line break in
 * the data would otherwise end the field). Built once and sent to every stream that wants it.
 */
export function formatSseEvent(id: number, event: string, data: string): Buffer {
  if (/[\r\n]/.test(event)) throw new RangeError('an event name has no line break');
  const body = /[\r\n]/.test(data) ? data.split(/\r\n|\r|\n/).join('\ndata: ') : data;
  return Buffer.from(`id: ${id}\nevent: ${event}\ndata: ${body}\n\n`, 'utf8');
}
