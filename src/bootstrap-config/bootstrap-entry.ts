import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import type {
  AclInstance,
  BootstrapConfig,
  BootstrapVersion,
  OscoreContext,
  SecurityAccount,
  ServerAccount,
} from '../lwm2m/bootstrap/bootstrap-config';
import { hasControlCharacter } from '../limits/control-characters';
import { ContentFormat, parseContentFormat } from '../lwm2m/codec';
import { ProblemList } from './bootstrap-config-error';
import { describeValue, isMapping, printable } from '../config-text/config-keys';
import { MappingReader } from './mapping-reader';

/**
 * One bootstrap configuration entry (the `defaults` or an `endpoints` entry of the YAML file, or
 * the `config` of the HTTP hook's answer), validated but not yet rendered for a device: the PSK
 * identity is still a template and a `generate` key is generated on each resolve.
 */

/** How the device proves itself to one server: a PSK, an X.509 certificate, or nothing. */
export type EntryCredentials =
  | { mode: 'psk'; identityTemplate: string; key: Buffer | 'generate' }
  | { mode: 'x509'; clientCertificate: Buffer; privateKey: Buffer; serverCertificate: Buffer }
  | { mode: 'nosec' };

export interface SecurityEntry {
  uri: string;
  credentials: EntryCredentials;
  clientHoldOffTime?: number;
}

export interface ServerEntry extends SecurityEntry {
  shortServerId: number;
  lifetime: number;
  binding: string;
  defaultMinPeriod?: number;
  defaultMaxPeriod?: number;
  disableTimeout?: number;
  notificationStoring: boolean;
  securityInstanceId?: number;
  serverInstanceId?: number;
  /** Add the PSK to the gateway's DM DTLS listener. */
  provision: boolean;
  /** The OSCORE context the device uses with this (nosec) server. */
  oscore?: OscoreContext;
}

export interface BootstrapServerEntry extends SecurityEntry {
  accountTimeout?: number;
  instanceId?: number;
}

export interface BootstrapEntry {
  delete: readonly string[];
  discover: boolean;
  read: readonly string[];
  contentFormat?: number;
  version?: BootstrapVersion;
  servers: readonly ServerEntry[];
  bootstrapServer?: BootstrapServerEntry;
  acls: readonly AclInstance[];
}

const ENTRY_KEYS = ['delete', 'discover', 'read', 'content_format', 'version', 'servers', 'bootstrap_server', 'acls'];
const PSK_KEYS = ['psk_identity', 'psk_key'];
const X509_KEYS = ['client_certificate', 'private_key', 'server_certificate'];
const SECURITY_KEYS = ['uri', 'security_mode', ...PSK_KEYS, ...X509_KEYS, 'client_hold_off_time'];
const SERVER_KEYS = [
  ...SECURITY_KEYS,
  'short_server_id',
  'provision',
  'lifetime',
  'binding',
  'default_min_period',
  'default_max_period',
  'disable_timeout',
  'notification_storing',
  'security_instance_id',
  'server_instance_id',
  'oscore',
];
const BOOTSTRAP_SERVER_KEYS = [...SECURITY_KEYS, 'account_timeout', 'instance_id'];
const OSCORE_KEYS = ['master_secret', 'sender_id', 'recipient_id', 'aead_algorithm', 'hmac_algorithm', 'master_salt', 'id_context', 'instance_id'];
const ACL_KEYS = ['object_id', 'object_instance_id', 'acl', 'owner', 'instance_id'];

