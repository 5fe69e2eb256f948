import type { Logger } from 'pino';
import { BootstrapConfigError } from '../bootstrap-config/bootstrap-config-error';
import { BootstrapConfigFile } from '../bootstrap-config/bootstrap-config-file';
import { createBootstrapHttpHook } from '../bootstrap-config/bootstrap-http-hook';
import { chainSources } from '../bootstrap-config/chained-sources';
import type { CoapEndpoint } from '../coap';
import type { BootstrapConfigSource } from '../lwm2m/bootstrap/bootstrap-config';
import type { EndpointClaims } from '../lwm2m/registration/admission';
import { BootstrapServer } from '../lwm2m/bootstrap/bootstrap-server';
import type { ModelLookup } from '../lwm2m/model/types';
import type { LoadNativeDtlsResult } from '../transport/dtls/native-binding';
import { LogThrottle } from '../limits/log-throttle';
import type { Peer, Transport } from '../transport/transport';
import { UdpTransport } from '../transport/udp-transport';
import { ConfigError, type GatewayConfig } from './config';
import { startDtlsListener } from './dtls-listener';

/** The bootstrap server and where its configurations come from; SIGHUP re-reads the file. */
export interface BootstrapService {
  server: BootstrapServer;
  reload(): void;
}

/** Whether the configuration asks for a bootstrap server at all. */
export function bootstrapEnabled(config: GatewayConfig): boolean {
  return config.bootstrap.config_file !== undefined || config.bootstrap.http.url !== '';
}

function loadConfigFile(file: string): BootstrapConfigFile {
  try {
    return BootstrapConfigFile.load(file);
  } catch (err) {
    if (err instanceof BootstrapConfigError) throw new ConfigError(err.message, { key: 'bootstrap.config_file' });
    throw err;
  }
}

/**
 * The bootstrap server of `bootstrap:`: the HTTP hook first (its `ignore` passes on), then the file.
 * A bad file refuses to start with every problem named.
 */
export function createBootstrapService(config: GatewayConfig, model: ModelLookup, log: Logger): BootstrapService {
  const b = config.bootstrap;
  const sources: BootstrapConfigSource[] = [];
  if (b.http.url !== '') {
    sources.push(
      createBootstrapHttpHook(
        {
          url: b.http.url,
          method: b.http.method,
          headers: b.http.headers,
          body: b.http.body,
          timeoutSeconds: b.http.timeout,
          maxInFlight: b.http.max_in_flight,
          maxInFlightPerSource: b.http.max_in_flight_per_source,
        },
        log,
      ),
    );
  }
  const file = b.config_file === undefined ? undefined : loadConfigFile(b.config_file);
  if (file) {
    sources.push(file);
    log.info({ file: b.config_file, endpoints: file.size }, 'bootstrap configuration loaded');
  }
  const server = new BootstrapServer(sources.length === 1 ? sources[0] : chainSources(sources), model, {
    sessionTimeoutMs: b.session_timeout * 1000,
    maxSessions: b.max_sessions,
    maxEndpointLength: config.lwm2m.max_endpoint_length,
    requestRate: { perSource: b.request_rate.per_source, burst: b.request_rate.burst },
    allowKeysOverUdp: b.allow_keys_over_udp,
  });
  // Refusals that publish nothing: one log line per source address and reason class every 10 s.
  const refusals = new LogThrottle();
  server.on('refused', (peer: Peer, code: string, reason: string) => {
    const admitted = refusals.admit(`${peer.address} ${code}`);
    if (admitted) log.info({ peer: `${peer.address}:${peer.port}`, code, reason, suppressed: admitted.suppressed || undefined }, 'bootstrap request refused');
  });
  if (log.isLevelEnabled('debug')) server.on('step', (endpoint: string, step: string, target: string) => log.debug({ ep: endpoint, step, target }, 'bootstrap step'));
  return {
    server,
    reload: () => {
      if (!file) return;
      try {
        const count = file.reload();
        log.info({ file: b.config_file, endpoints: count }, 'bootstrap configuration reloaded');
      } catch (err) {
        log.error({ err: (err as Error).message }, 'bootstrap configuration not reloaded; the previous one stays in use');
      }
    },
  };
}

/** The dedicated bootstrap listeners that run: their ports, the endpoints their PSK file binds, and its SIGHUP hook. */
export interface BootstrapListeners {
  udpPort?: number;
  dtlsPort?: number;
  claims?: EndpointClaims;
  reloadCredentials(): void;
}

/**
 * Starts `listeners.bootstrap_udp` and `listeners.bootstrap_dtls`: CoAP endpoints that serve the
 * bootstrap server alone. `serve` builds a listener's CoAP endpoint (closed with the gateway).
 */
export async function startBootstrapListeners(
  config: GatewayConfig,
  bootstrap: BootstrapServer,
  log: Logger,
  serve: (transport: Transport, label: string) => CoapEndpoint,
  closers: (() => Promise<void> | void)[],
  loadAddon?: () => LoadNativeDtlsResult,
): Promise<BootstrapListeners> {
  const listeners: BootstrapListeners = { reloadCredentials: () => undefined };
  const dtlsConfig = config.listeners.bootstrap_dtls;
  if (dtlsConfig.enable) {
    const dtls = await startDtlsListener(dtlsConfig, log, loadAddon, { section: 'bootstrap_dtls' });
    if (dtls) {
      closers.push(() => dtls.transport.close());
      bootstrap.attach(serve(dtls.transport, 'coap error (bootstrap dtls)'));
      listeners.claims = dtls.claims;
      listeners.dtlsPort = dtls.port;
      listeners.reloadCredentials = () => dtls.reloadCredentials();
    }
  }
  const udpConfig = config.listeners.bootstrap_udp;
  if (udpConfig.enable) {
    const transport = await UdpTransport.bind({ host: udpConfig.bind.host, port: udpConfig.bind.port, recvBufferSize: udpConfig.recbuf });
    closers.push(() => transport.close());
    transport.on('error', (err: Error) => log.warn({ err: err.message }, 'udp error (bootstrap)'));
    bootstrap.attach(serve(transport, 'coap error (bootstrap)'));
    listeners.udpPort = transport.address().port;
    log.info({ bind: `${udpConfig.bind.host}:${listeners.udpPort}` }, 'LwM2M bootstrap server over UDP listening');
  }
  return listeners;
}
