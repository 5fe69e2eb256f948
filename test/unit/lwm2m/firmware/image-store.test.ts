import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirmwareImageStore, ImageStoreError, imageNameProblem, type ImageStoreErrorCode } from '../../../../src/lwm2m/firmware/image-store';

/** SHA-256("abc"), FIPS 180-2 appendix B.1. */
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

let root = '';
let dir = '';
let outside = '';

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lwm2m-fw-store-'));
  dir = join(root, 'images');
  outside = join(root, 'outside');
  await mkdir(dir);
  await mkdir(outside);
});

afterEach(() => rm(root, { recursive: true, force: true }));

function store(overrides: Partial<{ maxImageBytes: number; maxImages: number; maxCachedBytes: number }> = {}): FirmwareImageStore {
  return new FirmwareImageStore({ dir, maxImageBytes: 1024 * 1024, maxImages: 10, ...overrides });
}

async function refusal(promise: Promise<unknown>): Promise<{ code: ImageStoreErrorCode; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ImageStoreError);
    const { code, message } = error as ImageStoreError;
    return { code, message };
  }
  throw new Error('expected a refusal');
}

async function* chunksOf(...parts: Buffer[]): AsyncIterable<Buffer> {
  for (const part of parts) {
    await new Promise((resolve) => setImmediate(resolve));
    yield part;
  }
}