const MAX_SERVERS = 8;
const MAX_ACLS = 64;
/** Entries of one ACL instance's /2/x/2 (one per short server id). */
const MAX_ACL_ENTRIES = 64;
const MAX_PATHS = 32;
const MAX_URI_BYTES = 255;
/** OpenSSL's PSK callback takes identities up to 128 bytes (as src/app/psk-file.ts). */
export const MAX_PSK_IDENTITY_BYTES = 128;
const MAX_PSK_KEY_BYTES = 64;
const GENERATED_PSK_BYTES = 16;
/** A PEM certificate or key; real ones are a few KiB. */
const MAX_PEM_CHARS = 64 * 1024;
const MAX_SECONDS = 2 ** 31 - 1;
/** OSCORE (RFC 8613 §3.3): Sender/Recipient IDs are at most nonce length - 6 = 7 bytes for AES-CCM-16-64-128. */
const MAX_OSCORE_ID_BYTES = 7;
const MAX_OSCORE_SECRET_BYTES = 32;
/** Master Salt and ID Context have no bound in RFC 8613; 32 bytes is well above what deployments use. */
const MAX_OSCORE_SALT_BYTES = 32;
const MAX_OSCORE_ID_CONTEXT_BYTES = 32;
/** COSE algorithm ids (IANA registry) fit this range. */
const MIN_COSE_ALGORITHM = -65536;
const MAX_COSE_ALGORITHM = 65535;
/** Object and instance ids: 16 bits, 65535 reserved (OMA TS Core §7.1). */
const MAX_ID = 65534;
const DEFAULT_DELETE: readonly string[] = ['/0', '/1'];
const DEFAULT_LIFETIME = 300;
const ENDPOINT_PLACEHOLDER = '${endpoint}';
const URI_SCHEMES = new Set(['coap:', 'coaps:', 'coap+tcp:', 'coaps+tcp:']);
const SECURE_SCHEMES = new Set(['coaps:', 'coaps+tcp:']);
const VERSIONS: readonly BootstrapVersion[] = ['1.0', '1.1', '1.2'];
/** The formats a Bootstrap-Write may carry, and the first version that knows each. */
const WRITE_FORMAT_SINCE = new Map<number, BootstrapVersion>([
  [ContentFormat.TLV, '1.0'],
  [ContentFormat.OMA_JSON, '1.0'],
  [ContentFormat.SENML_JSON, '1.1'],
  [ContentFormat.SENML_CBOR, '1.1'],
  [ContentFormat.LWM2M_CBOR, '1.2'],
]);

/**
 * Validates one entry; throws BootstrapConfigError listing every problem, each key prefixed with
 * `keyPrefix` (e.g. `endpoints.ep1`). `where` names the source (a file name, "bootstrap hook answer").
 */
export function parseBootstrapEntry(raw: unknown, where: string, keyPrefix = ''): BootstrapEntry {
  const problems = new ProblemList();
  const entry = collectBootstrapEntry(raw, keyPrefix, problems);
  problems.throwIfAny(where);
  return entry as BootstrapEntry;
}

/** Validates one entry into `problems`; the entry returned is only meaningful when no problem was added. */
export function collectBootstrapEntry(raw: unknown, at: string, problems: ProblemList): BootstrapEntry | undefined {
  if (!isMapping(raw)) {
    problems.add(at, `must be a mapping, got ${describeValue(raw)}`);
    return undefined;
  }
  const r = new MappingReader(raw, at, problems, ENTRY_KEYS);
  const version = readVersion(r);
  const contentFormat = readContentFormat(r, version);
  const read = readPaths(r, 'read', READ_PATH, 'a path /1, /2, /1/<instance> or /2/<instance>') ?? [];
  if (read.length > 0 && version === '1.0') r.problem('read', 'Bootstrap-Read needs LwM2M 1.1 or later (version is 1.0)');

  const servers: ServerEntry[] = [];
  const serverList = r.list('servers', MAX_SERVERS);
  if (serverList === undefined && !r.has('servers')) r.problem('servers', 'missing: 1..8 servers are needed');
  else if (serverList !== undefined && serverList.length === 0) r.problem('servers', `must hold 1..${MAX_SERVERS} servers`);
  serverList?.forEach((item, i) => {
    const server = readServer(item, `${r.key('servers')}[${i}]`, problems);
    if (server) servers.push(server);
    // Object 21 and /0/x/17 came with 1.1: a 1.0 client would refuse the write.
    if (server?.oscore !== undefined && version === '1.0') problems.add(`${r.key('servers')}[${i}].oscore`, 'needs LwM2M 1.1 or later (version is 1.0)');
  });
  const bootstrapRecord = r.mapping('bootstrap_server');
  const bootstrapServer = bootstrapRecord ? readBootstrapServer(bootstrapRecord, r.key('bootstrap_server'), problems) : undefined;
  const acls: AclInstance[] = [];
  r.list('acls', MAX_ACLS)?.forEach((item, i) => {
    const acl = readAcl(item, `${r.key('acls')}[${i}]`, problems);
    if (acl) acls.push(acl);
  });
  checkUniqueIds(r, servers, bootstrapServer, acls);

  return {
    delete: readPaths(r, 'delete', DELETE_PATH, 'a path "/", "/<object>" or "/<object>/<instance>"') ?? DEFAULT_DELETE,
    discover: r.boolean('discover', true),
    read,
    ...(contentFormat !== undefined && { contentFormat }),
    ...(version !== undefined && { version }),
    servers,
    ...(bootstrapServer !== undefined && { bootstrapServer }),
    acls,
  };
}

