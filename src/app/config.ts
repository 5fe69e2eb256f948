import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { packageRoot } from '../package-root';
import { parseByteSize, type ByteSizeInput } from './byte-size';
import type { ConfigDocument } from './config-schema-types';
import { parseDuration, type DurationInput } from './duration';
import { mountpointTemplateProblem } from '../gateway/mountpoint';
import type { DeviceProfile } from '../gateway/profiles/device-profile';
import { ProfileConfigError } from '../gateway/profiles/profile-config-error';
import { parseProfiles } from '../gateway/profiles/profile-config';
import { profileTopicProblem } from '../gateway/profiles/profile-topic';
import { DEFAULT_CIPHERS, isCertificateSuite, opensslCipherName } from '../transport/dtls/cipher-suites';

// ---------------------------------------------------------------------------------------------
// The validated configuration. Key names are the YAML ones (snake_case) so that users recognise
// them; durations are already seconds, sizes bytes, binds {host, port}.
//
// The shapes come from schemas/gateway.schema.json, through the types generated from it
// (config-schema-types.ts, `npm run gen:config-types`): ConfigDocument is the document after schema
// validation with every default filled in. Below, only the keys whose type a conversion changes are
// written out again; every other key keeps the schema's type.
// ---------------------------------------------------------------------------------------------

/** T with the keys of `Changes` retyped (each must be a key of T); a flat object type, for readable hovers. */
type Converted<T, Changes extends { [K in keyof Changes]: K extends keyof T ? unknown : never }> = Flat<Omit<T, keyof Changes> & Changes>;
type Flat<T> = { [K in keyof T]: T[K] };

export type LogLevel = ConfigDocument['log']['level'];
export type UpdateMsgPublishCondition = ConfigDocument['lwm2m']['update_msg_publish_condition'];
export type TranslatorName = keyof ConfigDocument['lwm2m']['translators'];

/** A listening address; host "0.0.0.0" or "::" means every interface. */
export interface Bind {
  host: string;
  port: number;
}

export type TranslatorConfig = ConfigDocument['lwm2m']['translators'][TranslatorName];

export type MqttConfig = Converted<
  ConfigDocument['mqtt'],
  {
    /** Seconds. */
    keepalive: number;
    /** Seconds between reconnection attempts. */
    reconnect_period: number;
  }
>;

export type EmbeddedBrokerConfig = Converted<ConfigDocument['embedded_broker'], { bind: Bind }>;

export type CoapConfig = Converted<
  ConfigDocument['lwm2m']['coap'],
  {
    /** Seconds. */
    ack_timeout: number;
  }
>;

export type BlockwiseConfig = Converted<
  ConfigDocument['lwm2m']['blockwise'],
  {
    /** Bytes. */
    max_body_size: number;
    /** Seconds. */
    exchange_lifetime: number;
    /** Bytes held in unfinished Block1 bodies, in total and per source address. */
    max_pending_bytes: number;
    max_pending_bytes_per_source: number;
  }
>;

export type RegistrationRateConfig = ConfigDocument['lwm2m']['registration_rate'];

export type Lwm2mConfig = Converted<
  ConfigDocument['lwm2m'],
  {
    /** Seconds. */
    lifetime_min: number;
    /** Seconds. */
    lifetime_max: number;
    /** Seconds. */
    qmode_time_window: number;
    coap: CoapConfig;
    blockwise: BlockwiseConfig;
    /** Largest command payload, bytes. */
    max_command_size: number;
  }
>;

export type UdpListenerConfig = Converted<
  ConfigDocument['listeners']['udp'],
  {
    bind: Bind;
    /** Kernel receive buffer in bytes; undefined: the transport's default. */
    recbuf?: number;
  }
>;

export type DtlsListenerConfig = Converted<
  ConfigDocument['listeners']['dtls'],
  {
    /** Resolved: as written, else true when psk_file or certfile is set. */
    enable: boolean;
    bind: Bind;
    /** Seconds. */
    session_timeout: number;
  }
>;

export type BootstrapUdpListenerConfig = Converted<
  ConfigDocument['listeners']['bootstrap_udp'],
  {
    bind: Bind;
    recbuf?: number;
  }
>;

export type BootstrapDtlsListenerConfig = Converted<
  ConfigDocument['listeners']['bootstrap_dtls'],
  {
    bind: Bind;
    /** Seconds. */
    session_timeout: number;
  }
>;

export type BootstrapConfigSection = Converted<
  ConfigDocument['bootstrap'],
  {
    http: HttpAuthConfig;
    /** Seconds. */
    session_timeout: number;
  }
>;

export type HttpAuthConfig = Converted<
  ConfigDocument['auth']['http'],
  {
    /** Seconds. */
    timeout: number;
  }
>;

export type HttpConfig = Converted<
  ConfigDocument['http'],
  {
    bind: Bind;
    /** Seconds. */
    command_timeout: number;
    /** Bytes. */
    max_body_size: number;
    events: { max_consumers: number; /** Bytes. */ max_buffered: number };
  }
>;

export type StoreType = ConfigDocument['store']['type'];

