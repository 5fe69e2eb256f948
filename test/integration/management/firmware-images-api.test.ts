/**
 * The firmware images API (/api/v5/firmware/images) over real HTTP: the management plane's HTTP server
 * with its API keys, the routes, and a real image store on a fresh directory. Without firmware.dir
 * (the whole gateway, through the harness) every route answers 404 saying so.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createHttpServer } from '../../../src/http/http-server';
import { FirmwareImageStore, MAX_CONCURRENT_PUTS } from '../../../src/lwm2m/firmware/image-store';
import { registerFirmwareImagesApi } from '../../../src/management/firmware-images-api';
import { startHarness } from '../../support/harness';

const IMAGES = '/api/v5/firmware/images';
const SECRET = 's3cret-pass';
const ADMIN = { authorization: `Basic ${Buffer.from(`admin:${SECRET}`).toString('base64')}` };
const OCTET = { ...ADMIN, 'content-type': 'application/octet-stream' };
const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
const MAX_IMAGES = 16;

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test reads whatever JSON came back
  json: any;
}

interface Plane {
  app: FastifyInstance;
  dir: string;
  store: FirmwareImageStore;
  logLines: string[];
  call(method: string, p: string, options?: { body?: Buffer | ReadableStream<Uint8Array>; headers?: Record<string, string> }): Promise<Answer>;
  /** The directory's entries: images and any temporary file an upload left. */
  files(): string[];
  close(): Promise<void>;
}

/** The HTTP server of the management plane with the firmware images routes, on a free port. */
async function startPlane(limits: { maxImageBytes?: number; maxImages?: number } = {}): Promise<Plane> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-fw-api-'));
  const logLines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const maxImageBytes = limits.maxImageBytes ?? MAX_IMAGE_BYTES;
  const store = new FirmwareImageStore({ dir: path.join(dir, 'images'), maxImageBytes, maxImages: limits.maxImages ?? MAX_IMAGES });
  const app = createHttpServer({ apiKeys: [{ key: 'admin', secret: SECRET }], openPaths: ['/health/'], authFailuresPerMinute: 1000, bodyLimit: 64 * 1024 }, log);
  registerFirmwareImagesApi(app, { images: { store, maxImageBytes }, log });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    dir,
    store,
    logLines,
    async call(method, p, options = {}) {
      const init: RequestInit & { duplex?: 'half' } = { method, headers: options.headers, body: options.body };
      if (options.body instanceof ReadableStream) init.duplex = 'half';
      const res = await fetch(`http://127.0.0.1:${port}${p}`, init);
      const text = await res.text();
      return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
    },
    files: () => (fs.existsSync(path.join(dir, 'images')) ? fs.readdirSync(path.join(dir, 'images')).sort() : []),
    async close() {
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A body sent in chunks without a Content-Length (chunked transfer encoding). */
function chunked(bytes: Buffer, chunkBytes = 16 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(new Uint8Array(bytes.subarray(at, at + chunkBytes)));
      at += chunkBytes;
    },
  });
}

