import type { Logger } from 'pino';
import { createHttpAuthAdmission, type HttpAuthOptions } from '../auth/http-auth-hook';
import { CoapEndpoint, type CoapLimit, type InboundRequest } from '../coap';
import { Lwm2mMqttGateway, type GatewayOptions } from '../gateway/gateway';
import type { DownlinkCommand } from '../gateway/command-parser';
import { DeviceManager, type RestoreSummary } from '../lwm2m/device/device-manager';
import { describeStore, openConfiguredStore, storeFailureLog } from './open-store';
import { startHttpPlane, type HttpPlane } from './http-plane';
import { createGatewayMetrics } from './metrics/gateway-metrics';
import { StoreTiming } from './metrics/store-timing';
import type { HealthPart } from '../management/management-context';
import { Lwm2mServer } from '../lwm2m/lwm2m-server';
import { ObjectModel } from '../lwm2m/model/object-model';
import { BrokerClient, type BrokerOutage } from '../mqtt/broker-client';
import { EmbeddedBroker } from '../mqtt/embedded-broker';
import type { LoadNativeDtlsResult } from '../transport/dtls/native-binding';
import type { DtlsTransport } from '../transport/dtls-transport';
import { peerKey, type Peer, type Transport } from '../transport/transport';
import { UdpTransport } from '../transport/udp-transport';
import { LogThrottle } from '../limits/log-throttle';
import { type DtlsListener, startDtlsListener } from './dtls-listener';
import { PskFile } from './psk-file';
import { type BootstrapListeners, type BootstrapService, bootstrapEnabled, createBootstrapService, startBootstrapListeners } from './bootstrap-plane';
import type { BootstrapServer } from '../lwm2m/bootstrap/bootstrap-server';
import { ProvisionedCredentials, combineClaims } from '../lwm2m/bootstrap/provisioned-credentials';
import type { GatewayConfig } from './config';
import { startFirmwarePlane, type FirmwarePlane } from './firmware-plane';
import { startProfiles } from './profiles-plane';
import type { DeviceProfiles } from '../gateway/profiles/device-profiles';
import { packageVersion } from '../package-root';
import fs from 'node:fs';
import os from 'node:os';

export { packageVersion };

/** A started gateway: its sockets' real ports and a clean shutdown. */
export interface RunningGateway {
  /** The UDP listener's port; 0 when `listeners.udp.enable` is false. */
  udpPort: number;
  /** The DTLS listener's port, when it runs. */
  dtlsPort?: number;
  /** The bootstrap server's own listeners' ports, when they run. */
  bootstrapUdpPort?: number;
  bootstrapDtlsPort?: number;
  /** The bootstrap server, when `bootstrap:` configures one. */
  bootstrap?: BootstrapServer;
  dtls?: DtlsTransport;
  /** The CoAP endpoints of the listeners that run (their stats()). */
  coap: { udp?: CoapEndpoint; dtls?: CoapEndpoint };
  /** Port of the embedded broker, when one was started. */
  brokerPort?: number;
  /** Port of the management plane (HTTP API, events, metrics, health, console), when it runs. */
  httpPort?: number;
  /** Firmware jobs and their image store; the HTTP(S) download server's port when firmware.http is on. */
  firmware: FirmwarePlane;
  mqttUrl: string;
  gateway: Lwm2mMqttGateway;
  server: Lwm2mServer;
  /** Re-reads the PSK files, the bootstrap configuration file and the device profiles (SIGHUP); established sessions stay. */
  reloadCredentials(): void;
  close(): Promise<void>;
}

/** The CoAP message layer over one transport, with the configured timing and block-wise limits. */
function coapEndpoint(transport: Transport, config: GatewayConfig): CoapEndpoint {
  const c = config.lwm2m;
  return new CoapEndpoint(transport, {
    ackTimeout: c.coap.ack_timeout,
    ackRandomFactor: c.coap.ack_random_factor,
    maxRetransmit: c.coap.max_retransmit,
    blockwise: {
      enable: c.blockwise.enable,
      maxBlockSize: c.blockwise.max_block_size,
      maxBodySize: c.blockwise.max_body_size,
      exchangeLifetime: c.blockwise.exchange_lifetime,
      maxPendingBytes: c.blockwise.max_pending_bytes,
      maxPendingBytesPerSource: c.blockwise.max_pending_bytes_per_source,
    },
  });
}

