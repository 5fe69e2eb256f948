import { decodeBinaryValue } from '../lwm2m/codec/value-codec';
import type { ResourceType } from '../lwm2m/model/types';
import type { Entry, ObjectLink, Value } from '../lwm2m/node';

/** Type names of the MQTT contract → LwM2M resource types (a Map: the name comes from the command). */
const TYPE_BY_NAME: ReadonlyMap<string, ResourceType> = new Map([
  ['String', 'string'],
  ['Integer', 'integer'],
  ['Unsigned Integer', 'unsigned'],
  ['Float', 'float'],
  ['Boolean', 'boolean'],
  ['Opaque', 'opaque'],
  ['Time', 'time'],
  ['Objlnk', 'objlnk'],
  ['Corelnk', 'corelnk'],
]);

export const TYPE_NAMES = [...TYPE_BY_NAME.keys()];

export function resourceTypeOf(name: string): ResourceType | undefined {
  return TYPE_BY_NAME.get(name);
}

/** The contract's name of a resource type ("Unsigned Integer"), for error texts. */
export function typeNameOf(type: ResourceType): string {
  for (const [name, t] of TYPE_BY_NAME) if (t === type) return name;
  return type;
}

/** A command value that does not fit its type; the message is shown to the MQTT client. */
export class ValueError extends Error {}

type JsonScalar = string | number | boolean | null | undefined | object;

function toInteger(raw: JsonScalar, unsigned: boolean): number | bigint {
  let n: number | bigint;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) throw new ValueError(`${raw} is not an integer`);
    n = raw;
  } else if (typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) {
    const big = BigInt(raw.trim());
    n = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  } else {
    throw new ValueError(`${JSON.stringify(raw)} is not an integer`);
  }
  if (unsigned && n < 0) throw new ValueError(`${raw} is negative`);
  const big = BigInt(n);
  const [min, max] = unsigned ? [0n, 2n ** 64n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
  if (big < min || big > max) throw new ValueError(`${raw} is out of range`);
  return n;
}

/**
 * Converts a command value (JSON) to a typed value. With `hex` (top-level `"encoding":"hex"`) every
 * value is hex text of bytes: see hexValue.
 */
export function valueFromJson(type: ResourceType, raw: JsonScalar, hex: boolean): Value {
  if (raw === null || raw === undefined) throw new ValueError('value is missing');
  if (hex) return hexValue(type, raw);
  switch (type) {
    case 'string':
    case 'corelnk':
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      throw new ValueError(`${JSON.stringify(raw)} is not a string`);
    case 'integer':
    case 'time':
      return toInteger(raw, false);
    case 'unsigned':
      return toInteger(raw, true);
    case 'float': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) throw new ValueError(`${JSON.stringify(raw)} is not a number`);
      return n;
    }
    case 'boolean':
      if (raw === true || raw === 'true' || raw === 1 || raw === '1') return true;
      if (raw === false || raw === 'false' || raw === 0 || raw === '0') return false;
      throw new ValueError(`${JSON.stringify(raw)} is not a boolean`);
    case 'opaque': {
      if (typeof raw !== 'string') throw new ValueError(`${JSON.stringify(raw)} is not base64 text`);
      const text = raw.trim();
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new ValueError(`"${raw}" is not base64`);
      return Buffer.from(text, 'base64');
    }
    case 'objlnk':
      return objectLink(raw);
    case 'none':
      throw new ValueError('resource has no value type (executable)');
  }
}

function objectLink(raw: JsonScalar): ObjectLink {
  const m = typeof raw === 'string' ? /^(\d{1,5}):(\d{1,5})$/.exec(raw.trim()) : null;
  if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) throw new ValueError(`${JSON.stringify(raw)} is not an object link "O:I"`);
  return { objectId: Number(m[1]), instanceId: Number(m[2]) };
}

/** What the bytes of a hex value must be, by type (OMA TS Core appendix C, the TLV value encodings). */
const HEX_SHAPES: Readonly<Record<Exclude<ResourceType, 'string' | 'corelnk' | 'opaque' | 'none'>, string>> = {
  integer: 'Integer: 1, 2, 4 or 8 bytes, big-endian two\'s complement',
  time: 'Time: 1, 2, 4 or 8 bytes, big-endian two\'s complement seconds',
  unsigned: 'Unsigned Integer: 1, 2, 4 or 8 bytes, big-endian',
  float: 'Float: 4 or 8 bytes, big-endian IEEE 754, finite',
  boolean: 'Boolean: one byte, 00 or 01',
  objlnk: 'Objlnk: 4 bytes, object id and instance id as 16-bit big-endian',
};

// fatal: bytes that are not UTF-8 are refused, not replaced; ignoreBOM: a leading BOM is kept as sent.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A client's value in an error text, cut short: the text goes back on MQTT and into logs. */
function shown(raw: string): string {
  return JSON.stringify(raw.length > 64 ? `${raw.slice(0, 64)}…` : raw);
}

/**
 * A value under `"encoding":"hex"`: hex text (an even number of hex digits) of the value's bytes.
 * String and Corelnk: UTF-8 bytes ("48656C6C6F" is "Hello"); Opaque: the bytes themselves; the
 * other types: their LwM2M binary encoding, as in TLV (Integer "0080" is 128, Float "40490FDB" is
 * about 3.14, Boolean "01" is true, Objlnk "00030000" is 3:0). Bytes that are not such an encoding
 * are refused, never reinterpreted.
 */
function hexValue(type: ResourceType, raw: JsonScalar): Value {
  if (typeof raw !== 'string') throw new ValueError(`${JSON.stringify(raw)} is not hex text (the command has "encoding":"hex")`);
  const text = raw.trim();
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
    throw new ValueError(`${shown(raw)} is not hex ("encoding":"hex" wants an even number of hex digits)`);
  }
  const bytes = Buffer.from(text, 'hex');
  switch (type) {
    case 'opaque':
      return bytes;
    case 'string':
    case 'corelnk':
      try {
        return UTF8.decode(bytes);
      } catch {
        throw new ValueError(`${shown(raw)} is not hex of UTF-8 text`);
      }
    case 'none':
      throw new ValueError('resource has no value type (executable)');
    default: {
      const decoded = decodeBinaryValue(type, bytes, 0, bytes.length);
      // decodeBinaryValue keeps bytes that do not fit the type as opaque: here that is an error.
      if (decoded.type !== type || (type === 'float' && !Number.isFinite(decoded.value))) {
        throw new ValueError(`${shown(raw)} is not a hex ${HEX_SHAPES[type]}`);
      }
      return decoded.value;
    }
  }
}

function isObjectLink(v: Value): v is ObjectLink {
  return typeof v === 'object' && !Buffer.isBuffer(v);
}

/** Typed value → JSON: Opaque as base64, Objlnk as "O:I", big integers beyond 2^53 as strings. */
export function valueToJson(value: Value): string | number | boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return value;
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
    default:
      if (Buffer.isBuffer(value)) return value.toString('base64');
      if (isObjectLink(value)) return `${value.objectId}:${value.instanceId}`;
      return String(value);
  }
}

export interface JsonContentEntry {
  path: string;
  value: string | number | boolean;
  time?: number;
}

export function entriesToJson(entries: readonly Entry[]): JsonContentEntry[] {
  const out: JsonContentEntry[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    out[i] = e.time === undefined ? { path: e.path, value: valueToJson(e.value) } : { path: e.path, value: valueToJson(e.value), time: e.time };
  }
  return out;
}