export type StoreConfig = Converted<
  ConfigDocument['store'],
  {
    /** Seconds (> 0, at most 10) between the embedded store's synced writes. */
    sync_interval: number;
  }
>;

export type FirmwareConfigSection = Converted<
  ConfigDocument['firmware'],
  {
    /** Bytes. */
    max_image_size: number;
    /** Seconds. */
    job_timeout: number;
    /** Seconds. */
    poll_interval: number;
    http: Converted<ConfigDocument['firmware']['http'], { bind: Bind; certfile: string | undefined; keyfile: string | undefined }>;
  }
>;

export type GatewayConfig = Converted<
  ConfigDocument,
  {
    mqtt: MqttConfig;
    embedded_broker: EmbeddedBrokerConfig;
    lwm2m: Lwm2mConfig;
    listeners: { udp: UdpListenerConfig; dtls: DtlsListenerConfig; bootstrap_udp: BootstrapUdpListenerConfig; bootstrap_dtls: BootstrapDtlsListenerConfig };
    bootstrap: BootstrapConfigSection;
    firmware: FirmwareConfigSection;
    /** The profiles written in the configuration itself (profiles_file is read at start, see app). */
    profiles: readonly DeviceProfile[];
    profiles_file: string | undefined;
    auth: { http: HttpAuthConfig };
    http: HttpConfig;
    store: StoreConfig;
  }
>;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export interface ConfigErrorDetails {
  /** The offending key as a dotted path, e.g. "lwm2m.translators.notify.qos". */
  key?: string;
  /** The file (or other origin) of the text. */
  source?: string;
  /** 1-based line, for YAML syntax errors. */
  line?: number;
}

/**
 * A configuration that cannot be used; the message names the file, the key and the reason. When
 * several problems were found, `errors` holds each (key and reason are the first's) and the message
 * lists them one per line under a count:
 *
 *     gateway.yaml: 2 errors:
 *       gateway.yaml: lwm2m.lifetime_mn: unknown key
 *       gateway.yaml: mqtt.clean: must be true or false
 */
export class ConfigError extends Error {
  readonly key?: string;
  readonly source?: string;
  readonly line?: number;
  readonly reason: string;
  private list?: readonly ConfigError[];

  constructor(reason: string, details: ConfigErrorDetails = {}) {
    super(formatProblem(reason, details));
    this.name = 'ConfigError';
    this.reason = reason;
    this.key = details.key;
    this.source = details.source;
    this.line = details.line;
  }

  /** Every problem found, each with its own key and reason; `[this]` for a single one. */
  get errors(): readonly ConfigError[] {
    return this.list ?? [this];
  }

  /** One error for all of `errors` (at least one): the error itself when it is alone. */
  static combine(errors: readonly ConfigError[], source?: string): ConfigError {
    if (errors.length === 1) return errors[0];
    const combined = new ConfigError(errors[0].reason, { key: errors[0].key, source, line: errors[0].line });
    const header = formatProblem(`${errors.length} errors:`, { source });
    combined.message = [header, ...errors.map((error) => `  ${error.message}`)].join('\n');
    combined.list = errors;
    return combined;
  }
}

