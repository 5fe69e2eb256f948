import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import pino from 'pino';
import { FirmwareHttpServer, parseByteRange, type FirmwareDownload, type FirmwareHttpServerOptions } from '../../../src/app/firmware-http-server';

const FIXTURES = join(__dirname, '../../fixtures/dtls');
const CA = readFileSync(join(FIXTURES, 'ca.pem'));
const CERT = readFileSync(join(FIXTURES, 'server.pem'));
const KEY = readFileSync(join(FIXTURES, 'server.key.pem'));

const TOKEN = 'tok_0123456789abcdefABCDEF-xyz';
const IMAGE = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
const IMAGE_SHA = createHash('sha256').update(IMAGE).digest('hex');

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Harness {
  server: FirmwareHttpServer;
  port: number;
  logLines: string[];
  served: Array<{ token: string; bytesSent: number; peer: string }>;
  lookups: Array<{ token: string; peer: string }>;
}

const running: FirmwareHttpServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function startServer(overrides: Partial<FirmwareHttpServerOptions> = {}, images: Record<string, FirmwareDownload> = { [TOKEN]: { bytes: IMAGE, sha256: IMAGE_SHA } }): Promise<Harness> {
  const logLines: string[] = [];
  const served: Harness['served'] = [];
  const lookups: Harness['lookups'] = [];
  const server = new FirmwareHttpServer({
    bind: { host: '127.0.0.1', port: 0 },
    maxConnections: 16,
    maxConnectionsPerSource: 4,
    log: pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) }),
    lookup: (token, peer) => {
      lookups.push({ token, peer });
      return images[token];
    },
    onServed: (token, bytesSent, peer) => served.push({ token, bytesSent, peer }),
    ...overrides,
  });
  running.push(server);
  const { port } = await server.start();
  return { server, port, logLines, served, lookups };
}

function request(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string; secure?: boolean; localAddress?: string } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const common = { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false as const, localAddress: options.localAddress };
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    };
    const req = options.secure ? https.request({ ...common, ca: CA, servername: 'localhost' }, onResponse) : http.request(common, onResponse);
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Everything a raw connection receives until the server closes it. */
function rawUntilClosed(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(text);
  });
}

