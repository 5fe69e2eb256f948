import type { BootstrapEvent } from '../lwm2m/bootstrap/bootstrap-server';
import type { Registration } from '../lwm2m/registration/registration';
import { codeName } from '../lwm2m/code-names';
import type { JsonObject } from './command-parser';
import { entriesToJson, type JsonContentEntry } from './value-json';

/** Substrings of query parameter names that suggest a secret (lwm2m.secret_query_keys' default). */
export const DEFAULT_SECRET_QUERY_KEYS: readonly string[] = ['pass', 'pwd', 'secret', 'token', 'key', 'psk', 'auth'];

/** Whether a query parameter's name contains one of the (lower-case) secret substrings, in any case. */
export function isSecretQueryKey(name: string, secretKeys: readonly string[]): boolean {
  const lower = name.toLowerCase();
  for (const s of secretKeys) if (lower.includes(s)) return true;
  return false;
}

/**
 * `data` of register and update messages: the registration as it now stands, without the query
 * parameters whose names suggest a secret, and with how the device is secured (`security`: psk,
 * x509 or none; `identity`: the PSK identity or certificate name when authenticated), so that
 * applications can tell a DTLS device from a plain UDP one.
 */
export function registrationData(reg: Registration, secretKeys: readonly string[] = DEFAULT_SECRET_QUERY_KEYS): JsonObject {
  const data: JsonObject = {};
  for (const k of Object.keys(reg.query)) if (!isSecretQueryKey(k, secretKeys)) defineField(data, k, reg.query[k]);
  const identity = reg.peer.identity;
  data.security = identity ? identity.kind : 'none';
  if (identity) data.identity = identity.name;
  data.lt = reg.lifetime;
  data.lwm2m = reg.lwm2mVersion;
  data.alternatePath = reg.alternatePath;
  data.objectList = reg.objectList;
  const versions = objectVersions(reg);
  if (versions) data.objectVersions = versions;
  return data;
}

/**
 * Object versions the device announced (`ver` on its object links, LwM2M 1.1 §6.2.1), e.g.
 * {"/3": "1.1"}; absent when none: objectList itself carries no attributes (contract C).
 */
function objectVersions(reg: Registration): JsonObject | undefined {
  if (!reg.linkAttributes) return undefined;
  let versions: JsonObject | undefined;
  for (const [uri, attributes] of Object.entries(reg.linkAttributes)) {
    if (typeof attributes.ver === 'string') (versions ??= {})[uri] = attributes.ver;
  }
  return versions;
}