const DELETE_PATH = /^\/(?:(\d{1,5})(?:\/(\d{1,5}))?)?$/;
const READ_PATH = /^\/([12])(?:\/(\d{1,5}))?$/;

function readPaths(r: MappingReader, name: string, pattern: RegExp, what: string): string[] | undefined {
  const list = r.list(name, MAX_PATHS);
  if (list === undefined) return undefined;
  const paths: string[] = [];
  list.forEach((item, i) => {
    const key = `${r.key(name)}[${i}]`;
    const match = typeof item === 'string' ? pattern.exec(item) : null;
    if (match === null || match.slice(1).some((id) => id !== undefined && Number(id) > MAX_ID)) {
      r.problems.add(key, `must be ${what} (ids 0..${MAX_ID})`);
      return;
    }
    const path = item as string;
    if (paths.includes(path)) r.problems.add(key, 'duplicate path');
    paths.push(path);
  });
  return paths;
}

function readVersion(r: MappingReader): BootstrapVersion | undefined {
  const value = r.value('version');
  if (value === undefined) return undefined;
  // YAML reads an unquoted 1.1 as a number; 1.0 even becomes 1.
  const text = typeof value === 'number' ? (Number.isInteger(value) ? value.toFixed(1) : String(value)) : value;
  if (typeof text === 'string' && (VERSIONS as readonly string[]).includes(text)) return text as BootstrapVersion;
  r.problem('version', `must be one of ${VERSIONS.join(', ')}`);
  return undefined;
}

function readContentFormat(r: MappingReader, version: BootstrapVersion | undefined): number | undefined {
  const value = r.value('content_format');
  if (value === undefined) return undefined;
  let format: number | undefined;
  if (typeof value === 'string' || typeof value === 'number') {
    try {
      format = parseContentFormat(value);
    } catch {
      format = undefined;
    }
  }
  const since = format === undefined ? undefined : WRITE_FORMAT_SINCE.get(format);
  if (format === undefined || since === undefined) {
    r.problem('content_format', 'must be one of tlv, senml-cbor, senml-json, lwm2m-cbor, oma-json or its number');
    return undefined;
  }
  if (version !== undefined && version < since) r.problem('content_format', `needs LwM2M ${since} or later (version is ${version})`);
  return format;
}

