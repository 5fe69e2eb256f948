import type { Logger } from 'pino';
import { CoapEndpoint } from '../coap';
import { Lwm2mMqttGateway, type GatewayOptions } from '../gateway/gateway';
import { createHttpAuthAdmission } from '../gateway/http-auth-hook';
import { Lwm2mServer } from '../lwm2m/lwm2m-server';
import { ObjectModel } from '../lwm2m/model/object-model';
import { BrokerClient } from '../mqtt/broker-client';
import { EmbeddedBroker } from '../mqtt/embedded-broker';
import type { LoadNativeDtlsResult } from '../transport/dtls/native-binding';
import type { DtlsTransport } from '../transport/dtls-transport';
import type { Transport } from '../transport/transport';
import { UdpTransport } from '../transport/udp-transport';
import { type DtlsListener, startDtlsListener } from './dtls-listener';
import type { GatewayConfig } from './config';
import fs from 'node:fs';

/** A started gateway: its sockets' real ports and a clean shutdown. */
export interface RunningGateway {
  udpPort: number;
  /** The DTLS listener's port, when it runs. */
  dtlsPort?: number;
  dtls?: DtlsTransport;
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
      registrationRate: { perSource: l.registration_rate.per_source, burst: l.registration_rate.burst },
    });
    const authn = { udp: config.listeners.udp.enable_authn, dtls: config.listeners.dtls.enable_authn };
    if (config.auth.http.url) server.registrations.setAdmission(createHttpAuthAdmission(config.auth.http, authn, log));
    closers.push(() => server.close());
    const gateway = new Lwm2mMqttGateway(server, mqtt, gatewayOptions(config), model, log);
    closers.push(() => gateway.close());
    await gateway.start();

    const udp = config.listeners.udp;
    const transport = await UdpTransport.bind({ host: udp.bind.host, port: udp.bind.port, recvBufferSize: udp.recbuf });
    closers.push(() => transport.close());
    transport.on('error', (err: Error) => log.warn({ err: err.message }, 'udp error'));
    const coap = coapEndpoint(transport, config);
    closers.push(() => coap.close());
    coap.on('error', (err: Error) => log.warn({ err: err.message }, 'coap error'));
    server.attach(coap);
    server.startExpiry();
    const udpPort = transport.address().port;
    log.info({ bind: `${udp.bind.host}:${udpPort}` }, 'LwM2M over UDP listening');

    let dtls: DtlsListener | undefined;
    if (config.listeners.dtls.enable) {
      dtls = await startDtlsListener(config, log, deps.loadNativeDtls);
      if (dtls) {
        const listener = dtls;
        closers.push(() => listener.transport.close());
        const coaps = coapEndpoint(listener.transport, config);
        closers.push(() => coaps.close());
        coaps.on('error', (err: Error) => log.warn({ err: err.message }, 'coap error (dtls)'));
        server.attach(coaps);
      }
    }

    return {
      udpPort,
      dtlsPort: dtls?.port,
      dtls: dtls?.transport,
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
