import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiError } from '../http/http-server';
import { packageRoot } from '../package-root';
import type { ManagementContext } from './management-context';
import { registerObjectsApi } from './objects-api';

/** The console's files (console/ in the package) and their content types: nothing else is served, so no path can leave the folder. */
const CONSOLE_FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'event-stream.js': 'text/javascript; charset=utf-8',
  'device-list.js': 'text/javascript; charset=utf-8',
  'device-page.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Scripts, styles, API calls and the event stream from this origin only; no framing, no inline code. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface ConsoleFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/** Reads every console file once; undefined (and a warning) when the package has no complete console/. */
function loadConsoleFiles(context: ManagementContext): Map<string, ConsoleFile> | undefined {
  const dir = path.join(packageRoot(), 'console');
  const files = new Map<string, ConsoleFile>();
  for (const [name, contentType] of Object.entries(CONSOLE_FILES)) {
    let body: Buffer;
    try {
      body = fs.readFileSync(path.join(dir, name));
    } catch (err) {
      context.log.warn({ dir, file: name, err: (err as Error).message }, 'web console not served: a file of console/ is missing');
      return undefined;
    }
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(name, { body, contentType, etag });
  }
  return files;
}

/** Sends a console file; the browser revalidates each time (ETag, 304) since the names carry no version. */
function sendFile(request: FastifyRequest, reply: FastifyReply, file: ConsoleFile): FastifyReply {
  reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .header('etag', file.etag);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.type(file.contentType).send(file.body);
}

/**
 * The web console: `/` (the page) and `/console/<file>` (its scripts and style), read from the
 * package's console/ folder at start; and the objects API the console names things with. Behind the
 * API keys like the API: the browser asks for them once and sends them with the console's requests.
 */
export function registerConsole(app: FastifyInstance, context: ManagementContext): void {
  registerObjectsApi(app, context);
  const files = loadConsoleFiles(context);
  if (!files) return;
  const index = files.get('index.html')!;
  app.get('/', { schema: { hide: true } }, async (request, reply) => sendFile(request, reply, index));
  app.get<{ Params: { file: string } }>('/console/:file', { schema: { hide: true } }, async (request, reply) => {
    const file = files.get(request.params.file);
    if (file === undefined) return reply.code(404).send({ code: 'NOT_FOUND', message: 'no such console file' } satisfies ApiError);
    return sendFile(request, reply, file);
  });
}
