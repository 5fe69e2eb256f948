import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { InFlightLimit } from '../limits/in-flight-limit';
import { LogThrottle } from '../limits/log-throttle';

/** What a download token stands for: the image's bytes and digest. */
export interface FirmwareDownload {
  readonly bytes: Buffer;
  /** SHA-256 of `bytes`, hex: the ETag, so that a device resuming with If-Range gets a changed image whole. */
  readonly sha256: string;
}

/**
 * The job layer's answer to "which image does this token stand for, for this peer": undefined for an
 * unknown, expired or (for this peer) foreign token. Called for every well-formed token, so it should
 * be a table look-up (its time must not depend on how close a guess is).
 */
export type FirmwareDownloadLookup = (token: string, peerAddress: string) => FirmwareDownload | undefined | Promise<FirmwareDownload | undefined>;

export interface FirmwareHttpServerOptions {
  readonly bind: { readonly host: string; readonly port: number };
  /** HTTPS with this certificate (and chain in `ca`); plain HTTP without. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer };
  /** Connections served at once, from all sources. */
  readonly maxConnections: number;
  /** Connections served at once from one source address. */
  readonly maxConnectionsPerSource: number;
  readonly log: Logger;
  readonly lookup: FirmwareDownloadLookup;
  /** A GET's body was handed to the socket in full: `bytesSent` is its length (a range's, when resumed). */
  readonly onServed?: (token: string, bytesSent: number, peerAddress: string) => void;
}

/** A download path is `/fw/<token>`; tokens are the job layer's, URL-safe base64 or hex. */
export const DOWNLOAD_PATH_PREFIX = '/fw/';
export const MAX_TOKEN_LENGTH = 128;
/** A download URL is short; anything longer is refused before any look-up. */
export const MAX_URL_LENGTH = 512;
/** Seconds a device refused for too many connections is asked to wait. */
export const RETRY_AFTER_SECONDS = 30;
/**
 * Connections past the limits still accepted, only to be answered 503 and closed (a device then
 * knows to retry later rather than seeing a reset); beyond this many Node drops new ones at once.
 */
const OVERFLOW_CONNECTIONS = 64;
/** A slow client cannot hold a connection (slowloris): the request line and headers within 10 s... */
const HEADERS_TIMEOUT_MS = 10_000;
/** ...the whole request within 30 s... */
const REQUEST_TIMEOUT_MS = 30_000;
/** ...an idle keep-alive connection closes after 5 s... */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * ...and a connection on which no byte moved for 60 s is destroyed: a constrained device may download
 * slowly, but one that stops reading must not hold its slot for ever.
 */
const SOCKET_IDLE_TIMEOUT_MS = 60_000;
/** Request headers are a few hundred bytes for a download. */
const MAX_HEADER_BYTES = 8 * 1024;

const TOKEN = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_TOKEN_LENGTH}}$`);
const SINGLE_RANGE = /^bytes=(\d{1,15})-(\d{0,15})$/i;
const SUFFIX_RANGE = /^bytes=-(\d{1,15})$/i;
const ALLOWED_METHODS = 'GET, HEAD';

type ByteRange = { readonly start: number; readonly end: number } | 'unsatisfiable' | undefined;

/**
 * Which part of a `size`-byte image a Range header asks for: a range (end inclusive), 'unsatisfiable',
 * or undefined for the whole image. Only one range is served (what a device resuming a download asks
 * for); several ranges, other units and malformed headers are ignored, as RFC 9110 §14.2 allows.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return undefined;
  const text = header.trim();
  const single = SINGLE_RANGE.exec(text);
  if (single) {
    const start = Number(single[1]);
    const last = single[2] === '' ? undefined : Number(single[2]);
    if (last !== undefined && last < start) return undefined;
    if (start >= size) return 'unsatisfiable';
    return { start, end: Math.min(last ?? size - 1, size - 1) };
  }
  const suffix = SUFFIX_RANGE.exec(text);
  if (suffix) {
    const length = Number(suffix[1]);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  return undefined;
}

/** An IPv4 peer on a dual-stack socket is counted (and looked up) by its IPv4 address. */
function sourceAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer`);
  return value;
}

/**
 * Serves firmware images for pull updates (`GET`/`HEAD /fw/<token>`, Range for resumed downloads) over
 * HTTP or HTTPS. Plain node:http rather than fastify (the management plane's): one route, no JSON, no
 * authentication (the token is the credential), and control over each connection (per-source limits
 * answered 503) is simpler without a framework in between. Every 404 is the same answer whatever the
 * reason, so that the server is no oracle for tokens; tokens are never logged.
 */
export class FirmwareHttpServer {
  private readonly server: http.Server | https.Server;
  private readonly slots: InFlightLimit;
  /** Connections accepted past a limit: their one request is answered 503. */
  private readonly overLimit = new WeakSet<Socket>();
  /** Every open connection (bounded by server.maxConnections), destroyed by close(). */
  private readonly sockets = new Set<Socket>();
  private readonly refusalLog = new LogThrottle(10_000);