describe('firmware images API', () => {
  let plane: Plane;
  beforeEach(async () => {
    plane = await startPlane();
  });
  afterEach(async () => {
    await plane.close();
  });

  it('uploads 1 MiB (201), lists it, shows its info without the bytes, and deletes it (204, then 404)', async () => {
    const image = randomBytes(1024 * 1024);
    expect(await plane.call('GET', IMAGES, { headers: ADMIN })).toMatchObject({ status: 200, json: { data: [] } });

    const before = Date.now();
    const put = await plane.call('PUT', `${IMAGES}/fw-1.0.bin`, { body: image, headers: OCTET });
    expect(put.status).toBe(201);
    expect(put.json).toEqual({ name: 'fw-1.0.bin', size: image.length, sha256: sha256(image), modifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect(Date.parse(put.json.modifiedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(fs.readFileSync(path.join(plane.dir, 'images', 'fw-1.0.bin')).equals(image)).toBe(true);

    const list = await plane.call('GET', IMAGES, { headers: ADMIN });
    expect(list).toMatchObject({ status: 200, json: { data: [put.json] } });
    const info = await plane.call('GET', `${IMAGES}/fw-1.0.bin`, { headers: ADMIN });
    expect(info.status).toBe(200);
    expect(info.json).toEqual(put.json);
    expect(info.headers.get('content-type')).toContain('application/json');

    expect((await plane.call('DELETE', `${IMAGES}/fw-1.0.bin`, { headers: ADMIN })).status).toBe(204);
    expect(plane.files()).toEqual([]);
    expect(await plane.call('DELETE', `${IMAGES}/fw-1.0.bin`, { headers: ADMIN })).toMatchObject({ status: 404, json: { code: 'NOT_FOUND', message: 'firmware image "fw-1.0.bin" not found' } });
    expect(await plane.call('GET', `${IMAGES}/fw-1.0.bin`, { headers: ADMIN })).toMatchObject({ status: 404, json: { code: 'NOT_FOUND', message: 'firmware image "fw-1.0.bin" not found' } });
    expect(await plane.call('GET', IMAGES, { headers: ADMIN })).toMatchObject({ status: 200, json: { data: [] } });

    const logged = plane.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'firmware image stored', image: 'fw-1.0.bin', size: image.length, sha256: sha256(image), replaced: false }),
        expect.objectContaining({ msg: 'firmware image removed', image: 'fw-1.0.bin' }),
      ]),
    );
    expect(plane.logLines.join('\n')).not.toContain(SECRET);
  });

  it('streams a chunked body (no Content-Length) to the store', async () => {
    const image = randomBytes(300 * 1024 + 7);
    const put = await plane.call('PUT', `${IMAGES}/chunked.bin`, { body: chunked(image), headers: OCTET });
    expect(put).toMatchObject({ status: 201, json: { name: 'chunked.bin', size: image.length, sha256: sha256(image) } });
    expect(fs.readFileSync(path.join(plane.dir, 'images', 'chunked.bin')).equals(image)).toBe(true);
  });

  it('a second upload of a name replaces the image: 200 with the new info', async () => {
    const first = randomBytes(1000);
    const second = randomBytes(2000);
    expect((await plane.call('PUT', `${IMAGES}/app.bin`, { body: first, headers: OCTET })).status).toBe(201);
    const replaced = await plane.call('PUT', `${IMAGES}/app.bin`, { body: second, headers: OCTET });
    expect(replaced).toMatchObject({ status: 200, json: { name: 'app.bin', size: 2000, sha256: sha256(second) } });
    expect(await plane.call('GET', `${IMAGES}/app.bin`, { headers: ADMIN })).toMatchObject({ status: 200, json: { size: 2000, sha256: sha256(second) } });
    expect(plane.files()).toEqual(['app.bin']);
  });

  it('X-Checksum-Sha256: stored when it matches (either case); 422 and nothing changed when not; 400 when not 64 hex digits', async () => {
    const image = randomBytes(50_000);
    const matching = await plane.call('PUT', `${IMAGES}/signed.bin`, { body: image, headers: { ...OCTET, 'x-checksum-sha256': sha256(image).toUpperCase() } });
    expect(matching).toMatchObject({ status: 201, json: { sha256: sha256(image) } });

    const other = randomBytes(50_000);
    const mismatch = await plane.call('PUT', `${IMAGES}/signed.bin`, { body: other, headers: { ...OCTET, 'x-checksum-sha256': sha256(image) } });
    expect(mismatch).toMatchObject({ status: 422, json: { code: 'CHECKSUM_MISMATCH', message: expect.stringContaining('signed.bin') } });
    const fresh = await plane.call('PUT', `${IMAGES}/new.bin`, { body: other, headers: { ...OCTET, 'x-checksum-sha256': sha256(image) } });
    expect(fresh.status).toBe(422);
    // The image stays the one stored before; the refused uploads left no file.
    expect(fs.readFileSync(path.join(plane.dir, 'images', 'signed.bin')).equals(image)).toBe(true);
    expect(plane.files()).toEqual(['signed.bin']);

    for (const digest of ['abc', sha256(image).slice(1) + 'g', `${sha256(image)}, ${sha256(image)}`]) {
      const bad = await plane.call('PUT', `${IMAGES}/signed.bin`, { body: other, headers: { ...OCTET, 'x-checksum-sha256': digest } });
      expect({ digest, status: bad.status, json: bad.json }).toEqual({ digest, status: 400, json: { code: 'BAD_REQUEST', message: 'headers/x-checksum-sha256 must be the SHA-256 of the image as 64 hex digits' } });
    }
    expect(fs.readFileSync(path.join(plane.dir, 'images', 'signed.bin')).equals(image)).toBe(true);
  });

  it('bad names: 400 naming params/name, on every route; nothing written', async () => {
    const names = ['a..b', '.hidden', '-rf', '_x', 'a%2Fb', 'a%00b', 'sp%20ace', 'x'.repeat(129), '%C3%A9t%C3%A9.bin'];
    for (const name of names) {
      for (const [method, body] of [['PUT', Buffer.from('firmware')], ['GET', undefined], ['DELETE', undefined]] as const) {
        const answer = await plane.call(method, `${IMAGES}/${name}`, { body, headers: body ? OCTET : ADMIN });
        expect({ name, method, status: answer.status, code: answer.json?.code, message: answer.json?.message }).toEqual({
          name,
          method,
          status: 400,
          code: 'BAD_REQUEST',
          message: expect.stringMatching(/^params\/name: image name /),
        });
      }
    }
    expect(plane.files()).toEqual([]);
  });

  it('wrong or missing Content-Type: 415; an empty body: 400', async () => {
    const body = Buffer.from('{"not":"an image"}');
    for (const contentType of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']) {
      const answer = await plane.call('PUT', `${IMAGES}/fw.bin`, { body, headers: { ...ADMIN, 'content-type': contentType } });
      expect({ contentType, status: answer.status, json: answer.json }).toEqual({ contentType, status: 415, json: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/octet-stream' } });
    }
    // fetch sends a Buffer body without a Content-Type.
    expect(await plane.call('PUT', `${IMAGES}/fw.bin`, { body, headers: ADMIN })).toMatchObject({ status: 415, json: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect(await plane.call('PUT', `${IMAGES}/fw.bin`, { headers: ADMIN })).toMatchObject({ status: 415, json: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect(await plane.call('PUT', `${IMAGES}/fw.bin`, { body: Buffer.alloc(0), headers: OCTET })).toMatchObject({ status: 400, json: { code: 'BAD_REQUEST', message: 'the body is empty: send the image' } });
    expect(await plane.call('PUT', `${IMAGES}/fw.bin`, { body: chunked(Buffer.alloc(0)), headers: OCTET })).toMatchObject({ status: 400, json: { code: 'BAD_REQUEST', message: 'the body is empty: send the image' } });
    expect(plane.files()).toEqual([]);
  });

  it('no API key or a wrong one: 401 on every route, and nothing is stored or removed', async () => {
    const image = randomBytes(1000);
    expect((await plane.call('PUT', `${IMAGES}/kept.bin`, { body: image, headers: OCTET })).status).toBe(201);
    const wrong = { authorization: `Basic ${Buffer.from('admin:guess').toString('base64')}` };
    for (const headers of [{}, wrong]) {
      expect(await plane.call('GET', IMAGES, { headers })).toMatchObject({ status: 401, json: { code: 'UNAUTHORIZED' } });
      expect((await plane.call('GET', `${IMAGES}/kept.bin`, { headers })).status).toBe(401);
      expect((await plane.call('PUT', `${IMAGES}/evil.bin`, { body: image, headers: { ...headers, 'content-type': 'application/octet-stream' } })).status).toBe(401);
      expect((await plane.call('DELETE', `${IMAGES}/kept.bin`, { headers })).status).toBe(401);
    }
    expect(plane.files()).toEqual(['kept.bin']);
  });

  it('uploads of one name at once: each answered with its own info, the last to finish is the image, no temporary file is left', async () => {
    const bodies = [randomBytes(400_000), randomBytes(300_000), randomBytes(200_000), randomBytes(100_000)];
    const answers = await Promise.all(bodies.map((body) => plane.call('PUT', `${IMAGES}/race.bin`, { body: chunked(body, 8 * 1024), headers: OCTET })));
    for (const [i, answer] of answers.entries()) {
      expect([200, 201]).toContain(answer.status);
      expect(answer.json).toMatchObject({ name: 'race.bin', size: bodies[i].length, sha256: sha256(bodies[i]) });
    }
    expect(answers.some((a) => a.status === 201)).toBe(true);
    expect(plane.files()).toEqual(['race.bin']);
    const stored = fs.readFileSync(path.join(plane.dir, 'images', 'race.bin'));
    const info = await plane.call('GET', `${IMAGES}/race.bin`, { headers: ADMIN });
    expect(info.json).toMatchObject({ size: stored.length, sha256: sha256(stored) });
    expect(bodies.map(sha256)).toContain(sha256(stored));
  });

  it(`more than ${MAX_CONCURRENT_PUTS} uploads at once: 503 with Retry-After; the ones under way complete`, async () => {
    const port = (plane.app.server.address() as AddressInfo).port;
    // Uploads that sent their headers and a first chunk, and wait to be ended.
    const open = Array.from({ length: MAX_CONCURRENT_PUTS }, (_, i) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: `${IMAGES}/slow-${i}.bin`, agent: false, headers: { ...OCTET, 'transfer-encoding': 'chunked' } });
      const answered = new Promise<number | undefined>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', reject);
      });
      req.write(Buffer.alloc(1024, i));
      return { req, answered };
    });
    // Until all of them are in the store, a small upload still gets through: tried until refused.
    let refused: Answer | undefined;
    for (let attempt = 0; attempt < 200 && refused === undefined; attempt++) {
      const answer = await plane.call('PUT', `${IMAGES}/probe.bin`, { body: Buffer.from('probe'), headers: OCTET });
      if (answer.status === 503) refused = answer;
      else {
        expect([200, 201]).toContain(answer.status);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    expect(refused?.json).toEqual({ code: 'SERVICE_UNAVAILABLE', message: `${MAX_CONCURRENT_PUTS} firmware image uploads are already under way; try again later` });
    expect(refused?.headers.get('retry-after')).toBe('5');
    for (const { req } of open) req.end(Buffer.alloc(1024, 0xff));
    expect(await Promise.all(open.map((o) => o.answered))).toEqual(Array(MAX_CONCURRENT_PUTS).fill(201));
    // probe.bin is there when a probe got in before all the slow uploads did.
    expect(plane.files().filter((f) => f !== 'probe.bin')).toEqual(Array.from({ length: MAX_CONCURRENT_PUTS }, (_, i) => `slow-${i}.bin`));
  });

  it('an upload the client breaks off leaves no file, and is logged', async () => {
    const port = (plane.app.server.address() as AddressInfo).port;
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: `${IMAGES}/broken.bin`, agent: false, headers: { ...OCTET, 'content-length': '100000' } });
    req.on('error', () => undefined);
    req.write(randomBytes(30_000));
    const broke = () => plane.logLines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'firmware image upload broke off before its end');
    // Broken off once the server has read part of it: its first bytes are on disk, in a temporary file.
    for (let i = 0; i < 200 && plane.files().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(plane.files()).toEqual([expect.stringMatching(/^\.upload-/)]);
    req.destroy();
    for (let i = 0; i < 200 && !broke(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(broke()).toBe(true);
    expect(plane.files()).toEqual([]);
    expect(await plane.call('GET', IMAGES, { headers: ADMIN })).toMatchObject({ status: 200, json: { data: [] } });
  });
});

describe('firmware images API limits', () => {
  let plane: Plane | undefined;
  afterEach(async () => {
    await plane?.close();
    plane = undefined;
  });

  it('an image over firmware.max_image_size: 413 by Content-Length before a byte is read, or while a chunked body streams; nothing left on disk', async () => {
    plane = await startPlane({ maxImageBytes: 64 * 1024 });
    const exact = randomBytes(64 * 1024);
    expect((await plane.call('PUT', `${IMAGES}/exact.bin`, { body: exact, headers: OCTET })).status).toBe(201);

    const big = randomBytes(64 * 1024 + 1);
    const declared = await plane.call('PUT', `${IMAGES}/big.bin`, { body: big, headers: OCTET });
    expect(declared.status).toBe(413);
    expect(declared.json).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: 'the image is larger than firmware.max_image_size (65536 bytes)' });
    expect(declared.headers.get('connection')).toBe('close');
    // A large declared body too gets its answer, not a reset (the connection closes after it).
    expect(await plane.call('PUT', `${IMAGES}/big.bin`, { body: randomBytes(4 * 1024 * 1024), headers: OCTET })).toMatchObject({ status: 413, json: { code: 'PAYLOAD_TOO_LARGE' } });

    const streamed = await plane.call('PUT', `${IMAGES}/big.bin`, { body: chunked(randomBytes(100 * 1024), 4 * 1024), headers: OCTET });
    expect(streamed.status).toBe(413);
    expect(streamed.json).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: 'firmware image "big.bin" is larger than 65536 bytes' });

    // Replacing an image with a too large one keeps the old one.
    expect((await plane.call('PUT', `${IMAGES}/exact.bin`, { body: chunked(big), headers: OCTET })).status).toBe(413);
    expect(fs.readFileSync(path.join(plane.dir, 'images', 'exact.bin')).equals(exact)).toBe(true);
    expect(plane.files()).toEqual(['exact.bin']);
  });

  it('firmware.max_images reached: a new name is refused with 507, an existing one is still replaced', async () => {
    plane = await startPlane({ maxImages: 2 });
    expect((await plane.call('PUT', `${IMAGES}/one.bin`, { body: Buffer.from('one'), headers: OCTET })).status).toBe(201);
    expect((await plane.call('PUT', `${IMAGES}/two.bin`, { body: Buffer.from('two'), headers: OCTET })).status).toBe(201);
    const third = await plane.call('PUT', `${IMAGES}/three.bin`, { body: Buffer.from('three'), headers: OCTET });
    expect(third).toMatchObject({ status: 507, json: { code: 'INSUFFICIENT_STORAGE', message: 'already 2 firmware images; remove one first' } });
    expect((await plane.call('PUT', `${IMAGES}/two.bin`, { body: Buffer.from('two, again'), headers: OCTET })).status).toBe(200);
    expect((await plane.call('DELETE', `${IMAGES}/one.bin`, { headers: ADMIN })).status).toBe(204);
    expect((await plane.call('PUT', `${IMAGES}/three.bin`, { body: Buffer.from('three'), headers: OCTET })).status).toBe(201);
    expect(plane.files()).toEqual(['three.bin', 'two.bin']);
  });
});

