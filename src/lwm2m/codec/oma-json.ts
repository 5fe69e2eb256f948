import type { ModelLookup, ResourceType } from '../model/types';
import type { Entry, Node, TypedValue, Value } from '../node';
import { formatPath, parsePath, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { declaredType } from './declared-type';
import { flattenNode } from './node-entries';
import { parseFloatText, toBoolean, toBytes, toFloat, toInteger, toObjectLink, toText } from './value-coercion';
import { parseTextValue } from './value-codec';

/*
 * OMA LwM2M JSON (content format 11543; 1543 before registration), LwM2M 1.0 §6.4.4:
 * {"bn":"/3/0/","bt":..,"e":[{"n":"0","sv":".."},{"n":"7/0","v":3800},{"n":"1","bv":true,"t":-5}]}
 */

/**
 * Decodes to entries with absolute paths, keeping every timed value (a notification may carry
 * several historical values of one resource). Names are relative to "bn", or to the request path
 * when there is no "bn"; "time" is bt + t when either is present.
 */
export function decodeOmaJsonEntries(payload: Buffer, path: LwM2mPath, model: ModelLookup): Entry[] {
  let root: unknown;
  try {
    root = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new CodecError(`invalid OMA JSON: ${(err as Error).message}`);
  }
  if (!isRecord(root) || !Array.isArray(root.e)) throw new CodecError('OMA JSON needs an object with an "e" array');
  if (root.bn !== undefined && typeof root.bn !== 'string') throw new CodecError('OMA JSON "bn" is not a string');
  const baseTime = root.bt === undefined ? undefined : jsonNumber(root.bt, 'bt');
  const requestPath = formatPath(path);
  const baseName = root.bn ?? (requestPath === '/' ? '/' : requestPath + '/');
  const requestIds = [path.objectId, path.instanceId, path.resourceId, path.resourceInstanceId];

  const entries: Entry[] = [];
  for (const element of root.e as unknown[]) {
    if (!isRecord(element)) throw new CodecError('OMA JSON "e" holds a non-object');
    if (element.n !== undefined && typeof element.n !== 'string') throw new CodecError('OMA JSON "n" is not a string');
    const name = element.n === undefined || element.n === '' ? baseName : joinName(baseName, element.n, root.bn === undefined);
    const entryPath = parseEntryPath(name);
    for (let i = 0; i < 4 && requestIds[i] !== undefined; i++) {
      if (entryPath[i] !== requestIds[i]) throw new CodecError(`OMA JSON name ${name} is outside ${requestPath}`);
    }
    const { type, value } = typedValue(element, declaredType(model, entryPath[0], entryPath[2]));
    const entry: Entry = { path: '/' + entryPath.join('/'), type, value };
    const t = element.t === undefined ? undefined : jsonNumber(element.t, 't');
    if (baseTime !== undefined || t !== undefined) entry.time = (baseTime ?? 0) + (t ?? 0);
    entries.push(entry);
  }
  return entries;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Numbers; numeric strings too, as early drafts of the spec wrote them ("v":"3800"). */
function jsonNumber(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  const parsed = typeof value === 'string' ? parseFloatText(value.trim()) : undefined;
  if (parsed === undefined) throw new CodecError(`OMA JSON "${field}" is not a number`);
  return parsed;
}

/** bn + n, forgiving a missing or doubled "/" between them; without bn, "/..." names are absolute. */
function joinName(base: string, name: string, nameMayBeAbsolute: boolean): string {
  if (name.startsWith('/')) {
    if (nameMayBeAbsolute) return name;
    return base.endsWith('/') ? base + name.slice(1) : base + name;
  }
  return base.endsWith('/') ? base + name : base + '/' + name;
}

/** [O, I, R] or [O, I, R, RI]. */
function parseEntryPath(name: string): number[] {
  let parsed: LwM2mPath;
  try {
    parsed = parsePath(name);
  } catch (err) {
    throw new CodecError(`OMA JSON name: ${(err as Error).message}`);
  }
  if (parsed.resourceId === undefined) throw new CodecError(`OMA JSON name ${name} is not a resource`);
  const ids = [parsed.objectId as number, parsed.instanceId as number, parsed.resourceId];
  if (parsed.resourceInstanceId !== undefined) ids.push(parsed.resourceInstanceId);
  return ids;
}

/**
 * The value typed by the model; a value that does not fit the declared type, or an unknown
 * resource, is typed by its JSON field: v float, sv string, bv boolean, ov objlnk.
 */
function typedValue(element: Record<string, unknown>, declared: ResourceType | undefined): TypedValue {
  const fields = ['v', 'sv', 'bv', 'ov'].filter((field) => element[field] !== undefined);
  if (fields.length !== 1) throw new CodecError(`OMA JSON entry needs exactly one of v, sv, bv, ov`);
  switch (fields[0]) {
    case 'v': {
      const n = jsonNumber(element.v, 'v');
      if ((declared === 'integer' || declared === 'time') && Number.isInteger(n)) return { type: declared, value: n };
      if (declared === 'unsigned' && Number.isInteger(n) && n >= 0) return { type: declared, value: n };
      return { type: 'float', value: n };
    }
    case 'sv': {
      if (typeof element.sv !== 'string') throw new CodecError('OMA JSON "sv" is not a string');
      const value = declared === undefined ? undefined : parseTextValue(declared, element.sv);
      return value === undefined ? { type: 'string', value: element.sv } : { type: declared as ResourceType, value };
    }
    case 'bv':
      if (typeof element.bv !== 'boolean') throw new CodecError('OMA JSON "bv" is not a boolean');
      return { type: 'boolean', value: element.bv };
    default: {
      const link = typeof element.ov === 'string' ? parseTextValue('objlnk', element.ov) : undefined;
      if (link === undefined) throw new CodecError('OMA JSON "ov" is not "objectId:instanceId"');
      return { type: 'objlnk', value: link };
    }
  }
}

/** Encodes with "bn" = the request path + "/" (just the path when the node is a single value). */
export function encodeOmaJsonNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  const entries = flattenNode(node, path);
  const exact = formatPath(path);
  const base = exact === '/' ? '/' : exact + '/';
  const singleValue = entries.some((entry) => entry.path === exact);
  const parts = entries.map((entry) => {
    const ids = parseEntryPath(entry.path);
    const type = declaredType(model, ids[0], ids[2]) ?? entry.type;
    const name = entry.path === exact ? '' : `"n":${JSON.stringify(entry.path.slice(base.length))},`;
    return `{${name}${jsonValueField(type, entry.value)}}`;
  });
  return Buffer.from(`{"bn":${JSON.stringify(singleValue ? exact : base)},"e":[${parts.join(',')}]}`, 'utf8');
}

function jsonValueField(type: ResourceType, value: Value): string {
  switch (type) {
    case 'integer':
    case 'time':
    case 'unsigned':
      // bigint digits are a valid JSON number.
      return `"v":${String(toInteger(value))}`;
    case 'float':
      return `"v":${String(toFloat(value))}`;
    case 'boolean':
      return `"bv":${toBoolean(value)}`;
    case 'objlnk': {
      const link = toObjectLink(value);
      return `"ov":"${link.objectId}:${link.instanceId}"`;
    }
    case 'opaque':
      return `"sv":"${toBytes(value).toString('base64')}"`;
    case 'string':
    case 'corelnk':
      return `"sv":${JSON.stringify(toText(value))}`;
    case 'none':
      throw new CodecError('OMA JSON cannot carry a value of an executable resource');
  }
}
