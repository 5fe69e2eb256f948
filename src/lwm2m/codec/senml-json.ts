import type { ModelLookup, ResourceType } from '../model/types';
import type { Entry, Node, TypedValue, Value } from '../node';
import { formatPath, parsePath, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { declaredType } from './declared-type';
import { flattenNode } from './node-entries';
import { parseObjectLinkText, toBoolean, toBytes, toFloat, toInteger, toObjectLink, toText } from './value-coercion';
import { parseTextValue } from './value-codec';

/*
 * SenML JSON (content format 110, RFC 8428) as LwM2M 1.1 uses it (OMA TS Core 1.1 §7.4.4):
 * [{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"7/0","v":3800},{"n":"13","v":1367491215}]
 * bn + n is an absolute LwM2M path; values are v (number), vs (string), vb (boolean),
 * vd (base64url bytes) or vlo (object link "O:I").
 */

/** RFC 8428 §4.5.3: a resolved time below 2^28 is relative to the current time. */
export const SENML_RELATIVE_TIME_LIMIT = 2 ** 28;

/** Seconds since the epoch, with fractions; decodeSenmlJsonEntries resolves relative times with it. */
export type SenmlClock = () => number;

const systemClock: SenmlClock = () => Date.now() / 1000;

const VALUE_FIELDS = ['v', 'vs', 'vb', 'vd', 'vlo'] as const;
/** Absolute /O/I/R or /O/I/R/RI (range-checked by parsePath). */
const ABSOLUTE_NAME = /^(?:\/\d{1,5}){1,4}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** RFC 8428 §4.4: the highest SenML version this decoder understands. */
const SENML_VERSION = 10;

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
  const requestPath = formatPath(path);
  const requestIds = [path.objectId, path.instanceId, path.resourceId, path.resourceInstanceId];
  let baseName = '';
  let baseTime: number | undefined;
  let baseValue: number | undefined;
  let nowSeconds: number | undefined;

  const entries: Entry[] = [];
  for (let index = 0; index < root.length; index++) {
    const record: unknown = root[index];
    const where = `SenML JSON record ${index}`;
    if (!isRecord(record)) throw new CodecError(`${where} is not an object`);
    checkFields(record, where);
    if (record.bn !== undefined) baseName = jsonString(record.bn, 'bn', where);
    if (record.bt !== undefined) baseTime = jsonNumber(record.bt, 'bt', where);
    if (record.bv !== undefined) baseValue = jsonNumber(record.bv, 'bv', where);
    const name = baseName + (record.n === undefined ? '' : jsonString(record.n, 'n', where));
    if (name === '') throw new CodecError(`${where} has no name (neither bn nor n)`);
    const entryPath = parseEntryPath(name, where);
    for (let i = 0; i < 4 && requestIds[i] !== undefined; i++) {
      if (entryPath[i] !== requestIds[i]) throw new CodecError(`${where}: ${name} is outside ${requestPath}`);
    }
    const { type, value } = typedValue(record, declaredType(model, entryPath[0], entryPath[2]), baseValue, where);
    const entry: Entry = { path: '/' + entryPath.join('/'), type, value };
    const t = record.t === undefined ? undefined : jsonNumber(record.t, 't', where);
    if (baseTime !== undefined || t !== undefined) {
      const time = (baseTime ?? 0) + (t ?? 0);
      if (time < SENML_RELATIVE_TIME_LIMIT) nowSeconds ??= now();
      entry.time = time < SENML_RELATIVE_TIME_LIMIT ? (nowSeconds as number) + time : time;
    }
    entries.push(entry);
  }
  return entries;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** bver must be a version we understand; fields ending in "_" must be understood (RFC 8428 §4.4). */
function checkFields(record: Record<string, unknown>, where: string): void {
  for (const key of Object.keys(record)) {
    if (key.endsWith('_')) throw new CodecError(`${where} has the must-understand field "${key}"`);
  }
  if (record.bver !== undefined) {
    const version = jsonNumber(record.bver, 'bver', where);
    if (!Number.isInteger(version) || version < 1 || version > SENML_VERSION) {
      throw new CodecError(`${where}: SenML version ${version} is not supported`);
    }
  }
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
 * resource, is typed by its field: v float, vs string, vb boolean, vd opaque, vlo objlnk.
 */
function typedValue(record: Record<string, unknown>, declared: ResourceType | undefined, baseValue: number | undefined, where: string): TypedValue {
  const fields = VALUE_FIELDS.filter((field) => record[field] !== undefined);
  if (fields.length !== 1) {
    const found = fields.length === 0 ? 'none' : fields.join(', ');
    throw new CodecError(`${where} needs exactly one of v, vs, vb, vd, vlo (has ${found})`);
  }
  switch (fields[0]) {
    case 'v': {
      const n = jsonNumber(record.v, 'v', where) + (baseValue ?? 0);
      if (!Number.isFinite(n)) throw new CodecError(`${where}: "v" is not finite`);
      const integer = Number.isInteger(n);
      if ((declared === 'integer' || declared === 'time') && integer) return { type: declared, value: safeInteger(n) };
      if (declared === 'unsigned' && integer && n >= 0) return { type: declared, value: safeInteger(n) };
      return { type: 'float', value: n };
    }
    case 'vs': {
      const text = jsonString(record.vs, 'vs', where);
      const value = declared === undefined ? undefined : parseTextValue(declared, text);
      return value === undefined ? { type: 'string', value: text } : { type: declared as ResourceType, value };
    }
    case 'vb':
      if (typeof record.vb !== 'boolean') throw new CodecError(`${where}: "vb" is not a boolean`);
      return { type: 'boolean', value: record.vb };
    case 'vd':
      return { type: 'opaque', value: decodeBase64Url(jsonString(record.vd, 'vd', where), where) };
    case 'vlo': {
      const link = typeof record.vlo === 'string' ? parseObjectLinkText(record.vlo) : undefined;
      if (link === undefined) throw new CodecError(`${where}: "vlo" is not "objectId:instanceId"`);
      return { type: 'objlnk', value: link };
    }
  }
}

/** Integers beyond 2^53 become bigint, as in every other format (JSON has already rounded them). */
function safeInteger(n: number): number | bigint {
  return Number.isSafeInteger(n) ? n : BigInt(n);
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
 * Encodes one record per resource (instance). A single value is named by its full path
 * ([{"n":"/3/0/9","v":100}]); several carry "bn" = the request path + "/" on the first record and
 * names relative to it ([{"bn":"/3/0/","n":"0","vs":".."},{"n":"7/0","v":3800}]); at the root no bn.
 */
export function encodeSenmlJsonNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  const entries = flattenNode(node, path);
  const exact = formatPath(path);
  const base = exact === '/' ? '' : exact + '/';
  const useBase = base !== '' && !entries.some((entry) => entry.path === exact);
  const records = entries.map((entry, index) => {
    const ids = parseEntryPath(entry.path, 'entry');
    const type = declaredType(model, ids[0], ids[2]) ?? entry.type;
    const bn = useBase && index === 0 ? `"bn":${JSON.stringify(base)},` : '';
    const name = useBase ? entry.path.slice(base.length) : entry.path;
    return `{${bn}"n":${JSON.stringify(name)},${senmlValueField(type, entry.value)}}`;
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