function formatProblem(reason: string, details: ConfigErrorDetails): string {
  const where = details.source === undefined ? '' : details.line === undefined ? details.source : `${details.source}:${details.line}`;
  return [where, details.key, reason].filter((part) => part).join(': ');
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** Reads and validates a YAML file; an empty file gives every default. */
export function loadConfigFile(file: string): GatewayConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (err as Error).message})`;
    throw new ConfigError(reason, { source: file });
  }
  const config = parseConfig(text, file);
  sources.set(config, file);
  return config;
}

/** The files configurations were read from (loadConfigFile). */
const sources = new WeakMap<GatewayConfig, string>();

/** The file a configuration was read from, if it was (SIGHUP re-reads its profiles). */
export function configFileOf(config: GatewayConfig): string | undefined {
  return sources.get(config);
}

/** Parses and validates YAML text; `source` names it in error messages. Every problem is reported at once. */
export function parseConfig(text: string, source?: string): GatewayConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const where = source ?? '<config>';
    const errors = doc.errors.map((error) => new ConfigError(`YAML syntax error: ${error.message}`, { source: where, line: lineCounter.linePos(error.pos[0]).line }));
    throw ConfigError.combine(errors, where);
  }
  try {
    return validateConfig(doc.toJS());
  } catch (err) {
    if (err instanceof ConfigError && source !== undefined) {
      throw ConfigError.combine(
        err.errors.map((e) => new ConfigError(e.reason, { key: e.key, source })),
        source,
      );
    }
    throw err;
  }
}

/** Every key at its default: the same as an empty file. */
export function defaultConfig(): GatewayConfig {
  return validateConfig({});
}

/**
 * Validates an already parsed document (null counts as empty) and converts it. A key whose YAML value
 * is empty (`username:`) counts as absent, so that a section whose keys are all commented out is valid.
 * Throws one ConfigError listing every problem (see ConfigError.errors).
 */
export function validateConfig(document: unknown): GatewayConfig {
  const data = withoutNulls(document ?? {});
  const validate = schemaValidator();
  const problems = new Problems(keyOrder(data));
  if (!validate(data)) {
    const errors = validate.errors ?? [];
    for (const error of errors) problems.add(describeSchemaError(error));
    // The code checks below still run on the rest: each refused value is dropped and its default
    // filled in (checks that involve a refused key are skipped, see Problems.has).
    const removed = isRecord(data) && errors.every((error) => removeRefusedValue(data, error));
    if (!removed || !validate(data)) throw problems.toError();
  }
  const config = toGatewayConfig(data as RawConfig, problems);
  if (problems.size > 0) throw problems.toError();
  return config;
}

/**
 * What the operator should know about a configuration that starts, one line each with the key: a DTLS
 * listener switched off by `enable: false` although credentials are set; a store.url that the store
 * type does not use; an embedded store that may lose more than the last second of changes.
 */
export function configWarnings(config: GatewayConfig): string[] {
  const warnings: string[] = [];
  const dtls = config.listeners.dtls;
  // Resolved enable is false with credentials only when `enable: false` was written.
  if (!dtls.enable && (dtls.psk_file !== undefined || dtls.certfile !== undefined)) {
    const credential = dtls.psk_file !== undefined ? 'psk_file' : 'certfile';
    const binding = dtls.psk_file !== undefined ? '; the endpoints psk_file names still cannot register over plain UDP' : '';
    warnings.push(`listeners.dtls.enable: false although ${credential} is set: no DTLS listener${binding} (remove enable: false to serve DTLS)`);
  }
  const store = config.store;
  // The URL itself is not quoted: it may hold a password.
  if (store.type !== 'redis' && store.url !== undefined) {
    warnings.push(`store.url: ignored: store.type is ${store.type} (only redis uses a URL)`);
  }
  if (store.type === 'embedded' && store.sync_interval > DURABLE_STORE_SYNC_INTERVAL) {
    warnings.push(
      `store.sync_interval: ${store.sync_interval}s is above ${DURABLE_STORE_SYNC_INTERVAL}s: a crash can lose the changes of the last ${store.sync_interval}s, not only of the last second`,
    );
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------
// Binds
// ---------------------------------------------------------------------------------------------

const BIND_PATTERN = /^(?:(\[[^\]]*\]|[^:[\]]*):)?([0-9]{1,5})$/;

/** "0.0.0.0:5683", "[::]:5683", ":5683" (every IPv4 interface) or a bare port. */
export function parseBind(value: number | string, key: string): Bind {
  const match = typeof value === 'number' ? ['', '', String(value)] : BIND_PATTERN.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`must be a bind address such as "0.0.0.0:5683", "[::]:5683", ":5683" or a port (got ${JSON.stringify(value)})`, { key });
  }
  let host = match[1] ?? '';
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (!net.isIPv6(host)) throw new ConfigError(`"${host}" is not an IPv6 address`, { key });
  }
  return { host: host === '' ? '0.0.0.0' : host, port };
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

type RawBind = ConfigDocument['http']['bind'];

/** The document after schema validation with defaults applied: trusted shapes, raw durations, sizes and binds. */
type RawConfig = ConfigDocument;

interface DurationLimits {
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  max?: number;
  wholeSeconds?: boolean;
}

/**
 * The problems found so far. A key is reported once, under its first problem: a later one about the
 * same key, or a key above or below it, would only follow from the first.
 */
class Problems {
  private readonly list: ConfigError[] = [];

  /** `order`: the document's keys in the order they are written, to list the problems in that order. */
  constructor(private readonly order: ReadonlyMap<string, number>) {}

  get size(): number {
    return this.list.length;
  }

  add(error: ConfigError): void {
    if (error.key !== undefined && this.has(error.key)) return;
    this.list.push(error);
  }

  /** Whether a problem was found at one of these keys, above or below it (`a.b` covers `a.b.c`, `a.b[0]`, `a`). */
  has(...keys: string[]): boolean {
    return this.list.some((error) => error.key !== undefined && keys.some((key) => keyRelated(error.key as string, key)));
  }

  /** The result of `convert`, or `fallback` after noting the ConfigError it threw. */
  check<T>(convert: () => T, fallback: T): T {
    try {
      return convert();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.add(err);
      return fallback;
    }
  }

  toError(): ConfigError {
    if (this.list.length === 0) return new ConfigError('invalid configuration');
    // A stable sort: problems at one place (or without a key, first) keep the order they were found in.
    return ConfigError.combine([...this.list].sort((a, b) => this.position(a.key) - this.position(b.key)));
  }

  /** Where a key is written, else its nearest written parent (a default was filled in below it). */
  private position(key: string | undefined): number {
    for (let k = key ?? ''; k !== ''; ) {
      const at = this.order.get(k);
      if (at !== undefined) return at;
      const parent = k.replace(/(?:\.[^.[\]]*|\[\d+\])$/, '');
      if (parent === k) break;
      k = parent;
    }
    return -1;
  }
}

/** The dotted keys of a document (as dottedKey writes them) numbered in the order they are written. */
function keyOrder(document: unknown): Map<string, number> {
  const order = new Map<string, number>();
  const visit = (value: unknown, key: string) => {
    if (key !== '') order.set(key, order.size);
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${key}[${i}]`));
    else if (isRecord(value)) for (const [name, item] of Object.entries(value)) visit(item, joinKey(key, name));
  };
  visit(document, '');
  return order;
}

