import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_ERROR_SCHEMA, type ApiError } from '../http/http-server';
import { ImageStoreError, imageNameProblem, MAX_CONCURRENT_PUTS, MAX_IMAGE_NAME_LENGTH, type ImageInfo, type ImageStoreErrorCode } from '../lwm2m/firmware/image-store';
import type { FirmwareImagesContext, ManagementContext } from './management-context';

export const FIRMWARE_IMAGES_PREFIX = '/api/v5/firmware/images';
/** The OpenAPI path of one image (the upload's request body is documented there by the management API). */
export const FIRMWARE_IMAGE_PATH = `${FIRMWARE_IMAGES_PREFIX}/{name}`;
/** The upload's request body in the OpenAPI document: fastify validates no schema of a streamed body. */
export const FIRMWARE_IMAGE_UPLOAD_BODY = {
  required: true,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
} as const;
/** The optional header carrying the SHA-256 (hex) the uploaded bytes must have. */
export const CHECKSUM_HEADER = 'x-checksum-sha256';
export const NO_IMAGE_STORE_MESSAGE = 'no image store: set firmware.dir';
/** Seconds a client refused because MAX_CONCURRENT_PUTS uploads are under way is asked to wait. */
export const UPLOAD_RETRY_AFTER_SECONDS = 5;

const OCTET_STREAM = 'application/octet-stream';
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const TAGS = ['Firmware images'];

const IMAGE_SCHEMA = {
  type: 'object',
  required: ['name', 'size', 'sha256', 'modifiedAt'],
  properties: {
    name: { type: 'string' },
    size: { type: 'integer', description: 'bytes' },
    sha256: { type: 'string', description: 'SHA-256 of the bytes, lower-case hex' },
    modifiedAt: { type: 'string', format: 'date-time', description: "the file's last modification" },
  },
} as const;

const NAME_PARAMS = {
  type: 'object',
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      description: `1..${MAX_IMAGE_NAME_LENGTH} of letters, digits, ".", "_" and "-", starting with a letter or digit, without ".."`,
    },
  },
} as const;

interface ImageParams {
  name: string;
}

/** One image as the API shows it: times in RFC 3339, as everywhere in the API. */
interface ImageView {
  name: string;
  size: number;
  sha256: string;
  modifiedAt: string;
}

function imageView(info: ImageInfo): ImageView {
  return { name: info.name, size: info.size, sha256: info.sha256, modifiedAt: new Date(info.modifiedAt).toISOString() };
}

/** An error fastify's error handler answers with `statusCode` (413, 415) in the API's error shape. */
function httpError(statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode });
}

function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ code, message } satisfies ApiError);
}

/** How the API answers each refusal of the store. */
const STORE_REFUSALS: Record<ImageStoreErrorCode, { readonly status: number; readonly code: string }> = {
  'bad-name': { status: 400, code: 'BAD_REQUEST' },
  'bad-sha256': { status: 400, code: 'BAD_REQUEST' },
  'not-found': { status: 404, code: 'NOT_FOUND' },
  'too-large': { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  // firmware.max_images reached: the operator must remove an image first, retrying does not help.
  'too-many': { status: 507, code: 'INSUFFICIENT_STORAGE' },
  'sha256-mismatch': { status: 422, code: 'CHECKSUM_MISMATCH' },
  io: { status: 500, code: 'INTERNAL_ERROR' },
};

/** The store's refusal as an answer; its messages name the image and never a path, so they are passed on. */
function storeRefusal(reply: FastifyReply, error: ImageStoreError): FastifyReply {
  const { status, code } = STORE_REFUSALS[error.code];
  return refuse(reply, status, code, error.message);
}

/** Runs a store call; its ImageStoreError becomes the matching HTTP refusal, anything else is thrown (500). */
async function withStore<T>(reply: FastifyReply, call: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ImageStoreError) return storeRefusal(reply, error);
    throw error;
  }
}

/** The store for a route on image `name`; undefined when there is none or the name is bad (then refused). */
function storeForName(images: FirmwareImagesContext | undefined, name: string, reply: FastifyReply): FirmwareImagesContext | undefined {
  if (!images) {
    refuse(reply, 404, 'NOT_FOUND', NO_IMAGE_STORE_MESSAGE);
    return undefined;
  }
  const problem = imageNameProblem(name);
  if (problem) {
    refuse(reply, 400, 'BAD_REQUEST', `params/name: ${problem}`);
    return undefined;
  }
  return images;
}

/** What an upload's body turned out to be, learnt while the store reads it. */
interface UploadProgress {
  bytes: number;
  /** The client went away (or the connection broke) before the body ended. */
  broken: boolean;
  /** The body ended without a byte. */
  empty: boolean;
}

