import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createHttpServer, isLoopback } from '../http/http-server';
import { registerManagementApi } from '../management/management-api';
import type { ManagementContext } from '../management/management-context';
import type { HttpConfig } from './config';

/** The management plane as started: its port and its shutdown. */
export interface HttpPlane {
  readonly port: number;
  readonly host: string;
  readonly tls: boolean;
  close(): Promise<void>;
}

/**
 * Starts the management plane on http.bind: the API, events, metrics, health and console. With no
 * API key it binds to loopback only, whatever http.bind says, and says so.
 */
export async function startHttpPlane(config: HttpConfig, context: ManagementContext, log: Logger): Promise<HttpPlane | undefined> {
  if (!config.enable) {
    log.info('management plane is off (http.enable: false)');
    return undefined;
  }
  let host = config.bind.host;
  const open = config.api_keys.length === 0;
  if (open && !isLoopback(host)) {
    log.warn({ configured: `${host}:${config.bind.port}`, bind: `127.0.0.1:${config.bind.port}` }, 'http.api_keys is empty: the management API binds to loopback only (set http.api_keys to serve it on other interfaces)');
    host = '127.0.0.1';
  }
  const tls = config.certfile !== undefined && config.keyfile !== undefined ? { cert: fs.readFileSync(config.certfile), key: fs.readFileSync(config.keyfile) } : undefined;
  const app = createHttpServer(
    {
      apiKeys: config.api_keys,
      openPaths: config.metrics_auth ? ['/health/'] : ['/health/', '/metrics'],
      authFailuresPerMinute: config.auth_failures_per_minute,
      bodyLimit: config.max_body_size,
      tls,
    },
    log,
  );
  await registerManagementApi(app, context);
  await app.listen({ host, port: config.bind.port });
  const port = (app.server.address() as AddressInfo).port;
  log.info(
    { bind: `${host.includes(':') ? `[${host}]` : host}:${port}`, tls: tls !== undefined, auth: open ? 'none (no http.api_keys: loopback only)' : `HTTP Basic, ${config.api_keys.length} API key(s)` },
    'management plane listening (API, events, metrics, health, console)',
  );
  return { port, host, tls: tls !== undefined, close: () => app.close() };
}