function readServer(raw: unknown, at: string, problems: ProblemList): ServerEntry | undefined {
  if (!isMapping(raw)) {
    problems.add(at, `must be a mapping, got ${describeValue(raw)}`);
    return undefined;
  }
  const r = new MappingReader(raw, at, problems, SERVER_KEYS);
  const security = readSecurity(r, true);
  const shortServerId = r.integer('short_server_id', 1, MAX_ID);
  if (!r.has('short_server_id')) r.problem('short_server_id', `missing: an integer in 1..${MAX_ID}`);
  const generated = security?.credentials.mode === 'psk' && security.credentials.key === 'generate';
  const provision = r.boolean('provision', generated);
  if (provision && security !== undefined && security.credentials.mode !== 'psk') r.problem('provision', 'only a psk account can be provisioned');
  const binding = r.value('binding') ?? 'U';
  if (typeof binding !== 'string' || !/^[UTSNQ]{1,8}$/.test(binding)) r.problem('binding', 'must be 1..8 of the letters U, T, S, N, Q');
  const defaultMinPeriod = r.integer('default_min_period', 0, MAX_SECONDS);
  const defaultMaxPeriod = r.integer('default_max_period', 1, MAX_SECONDS);
  if (defaultMinPeriod !== undefined && defaultMaxPeriod !== undefined && defaultMinPeriod > defaultMaxPeriod) {
    r.problem('default_max_period', 'must not be less than default_min_period');
  }
  const disableTimeout = r.integer('disable_timeout', 0, MAX_SECONDS);
  const securityInstanceId = r.integer('security_instance_id', 0, MAX_ID);
  const serverInstanceId = r.integer('server_instance_id', 0, MAX_ID);
  const oscoreRecord = r.mapping('oscore');
  let oscore: OscoreContext | undefined;
  if (oscoreRecord !== undefined) {
    oscore = readOscore(oscoreRecord, r.key('oscore'), problems);
    // OSCORE protects the messages instead of DTLS: a server reached over DTLS gets none.
    if (security !== undefined && security.credentials.mode !== 'nosec') r.problem('oscore', 'only used with security_mode nosec (OSCORE replaces DTLS)');
  }
  const server: ServerEntry = {
    uri: security?.uri ?? '',
    credentials: security?.credentials ?? { mode: 'nosec' },
    ...(security?.clientHoldOffTime !== undefined && { clientHoldOffTime: security.clientHoldOffTime }),
    shortServerId: shortServerId ?? 0,
    lifetime: r.integer('lifetime', 1, MAX_SECONDS) ?? DEFAULT_LIFETIME,
    binding: binding as string,
    ...(defaultMinPeriod !== undefined && { defaultMinPeriod }),
    ...(defaultMaxPeriod !== undefined && { defaultMaxPeriod }),
    ...(disableTimeout !== undefined && { disableTimeout }),
    notificationStoring: r.boolean('notification_storing', true),
    ...(securityInstanceId !== undefined && { securityInstanceId }),
    ...(serverInstanceId !== undefined && { serverInstanceId }),
    provision,
    ...(oscore !== undefined && { oscore }),
  };
  return server;
}

function readOscore(raw: Readonly<Record<string, unknown>>, at: string, problems: ProblemList): OscoreContext | undefined {
  const r = new MappingReader(raw, at, problems, OSCORE_KEYS);
  const masterSecret = readHex(r, 'master_secret', 1, MAX_OSCORE_SECRET_BYTES, true);
  const senderId = readHex(r, 'sender_id', 0, MAX_OSCORE_ID_BYTES, true);
  const recipientId = readHex(r, 'recipient_id', 0, MAX_OSCORE_ID_BYTES, true);
  // RFC 8613 §3.3: the IDs must differ, else both sides derive the same key and nonce.
  if (senderId !== undefined && recipientId !== undefined && senderId.equals(recipientId)) r.problem('recipient_id', 'must differ from sender_id');
  const aeadAlgorithm = r.integer('aead_algorithm', MIN_COSE_ALGORITHM, MAX_COSE_ALGORITHM);
  const hmacAlgorithm = r.integer('hmac_algorithm', MIN_COSE_ALGORITHM, MAX_COSE_ALGORITHM);
  const masterSalt = readHex(r, 'master_salt', 0, MAX_OSCORE_SALT_BYTES, false);
  const idContext = readHex(r, 'id_context', 0, MAX_OSCORE_ID_CONTEXT_BYTES, false);
  const instanceId = r.integer('instance_id', 0, MAX_ID);
  if (masterSecret === undefined || senderId === undefined || recipientId === undefined) return undefined;
  return {
    masterSecret,
    senderId,
    recipientId,
    ...(aeadAlgorithm !== undefined && { aeadAlgorithm }),
    ...(hmacAlgorithm !== undefined && { hmacAlgorithm }),
    ...(masterSalt !== undefined && { masterSalt }),
    ...(idContext !== undefined && { idContext }),
    ...(instanceId !== undefined && { instanceId }),
  };
}