/** Logs the endpoint's refusals for spent memory budgets at warn, once per source address per 10 s. */
function logLimitRefusals(endpoint: CoapEndpoint, log: Logger, throttle: LogThrottle): void {
  endpoint.on('limit', (peer: Peer, limit: CoapLimit, code: string, detail: string) => {
    const admitted = throttle.admit(peer.address);
    if (admitted) log.warn({ peer: `${peer.address}:${peer.port}`, limit, code, detail, suppressed: admitted.suppressed }, 'coap request refused: limit reached');
  });
}

/**
 * Traffic from peers the gateway does not know, at debug and at most once per source address per
 * 10 s: datagrams the CoAP layer rejected or ignored (malformed, or a response with a token it does
 * not know, answered RST), and requests outside /rd from peers with no registration. Nothing is built
 * unless debug is on; the request's query is never logged (it may carry secrets).
 */
function logMalformed(endpoint: CoapEndpoint, log: Logger, throttle: LogThrottle): void {
  endpoint.on('malformed', (peer: Peer, reason: string) => {
    if (!log.isLevelEnabled('debug')) return;
    const admitted = throttle.admit(peer.address);
    if (admitted) log.debug({ peer: `${peer.address}:${peer.port}`, reason, suppressed: admitted.suppressed || undefined }, 'coap datagram rejected');
  });
}

/** The second half of the unknown traffic above: requests outside /rd from peers with no registration. */
function logNotServed(server: Lwm2mServer, log: Logger, throttle: LogThrottle): void {
  server.on('notServed', (req: InboundRequest) => {
    if (!log.isLevelEnabled('debug') || server.store.byPeer(peerKey(req.peer)) !== undefined) return;
    const admitted = throttle.admit(req.peer.address);
    if (!admitted) return;
    const fields = { peer: `${req.peer.address}:${req.peer.port}`, method: req.method, path: `/${req.uriPath.join('/')}`.slice(0, 100), code: '4.04', suppressed: admitted.suppressed || undefined };
    log.debug(fields, 'request from a peer with no registration');
  });
}

/** The broker url for logs: no credentials, no query (a token may hide there). */
function maskUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@').replace(/\?.*$/, '?***');
}

/** A lost broker at warn (once per outage), its return at info with what the outage cost. */
function logBrokerOutages(mqtt: BrokerClient, url: string, log: Logger): void {
  const broker = maskUrl(url);
  mqtt.on('disconnected', (error: Error | undefined) => log.warn({ broker, err: error?.message }, 'MQTT broker connection lost'));
  mqtt.on('reconnected', (outage: BrokerOutage) =>
    log.info({ broker, outageMs: outage.durationMs, attempts: outage.attempts, queued: outage.queued, dropped: outage.dropped }, 'MQTT broker connection back'),
  );
}

/** The one line an operator reads at start-up: what listens where, which broker, what is held and bounded. */
function startupSummary(
  config: GatewayConfig,
  model: ObjectModel,
  mqttUrl: string,
  udpPort: number,
  dtlsPort: number | undefined,
  brokerPort: number | undefined,
  http: HttpPlane | undefined,
  bootstrap: BootstrapListeners | undefined,
): Record<string, unknown> {
  const l = config.lwm2m;
  const udp = config.listeners.udp;
  const dtls = config.listeners.dtls;
  return {
    version: packageVersion(),
    listeners: {
      udp: udp.enable ? `${udp.bind.host}:${udpPort}` : 'off',
      dtls: dtlsPort !== undefined ? `${dtls.bind.host}:${dtlsPort}` : 'off',
    },
    bootstrap: bootstrap
      ? {
          udp: bootstrap.udpPort !== undefined ? `${config.listeners.bootstrap_udp.bind.host}:${bootstrap.udpPort}` : 'off',
          dtls: bootstrap.dtlsPort !== undefined ? `${config.listeners.bootstrap_dtls.bind.host}:${bootstrap.dtlsPort}` : 'off',
          on_dm_listeners: config.bootstrap.on_dm_listeners,
        }
      : 'off',
    http: http ? `${http.tls ? 'https' : 'http'}://${http.host.includes(':') ? `[${http.host}]` : http.host}:${http.port}` : 'off',
    broker: brokerPort !== undefined ? { embedded: `${config.embedded_broker.bind.host}:${brokerPort}` } : { url: maskUrl(mqttUrl) },
    store: describeStore(config.store),
    objects: { definitions: model.objectIds().length, xml_dir: l.xml_dir },
    limits: {
      max_registrations: l.max_registrations,
      max_queued_commands: l.max_queued_commands,
      registration_rate: { per_source: l.registration_rate.per_source, burst: l.registration_rate.burst },
    },
  };
}

