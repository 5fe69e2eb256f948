import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What the store says about one image (never its bytes). */
export interface ImageInfo {
  readonly name: string;
  readonly size: number;
  /** SHA-256 of the bytes, lower-case hex. */
  readonly sha256: string;
  /** Last modification (ms since epoch). */
  readonly modifiedAt: number;
}

/** An image with its bytes: what a download serves. */
export interface FirmwareImage extends ImageInfo {
  /** Shared with the store's cache and with other downloads: never modify them. */
  readonly bytes: Buffer;
}

export type ImageStoreErrorCode = 'bad-name' | 'not-found' | 'too-large' | 'too-many' | 'bad-sha256' | 'sha256-mismatch' | 'io';

/**
 * Why the store refused. The message names the image and never a path: an operator's directory
 * layout is not a device's (or an API client's) business.
 */
export class ImageStoreError extends Error {
  constructor(
    readonly code: ImageStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageStoreError';
  }
}

export interface FirmwareImageStoreOptions {
  /** The directory holding the images (created by the first `put` when missing). */
  readonly dir: string;
  /** Largest image stored or served. */
  readonly maxImageBytes: number;
  /** Most images in the directory (`put` of a new name refused beyond it; `list` shows at most this many). */
  readonly maxImages: number;
  /** Bytes of images kept in memory between downloads (least recently used dropped first); default 64 MiB. */
  readonly maxCachedBytes?: number;
}

export const MAX_IMAGE_NAME_LENGTH = 128;
/** Uploads written at once: each holds an open file and a temporary file in the directory. */
export const MAX_CONCURRENT_PUTS = 8;
const DEFAULT_MAX_CACHED_BYTES = 64 * 1024 * 1024;
const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** Temporary files start with a dot, so that no valid image name can reach (or list) one. */
const TEMP_PREFIX = '.upload-';
/** A file that keeps changing while read is given up on after this many attempts. */
const READ_ATTEMPTS = 3;
/** A temporary file this old is left by an upload that died with its process (no upload takes an hour). */
const STALE_UPLOAD_MS = 60 * 60 * 1000;
const DIGEST_CHUNK_BYTES = 64 * 1024;

/**
 * Why `name` is not a valid image name, undefined when it is: 1..128 of `[A-Za-z0-9._-]`, starting
 * with a letter or digit (no hidden files, no `-option`), without `..`. That leaves no way to name a
 * path: no separator, no NUL, no `.` or `..`.
 */
export function imageNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'image name must be a non-empty string';
  if (name.length > MAX_IMAGE_NAME_LENGTH) return `image name is longer than ${MAX_IMAGE_NAME_LENGTH} characters`;
  if (!IMAGE_NAME.test(name)) return 'image name must start with a letter or digit and hold only letters, digits, ".", "_" and "-"';
  if (name.includes('..')) return 'image name must not contain ".."';
  return undefined;
}