function keyRelated(a: string, b: string): boolean {
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return within(a, b) || within(b, a);
}

/** A duration in seconds; a value out of `limits` is noted and returned as it is. */
function seconds(problems: Problems, value: DurationInput, key: string, limits: DurationLimits): number {
  const result = parseDuration(value); // the schema has already checked the syntax
  if (limits.wholeSeconds && !Number.isInteger(result)) problems.add(new ConfigError('must be a whole number of seconds', { key }));
  else if (limits.min !== undefined && result < limits.min) problems.add(new ConfigError(`must be >= ${limits.min}`, { key }));
  else if (limits.above !== undefined && result <= limits.above) problems.add(new ConfigError(`must be > ${limits.above}`, { key }));
  else if (limits.max !== undefined && result > limits.max) problems.add(new ConfigError(`must be <= ${limits.max}`, { key }));
  return result;
}

/** A size in bytes, at least `min`; a value too small is noted and returned as it is. */
function bytes(problems: Problems, value: ByteSizeInput, key: string, min: number): number {
  let result: number;
  try {
    result = parseByteSize(value); // the schema has checked the syntax; this catches sizes beyond 2^53
  } catch (err) {
    problems.add(new ConfigError((err as Error).message, { key }));
    return min;
  }
  if (result < min) problems.add(new ConfigError(`must be >= ${min}`, { key }));
  return result;
}

