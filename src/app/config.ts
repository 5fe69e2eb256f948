import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import type { QoS } from '../mqtt/broker-client';
import { packageRoot } from '../package-root';
import { parseDuration, type DurationInput } from './duration';
import { DEFAULT_CIPHERS, isCertificateSuite, opensslCipherName } from '../transport/dtls/cipher-suites';

// ---------------------------------------------------------------------------------------------
// The validated configuration. Key names are the YAML ones (snake_case) so that users recognise
// them; durations are already seconds, binds already {host, port}.
// ---------------------------------------------------------------------------------------------

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type UpdateMsgPublishCondition = 'always' | 'contains_object_list';
export type TranslatorName = 'command' | 'response' | 'notify' | 'register' | 'update' | 'deregister' | 'send';

/** A listening address; host "0.0.0.0" or "::" means every interface. */
export interface Bind {
  host: string;
  port: number;
}

export interface TranslatorConfig {
  topic: string;
  qos: QoS;
}

export interface MqttConfig {
  /** An existing broker; undefined starts the embedded one. */
  url?: string;
  username?: string;
  password?: string;
  /** Undefined: the client generates one. */
  client_id?: string;
  clean: boolean;
  /** Seconds. */
  keepalive: number;
  /** Seconds between reconnection attempts. */
  reconnect_period: number;
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  reject_unauthorized: boolean;
}

export interface EmbeddedBrokerConfig {
  bind: Bind;
}

export interface CoapConfig {
  /** Seconds. */
  ack_timeout: number;
  ack_random_factor: number;
  max_retransmit: number;
}

export interface BlockwiseConfig {
  enable: boolean;
  max_block_size: 16 | 32 | 64 | 128 | 256 | 512 | 1024;
  max_body_size: number;
  /** Seconds. */
  exchange_lifetime: number;
  /** Bytes held in unfinished Block1 bodies, in total and per source address. */
  max_pending_bytes: number;
  max_pending_bytes_per_source: number;
}

export interface RegistrationRateConfig {
  /** Registers per second from one source address. */
  per_source: number;
  burst: number;
}

export interface Lwm2mConfig {
  xml_dir?: string;
  /** Seconds. */
  lifetime_min: number;
  /** Seconds. */
  lifetime_max: number;
  /** Seconds. */
  qmode_time_window: number;
  auto_observe: boolean | string[];
  update_msg_publish_condition: UpdateMsgPublishCondition;
  mountpoint: string;
  translators: Record<TranslatorName, TranslatorConfig>;
  coap: CoapConfig;
  blockwise: BlockwiseConfig;
  /** Name -> LwM2M path, e.g. batteryLevel -> /3/0/9. */
  keys: Record<string, string>;
  /** Commands waiting per device. */
  max_queued_commands: number;
  /** Largest command payload, bytes. */
  max_command_size: number;
  /** Longest endpoint name, UTF-8 bytes. */
  max_endpoint_length: number;
  /** Object links in one register or update. */
  max_object_links: number;
  max_registrations: number;
  registration_rate: RegistrationRateConfig;
  /** Substrings (lower case) of query parameter names that are never published. */
  secret_query_keys: string[];
}

export interface UdpListenerConfig {
  enable: boolean;
  bind: Bind;
  enable_authn: boolean;
  /** Kernel receive buffer in bytes; undefined: the transport's default. */
  recbuf?: number;
}

export interface DtlsListenerConfig {
  enable: boolean;
  bind: Bind;
  enable_authn: boolean;
  psk_file?: string;
  certfile?: string;
  keyfile?: string;
  cacertfile?: string;
  verify: 'verify_peer' | 'verify_none';
  ciphers?: string[];
  /** Seconds. */
  session_timeout: number;
  max_sessions: number;
  /** Unfinished handshakes past the cookie exchange, in total and per source address. */
  max_handshakes: number;
  max_handshakes_per_source: number;
}

export interface HttpAuthConfig {
  /** Empty: authentication by HTTP is off. */
  url: string;
  method: 'get' | 'post';
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** Seconds. */
  timeout: number;
  /** Concurrent requests to the auth service, in total and for one source address. */
  max_in_flight: number;
  max_in_flight_per_source: number;
}