describe('firmware images API without firmware.dir (the whole gateway)', () => {
  it('every route answers 404 saying the image store needs firmware.dir', async () => {
    const h = await startHarness();
    try {
      const url = `http://127.0.0.1:${h.gw.httpPort}${IMAGES}`;
      const expected = { code: 'NOT_FOUND', message: 'no image store: set firmware.dir' };
      const answers = [
        await fetch(url),
        await fetch(`${url}/fw.bin`),
        await fetch(`${url}/fw.bin`, { method: 'DELETE' }),
        await fetch(`${url}/fw.bin`, { method: 'PUT', body: Buffer.from('firmware'), headers: { 'content-type': 'application/octet-stream' } }),
      ];
      for (const answer of answers) expect({ status: answer.status, json: await answer.json() }).toEqual({ status: 404, json: expected });
    } finally {
      await h.close();
    }
  });
});

describe('firmware images API on the whole gateway (firmware.dir set)', () => {
  it('is served behind the API keys, stores into firmware.dir, and bounds uploads by firmware.max_image_size', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-fw-dir-'));
    const h = await startHarness(`http:\n  api_keys:\n    - key: admin\n      secret: "${SECRET}"\nfirmware:\n  dir: "${dir}"\n  max_image_size: 65536`);
    try {
      const url = `http://127.0.0.1:${h.gw.httpPort}${IMAGES}`;
      const image = randomBytes(65536);
      expect((await fetch(`${url}/fw.bin`, { method: 'PUT', body: image, headers: { 'content-type': 'application/octet-stream' } })).status).toBe(401);
      const put = await fetch(`${url}/fw.bin`, { method: 'PUT', body: image, headers: { ...OCTET, 'x-checksum-sha256': sha256(image) } });
      expect({ status: put.status, json: await put.json() }).toMatchObject({ status: 201, json: { name: 'fw.bin', size: 65536, sha256: sha256(image) } });
      expect(fs.readFileSync(path.join(dir, 'fw.bin')).equals(image)).toBe(true);
      const big = await fetch(`${url}/big.bin`, { method: 'PUT', body: randomBytes(65537), headers: OCTET });
      expect({ status: big.status, json: await big.json() }).toEqual({ status: 413, json: { code: 'PAYLOAD_TOO_LARGE', message: 'the image is larger than firmware.max_image_size (65536 bytes)' } });
      const list = await fetch(url, { headers: ADMIN });
      expect(await list.json()).toMatchObject({ data: [{ name: 'fw.bin', size: 65536, sha256: sha256(image) }] });
      expect((await fetch(`${url}/fw.bin`, { method: 'DELETE', headers: ADMIN })).status).toBe(204);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      await h.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