/** An empty string means "not set" for optional strings, as in `username: ""`. */
function optional(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** Converts and checks what the schema cannot; problems are noted in `problems`, not thrown. */
function toGatewayConfig(raw: RawConfig, problems: Problems): GatewayConfig {
  const { mqtt, lwm2m, listeners, auth } = raw;
  const bind = (value: RawBind, key: string) => problems.check(() => parseBind(value, key), { host: '0.0.0.0', port: 0 });
  const pskFile = optional(listeners.dtls.psk_file);
  const certfile = optional(listeners.dtls.certfile);
  const config: GatewayConfig = {
    mqtt: {
      url: optional(mqtt.url),
      username: optional(mqtt.username),
      password: optional(mqtt.password),
      client_id: optional(mqtt.client_id),
      clean: mqtt.clean,
      keepalive: seconds(problems, mqtt.keepalive, 'mqtt.keepalive', { min: 0, max: 65535, wholeSeconds: true }),
      reconnect_period: seconds(problems, mqtt.reconnect_period, 'mqtt.reconnect_period', { above: 0 }),
      ca_file: optional(mqtt.ca_file),
      cert_file: optional(mqtt.cert_file),
      key_file: optional(mqtt.key_file),
      reject_unauthorized: mqtt.reject_unauthorized,
    },
    embedded_broker: { bind: bind(raw.embedded_broker.bind, 'embedded_broker.bind') },
    lwm2m: {
      xml_dir: optional(lwm2m.xml_dir),
      lifetime_min: seconds(problems, lwm2m.lifetime_min, 'lwm2m.lifetime_min', { min: 1, wholeSeconds: true }),
      lifetime_max: seconds(problems, lwm2m.lifetime_max, 'lwm2m.lifetime_max', { min: 1, wholeSeconds: true }),
      qmode_time_window: seconds(problems, lwm2m.qmode_time_window, 'lwm2m.qmode_time_window', { min: 0 }),
      auto_observe: lwm2m.auto_observe,
      update_msg_publish_condition: lwm2m.update_msg_publish_condition,
      mountpoint: lwm2m.mountpoint,
      translators: lwm2m.translators,
      coap: {
        ack_timeout: seconds(problems, lwm2m.coap.ack_timeout, 'lwm2m.coap.ack_timeout', { above: 0 }),
        ack_random_factor: lwm2m.coap.ack_random_factor,
        max_retransmit: lwm2m.coap.max_retransmit,
      },
      blockwise: {
        enable: lwm2m.blockwise.enable,
        max_block_size: lwm2m.blockwise.max_block_size,
        max_body_size: bytes(problems, lwm2m.blockwise.max_body_size, 'lwm2m.blockwise.max_body_size', 16),
        exchange_lifetime: seconds(problems, lwm2m.blockwise.exchange_lifetime, 'lwm2m.blockwise.exchange_lifetime', { above: 0 }),
        max_pending_bytes: bytes(problems, lwm2m.blockwise.max_pending_bytes, 'lwm2m.blockwise.max_pending_bytes', 16),
        max_pending_bytes_per_source: bytes(problems, lwm2m.blockwise.max_pending_bytes_per_source, 'lwm2m.blockwise.max_pending_bytes_per_source', 16),
      },
      keys: lwm2m.keys,
      max_queued_commands: lwm2m.max_queued_commands,
      max_command_size: bytes(problems, lwm2m.max_command_size, 'lwm2m.max_command_size', 64),
      max_endpoint_length: lwm2m.max_endpoint_length,
      max_object_links: lwm2m.max_object_links,
      max_registrations: lwm2m.max_registrations,
      registration_rate: lwm2m.registration_rate,
      secret_query_keys: lwm2m.secret_query_keys.map((k) => k.toLowerCase()),
    },
    listeners: {
      udp: {
        enable: listeners.udp.enable,
        bind: bind(listeners.udp.bind, 'listeners.udp.bind'),
        enable_authn: listeners.udp.enable_authn,
        recbuf: listeners.udp.recbuf === undefined ? undefined : bytes(problems, listeners.udp.recbuf, 'listeners.udp.recbuf', 1),
      },
      dtls: {
        // Credentials mean "serve DTLS" unless `enable: false` says otherwise (see configWarnings).
        enable: listeners.dtls.enable ?? (pskFile !== undefined || certfile !== undefined),
        bind: bind(listeners.dtls.bind, 'listeners.dtls.bind'),
        enable_authn: listeners.dtls.enable_authn,
        psk_file: pskFile,
        certfile,
        keyfile: optional(listeners.dtls.keyfile),
        cacertfile: optional(listeners.dtls.cacertfile),
        verify: listeners.dtls.verify,
        ciphers: listeners.dtls.ciphers,
        session_timeout: seconds(problems, listeners.dtls.session_timeout, 'listeners.dtls.session_timeout', { above: 0 }),
        max_sessions: listeners.dtls.max_sessions,
        max_handshakes: listeners.dtls.max_handshakes,
        max_handshakes_per_source: listeners.dtls.max_handshakes_per_source,
      },
      bootstrap_udp: {
        enable: listeners.bootstrap_udp.enable,
        bind: bind(listeners.bootstrap_udp.bind, 'listeners.bootstrap_udp.bind'),
        recbuf: listeners.bootstrap_udp.recbuf === undefined ? undefined : bytes(problems, listeners.bootstrap_udp.recbuf, 'listeners.bootstrap_udp.recbuf', 1),
      },
      bootstrap_dtls: {
        enable: listeners.bootstrap_dtls.enable,
        bind: bind(listeners.bootstrap_dtls.bind, 'listeners.bootstrap_dtls.bind'),
        psk_file: optional(listeners.bootstrap_dtls.psk_file),
        certfile: optional(listeners.bootstrap_dtls.certfile),
        keyfile: optional(listeners.bootstrap_dtls.keyfile),
        cacertfile: optional(listeners.bootstrap_dtls.cacertfile),
        verify: listeners.bootstrap_dtls.verify,
        ciphers: listeners.bootstrap_dtls.ciphers,
        session_timeout: seconds(problems, listeners.bootstrap_dtls.session_timeout, 'listeners.bootstrap_dtls.session_timeout', { above: 0 }),
        max_sessions: listeners.bootstrap_dtls.max_sessions,
        max_handshakes: listeners.bootstrap_dtls.max_handshakes,
        max_handshakes_per_source: listeners.bootstrap_dtls.max_handshakes_per_source,
      },
    },
    bootstrap: {
      config_file: optional(raw.bootstrap.config_file),
      http: {
        url: raw.bootstrap.http.url,
        method: raw.bootstrap.http.method,
        headers: raw.bootstrap.http.headers,
        body: raw.bootstrap.http.body,
        timeout: seconds(problems, raw.bootstrap.http.timeout, 'bootstrap.http.timeout', { above: 0 }),
        max_in_flight: raw.bootstrap.http.max_in_flight,
        max_in_flight_per_source: raw.bootstrap.http.max_in_flight_per_source,
      },
      on_dm_listeners: raw.bootstrap.on_dm_listeners,
      session_timeout: seconds(problems, raw.bootstrap.session_timeout, 'bootstrap.session_timeout', { above: 0, max: 3600 }),
      max_sessions: raw.bootstrap.max_sessions,
      request_rate: raw.bootstrap.request_rate,
      max_provisioned: raw.bootstrap.max_provisioned,
      allow_keys_over_udp: raw.bootstrap.allow_keys_over_udp,
    },
    firmware: {
      dir: raw.firmware.dir,
      max_image_size: bytes(problems, raw.firmware.max_image_size, 'firmware.max_image_size', 1),
      max_images: raw.firmware.max_images,
      job_timeout: seconds(problems, raw.firmware.job_timeout, 'firmware.job_timeout', { above: 0 }),
      poll_interval: seconds(problems, raw.firmware.poll_interval, 'firmware.poll_interval', { above: 0 }),
      max_jobs: raw.firmware.max_jobs,
      public_host: raw.firmware.public_host,
      http: {
        enable: raw.firmware.http.enable,
        bind: bind(raw.firmware.http.bind, 'firmware.http.bind'),
        public_url: raw.firmware.http.public_url,
        certfile: optional(raw.firmware.http.certfile),
        keyfile: optional(raw.firmware.http.keyfile),
        max_connections: raw.firmware.http.max_connections,
        max_connections_per_source: raw.firmware.http.max_connections_per_source,
      },
    },
    auth: {
      http: {
        url: auth.http.url,
        method: auth.http.method,
        headers: auth.http.headers,
        body: auth.http.body,
        timeout: seconds(problems, auth.http.timeout, 'auth.http.timeout', { above: 0 }),
        max_in_flight: auth.http.max_in_flight,
        max_in_flight_per_source: auth.http.max_in_flight_per_source,
      },
    },
    http: {
      enable: raw.http.enable,
      bind: bind(raw.http.bind, 'http.bind'),
      api_keys: raw.http.api_keys,
      certfile: optional(raw.http.certfile),
      keyfile: optional(raw.http.keyfile),
      metrics_auth: raw.http.metrics_auth,
      auth_failures_per_minute: raw.http.auth_failures_per_minute,
      command_timeout: seconds(problems, raw.http.command_timeout, 'http.command_timeout', { above: 0, max: 3600 }),
      max_body_size: bytes(problems, raw.http.max_body_size, 'http.max_body_size', 1024),
      events: {
        max_consumers: raw.http.events.max_consumers,
        max_buffered: bytes(problems, raw.http.events.max_buffered, 'http.events.max_buffered', 1024),
      },
    },
    store: {
      type: raw.store.type,
      // As written: a relative path is taken from the working directory, like psk_file and the other paths.
      dir: raw.store.dir,
      url: optional(raw.store.url),
      sync_interval: seconds(problems, raw.store.sync_interval, 'store.sync_interval', { above: 0, max: MAX_STORE_SYNC_INTERVAL }),
      key_prefix: raw.store.key_prefix,
      instance: optional(raw.store.instance),
    },
    profiles: inlineProfiles(raw.profiles, problems),
    profiles_file: optional(raw.profiles_file),
    log: { level: raw.log.level },
  };
  const mountpointProblem = mountpointTemplateProblem(lwm2m.mountpoint);
  if (mountpointProblem !== undefined) problems.add(new ConfigError(mountpointProblem, { key: 'lwm2m.mountpoint' }));
  checkRelations(config, problems);
  return config;
}

const MQTT_URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:']);
const REDIS_URL_PROTOCOLS = new Set(['redis:', 'rediss:']);

/** The profiles of the configuration, each problem under its key (`profiles[0].telemetry`); none when any is bad. */
function inlineProfiles(raw: unknown, problems: Problems): readonly DeviceProfile[] {
  try {
    // device_id_map files: from the working directory, like every other path of the configuration.
    return parseProfiles(raw, { source: 'profiles', baseDir: process.cwd() });
  } catch (err) {
    if (!(err instanceof ProfileConfigError)) throw err;
    for (const p of err.problems) problems.add(new ConfigError(p.message, { key: p.key === '' ? 'profiles' : p.key }));
    return [];
  }
}

/** Seconds: store.sync_interval is refused above it, and warned about above DURABLE_STORE_SYNC_INTERVAL. */
const MAX_STORE_SYNC_INTERVAL = 10;
/** Seconds: the issue's rule "a crash loses at most the last second of changes". */
const DURABLE_STORE_SYNC_INTERVAL = 1;

/**
 * Rules between keys, which JSON Schema cannot say readably. A rule is skipped when a key it reads has
 * a problem already: its value is then a default or a stand-in, and the rule would only add noise.
 */
function checkRelations(config: GatewayConfig, problems: Problems): void {
  const { mqtt, lwm2m, auth } = config;
  const refuse = (key: string, reason: string) => problems.add(new ConfigError(reason, { key }));
  const sound = (...keys: string[]) => !problems.has(...keys);
  if (sound('lwm2m.lifetime_min', 'lwm2m.lifetime_max') && lwm2m.lifetime_min > lwm2m.lifetime_max) {
    refuse('lwm2m.lifetime_min', `must be <= lwm2m.lifetime_max (${lwm2m.lifetime_min} > ${lwm2m.lifetime_max})`);
  }
  if (mqtt.url !== undefined && !MQTT_URL_PROTOCOLS.has(urlProtocol(mqtt.url) ?? '')) {
    refuse('mqtt.url', 'must be a URL such as mqtt://host:1883 or mqtts://host:8883');
  }
  if (sound('mqtt.clean') && !mqtt.clean && mqtt.client_id === undefined) {
    refuse('mqtt.client_id', 'required when mqtt.clean is false (a persistent session needs a stable id)');
  }
  const http = config.http;
  if (sound('http.certfile', 'http.keyfile') && (http.certfile === undefined) !== (http.keyfile === undefined)) {
    refuse(http.certfile === undefined ? 'http.certfile' : 'http.keyfile', 'http.certfile and http.keyfile go together');
  }
  if (config.profiles.length > 0 && config.profiles_file !== undefined) refuse('profiles_file', 'give the profiles here or in profiles_file, not both');
  for (const name of ['telemetry', 'attributes', 'status'] as const) {
    const key = `lwm2m.translators.${name}.topic`;
    const problem = sound(key) ? profileTopicProblem(config.lwm2m.translators[name].topic) : undefined;
    if (problem !== undefined) refuse(key, problem);
  }
  const firmwareHttp = config.firmware.http;
  if (sound('firmware.http.certfile', 'firmware.http.keyfile') && (firmwareHttp.certfile === undefined) !== (firmwareHttp.keyfile === undefined)) {
    refuse(firmwareHttp.certfile === undefined ? 'firmware.http.certfile' : 'firmware.http.keyfile', 'firmware.http.certfile and firmware.http.keyfile go together');
  }
  if (sound('firmware.http.public_url') && firmwareHttp.public_url !== '' && !/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(firmwareHttp.public_url)) {
    refuse('firmware.http.public_url', 'must be an http:// or https:// URL without query or fragment, e.g. https://fw.example.com:8090');
  }
  if (sound('http.api_keys')) {
    const seen = new Set<string>();
    http.api_keys.forEach((k, i) => {
      if (seen.has(k.key)) refuse(`http.api_keys[${i}].key`, `duplicate key ${JSON.stringify(k.key)}`);
      seen.add(k.key);
    });
  }
  if (sound('mqtt.cert_file', 'mqtt.key_file') && (mqtt.cert_file === undefined) !== (mqtt.key_file === undefined)) {
    refuse(mqtt.cert_file === undefined ? 'mqtt.cert_file' : 'mqtt.key_file', 'mqtt.cert_file and mqtt.key_file go together');
  }
  checkDtls(config.listeners.dtls, 'dtls', problems);
  checkDtls(config.listeners.bootstrap_dtls, 'bootstrap_dtls', problems);
  checkBootstrap(config, problems);
  const { blockwise } = lwm2m;
  if (sound('lwm2m.blockwise.max_pending_bytes', 'lwm2m.blockwise.max_pending_bytes_per_source') && blockwise.max_pending_bytes_per_source > blockwise.max_pending_bytes) {
    refuse('lwm2m.blockwise.max_pending_bytes_per_source', 'must be <= lwm2m.blockwise.max_pending_bytes');
  }
  if (sound('listeners.udp.enable', 'listeners.dtls.enable', 'listeners.dtls.psk_file', 'listeners.dtls.certfile') && !config.listeners.udp.enable && !config.listeners.dtls.enable) {
    refuse('listeners.udp.enable', 'no listener left: plain UDP is off and listeners.dtls is not enabled');
  }
  const authProtocol = auth.http.url === '' ? 'http:' : urlProtocol(auth.http.url);
  if (authProtocol !== 'http:' && authProtocol !== 'https:') {
    refuse('auth.http.url', 'must be empty (off) or an http:// or https:// URL');
  }
  checkStore(config.store, problems);
}

/** Redis needs a redis:// or rediss:// URL; its password is masked wherever the URL is quoted. */
function checkStore(store: StoreConfig, problems: Problems): void {
  if (store.type !== 'redis' || problems.has('store.type', 'store.url')) return;
  if (store.url === undefined) {
    problems.add(new ConfigError('required when store.type is redis (a redis:// or rediss:// URL)', { key: 'store.url' }));
    return;
  }
  if (!REDIS_URL_PROTOCOLS.has(urlProtocol(store.url) ?? '') || urlHostname(store.url) === '') {
    problems.add(new ConfigError(`must be a URL such as redis://host:6379 or rediss://host:6380 (got ${JSON.stringify(maskUrlPassword(store.url))})`, { key: 'store.url' }));
  }
}

/**
 * A URL fit for a message or a log line: the password (or a user part without one, which some clients
 * take as the password) and `password=` query values replaced by "***". Works on text that is no
 * valid URL too: everything up to the last "@" counts as the user part.
 */
export function maskUrlPassword(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  let masked = rest;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    masked = `${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***'}${rest.slice(at)}`;
  }
  return scheme + masked.replace(/([?&;]password=)[^&#]*/gi, '$1***');
}

/** An enabled DTLS listener needs credentials to authenticate anyone, and suites it can serve. */
/** The checks of a DTLS listener section (`listeners.dtls` or `listeners.bootstrap_dtls`). */
function checkDtls(dtls: DtlsListenerConfig | BootstrapDtlsListenerConfig, section: 'dtls' | 'bootstrap_dtls', problems: Problems): void {
  const refuse = (key: string, reason: string) => problems.add(new ConfigError(reason, { key: `listeners.${section}.${key}` }));
  const sound = (...keys: string[]) => !problems.has(...keys.map((key) => `listeners.${section}.${key}`));
  const ciphers = dtls.ciphers ?? DEFAULT_CIPHERS;
  ciphers.forEach((name, i) => {
    if (opensslCipherName(name) === undefined) {
      refuse(`ciphers[${i}]`, `unsupported cipher suite "${name}" (supported: ${DEFAULT_CIPHERS.join(', ')})`);
    }
  });
  if (sound('certfile', 'keyfile') && (dtls.certfile === undefined) !== (dtls.keyfile === undefined)) {
    refuse(dtls.certfile === undefined ? 'certfile' : 'keyfile', `listeners.${section}.certfile and listeners.${section}.keyfile go together`);
  }
  if (!dtls.enable || !sound('enable')) return;
  if (sound('psk_file', 'certfile') && dtls.psk_file === undefined && dtls.certfile === undefined) {
    refuse('psk_file', 'the DTLS listener is enabled but has no credentials: set psk_file, or certfile and keyfile');
  }
  if (sound('verify', 'certfile', 'cacertfile') && dtls.verify === 'verify_peer' && dtls.certfile !== undefined && dtls.cacertfile === undefined) {
    refuse('cacertfile', 'verify_peer needs the CA certificates that sign client certificates');
  }
  if (!sound('ciphers', 'psk_file', 'certfile')) return;
  if (dtls.certfile === undefined && ciphers.every((name) => isCertificateSuite(name))) {
    refuse('ciphers', 'only certificate suites are listed but no certfile is set');
  }
  if (dtls.psk_file === undefined && !ciphers.some((name) => isCertificateSuite(name))) {
    refuse('ciphers', 'only PSK suites are listed but no psk_file is set');
  }
}

/** A bootstrap listener needs a configuration source; the hook a usable URL. */
function checkBootstrap(config: GatewayConfig, problems: Problems): void {
  const { bootstrap, listeners } = config;
  const hookProtocol = bootstrap.http.url === '' ? 'http:' : urlProtocol(bootstrap.http.url);
  if (hookProtocol !== 'http:' && hookProtocol !== 'https:') {
    problems.add(new ConfigError('must be empty (off) or an http:// or https:// URL', { key: 'bootstrap.http.url' }));
  }
  const hasSource = bootstrap.config_file !== undefined || bootstrap.http.url !== '';
  for (const section of ['bootstrap_udp', 'bootstrap_dtls'] as const) {
    if (listeners[section].enable && !hasSource && !problems.has(`listeners.${section}.enable`)) {
      problems.add(new ConfigError('a bootstrap listener needs bootstrap.config_file or bootstrap.http.url', { key: `listeners.${section}.enable` }));
    }
  }
}

function urlProtocol(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}

function urlHostname(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Deletes the value a schema error is about (an unknown key, or the whole list an item of which is
 * bad) so that validating again fills in its default. False when the error is about the document itself.
 */
function removeRefusedValue(data: Record<string, unknown>, error: ErrorObject): boolean {
  const segments = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'additionalProperties') segments.push(String((error.params as { additionalProperty: unknown }).additionalProperty));
  let container: unknown = data;
  let target: { parent: Record<string, unknown>; key: string } | undefined;
  for (const segment of segments) {
    if (Array.isArray(container)) container = container[Number(segment)];
    else if (isRecord(container)) {
      target = { parent: container, key: segment };
      container = container[segment];
    } else break;
  }
  if (target === undefined) return false;
  delete target.parent[target.key];
  return true;
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null) result[key] = withoutNulls(item);
  }
  return result;
}