/** Bytes written in hex ("" for none); messages never quote the value (master_secret is a secret). */
function readHex(r: MappingReader, name: string, minBytes: number, maxBytes: number, required: boolean): Buffer | undefined {
  const value = r.value(name);
  const range = minBytes === 0 ? `up to ${maxBytes} bytes in hex ("" for none)` : `${minBytes}..${maxBytes} bytes in hex`;
  if (value === undefined) {
    if (required) r.problem(name, `missing: ${range}`);
    return undefined;
  }
  if (typeof value === 'number') r.problem(name, 'must be a quoted string: YAML reads unquoted digits as a number, losing leading zeros');
  else if (typeof value !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(value)) r.problem(name, `must be ${range} (an even number of hex digits)`);
  else if (value.length / 2 < minBytes || value.length / 2 > maxBytes) r.problem(name, `must be ${range}, got ${value.length / 2} bytes`);
  else return Buffer.from(value, 'hex');
  return undefined;
}

function readBootstrapServer(raw: Readonly<Record<string, unknown>>, at: string, problems: ProblemList): BootstrapServerEntry | undefined {
  const r = new MappingReader(raw, at, problems, BOOTSTRAP_SERVER_KEYS);
  const security = readSecurity(r, false);
  const accountTimeout = r.integer('account_timeout', 0, MAX_SECONDS);
  const instanceId = r.integer('instance_id', 0, MAX_ID);
  if (security === undefined) return undefined;
  return { ...security, ...(accountTimeout !== undefined && { accountTimeout }), ...(instanceId !== undefined && { instanceId }) };
}

/** The Security-object part of a server or of the bootstrap account; undefined when uri or mode are unusable. */
function readSecurity(r: MappingReader, mayGenerate: boolean): SecurityEntry | undefined {
  const uri = readUri(r);
  const clientHoldOffTime = r.integer('client_hold_off_time', 0, MAX_SECONDS);
  const mode = r.value('security_mode');
  if (mode === undefined) {
    r.problem('security_mode', 'missing: psk, x509 or nosec');
    return undefined;
  }
  if (mode !== 'psk' && mode !== 'x509' && mode !== 'nosec') {
    r.problem('security_mode', 'must be psk, x509 or nosec');
    return undefined;
  }
  for (const name of [...PSK_KEYS, ...X509_KEYS]) {
    const belongs = mode === 'psk' ? PSK_KEYS.includes(name) : mode === 'x509' ? X509_KEYS.includes(name) : false;
    if (!belongs && r.has(name)) r.problem(name, `not used with security_mode ${mode}`);
  }
  if (uri !== undefined) {
    const secure = SECURE_SCHEMES.has(new URL(uri).protocol);
    if (secure !== (mode !== 'nosec')) r.problem('uri', mode === 'nosec' ? 'security_mode nosec needs a coap:// or coap+tcp:// uri' : `security_mode ${mode} needs a coaps:// or coaps+tcp:// uri`);
  }
  const credentials: EntryCredentials | undefined = mode === 'psk' ? readPsk(r, mayGenerate) : mode === 'x509' ? readX509(r) : { mode: 'nosec' };
  if (uri === undefined || credentials === undefined) return undefined;
  return { uri, credentials, ...(clientHoldOffTime !== undefined && { clientHoldOffTime }) };
}

