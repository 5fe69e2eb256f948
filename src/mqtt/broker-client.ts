import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type IClientPublishOptions, type MqttClient, type Packet } from 'mqtt';
import { generate as generatePacket } from 'mqtt-packet';

export type QoS = 0 | 1 | 2;

export interface BrokerClientOptions {
  /** mqtt://host:port, mqtts://host:port (TLS), ws://, wss:// */
  url: string;
  username?: string;
  password?: string;
  /** Default: "lwm2m-gateway-" and 8 random hex digits. */
  clientId?: string;
  /** Default true. */
  clean?: boolean;
  /** Seconds, default 60. */
  keepalive?: number;
  /** Milliseconds between reconnection attempts, default 1000. */
  reconnectPeriod?: number;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** Milliseconds to wait for the first connection, default 10000. */
  timeout?: number;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;

/** One outage of the broker connection, as reported when it is back. */
export interface BrokerOutage {
  /** From the loss of the connection to the CONNACK that ended it. */
  durationMs: number;
  /** Reconnection attempts made. */
  attempts: number;
  /** QoS 1/2 publishes made meanwhile: kept by MQTT.js and sent after the reconnection. */
  queued: number;
  /** QoS 0 publishes made meanwhile: dropped (queueQoSZero: false). */
  dropped: number;
}

/**
 * Events, for logging: each reconnection (the first connection resolves connect()), the start of an
 * outage, and the errors behind it; `disconnected` and `reconnected` once per outage each.
 */
export interface BrokerClientEvents {
  connect: [];
  offline: [];
  connectionError: [error: Error];
  /** The connection was lost (not by close()); `error`: the last one seen on it, if any. */
  disconnected: [error: Error | undefined];
  reconnected: [outage: BrokerOutage];
}

interface OutageInProgress {
  since: number;
  attempts: number;
  queued: number;
  dropped: number;
}

const SUPPORTED_PROTOCOLS = /^(mqtts?|tcp|ssl|tls|wss?):\/\//i;

// Shared, never mutated by MQTT.js (it copies them): no allocation per publish.
const PUBLISH_OPTIONS: Readonly<Record<QoS, IClientPublishOptions>> = {
  0: Object.freeze({ qos: 0 }),
  1: Object.freeze({ qos: 1 }),
  2: Object.freeze({ qos: 2 }),
};

/**
 * The gateway's connection to its MQTT broker (MQTT.js). Reconnects forever; QoS 1/2 publishes made
 * while disconnected are kept and sent after the reconnection, QoS 0 ones are dropped; subscriptions
 * are renewed after a reconnection that did not resume the session.
 */
export class BrokerClient extends EventEmitter<BrokerClientEvents> {
  readonly url: string;
  private readonly client: MqttClient;
  // QoS 1/2 publishes not yet acknowledged, counted here because MQTT.js signals "all acknowledged"
  // only once it is already disconnecting.
  private unacknowledged = 0;
  /** Publishes made since start (metrics): `published` handed to the connection or MQTT.js, `dropped` QoS 0 ones lost while disconnected. */
  readonly counts = { published: 0, dropped: 0 };
  private onAllAcknowledged: (() => void) | undefined;
  // One shared callback for every QoS 1/2 publish (called with an error too when it is abandoned).
  private readonly acknowledged = (): void => {
    if (--this.unacknowledged === 0) this.onAllAcknowledged?.();
  };

  /** How mqtt-packet writes our QoS 0 publishes: in the protocol version of the connection. */
  private readonly packetOptions: { protocolVersion: number };

  private constructor(client: MqttClient, url: string) {
    super();
    this.client = client;
    this.packetOptions = { protocolVersion: client.options.protocolVersion ?? 4 };
    this.url = url;
    client.on('connect', () => this.onReconnected());
    // MQTT.js emits 'offline' once per outage ('close' comes again after every failed attempt), and
    // not after end(): close() is not an outage.
    client.on('offline', () => this.onOffline());
    client.on('reconnect', () => {
      if (this.outage) this.outage.attempts++;
    });
    client.on('error', (error) => {
      this.lastError = error;
      if (this.listenerCount('connectionError') > 0) this.emit('connectionError', error);
    });
  }

