import fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { LogThrottle } from '../limits/log-throttle';
import { RateLimiter } from '../limits/rate-limiter';

/** One API credential: HTTP Basic user `key`, password `secret` (EMQX's API keys). */
export interface ApiKey {
  readonly key: string;
  readonly secret: string;
}

export interface HttpServerOptions {
  /** Empty: no authentication (the caller binds to loopback only). */
  readonly apiKeys: readonly ApiKey[];
  /** Paths served without a key (exact, or a prefix when ending in `/`). */
  readonly openPaths: readonly string[];
  /** Failed authentications per source address per minute before 429. */
  readonly authFailuresPerMinute: number;
  readonly bodyLimit: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

/** The JSON body of every error the API answers (EMQX's shape). */
export interface ApiError {
  code: string;
  message: string;
}

export const API_ERROR_SCHEMA = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

/** Open HTTP connections at most (an operator's API, not a public service). */
export const MAX_CONNECTIONS = 1024;

const REALM = 'Basic realm="lwm2m-gateway", charset="UTF-8"';

/** A secret's digest: compared in constant time whatever the lengths (timingSafeEqual needs equal lengths). */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The management plane's HTTP server (fastify): HTTP Basic authentication against the API keys, with
 * failed attempts logged and limited per source address, one JSON error shape for every failure
 * (schema violations name the field), and optional TLS. It knows no device: the routes are the
 * translator's (src/management).
 */
export function createHttpServer(options: HttpServerOptions, log: Logger): FastifyInstance {
  const app = fastify({
    logger: false,
    bodyLimit: options.bodyLimit,
    // close() ends every connection, not only idle ones: a connection a client opened and never used
    // (fetch keeps a spare one) or an event stream would otherwise hold shutdown for up to 30 s.
    forceCloseConnections: true,
    // A slow client cannot hold a connection open for ever (slowloris): headers within 10 s, the request
    // within 30 s. No inactivity timeout on the socket: a synchronous command may wait longer than 30 s
    // for its answer (http.command_timeout) and an event stream is quiet between keep-alives.
    connectionTimeout: 0,
    requestTimeout: 30_000,
    routerOptions: { maxParamLength: 256 },
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    // Router refusals (a malformed URL, a path segment over maxParamLength) in the same error shape as the rest.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      const code = status === 414 ? 'URI_TOO_LONG' : 'BAD_REQUEST';
      return reply.code(status).send({ code, message: status === 414 ? 'a path segment is longer than 256 characters' : 'malformed URL' } satisfies ApiError);
    },
  });
  app.server.headersTimeout = 10_000;
  // Connections at once: each costs a socket and its buffers (event streams are bounded further by
  // http.events.max_consumers); beyond it Node closes new connections at once.
  app.server.maxConnections = MAX_CONNECTIONS;

  const keys = options.apiKeys.map((k) => ({ key: k.key, secret: digest(k.secret) }));
  // A bucket of `authFailuresPerMinute` failures refilled over a minute, per source address.
  const failures = new RateLimiter(options.authFailuresPerMinute / 60, options.authFailuresPerMinute, 10_000);
  const blocked = new Map<string, number>();
  const failureLog = new LogThrottle(10_000);
  const isOpen = (url: string): boolean => {
    const path = url.split('?', 1)[0];
    return options.openPaths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
  };

  /** The key a request authenticates as, undefined when its credentials are missing or wrong. */
  const authenticate = (header: string | undefined): string | undefined => {
    if (header === undefined || header.length > 1024) return undefined;
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (!match) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const secret = digest(decoded.slice(colon + 1));
    let found: string | undefined;
    // Every key is compared, so the time taken does not say which key names exist.
    for (const k of keys) if (timingSafeEqual(k.secret, secret) && k.key === user) found = k.key;
    return found;
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (keys.length === 0 || isOpen(request.url)) return;
    const source = request.ip;
    const now = Date.now();
    const until = blocked.get(source);
    if (until !== undefined) {
      if (now < until) {
        reply.header('retry-after', String(Math.ceil((until - now) / 1000)));
        return reply.code(429).send({ code: 'TOO_MANY_REQUESTS', message: 'too many failed authentications from this address; try again later' } satisfies ApiError);
      }
      blocked.delete(source);
    }
    if (authenticate(request.headers.authorization) !== undefined) return;
    const allowed = failures.take(source, now);
    const admitted = failureLog.admit(source);
    const reason = request.headers.authorization === undefined ? 'no credentials' : 'wrong credentials';
    if (admitted) log.warn({ source, method: request.method, path: request.url.split('?', 1)[0].slice(0, 100), reason, suppressed: admitted.suppressed }, 'HTTP API authentication failed');
    if (!allowed) {
      // Bounded like the limiter's table: an attacker spreading over addresses fills neither.
      if (blocked.size < 10_000) blocked.set(source, now + 60_000);
      reply.header('retry-after', '60');
      return reply.code(429).send({ code: 'TOO_MANY_REQUESTS', message: 'too many failed authentications from this address; try again later' } satisfies ApiError);
    }
    reply.header('www-authenticate', REALM);
    return reply.code(401).send({ code: 'UNAUTHORIZED', message: `${reason}: this API needs an API key (HTTP Basic, http.api_keys)` } satisfies ApiError);
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      // fastify 5 already starts the message with the context ("querystring/limit must be >= 1").
      const where = error.validationContext ?? 'request';
      const message = error.message.startsWith(where) ? error.message : `${where}${error.message.startsWith('/') ? '' : ' '}${error.message}`;
      return reply.code(400).send({ code: 'BAD_REQUEST', message } satisfies ApiError);
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) log.error({ method: request.method, path: request.url.split('?', 1)[0].slice(0, 100), err: error.message }, 'HTTP request failed');
    const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
    return reply.code(status).send({ code, message: status === 500 ? 'internal error' : error.message } satisfies ApiError);
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    return reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?', 1)[0].slice(0, 100)}` } satisfies ApiError);
  });

  return app;
}

/** Whether an address is a loopback one (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::ffff:127.0.0.1';
}