/**
 * The request body for the store. The request stream is not destroyed when the store stops reading
 * early (too large, digest refused): destroying an unfinished request destroys its socket, and the
 * client would get a reset instead of the 413.
 */
async function* uploadBytes(body: Readable, progress: UploadProgress): AsyncGenerator<Buffer> {
  const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<unknown>;
  try {
    for await (const chunk of chunks) {
      // A request stream yields Buffers unless someone set an encoding on it.
      if (!Buffer.isBuffer(chunk)) throw new ImageStoreError('io', 'the body must be bytes');
      progress.bytes += chunk.length;
      yield chunk;
    }
  } catch (error) {
    if (!(error instanceof ImageStoreError)) progress.broken = true;
    throw error;
  }
  if (progress.bytes === 0) {
    // The store passes its own error type through; the route answers from `progress` (400).
    progress.empty = true;
    throw new ImageStoreError('io', 'the body is empty');
  }
}

/** The image of that name, undefined when there is none: the store's list is where an image's digest is kept. */
async function findImage(images: FirmwareImagesContext, name: string): Promise<ImageInfo | undefined> {
  return (await images.store.list()).find((image) => image.name === name);
}

/**
 * The firmware images in firmware.dir, for operators: list, info, upload (streamed, bounded by
 * firmware.max_image_size), delete. The routes are always registered (and documented); without an
 * image store (firmware.dir empty) each answers 404 saying so.
 */