  /** The error seen since the last CONNACK, reported with the loss of the connection. */
  private lastError: Error | undefined;
  /** Set from the loss of the connection to the next CONNACK: publishes meanwhile are counted. */
  private outage: OutageInProgress | undefined;

  private onOffline(): void {
    if (this.outage) return;
    this.outage = { since: Date.now(), attempts: 0, queued: 0, dropped: 0 };
    const error = this.lastError;
    this.lastError = undefined;
    this.emit('disconnected', error);
    this.emit('offline');
  }

  private onReconnected(): void {
    this.lastError = undefined;
    const outage = this.outage;
    this.outage = undefined;
    if (outage) {
      this.emit('reconnected', { durationMs: Date.now() - outage.since, attempts: outage.attempts, queued: outage.queued, dropped: outage.dropped });
    }
    this.emit('connect');
  }

  /** Connects; resolves on the first CONNACK, rejects when refused or after `timeout` ms. */
  static connect(options: BrokerClientOptions): Promise<BrokerClient> {
    const url = options.url;
    const timeout = options.timeout ?? 10_000;
    // MQTT.js would quietly fall back to mqtt:// for anything else ("localhost:1883" included).
    if (!SUPPORTED_PROTOCOLS.test(url)) {
      return Promise.reject(new Error(`MQTT broker ${redact(url)}: the url must start with mqtt://, mqtts://, tcp://, ssl://, tls://, ws:// or wss://`));
    }
    let client: MqttClient;
    try {
      client = mqtt.connect(url, {
        username: options.username,
        password: options.password,
        clientId: options.clientId || `lwm2m-gateway-${randomBytes(4).toString('hex')}`,
        clean: options.clean ?? true,
        keepalive: options.keepalive ?? 60,
        reconnectPeriod: options.reconnectPeriod ?? 1000,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: options.rejectUnauthorized ?? true,
        // A stale QoS 0 message is worthless and an unbounded offline queue is a memory leak;
        // QoS 1/2 publishes go to the outgoing store regardless and are replayed on reconnection.
        queueQoSZero: false,
        resubscribe: true,
        // MQTT.js formats a debug line per packet even when DEBUG is off; the gateway logs itself.
        log: noDebugLog,
        // After the first connection, a refusal (e.g. a broker restarting its auth) is retried too.
        reconnectOnConnackError: true,
        // Not manualConnect: with it, end() leaves the client able to reconnect on its own.
      });
    } catch (err) {
      return Promise.reject(new Error(`MQTT broker ${redact(url)}: ${(err as Error).message}`));
    }
    // mqtt.connect() has already written the first CONNECT: its stream is handled here, later ones
    // by the listener.
    disableNagle(client.stream);
    client.on('packetsend', disableNagleOnConnect);

    return new Promise((resolve, reject) => {
      let lastError: Error | undefined;
      const fail = (reason: string): void => {
        cleanUp();
        client.end(true);
        reject(new Error(`MQTT broker ${redact(url)}: ${reason}`));
      };
      const onError = (error: Error & { code?: unknown }): void => {
        lastError = error;
        // A numeric code is a CONNACK refusal (bad credentials, ...): retrying will not help.
        if (typeof error.code === 'number') fail(error.message);
      };
      const onConnect = (): void => {
        cleanUp();
        resolve(new BrokerClient(client, url));
      };
      const timer = setTimeout(() => {
        fail(`no connection within ${timeout} ms${lastError ? ` (${lastError.message})` : ''}`);
      }, timeout);
      const cleanUp = (): void => {
        clearTimeout(timer);
        client.off('error', onError);
        client.off('connect', onConnect);
      };
      client.on('error', onError);
      client.on('connect', onConnect);
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Fire and forget. QoS 1/2: kept while the broker is unreachable and delivered after reconnection
   * (until close()); QoS 0: dropped while disconnected.
   */
  publish(topic: string, payload: string | Buffer, qos: QoS): void {
    this.corkUntilIdle();
    if (qos === 0) {
      if (this.client.connected && !this.client.disconnecting) {
        this.counts.published++;
        // One buffer, one stream write: MQTT.js's publish writes header, length, topic and payload
        // as separate stream writes (and formats a debug line for each) — measured, 5-6 µs of the
        // gateway's ~21 µs per notification. A QoS 0 publish has no state for MQTT.js to keep.
        this.client.stream.write(generatePacket({ cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false }, this.packetOptions));
        return;
      }
      this.client.publish(topic, payload, PUBLISH_OPTIONS[0]); // dropped (queueQoSZero: false)
      this.counts.dropped++;
      if (this.outage) this.outage.dropped++;
      return;
    }
    this.counts.published++;
    if (this.outage) this.outage.queued++;
    this.unacknowledged++;
    this.client.publish(topic, payload, PUBLISH_OPTIONS[qos], this.acknowledged);
  }

  /**
   * Holds the socket corked until the event loop has handled the datagrams that arrived together:
   * mqtt-packet uncorks on the next tick, i.e. one write system call per publish, which was the
   * largest single cost on the notification path. setImmediate runs after the whole I/O phase.
   */
  private corkUntilIdle(): void {
    if (this.corkedStream || !this.client.connected) return;
    const stream = this.client.stream as { cork?: () => void; uncork?: () => void };
    if (!stream.cork || !stream.uncork) return;
    stream.cork();
    this.corkedStream = stream;
    setImmediate(this.uncorkStream);
  }

  private corkedStream: { uncork?: () => void } | undefined;
  private readonly uncorkStream = (): void => {
    const stream = this.corkedStream;
    this.corkedStream = undefined;
    stream?.uncork?.();
  };

  /** QoS 1/2 publishes the broker has not acknowledged yet (including those kept while offline). */
  get pendingPublishes(): number {
    return this.unacknowledged;
  }

  /** Subscribes; resolves on the SUBACK, rejects when the broker refuses the filter. */
  async subscribe(topicFilter: string, qos: QoS): Promise<void> {
    const granted = await this.client.subscribeAsync(topicFilter, { qos });
    const refused = granted.find((grant) => grant.qos === 128);
    if (refused) throw new Error(`MQTT broker ${redact(this.url)} refused the subscription to ${topicFilter}`);
  }

  /** Called for every message on a subscribed topic. */
  onMessage(handler: MessageHandler): void {
    this.client.on('message', handler);
  }

  /**
   * Waits (at most `timeout` ms) until the broker has acknowledged every QoS 1/2 publish, then
   * disconnects cleanly; while disconnected it closes at once (what was kept is lost).
   */
  async close(timeout = 5000): Promise<void> {
    const drained = this.client.connected && (await this.allAcknowledged(timeout));
    await this.client.endAsync(!drained);
  }

  private allAcknowledged(timeout: number): Promise<boolean> {
    if (this.unacknowledged === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (drained: boolean): void => {
        clearTimeout(timer);
        this.onAllAcknowledged = undefined;
        this.client.off('close', onClose);
        resolve(drained);
      };
      const onClose = (): void => done(false);
      const timer = setTimeout(() => done(false), timeout);
      this.onAllAcknowledged = () => done(true);
      this.client.on('close', onClose);
    });
  }
}

/**
 * MQTT.js leaves Nagle's algorithm on, which caps a publisher far below what the machine can do.
 * CONNECT is the first packet written on each new stream, so seeing it is the hook for every
 * (re)connection, before the offline store is replayed on that stream.
 */
function disableNagleOnConnect(this: MqttClient, packet: Packet): void {
  if (packet.cmd === 'connect') disableNagle(this.stream);
}

function noDebugLog(): void {}

/** TCP and TLS sockets have setNoDelay; WebSocket streams do not (and are left alone). */
function disableNagle(stream: MqttClient['stream']): void {
  const socket = stream as { setNoDelay?: (noDelay: boolean) => unknown };
  if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
}

/** The url without its credentials, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}