function readUri(r: MappingReader): string | undefined {
  const value = r.value('uri');
  if (value === undefined) {
    r.problem('uri', 'missing: a coap:// or coaps:// uri');
    return undefined;
  }
  if (typeof value !== 'string' || value === '') {
    r.problem('uri', `must be a non-empty string, got ${describeValue(value)}`);
    return undefined;
  }
  if (Buffer.byteLength(value) > MAX_URI_BYTES) {
    r.problem('uri', `longer than ${MAX_URI_BYTES} bytes`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    r.problem('uri', 'is not a URI');
    return undefined;
  }
  if (!URI_SCHEMES.has(url.protocol)) {
    r.problem('uri', 'scheme must be coap, coaps, coap+tcp or coaps+tcp');
    return undefined;
  }
  if (url.hostname === '' || url.username !== '' || url.password !== '' || /\s/.test(value)) {
    r.problem('uri', 'must be <scheme>://<host>[:<port>] without user information or spaces');
    return undefined;
  }
  return value;
}

function readPsk(r: MappingReader, mayGenerate: boolean): EntryCredentials | undefined {
  const identityTemplate = r.value('psk_identity') ?? ENDPOINT_PLACEHOLDER;
  let identityOk = false;
  if (typeof identityTemplate !== 'string' || identityTemplate === '') r.problem('psk_identity', `must be a non-empty string, got ${describeValue(identityTemplate)}`);
  else if (hasControlCharacter(identityTemplate)) r.problem('psk_identity', 'contains a control character');
  else if ([...identityTemplate.matchAll(/\$\{([^}]*)\}/g)].some((m) => m[1] !== 'endpoint')) r.problem('psk_identity', 'the only placeholder is ${endpoint}');
  else if (Buffer.byteLength(identityTemplate.split(ENDPOINT_PLACEHOLDER).join('')) > MAX_PSK_IDENTITY_BYTES) {
    r.problem('psk_identity', `longer than ${MAX_PSK_IDENTITY_BYTES} bytes`);
  } else identityOk = true;

  const key = r.value('psk_key');
  let parsedKey: Buffer | 'generate' | undefined;
  if (key === undefined) r.problem('psk_key', mayGenerate ? 'missing: the key in hex, or "generate"' : 'missing: the key in hex');
  else if (key === 'generate') {
    if (mayGenerate) parsedKey = 'generate';
    else r.problem('psk_key', 'cannot be "generate": the bootstrap server must know the bootstrap account\'s key');
  } else if (typeof key === 'number') r.problem('psk_key', 'must be a quoted string: YAML reads unquoted digits as a number, losing leading zeros');
  else if (typeof key !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(key)) r.problem('psk_key', `must be the key in hex (an even number of hex digits)${mayGenerate ? ' or "generate"' : ''}`);
  else if (key.length / 2 > MAX_PSK_KEY_BYTES) r.problem('psk_key', `longer than ${MAX_PSK_KEY_BYTES} bytes`);
  else parsedKey = Buffer.from(key, 'hex');

  if (!identityOk || parsedKey === undefined) return undefined;
  return { mode: 'psk', identityTemplate: identityTemplate as string, key: parsedKey };
}

function readX509(r: MappingReader): EntryCredentials | undefined {
  const clientCertificate = readCertificate(r, 'client_certificate');
  const serverCertificate = readCertificate(r, 'server_certificate');
  const privateKey = readPrivateKey(r);
  if (clientCertificate === undefined || serverCertificate === undefined || privateKey === undefined) return undefined;
  if (!clientCertificate.checkPrivateKey(privateKey)) {
    r.problem('private_key', 'does not belong to client_certificate');
    return undefined;
  }
  return {
    mode: 'x509',
    clientCertificate: clientCertificate.raw,
    serverCertificate: serverCertificate.raw,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'der' }),
  };
}

function pemText(r: MappingReader, name: string): string | undefined {
  const value = r.value(name);
  if (value === undefined) r.problem(name, 'missing: a PEM text');
  else if (typeof value !== 'string' || value === '') r.problem(name, `must be a PEM text, got ${describeValue(value)}`);
  else if (value.length > MAX_PEM_CHARS) r.problem(name, `longer than ${MAX_PEM_CHARS} characters`);
  else return value;
  return undefined;
}

function readCertificate(r: MappingReader, name: string): X509Certificate | undefined {
  const pem = pemText(r, name);
  if (pem === undefined) return undefined;
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    r.problem(name, 'is not a PEM certificate (-----BEGIN CERTIFICATE-----)');
    return undefined;
  }
  try {
    return new X509Certificate(pem);
  } catch {
    // OpenSSL's message is not quoted: it adds nothing an operator can act on.
    r.problem(name, 'is not a valid PEM certificate');
    return undefined;
  }
}

function readPrivateKey(r: MappingReader): KeyObject | undefined {
  const pem = pemText(r, 'private_key');
  if (pem === undefined) return undefined;
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // Never the material nor OpenSSL's text about it: this is a secret.
    r.problem('private_key', 'is not a valid unencrypted PEM private key');
    return undefined;
  }
}

