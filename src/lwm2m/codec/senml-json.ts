import type { ModelLookup, ResourceType } from '../model/types';
import type { Entry, Node, TypedValue, Value } from '../node';
import { formatPath, parsePath, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { declaredType } from './declared-type';
import { flattenNode } from './node-entries';
import { parseObjectLinkText, toBoolean, toBytes, toFloat, toInteger, toObjectLink, toText } from './value-coercion';
import { parseTextValue } from './value-codec';

/*
 * SenML JSON (content format 110, RFC 8428) as LwM2M uses it (OMA TS Core 1.1 §7.4.4, 1.1.1 §7.4.5,
 * 1.2 §7.4.6; the Read /3/0 example of Table 7.4.4-2 begins):
 * [{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},..]
 * bn + n is an absolute LwM2M path; values are v (number), vs (string), vb (boolean),
 * vd (base64url bytes) or vlo (object link "O:I").
 *
 * The record model (SenmlRecord → entries, node → SenmlOutRecord) is shared with SenML CBOR
 * (content format 112, senml-cbor.ts): each format only parses its records and writes its fields.
 */

/** RFC 8428 §4.5.3: a resolved time below 2^28 is relative to the current time. */
export const SENML_RELATIVE_TIME_LIMIT = 2 ** 28;

/** Seconds since the epoch, with fractions; decodeSenmlJsonEntries resolves relative times with it. */
export type SenmlClock = () => number;

export const systemClock: SenmlClock = () => Date.now() / 1000;

/**
 * One value field of a record, checked for its basic type by the format parser. `v` keeps
 * whether the format said integer (a CBOR integer item; bigint beyond 2^53) — JSON never does —
 * and whether it said time (SenML CBOR: CBOR tag 1 around the number, see senml-cbor.ts).
 */
export type SenmlValue =
  | { field: 'v'; value: number | bigint; integer: boolean; time?: boolean }
  | { field: 'vs'; value: string }
  | { field: 'vb'; value: boolean }
  | { field: 'vd'; value: Buffer }
  | { field: 'vlo'; value: string };

/** A parsed SenML record: the fields LwM2M uses (u, bu, s, bs, ut are ignored); `values` = every value field present. */
export interface SenmlRecord {
  bver?: number;
  bn?: string;
  bt?: number;
  bv?: number;
  n?: string;
  t?: number;
  values: SenmlValue[];
}

/** A record to write: bn on the first record of a multi-value payload, n, and the value by resource type. */
export interface SenmlOutRecord {
  bn?: string;
  n: string;
  type: ResourceType;
  value: Value;
}

/** Absolute /O/I/R or /O/I/R/RI (range-checked by parsePath). */
const ABSOLUTE_NAME = /^(?:\/\d{1,5}){1,4}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** RFC 8428 §4.4: the highest SenML version this decoder understands. */
const SENML_VERSION = 10;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Decodes to entries with absolute paths, keeping every record, several of one path included (a
 * time series). Base fields (bn, bt, bv) apply from their record on until changed. `time` is
 * bt + t when either is present: kept as is when it is an absolute time (>= 2^28), resolved
 * against `now` when it is relative (RFC 8428 §4.5.3: t -5 without bt = five seconds ago).
 * A record without bt and t has no time ("roughly now" in RFC terms).
 */
export function decodeSenmlJsonEntries(payload: Buffer, path: LwM2mPath, model: ModelLookup, now: SenmlClock = systemClock): Entry[] {
  let root: unknown;
  try {
    root = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new CodecError(`invalid SenML JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(root)) throw new CodecError('SenML JSON needs an array of records');
  const records = root.map((record: unknown, index) => parseJsonRecord(record, `SenML JSON record ${index}`));
  return senmlRecordsToEntries(records, 'SenML JSON', path, model, now);
}

function parseJsonRecord(record: unknown, where: string): SenmlRecord {
  if (!isRecord(record)) throw new CodecError(`${where} is not an object`);
  // Fields ending in "_" must be understood (RFC 8428 §4.4): none is.
  for (const key of Object.keys(record)) {
    if (key.endsWith('_')) throw new CodecError(`${where} has the must-understand field "${key}"`);
  }
  const parsed: SenmlRecord = { values: [] };
  if (record.bver !== undefined) parsed.bver = jsonNumber(record.bver, 'bver', where);
  if (record.bn !== undefined) parsed.bn = jsonString(record.bn, 'bn', where);
  if (record.bt !== undefined) parsed.bt = jsonNumber(record.bt, 'bt', where);
  if (record.bv !== undefined) parsed.bv = jsonNumber(record.bv, 'bv', where);
  if (record.n !== undefined) parsed.n = jsonString(record.n, 'n', where);
  if (record.t !== undefined) parsed.t = jsonNumber(record.t, 't', where);
  // Every value field present is kept: senmlRecordsToEntries wants exactly one.
  if (record.v !== undefined) parsed.values.push({ field: 'v', value: jsonNumber(record.v, 'v', where), integer: false });
  if (record.vs !== undefined) parsed.values.push({ field: 'vs', value: jsonString(record.vs, 'vs', where) });
  if (record.vb !== undefined) {
    if (typeof record.vb !== 'boolean') throw new CodecError(`${where}: "vb" is not a boolean`);
    parsed.values.push({ field: 'vb', value: record.vb });
  }
  if (record.vd !== undefined) parsed.values.push({ field: 'vd', value: decodeBase64Url(jsonString(record.vd, 'vd', where), where) });
  if (record.vlo !== undefined) {
    if (typeof record.vlo !== 'string') throw new CodecError(`${where}: "vlo" is not "objectId:instanceId"`);
    parsed.values.push({ field: 'vlo', value: record.vlo });
  }
  return parsed;
}

/**
 * The entries of parsed SenML records (JSON or CBOR; `format` names it in errors) for the request
 * path: the base-name, base-time, base-value and version rules of RFC 8428 and the LwM2M naming.
 */
export function senmlRecordsToEntries(records: SenmlRecord[], format: string, path: LwM2mPath, model: ModelLookup, now: SenmlClock): Entry[] {
  const requestPath = formatPath(path);
  const requestIds = [path.objectId, path.instanceId, path.resourceId, path.resourceInstanceId];
  let baseName = '';
  let baseTime: number | undefined;
  let baseValue: number | undefined;
  let nowSeconds: number | undefined;

  const entries: Entry[] = [];
  records.forEach((record, index) => {
    const where = `${format} record ${index}`;
    if (record.bver !== undefined) {
      const version = record.bver;
      if (!Number.isInteger(version) || version < 1 || version > SENML_VERSION) {
        throw new CodecError(`${where}: SenML version ${version} is not supported`);
      }
    }
    if (record.bn !== undefined) baseName = record.bn;
    if (record.bt !== undefined) baseTime = record.bt;
    if (record.bv !== undefined) baseValue = record.bv;
    const name = baseName + (record.n ?? '');
    if (name === '') throw new CodecError(`${where} has no name (neither bn nor n)`);
    const entryPath = parseEntryPath(name, where);
    for (let i = 0; i < 4 && requestIds[i] !== undefined; i++) {
      if (entryPath[i] !== requestIds[i]) throw new CodecError(`${where}: ${name} is outside ${requestPath}`);
    }
    const { type, value } = typedValue(record.values, declaredType(model, entryPath[0], entryPath[2]), baseValue, where);
    const entry: Entry = { path: '/' + entryPath.join('/'), type, value };
    if (baseTime !== undefined || record.t !== undefined) {
      const time = (baseTime ?? 0) + (record.t ?? 0);
      if (!Number.isFinite(time)) throw new CodecError(`${where}: the time is not finite`);
      if (time < SENML_RELATIVE_TIME_LIMIT) nowSeconds ??= now();
      entry.time = time < SENML_RELATIVE_TIME_LIMIT ? (nowSeconds as number) + time : time;
    }
    entries.push(entry);
  });
  return entries;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonNumber(value: unknown, field: string, where: string): number {
  if (typeof value !== 'number') throw new CodecError(`${where}: "${field}" is not a number`);
  return value;
}

function jsonString(value: unknown, field: string, where: string): string {
  if (typeof value !== 'string') throw new CodecError(`${where}: "${field}" is not a string`);
  return value;
}

/** [O, I, R] or [O, I, R, RI] of an absolute name. */
function parseEntryPath(name: string, where: string): number[] {
  if (!ABSOLUTE_NAME.test(name)) throw new CodecError(`${where}: name ${JSON.stringify(name)} is not an absolute LwM2M path`);
  let parsed: LwM2mPath;
  try {
    parsed = parsePath(name);
  } catch (err) {
    throw new CodecError(`${where}: ${(err as Error).message}`);
  }
  if (parsed.resourceId === undefined) throw new CodecError(`${where}: name ${name} is not a resource or resource instance`);
  const ids = [parsed.objectId as number, parsed.instanceId as number, parsed.resourceId];
  if (parsed.resourceInstanceId !== undefined) ids.push(parsed.resourceInstanceId);
  return ids;
}

/**
 * The value typed by the model; a value that does not fit the declared type, or an unknown
 * resource, is typed by its field: v float (integer for a CBOR integer item), vs string,
 * vb boolean, vd opaque, vlo objlnk.
 */
function typedValue(values: SenmlValue[], declared: ResourceType | undefined, baseValue: number | undefined, where: string): TypedValue {
  if (values.length !== 1) {
    const found = values.length === 0 ? 'none' : values.map((v) => v.field).join(', ');
    throw new CodecError(`${where} needs exactly one of v, vs, vb, vd, vlo (has ${found})`);
  }
  const field = values[0];
  switch (field.field) {
    case 'v':
      return numberValue(field.value, field.integer, field.time === true, declared, baseValue, where);
    case 'vs': {
      const value = declared === undefined ? undefined : parseTextValue(declared, field.value);
      return value === undefined ? { type: 'string', value: field.value } : { type: declared as ResourceType, value };
    }
    case 'vb':
      return { type: 'boolean', value: field.value };
    case 'vd':
      return { type: 'opaque', value: field.value };
    case 'vlo': {
      const link = parseObjectLinkText(field.value);
      if (link === undefined) throw new CodecError(`${where}: "vlo" is not "objectId:instanceId"`);
      return { type: 'objlnk', value: link };
    }
  }
}

/**
 * v (+ bv): integer, time or unsigned when the model says so and the value is integral (JSON
 * numbers and CBOR floats alike), float when the model says float; otherwise a CBOR integer
 * item within int64 (uint64 for unsigned) stays an integer, a tagged time (`time`) is a time and
 * anything else is a float.
 */
function numberValue(
  v: number | bigint,
  integer: boolean,
  time: boolean,
  declared: ResourceType | undefined,
  baseValue: number | undefined,
  where: string,
): TypedValue {
  const n = baseValue === undefined ? v : Number(v) + baseValue;
  if (typeof n === 'number' && !Number.isFinite(n)) throw new CodecError(`${where}: "v" is not finite`);
  const integral = typeof n === 'bigint' || Number.isInteger(n);
  if (time && !integral) throw new CodecError(`${where}: "v" tagged as a time is not a whole number of seconds`);
  if ((declared === 'integer' || declared === 'time') && integral) return { type: declared, value: exactInteger(n) };
  if (time && (declared === undefined || declared === 'none')) return { type: 'time', value: exactInteger(n) };
  if (declared === 'unsigned' && integral && n >= 0) return { type: declared, value: exactInteger(n) };
  if (declared !== 'float' && integer && integral) {
    const big = BigInt(n);
    if (big >= INT64_MIN && big <= INT64_MAX) return { type: 'integer', value: exactInteger(n) };
    if (big > INT64_MAX) return { type: 'unsigned', value: exactInteger(n) };
  }
  return { type: 'float', value: Number(n) };
}

/** Integers beyond 2^53 become bigint, as in every other format (JSON has already rounded them). */
function exactInteger(n: number | bigint): number | bigint {
  if (typeof n === 'number') return Number.isSafeInteger(n) ? n : BigInt(n);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** base64url (RFC 4648 §5); RFC 8428 omits the padding, a correctly padded value is accepted too. */
function decodeBase64Url(text: string, where: string): Buffer {
  const unpadded = text.replace(/={1,2}$/, '');
  const validPadding = unpadded === text || text.length % 4 === 0;
  if (!BASE64URL.test(unpadded) || unpadded.length % 4 === 1 || !validPadding) {
    throw new CodecError(`${where}: "vd" is not base64url`);
  }
  const bytes = Buffer.from(unpadded, 'base64url');
  // Non-canonical trailing bits ("QR" for "QQ") would decode silently to the same bytes.
  if (bytes.toString('base64url') !== unpadded) throw new CodecError(`${where}: "vd" is not canonical base64url`);
  return bytes;
}

/**
 * The records for a node, one per resource (instance), typed by the model first. A single value
 * is named by its full path ([{"n":"/3/0/9","v":100}]); several carry "bn" = the request path +
 * "/" on the first record and names relative to it ([{"bn":"/3/0/","n":"0",..},{"n":"7/0",..}]);
 * at the root no bn. `format` names the format in errors.
 */
export function senmlNodeRecords(path: LwM2mPath, node: Node, model: ModelLookup, format: string): SenmlOutRecord[] {
  const entries = flattenNode(node, path);
  const exact = formatPath(path);
  const base = exact === '/' ? '' : exact + '/';
  const useBase = base !== '' && !entries.some((entry) => entry.path === exact);
  return entries.map((entry, index) => {
    const ids = parseEntryPath(entry.path, 'entry');
    const type = declaredType(model, ids[0], ids[2]) ?? entry.type;
    if (type === 'none') throw new CodecError(`${format} cannot carry a value of an executable resource`);
    const record: SenmlOutRecord = { n: useBase ? entry.path.slice(base.length) : entry.path, type, value: entry.value };
    if (useBase && index === 0) record.bn = base;
    return record;
  });
}

/** Encodes a node as SenML JSON records (see senmlNodeRecords). */
export function encodeSenmlJsonNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  const records = senmlNodeRecords(path, node, model, 'SenML JSON').map((record) => {
    const bn = record.bn === undefined ? '' : `"bn":${JSON.stringify(record.bn)},`;
    return `{${bn}"n":${JSON.stringify(record.n)},${senmlValueField(record.type, record.value)}}`;
  });
  return Buffer.from(`[${records.join(',')}]`, 'utf8');
}

function senmlValueField(type: ResourceType, value: Value): string {
  switch (type) {
    case 'integer':
    case 'time':
      // bigint digits are a valid JSON number.
      return `"v":${String(toInteger(value))}`;
    case 'unsigned': {
      const n = toInteger(value);
      if (n < 0) throw new CodecError(`unsigned integer ${n} is negative`);
      return `"v":${String(n)}`;
    }
    case 'float':
      return `"v":${String(toFloat(value))}`;
    case 'boolean':
      return `"vb":${toBoolean(value)}`;
    case 'objlnk': {
      const link = toObjectLink(value);
      return `"vlo":"${link.objectId}:${link.instanceId}"`;
    }
    case 'opaque':
      return `"vd":"${toBytes(value).toString('base64url')}"`;
    case 'string':
    case 'corelnk':
      return `"vs":${JSON.stringify(toText(value))}`;
    case 'none':
      throw new CodecError('SenML JSON cannot carry a value of an executable resource');
  }
}
