import type { Logger } from 'pino';
import { CoapEndpoint, type CoapLimit } from '../coap';
import { Lwm2mMqttGateway, type GatewayOptions } from '../gateway/gateway';
import { createHttpAuthAdmission } from '../gateway/http-auth-hook';
import { Lwm2mServer } from '../lwm2m/lwm2m-server';
import { ObjectModel } from '../lwm2m/model/object-model';
import { BrokerClient } from '../mqtt/broker-client';
import { EmbeddedBroker } from '../mqtt/embedded-broker';
import type { LoadNativeDtlsResult } from '../transport/dtls/native-binding';
import type { DtlsTransport } from '../transport/dtls-transport';
import type { Peer, Transport } from '../transport/transport';
import { UdpTransport } from '../transport/udp-transport';
import { LogThrottle } from '../limits/log-throttle';
import { type DtlsListener, startDtlsListener } from './dtls-listener';
import { PskFile } from './psk-file';
import type { GatewayConfig } from './config';
import fs from 'node:fs';

/** A started gateway: its sockets' real ports and a clean shutdown. */
export interface RunningGateway {
  /** The UDP listener's port; 0 when `listeners.udp.enable` is false. */
  udpPort: number;
  /** The DTLS listener's port, when it runs. */
  dtlsPort?: number;
  dtls?: DtlsTransport;
  /** The CoAP endpoints of the listeners that run (their stats()). */
  coap: { udp?: CoapEndpoint; dtls?: CoapEndpoint };
  /** Port of the embedded broker, when one was started. */
  brokerPort?: number;
  mqttUrl: string;
  gateway: Lwm2mMqttGateway;
  server: Lwm2mServer;
  /** Re-reads the PSK file (SIGHUP); established sessions stay. */
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

function gatewayOptions(config: GatewayConfig): GatewayOptions {
  const l = config.lwm2m;
  return {
    mountpoint: l.mountpoint,
    translators: l.translators,
    qmodeTimeWindow: l.qmode_time_window,
    autoObserve: l.auto_observe,
    updateMsgPublishCondition: l.update_msg_publish_condition,
    keys: l.keys,
    maxQueuedCommands: l.max_queued_commands,
    maxCommandSize: l.max_command_size,
    secretQueryKeys: l.secret_query_keys,
    maxEndpointLength: l.max_endpoint_length,
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
    log.info({ url: mqttUrl.replace(/\/\/[^@/]*@/, '//***@') }, 'connected to MQTT broker');

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
    if (config.auth.http.url) server.registrations.setAdmission(createHttpAuthAdmission(config.auth.http, authn, log));
    closers.push(() => server.close());
    const gateway = new Lwm2mMqttGateway(server, mqtt, gatewayOptions(config), model, log);
    closers.push(() => gateway.close());
    await gateway.start();

    // DTLS first: the endpoints its PSK file binds are refused on plain UDP from the first datagram.
    const limitLog = new LogThrottle();
    let dtls: DtlsListener | undefined;
    let coaps: CoapEndpoint | undefined;
    if (config.listeners.dtls.enable) {
      dtls = await startDtlsListener(config, log, deps.loadNativeDtls);
      if (dtls) {
        const listener = dtls;
        closers.push(() => listener.transport.close());
        const endpoint = coapEndpoint(listener.transport, config);
        closers.push(() => endpoint.close());
        endpoint.on('error', (err: Error) => log.warn({ err: err.message }, 'coap error (dtls)'));
        logLimitRefusals(endpoint, log, limitLog);
        server.attach(endpoint);
        coaps = endpoint;
      }
    }
    // Endpoints the PSK file binds never register over plain UDP, even when DTLS itself is off.
    const pskFile = config.listeners.dtls.psk_file;
    server.registrations.setEndpointClaims(dtls?.claims ?? (pskFile !== undefined ? PskFile.load(pskFile) : undefined));

    const udp = config.listeners.udp;
    let udpPort = 0;
    let coap: CoapEndpoint | undefined;
    if (udp.enable) {
      const transport = await UdpTransport.bind({ host: udp.bind.host, port: udp.bind.port, recvBufferSize: udp.recbuf });
      closers.push(() => transport.close());
      transport.on('error', (err: Error) => log.warn({ err: err.message }, 'udp error'));
      const endpoint = coapEndpoint(transport, config);
      closers.push(() => endpoint.close());
      endpoint.on('error', (err: Error) => log.warn({ err: err.message }, 'coap error'));
      logLimitRefusals(endpoint, log, limitLog);
      server.attach(endpoint);
      coap = endpoint;
      udpPort = transport.address().port;
      log.info({ bind: `${udp.bind.host}:${udpPort}` }, 'LwM2M over UDP listening');
    } else {
      log.info('plain CoAP/UDP is off (listeners.udp.enable: false): DTLS only');
    }
    server.startExpiry();

    return {
      udpPort,
      dtlsPort: dtls?.port,
      dtls: dtls?.transport,
      coap: { udp: coap, dtls: coaps },
      brokerPort,
      mqttUrl,
      gateway,
      server,
      reloadCredentials: () => dtls?.reloadCredentials(),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