function gatewayOptions(config: GatewayConfig, profiles: DeviceProfiles): GatewayOptions {
  const l = config.lwm2m;
  return {
    mountpoint: l.mountpoint,
    translators: l.translators,
    autoObserve: l.auto_observe,
    updateMsgPublishCondition: l.update_msg_publish_condition,
    keys: l.keys,
    maxQueuedCommands: l.max_queued_commands,
    maxCommandSize: l.max_command_size,
    secretQueryKeys: l.secret_query_keys,
    maxEndpointLength: l.max_endpoint_length,
    maxRetransmit: l.coap.max_retransmit,
    profiles,
  };
}

function readFile(file: string | undefined): Buffer | undefined {
  return file === undefined ? undefined : fs.readFileSync(file);
}

/** Wires transport → coap → lwm2m ⇄ gateway ⇄ mqtt from a validated configuration. */
/** What startGateway may be given instead of the real thing (tests: an addon that fails to load). */
export interface GatewayDependencies {
  loadNativeDtls?: () => LoadNativeDtlsResult;
}

export async function startGateway(config: GatewayConfig, log: Logger, deps: GatewayDependencies = {}): Promise<RunningGateway> {
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'error while closing');
      }
    }
  };
  try {
    const model = ObjectModel.withBuiltins();
    if (config.lwm2m.xml_dir) {
      const result = model.loadXmlDir(config.lwm2m.xml_dir);
      for (const e of result.errors) log.warn({ file: e.file, err: e.message }, 'object definition not loaded');
      log.info({ dir: config.lwm2m.xml_dir, loaded: result.loaded }, 'object definitions loaded');
    }

    let mqttUrl = config.mqtt.url;
    let brokerPort: number | undefined;
    if (!mqttUrl) {
      const broker = await EmbeddedBroker.start(config.embedded_broker.bind.host, config.embedded_broker.bind.port);
      closers.push(() => broker.close());
      brokerPort = broker.port;
      const host = config.embedded_broker.bind.host === '0.0.0.0' || config.embedded_broker.bind.host === '::' ? '127.0.0.1' : config.embedded_broker.bind.host;
      mqttUrl = `mqtt://${host.includes(':') ? `[${host}]` : host}:${broker.port}`;
      log.info({ bind: `${config.embedded_broker.bind.host}:${broker.port}` }, 'embedded MQTT broker started');
    }
    const m = config.mqtt;
    const mqtt = await BrokerClient.connect({
      url: mqttUrl,
      username: m.username,
      password: m.password,
      clientId: m.client_id,
      clean: m.clean,
      keepalive: m.keepalive,
      reconnectPeriod: m.reconnect_period * 1000,
      ca: readFile(m.ca_file),
      cert: readFile(m.cert_file),
      key: readFile(m.key_file),
      rejectUnauthorized: m.reject_unauthorized,
    });
    closers.push(() => mqtt.close());
    log.info({ url: maskUrl(mqttUrl) }, 'connected to MQTT broker');
    logBrokerOutages(mqtt, mqttUrl, log);

    const l = config.lwm2m;
    const server = new Lwm2mServer(model, {
      lifetimeMin: l.lifetime_min,
      lifetimeMax: l.lifetime_max,
      maxEndpointLength: l.max_endpoint_length,
      maxRegistrations: l.max_registrations,
      maxObjectLinks: l.max_object_links,
      registrationRate: { perSource: l.registration_rate.per_source, burst: l.registration_rate.burst },
    });
    const authn = { udp: config.listeners.udp.enable_authn, dtls: config.listeners.dtls.enable_authn };
    const h = config.auth.http;
    if (h.url) {
      const options: HttpAuthOptions = {
        url: h.url,
        method: h.method,
        headers: h.headers,
        body: h.body,
        timeoutSeconds: h.timeout,
        maxInFlight: h.max_in_flight,
        maxInFlightPerSource: h.max_in_flight_per_source,
      };
      server.registrations.setAdmission(createHttpAuthAdmission(options, authn, log));
    }
    closers.push(() => server.close());
    // Devices' requests wait while the stored state comes back: an Update must find its registration.
    let restored!: () => void;
    server.holdUntil(new Promise<void>((resolve) => (restored = resolve)));
    const storeFailed = storeFailureLog(log);
    // Timed only when metrics are served: the wrapper adds one promise callback per store operation.
    const storeTiming = config.http.enable ? new StoreTiming() : undefined;
    const opened = await openConfiguredStore(config.store, storeFailed);
    const store = storeTiming && opened ? storeTiming.wrap(opened) : opened;
    if (store) closers.push(() => store.close());
    const engine = new DeviceManager<DownlinkCommand>(server, {
      qmodeTimeWindow: l.qmode_time_window,
      maxQueuedRequests: l.max_queued_commands,
      store,
      onStoreError: storeFailed,
      instance: config.store.instance ?? os.hostname(),
    });
    const profiles = startProfiles(config, log);
    const gateway = new Lwm2mMqttGateway(engine, mqtt, gatewayOptions(config, profiles.profiles), model, log);
    closers.push(() => gateway.close());
    await gateway.start();

    // DTLS first: the endpoints its PSK file binds are refused on plain UDP from the first datagram.
    const limitLog = new LogThrottle();
    const unknownTrafficLog = new LogThrottle();
    logNotServed(server, log, unknownTrafficLog);
    /** The CoAP endpoint of one listener: closed at shutdown, its events logged. */
    const endpointFor = (transport: Transport, label: string): CoapEndpoint => {
      const endpoint = coapEndpoint(transport, config);
      closers.push(() => endpoint.close());
      endpoint.on('error', (err: Error) => log.warn({ err: err.message }, label));
      logLimitRefusals(endpoint, log, limitLog);
      logMalformed(endpoint, log, unknownTrafficLog);
      return endpoint;
    };
    /** An LwM2M listener's endpoint: served by the LwM2M server. */
    const serve = (transport: Transport, label: string): CoapEndpoint => {
      const endpoint = endpointFor(transport, label);
      server.attach(endpoint);
      return endpoint;
    };
    // PSKs the bootstrap server hands out for this gateway: known before the DTLS listener's first handshake.
    const provisioned = bootstrapEnabled(config) && config.listeners.dtls.enable ? new ProvisionedCredentials({ maxEntries: config.bootstrap.max_provisioned }) : undefined;
    if (provisioned) {
      const loaded = await provisioned.load(store?.credentials);
      if (loaded > 0) log.info({ psk_identities: loaded }, 'provisioned PSKs restored from the store');
    }
    let dtls: DtlsListener | undefined;
    let coaps: CoapEndpoint | undefined;
    if (config.listeners.dtls.enable) {
      dtls = await startDtlsListener(config.listeners.dtls, log, deps.loadNativeDtls, { section: 'dtls', extraPsk: provisioned });
      if (dtls) {
        const listener = dtls;
        closers.push(() => listener.transport.close());
        coaps = serve(listener.transport, 'coap error (dtls)');
      }
    }
    // Endpoints the PSK file binds never register over plain UDP, even when DTLS itself is off.
    const pskFile = config.listeners.dtls.psk_file;
    const fileClaims = dtls?.claims ?? (pskFile !== undefined ? PskFile.load(pskFile) : undefined);
    server.registrations.setEndpointClaims(provisioned ? combineClaims(fileClaims, provisioned) : fileClaims);

    let bootstrap: BootstrapService | undefined;
    let bootstrapListeners: BootstrapListeners | undefined;
    if (bootstrapEnabled(config)) {
      const service = createBootstrapService(config, model, log);
      bootstrap = service;
      const bs = service.server;
      closers.push(() => bs.close());
      // Keys go to the DTLS listener only when it runs; else a configuration that provisions one is refused (5.03).
      if (provisioned && dtls) {
        bs.setProvisioner({
          refusal: (psk) => provisioned.refusal(psk),
          add: async (psk) => {
            // Asked again: the table may have filled since the request was accepted (the session then fails).
            const refusal = provisioned.refusal(psk);
            if (refusal !== undefined) throw new Error(refusal);
            // Beyond that only the store write can fail: the key works until a restart, so the bootstrap goes on.
            await provisioned.add(psk).catch((err: unknown) => log.error({ ep: psk.endpoint, err: (err as Error).message }, 'provisioned PSK not stored'));
          },
        });
      }
      gateway.attachBootstrap(bs);
      if (config.bootstrap.on_dm_listeners) server.serveBootstrap(bs);
      bootstrapListeners = await startBootstrapListeners(config, bs, log, endpointFor, closers, deps.loadNativeDtls);
      // An endpoint any credential names (a bootstrap credential, the DTLS listener's PSK file, a provisioned
      // key, a registration made with one) never bootstraps without a credential: its keys would go to anyone.
      // With allow_keys_over_udp the operator has accepted that: then only bootstrap credentials bind, else a
      // device given a key over UDP could never bootstrap over UDP again (after a factory reset, say).
      const claims = config.bootstrap.allow_keys_over_udp ? bootstrapListeners.claims : combineClaims(bootstrapListeners.claims, server.registrations);
      bs.setEndpointClaims(claims);
    }

    const udp = config.listeners.udp;
    let udpPort = 0;
    let coap: CoapEndpoint | undefined;
    if (udp.enable) {
      const transport = await UdpTransport.bind({ host: udp.bind.host, port: udp.bind.port, recvBufferSize: udp.recbuf });
      closers.push(() => transport.close());
      transport.on('error', (err: Error) => log.warn({ err: err.message }, 'udp error'));
      coap = serve(transport, 'coap error');
      udpPort = transport.address().port;
      log.info({ bind: `${udp.bind.host}:${udpPort}` }, 'LwM2M over UDP listening');
    } else {
      log.info('plain CoAP/UDP is off (listeners.udp.enable: false): DTLS only');
    }
    // The management plane answers from here on: /health/ready says "restoring" until the state is back.
    let restoring = true;
    const listening = { udp: coap !== undefined, dtls: coaps !== undefined };
    const health = async (): Promise<Record<string, HealthPart>> => {
      const storeProblem = store ? await store.problem() : undefined;
      const parts: Record<string, HealthPart> = {
        listeners: listening.udp || listening.dtls ? { ok: true, detail: [listening.udp && 'udp', listening.dtls && 'dtls'].filter(Boolean).join(', ') } : { ok: false, detail: 'no LwM2M listener is bound' },
        broker: mqtt.connected ? { ok: true } : { ok: false, detail: 'the MQTT broker connection is down' },
        store: storeProblem === undefined ? { ok: true, detail: config.store.type } : { ok: false, detail: storeProblem },
        state: restoring ? { ok: false, detail: 'restoring devices from the store' } : { ok: true },
      };
      return parts;
    };
    const firmware = await startFirmwarePlane(
      config,
      engine,
      store,
      { coap: { bind: udp.bind, port: () => (coap ? udpPort : undefined) }, coaps: { bind: config.listeners.dtls.bind, port: () => dtls?.port } },
      log,
    );
    closers.push(() => firmware.close());
    gateway.attachFirmware(firmware.jobs);
    const metrics = config.http.enable ? createGatewayMetrics({
          gateway,
          coap: { udp: coap, dtls: coaps },
          dtls: dtls?.transport,
          mqtt,
          storeTiming,
          bootstrap: bootstrap && { server: bootstrap.server, provisioned },
          firmware: firmware.jobs,
        }) : undefined;
    const http = await startHttpPlane(
      config.http,
      {
        gateway,
        model,
        log,
        commandTimeoutMs: config.http.command_timeout * 1000,
        events: { maxConsumers: config.http.events.max_consumers, maxBuffered: config.http.events.max_buffered },
        health,
        metrics,
        images: firmware.images && { store: firmware.images, maxImageBytes: config.firmware.max_image_size },
      },
      log,
    );
    if (http) closers.push(() => http.close());
    let summary: RestoreSummary | undefined;
    try {
      const started = Date.now();
      summary = await engine.restore();
      const jobs = await firmware.jobs.restore();
      if (store) log.info({ ...summary, firmwareJobs: jobs, ms: Date.now() - started }, 'state restored from the store');
    } finally {
      restored();
      restoring = false;
    }
    server.startExpiry();
    log.info(startupSummary(config, model, mqttUrl, udpPort, dtls?.port, brokerPort, http, bootstrapListeners), 'lwm2m-gateway ready');

    return {
      udpPort,
      dtlsPort: dtls?.port,
      bootstrapUdpPort: bootstrapListeners?.udpPort,
      bootstrapDtlsPort: bootstrapListeners?.dtlsPort,
      bootstrap: bootstrap?.server,
      dtls: dtls?.transport,
      coap: { udp: coap, dtls: coaps },
      brokerPort,
      httpPort: http?.port,
      firmware,
      mqttUrl,
      gateway,
      server,
      reloadCredentials: () => {
        dtls?.reloadCredentials();
        bootstrapListeners?.reloadCredentials();
        bootstrap?.reload();
        profiles.reload(gateway);
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