function readAcl(raw: unknown, at: string, problems: ProblemList): AclInstance | undefined {
  if (!isMapping(raw)) {
    problems.add(at, `must be a mapping, got ${describeValue(raw)}`);
    return undefined;
  }
  const r = new MappingReader(raw, at, problems, ACL_KEYS);
  for (const name of ['object_id', 'object_instance_id', 'owner']) {
    if (!r.has(name)) r.problem(name, 'missing: an integer');
  }
  const objectId = r.integer('object_id', 0, MAX_ID);
  // 65535: the ACL of instance creation in the object (OMA TS Core, Access Control object).
  const objectInstanceId = r.integer('object_instance_id', 0, 65535);
  // 65535: MAX_ID, the owner of instances the bootstrap server creates.
  const owner = r.integer('owner', 0, 65535);
  const instanceId = r.integer('instance_id', 0, MAX_ID);
  const acl: [number, number][] = [];
  const map = r.mapping('acl');
  if (map !== undefined) {
    const entries = Object.entries(map);
    if (entries.length > MAX_ACL_ENTRIES) r.problem('acl', `has ${entries.length} entries, more than ${MAX_ACL_ENTRIES}`);
    else {
      for (const [ssid, bits] of entries) {
        const key = `${r.key('acl')}.${printable(ssid)}`;
        if (!/^\d{1,5}$/.test(ssid) || Number(ssid) > MAX_ID) problems.add(key, `must be a short server id in 0..${MAX_ID} (0: any server)`);
        else if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 0 || bits > 31) {
          problems.add(key, `must be access bits in 0..31, got ${typeof bits === 'number' && Number.isInteger(bits) ? bits : describeValue(bits)}`);
        }
        else acl.push([Number(ssid), bits]);
      }
    }
  }
  if (objectId === undefined || objectInstanceId === undefined || owner === undefined) return undefined;
  return { objectId, objectInstanceId, acl, owner, ...(instanceId !== undefined && { instanceId }) };
}

/** Ids one write would give twice: the device keeps only the last, silently. */
function checkUniqueIds(r: MappingReader, servers: readonly ServerEntry[], bootstrap: BootstrapServerEntry | undefined, acls: readonly AclInstance[]): void {
  const firstIndex = <T>(items: readonly T[], id: (item: T) => unknown, each: (i: number) => void) => {
    const seen = new Set<unknown>();
    items.forEach((item, i) => {
      const value = id(item);
      if (value === undefined) return;
      if (seen.has(value)) each(i);
      seen.add(value);
    });
  };
  const serversKey = r.key('servers');
  firstIndex(servers, (s) => s.shortServerId, (i) => r.problems.add(`${serversKey}[${i}].short_server_id`, 'duplicate short server id'));
  firstIndex(servers, (s) => s.serverInstanceId, (i) => r.problems.add(`${serversKey}[${i}].server_instance_id`, 'duplicate server instance id'));
  firstIndex(servers, (s) => s.securityInstanceId, (i) => r.problems.add(`${serversKey}[${i}].security_instance_id`, 'duplicate security instance id'));
  firstIndex(servers, (s) => s.oscore?.instanceId, (i) => r.problems.add(`${serversKey}[${i}].oscore.instance_id`, 'duplicate OSCORE instance id'));
  if (bootstrap?.instanceId !== undefined && servers.some((s) => s.securityInstanceId === bootstrap.instanceId)) {
    r.problems.add(`${r.key('bootstrap_server')}.instance_id`, 'also the security_instance_id of a server');
  }
  const aclsKey = r.key('acls');
  firstIndex(acls, (a) => a.instanceId, (i) => r.problems.add(`${aclsKey}[${i}].instance_id`, 'duplicate ACL instance id'));
  firstIndex(acls, (a) => `${a.objectId}/${a.objectInstanceId}`, (i) => r.problems.add(`${aclsKey}[${i}]`, 'a second ACL for the same object instance'));
}

/**
 * The configuration written to `endpoint`: `${endpoint}` rendered into PSK identities, a fresh
 * random key for each `generate` (so every bootstrap gives the device a new key), and the PSKs to
 * provision on the gateway's DM listener. Buffers are copies: a consumer may wipe them.
 * Throws BootstrapConfigError when a rendered identity is too long for this endpoint.
 */