  constructor(private readonly options: FirmwareHttpServerOptions) {
    const { bind, tls } = options;
    if (typeof bind?.host !== 'string' || bind.host === '') throw new RangeError('bind.host must be a non-empty string');
    if (!Number.isSafeInteger(bind.port) || bind.port < 0 || bind.port > 65535) throw new RangeError('bind.port must be an integer 0..65535');
    const maxConnections = positiveInteger('maxConnections', options.maxConnections);
    this.slots = new InFlightLimit(maxConnections, positiveInteger('maxConnectionsPerSource', options.maxConnectionsPerSource));

    const serverOptions: http.ServerOptions = {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    };
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.handle(req, res).catch((error: unknown) => {
        options.log.error({ err: error instanceof Error ? error.message : String(error) }, 'firmware download failed');
        if (!res.headersSent) this.answer(res, 500, 'internal error');
        else res.destroy();
      });
    };
    this.server = tls
      ? https.createServer(
          // A handshake left hanging holds a connection without counting against any source: 10 s, not Node's 120 s.
          { ...serverOptions, cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), minVersion: 'TLSv1.2', handshakeTimeout: HEADERS_TIMEOUT_MS },
          onRequest,
        )
      : http.createServer(serverOptions, onRequest);
    this.server.maxConnections = maxConnections + OVERFLOW_CONNECTIONS;
    // With no 'timeout' listener on the server, Node destroys the idle socket.
    this.server.setTimeout(SOCKET_IDLE_TIMEOUT_MS);

    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    // Counted where requests arrive: on HTTPS that is the TLS socket, once its handshake is done.
    this.server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => this.admit(socket));
  }

  /** Listens; resolves with the bound port (useful with port 0). */
  start(): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.options.bind.port, this.options.bind.host, () => {
        this.server.off('error', onError);
        // Later errors (an accept failing for want of file descriptors) are logged, not thrown at the process.
        this.server.on('error', (error: Error) => this.options.log.error({ err: error.message }, 'firmware download server error'));
        const address = this.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : this.options.bind.port;
        this.options.log.info({ host: this.options.bind.host, port, tls: this.options.tls !== undefined }, 'firmware download server listening');
        resolve({ port });
      });
    });
  }

  /** Stops listening and ends every connection, idle or in the middle of a download. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        for (const socket of this.sockets) socket.destroy();
        resolve();
        return;
      }
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  /** Connections being served (not counting those accepted only to be refused). */
  get connections(): number {
    return this.slots.inFlight;
  }

  private admit(socket: Socket): void {
    const source = sourceAddress(socket);
    const refused = this.slots.enter(source);
    if (refused === undefined) {
      socket.once('close', () => this.slots.leave(source));
      return;
    }
    this.overLimit.add(socket);
    // It gets one answer: no reason to wait long for its request.
    socket.setTimeout(HEADERS_TIMEOUT_MS, () => socket.destroy());
    const admitted = this.refusalLog.admit(source);
    if (admitted) {
      const limit = refused === 'total' ? 'maxConnections' : 'maxConnectionsPerSource';
      this.options.log.warn({ peer: source, limit, suppressed: admitted.suppressed || undefined }, 'firmware download connection refused: limit reached');
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    if (this.overLimit.has(req.socket)) {
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      return this.answer(res, 503, 'too many connections; retry later', true);
    }
    const url = req.url ?? '';
    if (url.length > MAX_URL_LENGTH) return this.answer(res, 414, 'URI too long', true);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', ALLOWED_METHODS);
      return this.answer(res, 405, 'method not allowed', true);
    }
    // A download has no body; one would have to be read (or the connection dropped) to go on.
    const contentLength = req.headers['content-length'];
    if (req.headers['transfer-encoding'] !== undefined || (contentLength !== undefined && contentLength !== '0')) {
      return this.answer(res, 413, 'a download request has no body', true);
    }
    const path = url.split('?', 1)[0];
    const token = path.startsWith(DOWNLOAD_PATH_PREFIX) ? path.slice(DOWNLOAD_PATH_PREFIX.length) : '';
    const peer = sourceAddress(req.socket);
    const download = TOKEN.test(token) ? await this.options.lookup(token, peer) : undefined;
    if (download === undefined) return this.answer(res, 404, 'not found');
    if (res.destroyed) return;
    this.serve(req, res, token, peer, download);
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse, token: string, peer: string, download: FirmwareDownload): void {
    const { bytes } = download;
    const etag = `"${download.sha256}"`;
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    const ifRange = req.headers['if-range'];
    // A device resuming against another version of the image gets it whole (If-Range with our ETag only).
    const range = ifRange === undefined || (typeof ifRange === 'string' && ifRange.trim() === etag) ? parseByteRange(req.headers.range, bytes.length) : undefined;
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${bytes.length}`);
      return this.answer(res, 416, 'range not satisfiable');
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? bytes.length - 1;
    const length = end - start + 1;
    res.statusCode = range ? 206 : 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', length);
    if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${bytes.length}`);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const onServed = this.options.onServed;
    if (onServed) {
      res.once('finish', () => {
        try {
          onServed(token, length, peer);
        } catch (error) {
          this.options.log.error({ err: error instanceof Error ? error.message : String(error) }, 'firmware download: onServed failed');
        }
      });
    }
    res.end(bytes.subarray(start, end + 1));
  }

  /** A short text answer; `close` ends the connection after it (a refusal, or a request we will not read on from). */
  private answer(res: http.ServerResponse, status: number, text: string, close = false): void {
    const body = `${text}\n`;
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    if (close) res.setHeader('Connection', 'close');
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }
}