/** Sets a field named by input as an own property (`__proto__` too), never through the prototype. */
function defineField(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function registerMessage(reg: Registration, msgType: 'register' | 'update', secretKeys?: readonly string[]): JsonObject {
  return { msgType, data: registrationData(reg, secretKeys) };
}

export function deregisterMessage(reg: Registration, reason: string): JsonObject {
  return { msgType: 'deregister', data: { ep: reg.endpoint, reason } };
}

export interface ResponseData {
  reqPath: string | null;
  code: string;
  codeMsg: string;
  content?: JsonContentEntry[] | string[];
  error?: string;
  /** The device's own code when the gateway could not decode its answer (`code` is then 5.02). */
  deviceCode?: string;
  /** The device's payload (base64) when it could not be decoded: never lose data. */
  payload?: string;
}

export function responseData(reqPath: string | null, code: string, extra?: Partial<ResponseData>): ResponseData {
  return { reqPath, code, codeMsg: codeName(code), ...extra };
}

// The echoed part of a command is the same for every answer to it (and for every notification of
// an observation): serialised once, not on each publish.
const echoCache = new WeakMap<JsonObject, string>();

function cachedEchoedJson(fields: JsonObject): string {
  let json = echoCache.get(fields);
  if (json === undefined) {
    json = echoedJson(fields, false);
    echoCache.set(fields, json);
  }
  return json;
}

/**
 * An answer to a command, serialised: every top-level field echoed, `data` replaced, msgType as
 * given. `seqNum` is the observation's sequence number when given (observe answers and
 * notifications); otherwise an error answer echoes the command's own seqNum like any other field,
 * while a success answer leaves it out, so that a seqNum there never passes for an observation's.
 * The echoed part is cached only for answers with a seqNum (an observation's notifications all
 * share it); a one-off answer's is stringified directly.
 */
export function commandAnswer(fields: JsonObject, msgType: unknown, data: ResponseData | JsonObject, seqNum?: number): string {
  const echo = seqNum !== undefined ? cachedEchoedJson(fields) : echoedJson(fields, isErrorAnswer(msgType, data));
  const type = msgType === undefined ? '' : `"msgType":${scalarJson(msgType) ?? JSON.stringify(msgType)},`;
  const seq = seqNum === undefined ? '' : `"seqNum":${seqNum},`;
  return `{${echo}${echo === '' ? '' : ','}${type}${seq}"data":${dataJson(data)}}`;
}

/** An answer with a 4.xx or 5.xx code; a notification is not an answer to its command, whatever its code. */
function isErrorAnswer(msgType: unknown, data: ResponseData | JsonObject): boolean {
  const code = data.code;
  return msgType !== 'notify' && typeof code === 'string' && (code.startsWith('4.') || code.startsWith('5.'));
}

/** Longest string echoed by an answer that must not fail (see scalarFields). */
const MAX_SCALAR_ECHO = 1024;

/**
 * The top-level fields of a command that can be echoed at no risk and little cost: numbers,
 * booleans, null and strings up to 1 KiB (reqID and the like). Echoed by the answers to commands
 * refused before they are read in full (too large, too deep) and by the error answer that stands
 * in for one that could not be serialised.
 */
export function scalarFields(command: unknown): JsonObject {
  // No prototype: a "__proto__" field is copied as a field.
  const out = Object.create(null) as JsonObject;
  if (typeof command !== 'object' || command === null || Array.isArray(command)) return out;
  for (const key of Object.keys(command)) {
    const v = (command as JsonObject)[key];
    if (typeof v === 'number' || typeof v === 'boolean' || v === null || (typeof v === 'string' && v.length <= MAX_SCALAR_ECHO)) out[key] = v;
  }
  return out;
}

/** An error answer that echoes only scalarFields: serialising it cannot throw. */
export function scalarErrorAnswer(command: unknown, reqPath: string | null, code: string, error: string): string {
  const fields = scalarFields(command);
  return commandAnswer(fields, fields.msgType, responseData(reqPath, code, { error }));
}

/** The echoed fields as JSON members ("reqID":1,...), written field by field (see dataJson); seqNum only with `withSeqNum`. */
function echoedJson(fields: JsonObject, withSeqNum: boolean): string {
  let out = '';
  for (const key in fields) {
    if (key === 'msgType' || key === 'data' || (key === 'seqNum' && !withSeqNum)) continue;
    const value = fields[key];
    if (value === undefined) continue;
    out += `${out === '' ? '' : ','}${quoteJson(key)}:${scalarJson(value) ?? JSON.stringify(value)}`;
  }
  return out;
}

/**
 * `data` as JSON. The usual answer, {reqPath, code, codeMsg, content: [{path, value, time?}]}, is
 * written here: on Node 20 JSON.stringify took 1.4 µs for it, a tenth of the gateway's CPU per
 * notification; anything else goes through JSON.stringify. Same keys, same order, same text.
 */
function dataJson(data: ResponseData | JsonObject): string {
  const keys = Object.keys(data);
  const n = keys.length;
  if (!(n === 3 || n === 4) || keys[0] !== 'reqPath' || keys[1] !== 'code' || keys[2] !== 'codeMsg' || (n === 4 && keys[3] !== 'content')) {
    return JSON.stringify(data);
  }
  const { reqPath, code, codeMsg, content } = data as ResponseData;
  if (typeof code !== 'string' || typeof codeMsg !== 'string' || (reqPath !== null && typeof reqPath !== 'string')) return JSON.stringify(data);
  let out = `{"reqPath":${reqPath === null ? 'null' : quoteJson(reqPath)},"code":${quoteJson(code)},"codeMsg":${quoteJson(codeMsg)}`;
  if (n === 4) {
    const entries = contentJson(content);
    if (entries === undefined) return JSON.stringify(data);
    out += `,"content":${entries}`;
  }
  return out + '}';
}

/** The content entries as JSON, undefined when they are not all plain {path, value, time?} entries. */
function contentJson(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined;
  let out = '[';
  for (let i = 0; i < content.length; i++) {
    const e = content[i] as JsonContentEntry;
    if (typeof e !== 'object' || e === null || typeof e.path !== 'string') return undefined;
    const value = scalarJson(e.value);
    if (value === undefined) return undefined;
    const keys = e.time === undefined ? 2 : 3;
    if (Object.keys(e).length !== keys) return undefined;
    if (i > 0) out += ',';
    out += `{"path":${quoteJson(e.path)},"value":${value}`;
    if (e.time !== undefined) {
      const time = scalarJson(e.time);
      if (typeof e.time !== 'number' || time === undefined) return undefined;
      out += `,"time":${time}`;
    }
    out += '}';
  }
  return out + ']';
}

/**
 * A string as JSON.stringify writes it. Each JSON.stringify call costs ~0.4 µs here whatever its
 * argument, so the usual string (no quote, backslash, control character or surrogate) is quoted
 * directly.
 */
function quoteJson(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** As JSON.stringify writes a string, number or boolean (non-finite numbers as null); undefined for anything else. */
function scalarJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'string':
      return quoteJson(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return undefined;
  }
}

/**
 * `up/bootstrap`: a bootstrap started, finished or failed at a step, with the device's CoAP code (or the
 * one the gateway answered a refused request) and what went wrong. Never a credential.
 */
export function bootstrapMessage(event: BootstrapEvent): JsonObject {
  const data: JsonObject = { ep: event.endpoint, status: event.status, step: event.step };
  if (event.code !== undefined) data.code = event.code;
  if (event.error !== undefined) data.error = event.error;
  if (event.version !== undefined) data.lwm2m = event.version;
  data.security = event.peer.identity ? event.peer.identity.kind : 'none';
  if (event.read !== undefined) data.read = entriesToJson(event.read);
  return { msgType: 'bootstrap', data };
}