/** Identifies one version of a file: a change on disk changes at least one of these. */
interface FileVersion {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

interface CachedImage {
  readonly version: FileVersion;
  readonly image: FirmwareImage;
}

function versionOf(stats: Stats): FileVersion {
  return { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino };
}

function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer`);
  return value;
}

/**
 * Firmware images in one directory, for pull downloads and uploads. Only regular files directly in
 * the directory count; a symlink is followed only when it resolves to such a file (an operator's
 * `latest -> fw-1.2.bin`), never out of the directory or into a subdirectory. Files the operator
 * drops in or changes are seen at once: every `get` checks the file's size, mtime and inode against
 * what is cached. Uploads are written to a temporary file and renamed over the name, so a reader
 * sees the old image or the new one, never a part.
 */
export class FirmwareImageStore {
  private readonly dir: string;
  private readonly maxImageBytes: number;
  private readonly maxImages: number;
  private readonly maxCachedBytes: number;
  /** Bytes by name, least recently used first (Map order); at most `maxCachedBytes` in total. */
  private readonly bytesCache = new Map<string, CachedImage>();
  private cachedBytes = 0;
  /** Digests by name, so that `list` hashes a version once; at most 2 × maxImages entries. */
  private readonly digestCache = new Map<string, { readonly version: FileVersion; readonly sha256: string }>();
  /** New names being uploaded (counted against maxImages before they exist), with how many uploads each. */
  private readonly reservedNames = new Map<string, number>();
  private putsInFlight = 0;

  constructor(options: FirmwareImageStoreOptions) {
    if (typeof options.dir !== 'string' || options.dir === '' || options.dir.includes('\0')) throw new RangeError('dir must be a non-empty path');
    this.dir = options.dir;
    this.maxImageBytes = positiveInteger('maxImageBytes', options.maxImageBytes);
    this.maxImages = positiveInteger('maxImages', options.maxImages);
    const maxCached = options.maxCachedBytes ?? DEFAULT_MAX_CACHED_BYTES;
    if (!Number.isSafeInteger(maxCached) || maxCached < 0) throw new RangeError('maxCachedBytes must be an integer >= 0');
    this.maxCachedBytes = maxCached;
  }

  /**
   * The images, by name: regular files (or symlinks to one in the directory) with a valid name and
   * at most maxImageBytes. Anything else (subdirectories, hidden and temporary files, oversize files)
   * is skipped. At most maxImages, the first by name. Temporary files of uploads that died with
   * their process (an hour old) are removed on the way.
   */
  async list(): Promise<ImageInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw new ImageStoreError('io', `cannot read the firmware directory (${errnoCode(error) ?? 'error'})`);
    }
    await this.removeStaleUploads(names);
    const candidates = names.filter((name) => imageNameProblem(name) === undefined).sort();
    const images: ImageInfo[] = [];
    for (const name of candidates) {
      if (images.length >= this.maxImages) break;
      try {
        images.push(await this.describe(name));
      } catch (error) {
        // Gone, not a file, oversize or unreadable: not an image to offer.
        if (error instanceof ImageStoreError) continue;
        throw error;
      }
    }
    return images;
  }

  /** One image's info without reading it into memory (its digest computed once per version). Throws ImageStoreError: bad-name, not-found, too-large or io. */
  async info(name: string): Promise<ImageInfo> {
    this.checkName(name);
    return this.describe(name);
  }

  /** The image with its bytes. Throws ImageStoreError: bad-name, not-found, too-large or io. */
  async get(name: string): Promise<FirmwareImage> {
    this.checkName(name);
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const handle = await this.openImage(name);
      try {
        const before = versionOf(await handle.stat());
        this.checkSize(name, before.size);
        const cached = this.bytesCache.get(name);
        if (cached && sameVersion(cached.version, before)) {
          this.bytesCache.delete(name);
          this.bytesCache.set(name, cached);
          return cached.image;
        }
        const bytes = await readExactly(handle, before.size);
        const after = versionOf(await handle.stat());
        // Written to while read: read it again rather than cache a mix of two versions.
        if (bytes === undefined || !sameVersion(before, after)) continue;
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        this.rememberDigest(name, after, sha256);
        const image: FirmwareImage = Object.freeze({ name, size: bytes.length, sha256, modifiedAt: Math.floor(after.mtimeMs), bytes });
        this.cacheBytes(name, { version: after, image });
        return image;
      } catch (error) {
        throw this.wrap(name, error, 'read');
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
    throw new ImageStoreError('io', `firmware image "${name}" kept changing while read`);
  }

  /**
   * Stores `body` as `name`, replacing an image of that name at once when complete. Refused (and the
   * partial file removed) past maxImageBytes, when a new name would make more than maxImages, or when
   * the bytes' SHA-256 is not `expectedSha256`. Concurrent uploads of one name: the last to finish wins.
   */
  async put(name: string, body: AsyncIterable<Buffer> | Buffer, expectedSha256?: string): Promise<ImageInfo> {
    this.checkName(name);
    if (expectedSha256 !== undefined && (typeof expectedSha256 !== 'string' || !SHA256_HEX.test(expectedSha256))) {
      throw new ImageStoreError('bad-sha256', 'expectedSha256 must be 64 hex digits');
    }
    if (this.putsInFlight >= MAX_CONCURRENT_PUTS) throw new ImageStoreError('too-many', `more than ${MAX_CONCURRENT_PUTS} uploads at once`);
    this.putsInFlight++;
    try {
      await this.mkdirOnce(name);
      await this.reserve(name);
      try {
        return await this.write(name, body, expectedSha256?.toLowerCase());
      } finally {
        this.release(name);
      }
    } finally {
      this.putsInFlight--;
    }
  }

  /** Removes the image (a symlink itself, never its target); false when there is none of that name. */
  async remove(name: string): Promise<boolean> {
    this.checkName(name);
    this.forget(name);
    try {
      const stats = await lstat(join(this.dir, name));
      if (!stats.isFile() && !stats.isSymbolicLink()) return false;
      await unlink(join(this.dir, name));
      return true;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false;
      throw this.wrap(name, error, 'remove');
    }
  }

  /** Temporary files of uploads that a crash interrupted: each may hold up to maxImageBytes of disk. */
  private async removeStaleUploads(names: readonly string[]): Promise<void> {
    const now = Date.now();
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.dir, name);
      try {
        const stats = await lstat(path);
        if (stats.isFile() && now - stats.mtimeMs > STALE_UPLOAD_MS) await unlink(path);
      } catch {
        // Gone meanwhile, or not ours to remove: it stays hidden either way.
      }
    }
  }

  private checkName(name: string): void {
    const problem = imageNameProblem(name);
    if (problem) throw new ImageStoreError('bad-name', problem);
  }

  private checkSize(name: string, size: number): void {
    if (size > this.maxImageBytes) throw new ImageStoreError('too-large', `firmware image "${name}" is larger than ${this.maxImageBytes} bytes`);
  }

  /**
   * Opens the file `name` stands for, refusing anything but a regular file directly in the directory:
   * the name is resolved (symlinks included) and must land in the directory itself, and the final
   * open does not follow a symlink swapped in since.
   */
  private async openImage(name: string): Promise<FileHandle> {
    let target: string;
    try {
      const [realDir, realFile] = await Promise.all([realpath(this.dir), realpath(join(this.dir, name))]);
      if (dirname(realFile) !== realDir) throw new ImageStoreError('not-found', `firmware image "${name}" not found`);
      target = realFile;
    } catch (error) {
      throw this.wrap(name, error, 'open');
    }
    let handle: FileHandle;
    try {
      handle = await open(target, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    } catch (error) {
      throw this.wrap(name, error, 'open');
    }
    try {
      if (!(await handle.stat()).isFile()) throw new ImageStoreError('not-found', `firmware image "${name}" not found`);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw this.wrap(name, error, 'open');
    }
    return handle;
  }

  /** An image's info without keeping its bytes: the digest is computed (streaming) once per version. */
  private async describe(name: string): Promise<ImageInfo> {
    const handle = await this.openImage(name);
    try {
      const stats = await handle.stat();
      const version = versionOf(stats);
      this.checkSize(name, version.size);
      let sha256 = this.digestCache.get(name);
      if (!sha256 || !sameVersion(sha256.version, version)) {
        const digest = await digestExactly(handle, version.size);
        const now = versionOf(await handle.stat());
        if (digest === undefined || !sameVersion(version, now)) throw new ImageStoreError('io', `firmware image "${name}" changed while read`);
        sha256 = { version, sha256: digest };
        this.rememberDigest(name, version, sha256.sha256);
      }
      return { name, size: version.size, sha256: sha256.sha256, modifiedAt: Math.floor(version.mtimeMs) };
    } catch (error) {
      throw this.wrap(name, error, 'read');
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private async mkdirOnce(name: string): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o750 });
    } catch (error) {
      throw this.wrap(name, error, 'create the firmware directory for');
    }
  }

  /** Counts a new name against maxImages before its file exists, so that concurrent uploads cannot pass it together. */
  private async reserve(name: string): Promise<void> {
    const uploads = this.reservedNames.get(name);
    if (uploads !== undefined) {
      this.reservedNames.set(name, uploads + 1);
      return;
    }
    let existing: string[];
    try {
      existing = (await readdir(this.dir)).filter((n) => imageNameProblem(n) === undefined);
    } catch (error) {
      throw this.wrap(name, error, 'store');
    }
    // Re-checked after the await: another upload of this name may have reserved it meanwhile.
    const now = this.reservedNames.get(name);
    if (now !== undefined) {
      this.reservedNames.set(name, now + 1);
      return;
    }
    if (!existing.includes(name)) {
      const pending = [...this.reservedNames.keys()].filter((n) => !existing.includes(n)).length;
      if (existing.length + pending >= this.maxImages) throw new ImageStoreError('too-many', `already ${this.maxImages} firmware images; remove one first`);
    }
    this.reservedNames.set(name, 1);
  }

  private release(name: string): void {
    const uploads = this.reservedNames.get(name) ?? 1;
    if (uploads > 1) this.reservedNames.set(name, uploads - 1);
    else this.reservedNames.delete(name);
  }

  private async write(name: string, body: AsyncIterable<Buffer> | Buffer, expectedSha256: string | undefined): Promise<ImageInfo> {
    const temp = join(this.dir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
    let handle: FileHandle | undefined;
    let renamed = false;
    try {
      handle = await open(temp, 'wx', 0o640);
      const hash = createHash('sha256');
      let size = 0;
      const chunks: AsyncIterable<unknown> | Iterable<unknown> = Buffer.isBuffer(body) ? [body] : body;
      for await (const chunk of chunks) {
        if (!(chunk instanceof Uint8Array)) throw new ImageStoreError('io', `firmware image "${name}": the body must be bytes`);
        size += chunk.byteLength;
        // Checked before writing: an oversize upload never puts more than maxImageBytes on disk.
        this.checkSize(name, size);
        hash.update(chunk);
        await handle.write(chunk);
      }
      const sha256 = hash.digest('hex');
      if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
        throw new ImageStoreError('sha256-mismatch', `firmware image "${name}": the SHA-256 of the bytes is not the expected one`);
      }
      await handle.sync();
      const stats = await handle.stat();
      await handle.close();
      handle = undefined;
      this.forget(name);
      await rename(temp, join(this.dir, name));
      renamed = true;
      this.rememberDigest(name, versionOf(stats), sha256);
      return { name, size, sha256, modifiedAt: Math.floor(stats.mtimeMs) };
    } catch (error) {
      throw this.wrap(name, error, 'store');
    } finally {
      await handle?.close().catch(() => undefined);
      if (!renamed) await unlink(temp).catch(() => undefined);
    }
  }

  private cacheBytes(name: string, entry: CachedImage): void {
    this.forget(name);
    if (entry.image.size > this.maxCachedBytes) return;
    for (const [oldest, cached] of this.bytesCache) {
      if (this.cachedBytes + entry.image.size <= this.maxCachedBytes) break;
      this.bytesCache.delete(oldest);
      this.cachedBytes -= cached.image.size;
    }
    this.bytesCache.set(name, entry);
    this.cachedBytes += entry.image.size;
  }

  private rememberDigest(name: string, version: FileVersion, sha256: string): void {
    this.digestCache.delete(name);
    if (this.digestCache.size >= 2 * this.maxImages) {
      const oldest = this.digestCache.keys().next();
      if (!oldest.done) this.digestCache.delete(oldest.value);
    }
    this.digestCache.set(name, { version, sha256 });
  }

  private forget(name: string): void {
    const cached = this.bytesCache.get(name);
    if (cached) {
      this.bytesCache.delete(name);
      this.cachedBytes -= cached.image.size;
    }
    this.digestCache.delete(name);
  }

  /** An ImageStoreError naming the image and the errno code only (a path never leaves this module). */
  private wrap(name: string, error: unknown, doing: string): ImageStoreError {
    if (error instanceof ImageStoreError) return error;
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'EISDIR') {
      if (doing === 'open') return new ImageStoreError('not-found', `firmware image "${name}" not found`);
    }
    return new ImageStoreError('io', `cannot ${doing} firmware image "${name}" (${code ?? 'error'})`);
  }
}

/** Reads `size` bytes from the start; undefined when the file is shorter or longer now (it changed). */
async function readExactly(handle: FileHandle, size: number): Promise<Buffer | undefined> {
  const bytes = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(bytes, filled, size - filled, filled);
    if (bytesRead === 0) return undefined;
    filled += bytesRead;
  }
  const probe = Buffer.allocUnsafe(1);
  const { bytesRead } = await handle.read(probe, 0, 1, size);
  return bytesRead === 0 ? bytes : undefined;
}

/** The SHA-256 (hex) of the first `size` bytes, read in chunks; undefined when the file is not `size` bytes long now. */
async function digestExactly(handle: FileHandle, size: number): Promise<string | undefined> {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(Math.min(DIGEST_CHUNK_BYTES, size + 1));
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    if (position > size) return undefined;
    hash.update(chunk.subarray(0, bytesRead));
  }
  return position === size ? hash.digest('hex') : undefined;
}