export interface GatewayConfig {
  mqtt: MqttConfig;
  embedded_broker: EmbeddedBrokerConfig;
  lwm2m: Lwm2mConfig;
  listeners: { udp: UdpListenerConfig; dtls: DtlsListenerConfig };
  auth: { http: HttpAuthConfig };
  http: { bind: Bind };
  log: { level: LogLevel };
}

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

/** A configuration that cannot be used; the message names the file, the key and the reason. */
export class ConfigError extends Error {
  readonly key?: string;
  readonly source?: string;
  readonly line?: number;
  readonly reason: string;

  constructor(reason: string, details: ConfigErrorDetails = {}) {
    const where = details.source === undefined ? '' : details.line === undefined ? details.source : `${details.source}:${details.line}`;
    super([where, details.key, reason].filter((part) => part).join(': '));
    this.name = 'ConfigError';
    this.reason = reason;
    this.key = details.key;
    this.source = details.source;
    this.line = details.line;
  }
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
  return parseConfig(text, file);
}

/** Parses and validates YAML text; `source` names it in error messages. */
export function parseConfig(text: string, source?: string): GatewayConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    const line = lineCounter.linePos(error.pos[0]).line;
    throw new ConfigError(`YAML syntax error: ${error.message}`, { source: source ?? '<config>', line });
  }
  try {
    return validateConfig(doc.toJS());
  } catch (err) {
    if (err instanceof ConfigError && source !== undefined) {
      throw new ConfigError(err.reason, { key: err.key, source });
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
 */
export function validateConfig(document: unknown): GatewayConfig {
  const data = withoutNulls(document ?? {});
  const validate = schemaValidator();
  if (!validate(data)) throw describeSchemaError((validate.errors ?? [])[0]);
  return toGatewayConfig(data as RawConfig);
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

type RawBind = number | string;

/** The document after schema validation with defaults applied: trusted shapes, raw durations and binds. */
interface RawConfig {
  mqtt: Omit<MqttConfig, 'keepalive' | 'reconnect_period'> & { keepalive: DurationInput; reconnect_period: DurationInput };
  embedded_broker: { bind: RawBind };
  lwm2m: Omit<Lwm2mConfig, 'lifetime_min' | 'lifetime_max' | 'qmode_time_window' | 'coap' | 'blockwise'> & {
    lifetime_min: DurationInput;
    lifetime_max: DurationInput;
    qmode_time_window: DurationInput;
    coap: Omit<CoapConfig, 'ack_timeout'> & { ack_timeout: DurationInput };
    blockwise: Omit<BlockwiseConfig, 'exchange_lifetime'> & { exchange_lifetime: DurationInput };
  };
  listeners: {
    udp: Omit<UdpListenerConfig, 'bind'> & { bind: RawBind };
    dtls: Omit<DtlsListenerConfig, 'bind' | 'session_timeout'> & { bind: RawBind; session_timeout: DurationInput };
  };
  auth: { http: Omit<HttpAuthConfig, 'timeout'> & { timeout: DurationInput } };
  http: { bind: RawBind };
  log: { level: LogLevel };
}

interface DurationLimits {
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  max?: number;
  wholeSeconds?: boolean;
}

function seconds(value: DurationInput, key: string, limits: DurationLimits): number {
  const result = parseDuration(value); // the schema has already checked the syntax
  if (limits.wholeSeconds && !Number.isInteger(result)) throw new ConfigError('must be a whole number of seconds', { key });
  if (limits.min !== undefined && result < limits.min) throw new ConfigError(`must be >= ${limits.min}`, { key });
  if (limits.above !== undefined && result <= limits.above) throw new ConfigError(`must be > ${limits.above}`, { key });
  if (limits.max !== undefined && result > limits.max) throw new ConfigError(`must be <= ${limits.max}`, { key });
  return result;
}

/** An empty string means "not set" for optional strings, as in `username: ""`. */
function optional(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

function toGatewayConfig(raw: RawConfig): GatewayConfig {
  const { mqtt, lwm2m, listeners, auth } = raw;
  const config: GatewayConfig = {
    mqtt: {
      url: optional(mqtt.url),
      username: optional(mqtt.username),
      password: optional(mqtt.password),
      client_id: optional(mqtt.client_id),
      clean: mqtt.clean,
      keepalive: seconds(mqtt.keepalive, 'mqtt.keepalive', { min: 0, max: 65535, wholeSeconds: true }),
      reconnect_period: seconds(mqtt.reconnect_period, 'mqtt.reconnect_period', { above: 0 }),
      ca_file: optional(mqtt.ca_file),
      cert_file: optional(mqtt.cert_file),
      key_file: optional(mqtt.key_file),
      reject_unauthorized: mqtt.reject_unauthorized,
    },
    embedded_broker: { bind: parseBind(raw.embedded_broker.bind, 'embedded_broker.bind') },
    lwm2m: {
      xml_dir: optional(lwm2m.xml_dir),
      lifetime_min: seconds(lwm2m.lifetime_min, 'lwm2m.lifetime_min', { min: 1, wholeSeconds: true }),
      lifetime_max: seconds(lwm2m.lifetime_max, 'lwm2m.lifetime_max', { min: 1, wholeSeconds: true }),
      qmode_time_window: seconds(lwm2m.qmode_time_window, 'lwm2m.qmode_time_window', { min: 0 }),
      auto_observe: lwm2m.auto_observe,
      update_msg_publish_condition: lwm2m.update_msg_publish_condition,
      mountpoint: lwm2m.mountpoint,
      translators: lwm2m.translators,
      coap: {
        ack_timeout: seconds(lwm2m.coap.ack_timeout, 'lwm2m.coap.ack_timeout', { above: 0 }),
        ack_random_factor: lwm2m.coap.ack_random_factor,
        max_retransmit: lwm2m.coap.max_retransmit,
      },
      blockwise: {
        enable: lwm2m.blockwise.enable,
        max_block_size: lwm2m.blockwise.max_block_size,
        max_body_size: lwm2m.blockwise.max_body_size,
        exchange_lifetime: seconds(lwm2m.blockwise.exchange_lifetime, 'lwm2m.blockwise.exchange_lifetime', { above: 0 }),
        max_pending_bytes: lwm2m.blockwise.max_pending_bytes,
        max_pending_bytes_per_source: lwm2m.blockwise.max_pending_bytes_per_source,
      },
      keys: lwm2m.keys,
      max_queued_commands: lwm2m.max_queued_commands,
      max_command_size: lwm2m.max_command_size,
      max_endpoint_length: lwm2m.max_endpoint_length,
      max_object_links: lwm2m.max_object_links,
      max_registrations: lwm2m.max_registrations,
      registration_rate: lwm2m.registration_rate,
      secret_query_keys: lwm2m.secret_query_keys.map((k) => k.toLowerCase()),
    },
    listeners: {
      udp: {
        enable: listeners.udp.enable,
        bind: parseBind(listeners.udp.bind, 'listeners.udp.bind'),
        enable_authn: listeners.udp.enable_authn,
        recbuf: listeners.udp.recbuf,
      },
      dtls: {
        enable: listeners.dtls.enable,
        bind: parseBind(listeners.dtls.bind, 'listeners.dtls.bind'),
        enable_authn: listeners.dtls.enable_authn,
        psk_file: optional(listeners.dtls.psk_file),
        certfile: optional(listeners.dtls.certfile),
        keyfile: optional(listeners.dtls.keyfile),
        cacertfile: optional(listeners.dtls.cacertfile),
        verify: listeners.dtls.verify,
        ciphers: listeners.dtls.ciphers,
        session_timeout: seconds(listeners.dtls.session_timeout, 'listeners.dtls.session_timeout', { above: 0 }),
        max_sessions: listeners.dtls.max_sessions,
        max_handshakes: listeners.dtls.max_handshakes,
        max_handshakes_per_source: listeners.dtls.max_handshakes_per_source,
      },
    },
    auth: {
      http: {
        url: auth.http.url,
        method: auth.http.method,
        headers: auth.http.headers,
        body: auth.http.body,
        timeout: seconds(auth.http.timeout, 'auth.http.timeout', { above: 0 }),
        max_in_flight: auth.http.max_in_flight,
        max_in_flight_per_source: auth.http.max_in_flight_per_source,
      },
    },
    http: { bind: parseBind(raw.http.bind, 'http.bind') },
    log: { level: raw.log.level },
  };
  checkRelations(config);
  return config;
}

const MQTT_URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:']);

/** Rules between keys, which JSON Schema cannot say readably. */
function checkRelations(config: GatewayConfig): void {
  const { mqtt, lwm2m, auth } = config;
  if (lwm2m.lifetime_min > lwm2m.lifetime_max) {
    throw new ConfigError(`must be <= lwm2m.lifetime_max (${lwm2m.lifetime_min} > ${lwm2m.lifetime_max})`, { key: 'lwm2m.lifetime_min' });
  }
  if (mqtt.url !== undefined && !MQTT_URL_PROTOCOLS.has(urlProtocol(mqtt.url) ?? '')) {
    throw new ConfigError('must be a URL such as mqtt://host:1883 or mqtts://host:8883', { key: 'mqtt.url' });
  }
  if (!mqtt.clean && mqtt.client_id === undefined) {
    throw new ConfigError('required when mqtt.clean is false (a persistent session needs a stable id)', { key: 'mqtt.client_id' });
  }
  if ((mqtt.cert_file === undefined) !== (mqtt.key_file === undefined)) {
    const key = mqtt.cert_file === undefined ? 'mqtt.cert_file' : 'mqtt.key_file';
    throw new ConfigError('mqtt.cert_file and mqtt.key_file go together', { key });
  }
  checkDtls(config.listeners.dtls);
  if (lwm2m.blockwise.max_pending_bytes_per_source > lwm2m.blockwise.max_pending_bytes) {
    throw new ConfigError('must be <= lwm2m.blockwise.max_pending_bytes', { key: 'lwm2m.blockwise.max_pending_bytes_per_source' });
  }
  if (!config.listeners.udp.enable && !config.listeners.dtls.enable) {
    throw new ConfigError('no listener left: plain UDP is off and listeners.dtls is not enabled', { key: 'listeners.udp.enable' });
  }
  const authProtocol = auth.http.url === '' ? 'http:' : urlProtocol(auth.http.url);
  if (authProtocol !== 'http:' && authProtocol !== 'https:') {
    throw new ConfigError('must be empty (off) or an http:// or https:// URL', { key: 'auth.http.url' });
  }
}

/** An enabled DTLS listener needs credentials to authenticate anyone, and suites it can serve. */
function checkDtls(dtls: DtlsListenerConfig): void {
  const ciphers = dtls.ciphers ?? DEFAULT_CIPHERS;
  ciphers.forEach((name, i) => {
    if (opensslCipherName(name) === undefined) {
      throw new ConfigError(`unsupported cipher suite "${name}" (supported: ${DEFAULT_CIPHERS.join(', ')})`, { key: `listeners.dtls.ciphers[${i}]` });
    }
  });
  if ((dtls.certfile === undefined) !== (dtls.keyfile === undefined)) {
    const key = dtls.certfile === undefined ? 'listeners.dtls.certfile' : 'listeners.dtls.keyfile';
    throw new ConfigError('listeners.dtls.certfile and listeners.dtls.keyfile go together', { key });
  }
  if (!dtls.enable) return;
  if (dtls.psk_file === undefined && dtls.certfile === undefined) {
    throw new ConfigError('the DTLS listener is enabled but has no credentials: set psk_file, or certfile and keyfile', { key: 'listeners.dtls.psk_file' });
  }
  if (dtls.verify === 'verify_peer' && dtls.certfile !== undefined && dtls.cacertfile === undefined) {
    throw new ConfigError('verify_peer needs the CA certificates that sign client certificates', { key: 'listeners.dtls.cacertfile' });
  }
  if (dtls.certfile === undefined && ciphers.every((name) => isCertificateSuite(name))) {
    throw new ConfigError('only certificate suites are listed but no certfile is set', { key: 'listeners.dtls.ciphers' });
  }
  if (dtls.psk_file === undefined && !ciphers.some((name) => isCertificateSuite(name))) {
    throw new ConfigError('only PSK suites are listed but no psk_file is set', { key: 'listeners.dtls.ciphers' });
  }
}

function urlProtocol(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
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
    // useDefaults fills in every missing key; union types (number or string) are deliberate.
    const ajv = new Ajv({ useDefaults: true, allErrors: false, allowUnionTypes: true });
    cachedValidator = ajv.compile(schema);
  }
  return cachedValidator;
}