export function resolveBootstrapEntry(entry: BootstrapEntry, endpoint: string): BootstrapConfig {
  const problems = new ProblemList();
  const servers = entry.servers.map((server, i): ServerAccount => {
    const { account, psk } = resolveSecurity(server, endpoint, `servers[${i}]`, problems);
    if (server.securityInstanceId !== undefined) account.instanceId = server.securityInstanceId;
    return {
      security: account,
      shortServerId: server.shortServerId,
      lifetime: server.lifetime,
      ...(server.defaultMinPeriod !== undefined && { defaultMinPeriod: server.defaultMinPeriod }),
      ...(server.defaultMaxPeriod !== undefined && { defaultMaxPeriod: server.defaultMaxPeriod }),
      ...(server.disableTimeout !== undefined && { disableTimeout: server.disableTimeout }),
      notificationStoring: server.notificationStoring,
      binding: server.binding,
      ...(server.serverInstanceId !== undefined && { serverInstanceId: server.serverInstanceId }),
      ...(server.provision && psk !== undefined && { provision: { identity: psk.identity, key: Buffer.from(psk.key), endpoint } }),
      ...(server.oscore !== undefined && { oscore: copyOscore(server.oscore) }),
    };
  });
  let bootstrapAccount: SecurityAccount | undefined;
  if (entry.bootstrapServer !== undefined) {
    const bs = entry.bootstrapServer;
    bootstrapAccount = resolveSecurity(bs, endpoint, 'bootstrap_server', problems).account;
    if (bs.accountTimeout !== undefined) bootstrapAccount.bootstrapAccountTimeout = bs.accountTimeout;
    if (bs.instanceId !== undefined) bootstrapAccount.instanceId = bs.instanceId;
  }
  problems.throwIfAny(`bootstrap configuration for endpoint "${printable(endpoint)}"`);
  return {
    delete: [...entry.delete],
    discover: entry.discover,
    read: [...entry.read],
    ...(entry.contentFormat !== undefined && { contentFormat: entry.contentFormat }),
    ...(entry.version !== undefined && { version: entry.version }),
    servers,
    ...(bootstrapAccount !== undefined && { bootstrapAccount }),
    acls: entry.acls.map((acl) => ({ ...acl, acl: acl.acl.map(([ssid, bits]) => [ssid, bits] as const) })),
  };
}

const EMPTY = Buffer.alloc(0);

function copyOscore(context: OscoreContext): OscoreContext {
  return {
    ...context,
    masterSecret: Buffer.from(context.masterSecret),
    senderId: Buffer.from(context.senderId),
    recipientId: Buffer.from(context.recipientId),
    ...(context.masterSalt !== undefined && { masterSalt: Buffer.from(context.masterSalt) }),
    ...(context.idContext !== undefined && { idContext: Buffer.from(context.idContext) }),
  };
}

function resolveSecurity(
  security: SecurityEntry,
  endpoint: string,
  at: string,
  problems: ProblemList,
): { account: SecurityAccount; psk?: { identity: string; key: Buffer } } {
  const { credentials: c } = security;
  const account = (publicKeyOrIdentity: Buffer, serverPublicKey: Buffer, secretKey: Buffer): SecurityAccount => ({
    uri: security.uri,
    mode: c.mode,
    publicKeyOrIdentity,
    serverPublicKey,
    secretKey,
    ...(security.clientHoldOffTime !== undefined && { clientHoldOffTime: security.clientHoldOffTime }),
  });
  if (c.mode === 'nosec') return { account: account(EMPTY, EMPTY, EMPTY) };
  if (c.mode === 'x509') return { account: account(Buffer.from(c.clientCertificate), Buffer.from(c.serverCertificate), Buffer.from(c.privateKey)) };
  const identity = renderIdentity(c.identityTemplate, endpoint);
  if (Buffer.byteLength(identity) > MAX_PSK_IDENTITY_BYTES) problems.add(`${at}.psk_identity`, `longer than ${MAX_PSK_IDENTITY_BYTES} bytes once rendered`);
  const key = c.key === 'generate' ? randomBytes(GENERATED_PSK_BYTES) : Buffer.from(c.key);
  return { account: account(Buffer.from(identity, 'utf8'), EMPTY, key), psk: { identity, key } };
}

/** `${endpoint}` is the only placeholder (checked when the entry was parsed). */
export function renderIdentity(template: string, endpoint: string): string {
  return template.split(ENDPOINT_PLACEHOLDER).join(endpoint);
}
