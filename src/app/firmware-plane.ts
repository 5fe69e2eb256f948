import fs from 'node:fs';
import type { Logger } from 'pino';
import { szxForSize } from '../coap';
import type { DownlinkCommand } from '../gateway/command-parser';
import { jobRequestContext } from '../gateway/gateway';
import type { DeviceManager } from '../lwm2m/device/device-manager';
import type { ServedScheme } from '../lwm2m/firmware/update-job-state';
import { UpdateJobs } from '../lwm2m/firmware/update-jobs';
import { FirmwareImageStore } from '../lwm2m/firmware/image-store';
import type { GatewayStore } from '../lwm2m/store';
import type { Bind, GatewayConfig } from './config';
import { FirmwareHttpServer } from './firmware-http-server';

/** Where a device listener runs, for the URIs of images the gateway serves over it. */
export interface ListenerAddress {
  readonly bind: Bind;
  /** The bound port (the configured one may be 0). */
  port(): number | undefined;
}

/** Firmware jobs, their image store and their HTTP(S) download server, as the app runs them. */
export interface FirmwarePlane {
  readonly jobs: UpdateJobs<DownlinkCommand>;
  readonly images: FirmwareImageStore | undefined;
  /** The HTTP(S) download server's port, when firmware.http is on. */
  readonly httpPort: number | undefined;
  close(): Promise<void>;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

function hostInUri(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts firmware jobs on the engine: images from firmware.dir, jobs in the store, downloads served
 * on the device listeners (`/fw/<token>`) and, with firmware.http.enable, over HTTP(S).
 */
export async function startFirmwarePlane(
  config: GatewayConfig,
  engine: DeviceManager<DownlinkCommand>,
  store: GatewayStore | undefined,
  listeners: { readonly coap: ListenerAddress; readonly coaps: ListenerAddress },
  log: Logger,
): Promise<FirmwarePlane> {
  const f = config.firmware;
  const images = f.dir ? new FirmwareImageStore({ dir: f.dir, maxImageBytes: f.max_image_size, maxImages: f.max_images }) : undefined;
  let http: FirmwareHttpServer | undefined;
  let httpPort: number | undefined;
  const httpScheme = f.http.certfile !== undefined ? 'https' : 'http';
  const jobs: UpdateJobs<DownlinkCommand> = new UpdateJobs(engine, {
    context: jobRequestContext,
    images,
    store: store?.jobs,
    jobTimeoutMs: f.job_timeout * 1000,
    pollIntervalMs: f.poll_interval * 1000,
    maxSzx: szxForSize(config.lwm2m.blockwise.max_block_size),
    maxJobs: f.max_jobs,
    downloadBase: (scheme: ServedScheme) => {
      if (scheme === 'http' || scheme === 'https') {
        if (httpPort === undefined) return { problem: `images are not served over ${scheme}: firmware.http.enable is false` };
        if (scheme !== httpScheme) return { problem: `the firmware HTTP server speaks ${httpScheme} (firmware.http.certfile ${httpScheme === 'https' ? 'is' : 'is not'} set), not ${scheme}` };
        if (f.http.public_url) return { base: f.http.public_url.replace(/\/+$/, '') };
        const host = f.public_host || (isWildcard(f.http.bind.host) ? '' : f.http.bind.host);
        if (!host) return { problem: 'set firmware.public_host (or firmware.http.public_url): the address devices reach the gateway at' };
        return { base: `${scheme}://${hostInUri(host)}:${httpPort}` };
      }
      const listener = scheme === 'coap' ? listeners.coap : listeners.coaps;
      const port = listener.port();
      if (port === undefined) return { problem: `images are not served over ${scheme}: its listener (listeners.${scheme === 'coap' ? 'udp' : 'dtls'}) is off` };
      const host = f.public_host || (isWildcard(listener.bind.host) ? '' : listener.bind.host);
      if (!host) return { problem: `set firmware.public_host: the address devices reach the gateway at (listeners.${scheme === 'coap' ? 'udp' : 'dtls'} binds every interface)` };
      return { base: `${scheme}://${hostInUri(host)}:${port}` };
    },
    log: (level, fields, message) => log[level](fields, message),
    onStoreError: (what, err) => log.error({ what, err: err instanceof Error ? err.message : String(err) }, 'store write failed'),
  });
  if (f.http.enable) {
    const tls = f.http.certfile !== undefined && f.http.keyfile !== undefined ? { cert: fs.readFileSync(f.http.certfile), key: fs.readFileSync(f.http.keyfile) } : undefined;
    http = new FirmwareHttpServer({
      bind: f.http.bind,
      tls,
      maxConnections: f.http.max_connections,
      maxConnectionsPerSource: f.http.max_connections_per_source,
      log,
      lookup: (token) => jobs.download(token),
    });
    httpPort = (await http.start()).port;
    log.info({ bind: `${f.http.bind.host}:${httpPort}`, tls: tls !== undefined }, 'firmware downloads served over HTTP');
  }
  return {
    jobs,
    images,
    httpPort,
    close: async () => {
      await jobs.close();
      await http?.close();
    },
  };
}