// Friendlier wording for the shared definitions, keyed by the schema path that failed.
const DEFINITION_MESSAGES: ReadonlyArray<[prefix: string, message: string]> = [
  ['#/definitions/duration/', 'must be a duration: seconds or a string such as "22s", "5m", "250ms"'],
  ['#/definitions/bind/', 'must be a bind address such as "0.0.0.0:5683", "[::]:5683", ":5683" or a port'],
  ['#/definitions/byteSize/', 'must be a size: bytes or a string such as "64KB", "4MB", "1GB" (KB = 1024 bytes)'],
  ['#/definitions/lwm2mPath/', 'must be an LwM2M path such as "/3/0/9"'],
];

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping (key: value)',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
};

function describeSchemaError(error: ErrorObject | undefined): ConfigError {
  if (!error) return new ConfigError('invalid configuration');
  const key = dottedKey(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return new ConfigError('unknown key', { key: joinKey(key, String(params.additionalProperty)) });
    case 'enum':
      return new ConfigError(`must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`, { key: key || '(root)' });
    case 'type':
      if (key === '') return new ConfigError('the configuration must be a YAML mapping (key: value)');
      break;
  }
  if (error.keyword === 'type' || error.keyword === 'pattern') {
    const friendly = DEFINITION_MESSAGES.find(([prefix]) => error.schemaPath.startsWith(prefix));
    if (friendly) return new ConfigError(friendly[1], { key });
  }
  const message =
    error.keyword === 'type'
      ? `must be ${String(params.type).split(',').map((type) => TYPE_NAMES[type] ?? type).join(' or ')}`
      : error.message ?? 'is invalid';
  return new ConfigError(message, { key: key || '(root)' });
}

/** "/lwm2m/auto_observe/0" -> "lwm2m.auto_observe[0]" */
function dottedKey(instancePath: string): string {
  if (instancePath === '') return '';
  return instancePath
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((key, segment) => (/^\d+$/.test(segment) ? `${key}[${segment}]` : joinKey(key, segment)), '');
}

function joinKey(parent: string, child: string): string {
  return parent === '' ? child : `${parent}.${child}`;
}

let cachedValidator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (!cachedValidator) {
    const schemaFile = path.join(packageRoot(), 'schemas', 'gateway.schema.json');
    const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as object;
    // useDefaults fills in every missing key but listeners.dtls.enable (resolved in toGatewayConfig);
    // union types (number or string) are deliberate.
    // allErrors: a start refused for a bad key reports every other bad key along with it.
    const ajv = new Ajv({ useDefaults: true, allErrors: true, allowUnionTypes: true });
    cachedValidator = ajv.compile(schema);
  }
  return cachedValidator;
}