describe('imageNameProblem', () => {
  it.each(['fw.bin', 'A', 'dev-1.2_rc3.bin', 'x'.repeat(128)])('accepts %s', (name) => {
    expect(imageNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['../x', 'a path'],
    ['.hidden', 'a hidden file'],
    ['a/b', 'a separator'],
    ['a\\b', 'a backslash'],
    ['x'.repeat(200), '200 characters'],
    ['fw\0.bin', 'a NUL'],
    ['a..b', '".."'],
    ['-rf', 'a leading dash'],
    ['', 'empty'],
    ['fw bin', 'a space'],
    ['fẃ.bin', 'non-ASCII'],
  ])('refuses %j (%s)', (name) => {
    expect(imageNameProblem(name)).toEqual(expect.any(String));
  });

  it('refuses what is not a string', () => {
    expect(imageNameProblem(42)).toBe('image name must be a non-empty string');
    expect(imageNameProblem(undefined)).toBe('image name must be a non-empty string');
  });
});

describe('FirmwareImageStore', () => {
  it('refuses bad options naming the field', () => {
    expect(() => new FirmwareImageStore({ dir: '', maxImageBytes: 1, maxImages: 1 })).toThrow('dir');
    expect(() => new FirmwareImageStore({ dir, maxImageBytes: 0, maxImages: 1 })).toThrow('maxImageBytes');
    expect(() => new FirmwareImageStore({ dir, maxImageBytes: 1, maxImages: 1.5 })).toThrow('maxImages');
    expect(() => new FirmwareImageStore({ dir, maxImageBytes: 1, maxImages: 1, maxCachedBytes: -1 })).toThrow('maxCachedBytes');
  });

  it('puts, lists, gets and removes images; the SHA-256 of a known vector', async () => {
    const images = store();
    const info = await images.put('abc.bin', Buffer.from('abc'));
    expect(info).toEqual({ name: 'abc.bin', size: 3, sha256: ABC_SHA256, modifiedAt: expect.any(Number) });
    await images.put('b.bin', chunksOf(Buffer.from('hello '), Buffer.from('world')), createHash('sha256').update('hello world').digest('hex').toUpperCase());

    expect(await images.list()).toEqual([info, expect.objectContaining({ name: 'b.bin', size: 11 })]);
    const image = await images.get('abc.bin');
    expect(image.bytes.toString()).toBe('abc');
    expect(image.sha256).toBe(ABC_SHA256);
    expect((await images.get('b.bin')).bytes.toString()).toBe('hello world');
    // Written where the operator expects it, no temporary file left.
    expect((await readdir(dir)).sort()).toEqual(['abc.bin', 'b.bin']);

    expect(await images.remove('abc.bin')).toBe(true);
    expect(await images.remove('abc.bin')).toBe(false);
    expect(await refusal(images.get('abc.bin'))).toEqual({ code: 'not-found', message: 'firmware image "abc.bin" not found' });
    expect((await images.list()).map((i) => i.name)).toEqual(['b.bin']);
  });

  it('stores an empty image', async () => {
    const images = store();
    const info = await images.put('empty.bin', Buffer.alloc(0));
    expect(info.sha256).toBe(createHash('sha256').digest('hex'));
    expect((await images.get('empty.bin')).bytes.length).toBe(0);
  });

  it('sees files the operator drops in and re-reads a file changed on disk', async () => {
    const images = store();
    await writeFile(join(dir, 'fw.bin'), 'version 1');
    expect((await images.get('fw.bin')).bytes.toString()).toBe('version 1');
    expect((await images.list())[0].sha256).toBe(createHash('sha256').update('version 1').digest('hex'));

    // Same size, other content and mtime.
    await writeFile(join(dir, 'fw.bin'), 'version 2');
    await utimes(join(dir, 'fw.bin'), new Date(2030, 0, 1), new Date(2030, 0, 1));
    const changed = await images.get('fw.bin');
    expect(changed.bytes.toString()).toBe('version 2');
    expect(changed.sha256).toBe(createHash('sha256').update('version 2').digest('hex'));
    expect(changed.modifiedAt).toBe(new Date(2030, 0, 1).getTime());
    expect((await images.list())[0].sha256).toBe(changed.sha256);

    // Another size.
    await writeFile(join(dir, 'fw.bin'), 'version 3, longer');
    expect((await images.get('fw.bin')).bytes.toString()).toBe('version 3, longer');

    // Replaced by another file (another inode), as an operator's `mv` does.
    await writeFile(join(dir, 'next'), 'version 4, longer');
    await utimes(join(dir, 'next'), new Date(2030, 0, 1), new Date(2030, 0, 1));
    await rm(join(dir, 'fw.bin'));
    await writeFile(join(dir, 'fw.bin'), await readFile(join(dir, 'next')));
    await utimes(join(dir, 'fw.bin'), new Date(2030, 0, 1), new Date(2030, 0, 1));
    expect((await images.get('fw.bin')).bytes.toString()).toBe('version 4, longer');
  });

  it('serves unchanged images from the cache, within maxCachedBytes', async () => {
    const images = store({ maxCachedBytes: 10 });
    await images.put('a.bin', Buffer.from('aaaaaa'));
    await images.put('b.bin', Buffer.from('bbbbbb'));
    const first = await images.get('a.bin');
    expect(await images.get('a.bin')).toBe(first);
    // b pushes a out (6 + 6 > 10): a is read again, the same bytes.
    await images.get('b.bin');
    const again = await images.get('a.bin');
    expect(again).not.toBe(first);
    expect(again.bytes.equals(first.bytes)).toBe(true);
    // Larger than the whole cache: served, never cached.
    await images.put('big.bin', Buffer.alloc(20, 1));
    expect(await images.get('big.bin')).not.toBe(await images.get('big.bin'));
  });

  it.each(['../x', '.hidden', 'a/b', 'x'.repeat(200), 'fw\0.bin'])('refuses the name %j everywhere', async (name) => {
    const images = store();
    expect((await refusal(images.get(name))).code).toBe('bad-name');
    expect((await refusal(images.put(name, Buffer.from('x')))).code).toBe('bad-name');
    expect((await refusal(images.remove(name))).code).toBe('bad-name');
    expect(await readdir(root)).toEqual(['images', 'outside']);
  });

  it('never follows a symlink out of the directory or into a subdirectory, and skips both in the list', async () => {
    await writeFile(join(outside, 'secret.bin'), 'not an image');
    await symlink(join(outside, 'secret.bin'), join(dir, 'escape.bin'));
    await symlink('../outside/secret.bin', join(dir, 'relative.bin'));
    await symlink(outside, join(dir, 'outdir'));
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'nested.bin'), 'nested');
    await symlink('sub/nested.bin', join(dir, 'nested.bin'));
    await writeFile(join(dir, 'fw-1.2.bin'), 'real');
    await symlink('fw-1.2.bin', join(dir, 'latest'));
    await writeFile(join(dir, '.hidden'), 'hidden');

    const images = store();
    for (const name of ['escape.bin', 'relative.bin', 'nested.bin', 'sub', 'outdir']) {
      const { code, message } = await refusal(images.get(name));
      expect(code).toBe('not-found');
      expect(message).not.toContain(root);
    }
    // A symlink to an image in the directory is that image.
    expect((await images.get('latest')).bytes.toString()).toBe('real');
    expect((await images.list()).map((i) => i.name)).toEqual(['fw-1.2.bin', 'latest']);

    // Removing the link removes the link, not what it points to.
    expect(await images.remove('escape.bin')).toBe(true);
    expect(await readFile(join(outside, 'secret.bin'), 'utf8')).toBe('not an image');
    expect(await images.remove('sub')).toBe(false);
  });

  it('writes through a name that is a symlink by replacing the link, never the target outside', async () => {
    await writeFile(join(outside, 'victim'), 'keep me');
    await symlink(join(outside, 'victim'), join(dir, 'fw.bin'));
    const images = store();
    await images.put('fw.bin', Buffer.from('new image'));
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('keep me');
    expect((await images.get('fw.bin')).bytes.toString()).toBe('new image');
  });

  it('refuses an oversize upload and removes the partial file; an oversize file on disk is not served', async () => {
    const images = store({ maxImageBytes: 10 });
    const { code, message } = await refusal(images.put('big.bin', chunksOf(Buffer.alloc(6), Buffer.alloc(6))));
    expect(code).toBe('too-large');
    expect(message).toBe('firmware image "big.bin" is larger than 10 bytes');
    expect(await readdir(dir)).toEqual([]);
    expect((await refusal(images.put('big.bin', Buffer.alloc(11)))).code).toBe('too-large');
    expect(await readdir(dir)).toEqual([]);

    await writeFile(join(dir, 'dropped.bin'), Buffer.alloc(11));
    expect((await refusal(images.get('dropped.bin'))).code).toBe('too-large');
    expect(await images.list()).toEqual([]);
  });

  it('refuses a body whose SHA-256 is not the expected one, and a malformed expected digest', async () => {
    const images = store();
    expect((await refusal(images.put('fw.bin', Buffer.from('abd'), ABC_SHA256))).code).toBe('sha256-mismatch');
    expect((await refusal(images.put('fw.bin', Buffer.from('abc'), 'xyz'))).code).toBe('bad-sha256');
    expect(await readdir(dir)).toEqual([]);
    expect((await images.put('fw.bin', Buffer.from('abc'), ABC_SHA256)).sha256).toBe(ABC_SHA256);
  });

  it('keeps the old image when an upload fails half-way', async () => {
    const images = store();
    await images.put('fw.bin', Buffer.from('old'));
    async function* failing(): AsyncIterable<Buffer> {
      yield Buffer.from('ne');
      throw new Error('connection reset');
    }
    expect((await refusal(images.put('fw.bin', failing()))).code).toBe('io');
    expect((await images.get('fw.bin')).bytes.toString()).toBe('old');
    expect(await readdir(dir)).toEqual(['fw.bin']);
  });

  it('refuses a new name past maxImages, also for uploads running at once, but replaces existing ones', async () => {
    const images = store({ maxImages: 2 });
    await images.put('a.bin', Buffer.from('a'));
    const results = await Promise.allSettled([images.put('b.bin', chunksOf(Buffer.from('b'))), images.put('c.bin', chunksOf(Buffer.from('c')))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'too-many', message: 'already 2 firmware images; remove one first' });
    expect(await readdir(dir)).toHaveLength(2);
    expect((await images.put('a.bin', Buffer.from('a2'))).size).toBe(2);
    expect((await images.list()).length).toBe(2);
  });

  it('removes temporary files of uploads that died an hour ago, and only those', async () => {
    await writeFile(join(dir, '.upload-0123'), 'crashed upload');
    await utimes(join(dir, '.upload-0123'), new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    await writeFile(join(dir, '.upload-4567'), 'running upload');
    await writeFile(join(dir, '.other'), 'not ours');
    await utimes(join(dir, '.other'), new Date(2000, 0, 1), new Date(2000, 0, 1));
    expect(await store().list()).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['.other', '.upload-4567']);
  });

  it('lists at most maxImages files, the first by name', async () => {
    for (const name of ['c', 'a', 'b']) await writeFile(join(dir, name), name);
    expect((await store({ maxImages: 2 }).list()).map((i) => i.name)).toEqual(['a', 'b']);
  });

  it('concurrent uploads of one name: one of them wins whole, no temporary file is left', async () => {
    const images = store();
    const bodies = [Buffer.alloc(64 * 1024, 'a'), Buffer.alloc(96 * 1024, 'b'), Buffer.alloc(32 * 1024, 'c')];
    const split = (b: Buffer): AsyncIterable<Buffer> => chunksOf(b.subarray(0, 1000), b.subarray(1000, 20000), b.subarray(20000));
    const infos = await Promise.all(bodies.map((b) => images.put('fw.bin', split(b))));
    expect(infos.map((i) => i.size)).toEqual(bodies.map((b) => b.length));
    const stored = await images.get('fw.bin');
    expect(bodies.some((b) => b.equals(stored.bytes))).toBe(true);
    expect(stored.sha256).toBe(createHash('sha256').update(stored.bytes).digest('hex'));
    expect(await readdir(dir)).toEqual(['fw.bin']);
  });

  it('reports I/O failures with an errno code, never a path', async () => {
    await rm(dir, { recursive: true });
    await writeFile(dir, 'a file where the directory should be');
    const images = store();
    for (const attempt of [images.list(), images.put('fw.bin', Buffer.from('x'))]) {
      const { code, message } = await refusal(attempt);
      expect(code).toBe('io');
      expect(message).toMatch(/\((ENOTDIR|EEXIST)\)$/);
      expect(message).not.toContain(root);
    }
    expect((await refusal(images.get('fw.bin'))).code).toBe('not-found');
  });

  it('lists nothing, and creates the directory on the first upload, when it is missing', async () => {
    await rm(dir, { recursive: true });
    const images = store();
    expect(await images.list()).toEqual([]);
    expect((await refusal(images.get('fw.bin'))).code).toBe('not-found');
    await images.put('fw.bin', Buffer.from('x'));
    expect(await readdir(dir)).toEqual(['fw.bin']);
  });
});