export function registerFirmwareImagesApi(app: FastifyInstance, context: Pick<ManagementContext, 'images' | 'log'>): void {
  const { images, log } = context;

  app.get(
    FIRMWARE_IMAGES_PREFIX,
    {
      schema: {
        tags: TAGS,
        summary: 'The firmware images in firmware.dir, by name',
        description: 'At most firmware.max_images; files that are not images (hidden, oversize, subdirectories) are not listed.',
        response: {
          200: { type: 'object', required: ['data'], properties: { data: { type: 'array', items: IMAGE_SCHEMA } } },
          404: API_ERROR_SCHEMA,
          500: API_ERROR_SCHEMA,
        },
      },
    },
    async (_request, reply) => {
      if (!images) return refuse(reply, 404, 'NOT_FOUND', NO_IMAGE_STORE_MESSAGE);
      return withStore(reply, async () => ({ data: (await images.store.list()).map(imageView) }));
    },
  );

  app.get<{ Params: ImageParams }>(
    `${FIRMWARE_IMAGES_PREFIX}/:name`,
    {
      schema: {
        tags: TAGS,
        summary: "One firmware image's size, SHA-256 and modification time (never its bytes)",
        params: NAME_PARAMS,
        response: { 200: IMAGE_SCHEMA, 400: API_ERROR_SCHEMA, 404: API_ERROR_SCHEMA, 500: API_ERROR_SCHEMA },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const store = storeForName(images, name, reply);
      if (!store) return reply;
      return withStore(reply, async () => {
        const found = await findImage(store, name);
        return found ? imageView(found) : refuse(reply, 404, 'NOT_FOUND', `firmware image "${name}" not found`);
      });
    },
  );

  app.delete<{ Params: ImageParams }>(
    `${FIRMWARE_IMAGES_PREFIX}/:name`,
    {
      schema: {
        tags: TAGS,
        summary: 'Remove a firmware image',
        description: 'A symlink is removed itself, never its target. Jobs that already read the image keep their copy.',
        params: NAME_PARAMS,
        response: { 204: { type: 'null', description: 'removed' }, 400: API_ERROR_SCHEMA, 404: API_ERROR_SCHEMA, 500: API_ERROR_SCHEMA },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const store = storeForName(images, name, reply);
      if (!store) return reply;
      return withStore(reply, async () => {
        if (!(await store.store.remove(name))) return refuse(reply, 404, 'NOT_FOUND', `firmware image "${name}" not found`);
        log.info({ image: name }, 'firmware image removed');
        return reply.code(204).send();
      });
    },
  );

  // The upload reads its body as a stream, so it gets its own content-type parsers (in its own plugin scope).
  void app.register(async (scope) => registerImageUpload(scope, images, log));
}

function registerImageUpload(scope: FastifyInstance, images: FirmwareImagesContext | undefined, log: ManagementContext['log']): void {
  let uploadsInFlight = 0;
  scope.removeAllContentTypeParsers();
  // The body is handed on unread: the store writes it to disk as it arrives and stops at maxImageBytes.
  scope.addContentTypeParser(OCTET_STREAM, (request: FastifyRequest, payload: Readable, done: (err: Error | null, body?: Readable) => void) => {
    const declared = Number(request.headers['content-length']);
    if (images && declared > images.maxImageBytes) return done(httpError(413, `the image is larger than firmware.max_image_size (${images.maxImageBytes} bytes)`));
    done(null, payload);
  });
  scope.addContentTypeParser('*', (_request: FastifyRequest, _payload: Readable, done: (err: Error | null) => void) => done(httpError(415, `Content-Type must be ${OCTET_STREAM}`)));
  // Any answer given before the body was read in full closes the connection: the rest of a body (up to
  // firmware.max_image_size, or unbounded when chunked) is not worth reading to keep it alive.
  scope.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete) reply.header('connection', 'close');
  });

  scope.put<{ Params: ImageParams; Body: Readable | undefined }>(
    `${FIRMWARE_IMAGES_PREFIX}/:name`,
    {
      // fastify does not bound a streamed body: the parser and the store do (firmware.max_image_size).
      bodyLimit: images?.maxImageBytes,
      schema: {
        tags: TAGS,
        summary: 'Upload a firmware image (created or replaced)',
        description:
          'The body is the image, Content-Type application/octet-stream, at most firmware.max_image_size bytes. It is written to a ' +
          'temporary file and renamed over the name when complete: a download sees the old image or the new one, never a part. ' +
          '201 when no image of that name existed as the upload began, 200 when it replaced one. 507: firmware.max_images reached; ' +
          `503 (Retry-After): ${MAX_CONCURRENT_PUTS} uploads already under way.`,
        params: NAME_PARAMS,
        headers: {
          type: 'object',
          properties: { [CHECKSUM_HEADER]: { type: 'string', description: 'The SHA-256 the bytes must have, 64 hex digits: 422 when they do not' } },
        },
        response: {
          200: IMAGE_SCHEMA,
          201: IMAGE_SCHEMA,
          400: API_ERROR_SCHEMA,
          404: API_ERROR_SCHEMA,
          413: API_ERROR_SCHEMA,
          415: API_ERROR_SCHEMA,
          422: API_ERROR_SCHEMA,
          500: API_ERROR_SCHEMA,
          503: API_ERROR_SCHEMA,
          507: API_ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      if (!images) return refuse(reply, 404, 'NOT_FOUND', NO_IMAGE_STORE_MESSAGE);
      const { name } = request.params;
      const problem = imageNameProblem(name);
      if (problem) return refuse(reply, 400, 'BAD_REQUEST', `params/name: ${problem}`);
      const checksum = request.headers[CHECKSUM_HEADER];
      if (checksum !== undefined && (typeof checksum !== 'string' || !SHA256_HEX.test(checksum))) {
        return refuse(reply, 400, 'BAD_REQUEST', 'headers/x-checksum-sha256 must be the SHA-256 of the image as 64 hex digits');
      }
      const body = request.body;
      // No Content-Type and no body: nothing was parsed.
      if (body === undefined) return refuse(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${OCTET_STREAM}`);
      if (request.headers['content-length'] === '0') return refuse(reply, 400, 'BAD_REQUEST', 'the body is empty: send the image');
      // Checked here and not left to the store, whose "too-many" also means firmware.max_images (507).
      if (uploadsInFlight >= MAX_CONCURRENT_PUTS) {
        reply.header('retry-after', String(UPLOAD_RETRY_AFTER_SECONDS));
        return refuse(reply, 503, 'SERVICE_UNAVAILABLE', `${MAX_CONCURRENT_PUTS} firmware image uploads are already under way; try again later`);
      }
      uploadsInFlight++;
      const progress: UploadProgress = { bytes: 0, broken: false, empty: false };
      try {
        const existed = (await findImage(images, name)) !== undefined;
        const info = await images.store.put(name, uploadBytes(body, progress), checksum);
        log.info({ image: name, size: info.size, sha256: info.sha256, replaced: existed }, 'firmware image stored');
        return reply.code(existed ? 200 : 201).send(imageView(info));
      } catch (error) {
        if (progress.broken) {
          // Nobody waits for this answer; the store removed the partial file.
          log.info({ image: name, received: progress.bytes }, 'firmware image upload broke off before its end');
          return refuse(reply, 400, 'BAD_REQUEST', 'the body ended early');
        }
        if (progress.empty) return refuse(reply, 400, 'BAD_REQUEST', 'the body is empty: send the image');
        if (!(error instanceof ImageStoreError)) throw error;
        if (error.code === 'io') log.error({ image: name, err: error.message }, 'firmware image upload failed');
        return storeRefusal(reply, error);
      } finally {
        uploadsInFlight--;
      }
    },
  );
}
