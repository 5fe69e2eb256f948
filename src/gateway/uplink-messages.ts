import type { Registration } from '../lwm2m/registration/registration';
import { codeName } from './code-names';
import type { JsonObject } from './command-parser';
import type { JsonContentEntry } from './value-json';

/** Query parameters that must never reach MQTT (contract A). */
const SECRET_PARAMS = new Set(['password', 'secret', 'token', 'access_token', 'private_key', 'psk']);

/** `data` of register and update messages: the registration as it now stands. */
export function registrationData(reg: Registration): JsonObject {
  const data: JsonObject = {};
  for (const [k, v] of Object.entries(reg.query)) if (!SECRET_PARAMS.has(k)) data[k] = v;
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

export function registerMessage(reg: Registration, msgType: 'register' | 'update'): JsonObject {
  return { msgType, data: registrationData(reg) };
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
  /** The device's payload (base64) when it could not be decoded: never lose data. */
  payload?: string;
}

export function responseData(reqPath: string | null, code: string, extra?: Partial<ResponseData>): ResponseData {
  return { reqPath, code, codeMsg: codeName(code), ...extra };
}

// The echoed part of a command is the same for every answer to it (and for every notification of
// an observation): serialised once, not on each publish.
const echoCache = new WeakMap<JsonObject, string>();

function echoedFieldsJson(fields: JsonObject): string {
  let json = echoCache.get(fields);
  if (json === undefined) {
    const echoed: JsonObject = {};
    for (const key of Object.keys(fields)) if (key !== 'msgType' && key !== 'data' && key !== 'seqNum') echoed[key] = fields[key];
    json = JSON.stringify(echoed).slice(1, -1);
    echoCache.set(fields, json);
  }
  return json;
}

/**
 * An answer to a command, serialised: every top-level field echoed, `data` replaced, msgType as
 * given, and `seqNum` for observe answers and notifications. The echoed part is cached only for
 * those (an observation's notifications all share it); a one-off answer is stringified directly.
 */
export function commandAnswer(fields: JsonObject, msgType: unknown, data: ResponseData | JsonObject, seqNum?: number): string {
  if (seqNum === undefined) return JSON.stringify({ ...fields, msgType, data });
  const echo = echoedFieldsJson(fields);
  const type = msgType === undefined ? '' : `"msgType":${JSON.stringify(msgType)},`;
  return `{${echo}${echo === '' ? '' : ','}${type}"seqNum":${seqNum},"data":${JSON.stringify(data)}}`;
}