function connect(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** A keep-alive connection the server has answered once (so it is surely counted), left open. */
async function heldConnection(port: number, localAddress: string): Promise<net.Socket> {
  const socket = await connect(port, localAddress);
  const head = await new Promise<string>((resolve, reject) => {
    let text = '';
    const onData = (c: Buffer): void => {
      text += c.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(`HEAD /fw/${TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
  expect(head).toMatch(/^HTTP\/1\.1 200 /);
  return socket;
}

/** The headers that must not differ between two 404s (Date may). */
function comparable(res: Response): unknown {
  const { date: _date, ...headers } = res.headers;
  return { status: res.status, headers, body: res.body.toString() };
}

describe('parseByteRange', () => {
  it.each([
    ['bytes=0-', 10, { start: 0, end: 9 }],
    ['bytes=3-', 10, { start: 3, end: 9 }],
    ['bytes=3-5', 10, { start: 3, end: 5 }],
    ['bytes=3-500', 10, { start: 3, end: 9 }],
    ['BYTES=9-9', 10, { start: 9, end: 9 }],
    ['bytes=-4', 10, { start: 6, end: 9 }],
    ['bytes=-40', 10, { start: 0, end: 9 }],
    ['bytes=10-', 10, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=-0', 10, 'unsatisfiable'],
    ['bytes=5-2', 10, undefined],
    ['bytes=0-1,3-4', 10, undefined],
    ['items=0-1', 10, undefined],
    ['bytes=1234567890123456-', 10, undefined],
    [undefined, 10, undefined],
  ])('%s of %i bytes', (header, size, expected) => {
    expect(parseByteRange(header, size)).toEqual(expected);
  });
});

describe('firmware HTTP server', () => {
  it('refuses bad options naming the field', () => {
    const log = pino({ level: 'silent' });
    const base = { bind: { host: '127.0.0.1', port: 0 }, maxConnections: 1, maxConnectionsPerSource: 1, log, lookup: () => undefined };
    expect(() => new FirmwareHttpServer({ ...base, maxConnections: 0 })).toThrow('maxConnections');
    expect(() => new FirmwareHttpServer({ ...base, maxConnectionsPerSource: 1.5 })).toThrow('maxConnectionsPerSource');
    expect(() => new FirmwareHttpServer({ ...base, bind: { host: '127.0.0.1', port: 70000 } })).toThrow('bind.port');
    expect(() => new FirmwareHttpServer({ ...base, bind: { host: '', port: 0 } })).toThrow('bind.host');
  });

  it('serves an image (200) with its length, type, ETag and no-store; HEAD without a body', async () => {
    const { port, served, lookups } = await startServer();
    const res = await request(port, `/fw/${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.body.equals(IMAGE)).toBe(true);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-length']).toBe(String(IMAGE.length));
    expect(res.headers.etag).toBe(`"${IMAGE_SHA}"`);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(lookups).toEqual([{ token: TOKEN, peer: '127.0.0.1' }]);
    expect(served).toEqual([{ token: TOKEN, bytesSent: IMAGE.length, peer: '127.0.0.1' }]);

    const head = await request(port, `/fw/${TOKEN}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(IMAGE.length));
    expect(head.headers.etag).toBe(`"${IMAGE_SHA}"`);
    expect(head.body.length).toBe(0);
    expect(served).toHaveLength(1);

    // A query string does not change the path.
    expect((await request(port, `/fw/${TOKEN}?attempt=2`)).body.equals(IMAGE)).toBe(true);
  });

  it('serves ranges (206) for resumed downloads, 416 past the end', async () => {
    const { port, served } = await startServer();
    const tail = await request(port, `/fw/${TOKEN}`, { headers: { Range: 'bytes=30-' } });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(IMAGE.subarray(30))).toBe(true);
    expect(tail.headers['content-range']).toBe(`bytes 30-35/${IMAGE.length}`);
    expect(tail.headers['content-length']).toBe('6');
    expect(served.at(-1)?.bytesSent).toBe(6);

    const middle = await request(port, `/fw/${TOKEN}`, { headers: { Range: 'bytes=10-19' } });
    expect(middle.status).toBe(206);
    expect(middle.body.toString()).toBe('abcdefghij');
    expect(middle.headers['content-range']).toBe(`bytes 10-19/${IMAGE.length}`);

    const suffix = await request(port, `/fw/${TOKEN}`, { headers: { Range: 'bytes=-3' } });
    expect(suffix.body.toString()).toBe('xyz');

    const past = await request(port, `/fw/${TOKEN}`, { headers: { Range: `bytes=${IMAGE.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${IMAGE.length}`);

    // Ignored: a reversed range, several ranges.
    for (const range of ['bytes=5-2', 'bytes=0-1,5-6']) {
      const whole = await request(port, `/fw/${TOKEN}`, { headers: { Range: range } });
      expect(whole.status).toBe(200);
      expect(whole.body.equals(IMAGE)).toBe(true);
    }

    // If-Range: the rest only of the same version; another version is sent whole.
    const same = await request(port, `/fw/${TOKEN}`, { headers: { Range: 'bytes=30-', 'If-Range': `"${IMAGE_SHA}"` } });
    expect(same.status).toBe(206);
    const other = await request(port, `/fw/${TOKEN}`, { headers: { Range: 'bytes=30-', 'If-Range': `"${'0'.repeat(64)}"` } });
    expect(other.status).toBe(200);
    expect(other.body.equals(IMAGE)).toBe(true);

    const headRange = await request(port, `/fw/${TOKEN}`, { method: 'HEAD', headers: { Range: 'bytes=30-' } });
    expect(headRange.status).toBe(206);
    expect(headRange.headers['content-length']).toBe('6');
    expect(headRange.body.length).toBe(0);
  });

  it('answers every 404 the same, whether the token is unknown, malformed or the path another', async () => {
    const { port, lookups } = await startServer();
    const unknown = await request(port, `/fw/${'A'.repeat(TOKEN.length)}`);
    expect(unknown.status).toBe(404);
    for (const path of ['/fw/', '/fw/a.b', `/fw/${TOKEN}/x`, `/fw/%2e%2e`, '/', '/firmware', `/FW/${TOKEN}`, `/fw/${'a'.repeat(129)}`]) {
      expect(comparable(await request(port, path))).toEqual(comparable(unknown));
    }
    // Only well-formed tokens reach the job layer.
    expect(lookups.map((l) => l.token)).toEqual(['A'.repeat(TOKEN.length)]);
  });

  it('answers 405 with Allow to other methods, 413 to a body, 414 to a long URL', async () => {
    const { port, lookups } = await startServer();
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await request(port, `/fw/${TOKEN}`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
    expect((await request(port, `/fw/${TOKEN}`, { body: 'hello', headers: { 'Content-Type': 'text/plain', 'Content-Length': '5' } })).status).toBe(413);
    const chunked = await rawUntilClosed(await connect(port, '127.0.0.1'), `GET /fw/${TOKEN} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
    expect((await request(port, `/fw/${TOKEN}${'?x'.repeat(300)}`)).status).toBe(414);
    expect(lookups).toEqual([]);
  });

  it('answers 500 when the job layer fails, logging neither the token nor its error detail beyond the message', async () => {
    const { port, logLines } = await startServer({
      lookup: () => {
        throw new Error('store unavailable');
      },
    });
    const res = await request(port, `/fw/${TOKEN}`);
    expect(res.status).toBe(500);
    expect(logLines.join('\n')).toContain('store unavailable');
    expect(logLines.join('\n')).not.toContain(TOKEN);
  });

  it('waits for an asynchronous look-up', async () => {
    const { port } = await startServer({ lookup: async (token) => (token === TOKEN ? { bytes: IMAGE, sha256: IMAGE_SHA } : undefined) });
    expect((await request(port, `/fw/${TOKEN}`)).body.equals(IMAGE)).toBe(true);
    expect((await request(port, '/fw/other')).status).toBe(404);
  });

  it('serves a 1 MiB image intact over HTTPS, and resumes it', async () => {
    const big = randomBytes(1024 * 1024);
    const sha256 = createHash('sha256').update(big).digest('hex');
    const { port, served } = await startServer({ tls: { cert: CERT, key: KEY, ca: CA } }, { [TOKEN]: { bytes: big, sha256 } });
    const res = await request(port, `/fw/${TOKEN}`, { secure: true });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(big.length);
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(sha256);
    expect(served).toEqual([{ token: TOKEN, bytesSent: big.length, peer: '127.0.0.1' }]);

    const rest = await request(port, `/fw/${TOKEN}`, { secure: true, headers: { Range: 'bytes=500000-' } });
    expect(rest.status).toBe(206);
    expect(Buffer.concat([big.subarray(0, 500000), rest.body]).equals(big)).toBe(true);

    // Plain HTTP to the HTTPS port gets no image.
    await expect(request(port, `/fw/${TOKEN}`)).rejects.toThrow();
  });

  it('refuses a source past its connection limit with 503 and Retry-After, closing it, while another source downloads', async () => {
    const { port, server, logLines } = await startServer({ maxConnectionsPerSource: 2 });
    const held = [await heldConnection(port, '127.0.0.2'), await heldConnection(port, '127.0.0.2')];
    expect(server.connections).toBe(2);

    const third = await connect(port, '127.0.0.2');
    const answer = await rawUntilClosed(third, `GET /fw/${TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer.toLowerCase()).toContain('retry-after: 30\r\n');
    expect(answer.toLowerCase()).toContain('connection: close\r\n');
    expect(answer).not.toContain(IMAGE.toString());

    const other = await request(port, `/fw/${TOKEN}`, { localAddress: '127.0.0.3' });
    expect(other.status).toBe(200);
    expect(other.body.equals(IMAGE)).toBe(true);
    expect(logLines.some((l) => l.includes('"limit":"maxConnectionsPerSource"') && l.includes('"peer":"127.0.0.2"'))).toBe(true);

    // A slot given back is a slot the source can use again.
    held[0].destroy();
    await new Promise<void>((resolve) => {
      const poll = (): void => (server.connections < 2 ? resolve() : void setImmediate(poll));
      poll();
    });
    expect((await request(port, `/fw/${TOKEN}`, { localAddress: '127.0.0.2' })).status).toBe(200);
    held[1].destroy();
  });

  it('refuses connections past the total limit whatever their source', async () => {
    const { port } = await startServer({ maxConnections: 2, maxConnectionsPerSource: 2 });
    const held = [await heldConnection(port, '127.0.0.2'), await heldConnection(port, '127.0.0.3')];
    const answer = await rawUntilClosed(await connect(port, '127.0.0.4'), `GET /fw/${TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    for (const socket of held) socket.destroy();
  });

  it('counts HTTPS connections per source too', async () => {
    const { port } = await startServer({ tls: { cert: CERT, key: KEY }, maxConnectionsPerSource: 1 });
    const tlsConnect = async (localAddress: string): Promise<tls.TLSSocket> => {
      const tcp = await connect(port, localAddress);
      return new Promise((resolve, reject) => {
        const socket = tls.connect({ socket: tcp, ca: CA, servername: 'localhost' }, () => resolve(socket));
        socket.on('error', reject);
      });
    };
    const first = await tlsConnect('127.0.0.2');
    const firstAnswer = new Promise<string>((resolve) => first.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
    first.write(`HEAD /fw/${TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(await firstAnswer).toMatch(/^HTTP\/1\.1 200 /);
    const second = await tlsConnect('127.0.0.2');
    const answer = await rawUntilClosed(second as unknown as net.Socket, `GET /fw/${TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    first.destroy();
  });

  it('close() ends idle and active connections', async () => {
    const { port, server } = await startServer();
    const idle = await heldConnection(port, '127.0.0.2');
    const open = await connect(port, '127.0.0.3');
    const closed = [idle, open].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    await server.close();
    await Promise.all(closed);
    await expect(connect(port, '127.0.0.2')).rejects.toThrow('ECONNREFUSED');
  });
});
