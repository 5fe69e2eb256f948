import type { ObjectLink, Value } from '../node';
import { CodecError } from './codec-error';

/*
 * Values given to encoders may come from MQTT JSON, so the natural spellings are accepted
 * (numeric strings, "true"/"1", "3:0"); anything else is a CodecError, never a silent cast.
 */

const INTEGER_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const OBJLNK_TEXT = /^(\d{1,5}):(\d{1,5})$/;
const MAX_ID = 65535;

/** A number while it is a safe integer, else a bigint. */
export function integerFromText(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

export function parseIntegerText(text: string): number | bigint | undefined {
  return INTEGER_TEXT.test(text) ? integerFromText(text) : undefined;
}

export function parseFloatText(text: string): number | undefined {
  return FLOAT_TEXT.test(text) ? Number(text) : undefined;
}

export function parseObjectLinkText(text: string): ObjectLink | undefined {
  const match = OBJLNK_TEXT.exec(text);
  if (!match) return undefined;
  const objectId = Number(match[1]);
  const instanceId = Number(match[2]);
  return objectId <= MAX_ID && instanceId <= MAX_ID ? { objectId, instanceId } : undefined;
}

export function isObjectLink(value: Value): value is ObjectLink {
  return typeof value === 'object' && !Buffer.isBuffer(value) && 'objectId' in value && 'instanceId' in value;
}

export function toInteger(value: Value): number | bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') {
    const parsed = parseIntegerText(value.trim());
    if (parsed !== undefined) return parsed;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new CodecError(`not an integer: ${describe(value)}`);
}

/** Text and JSON have no spelling for NaN and infinities; IEEE 754 (TLV) has, hence `allowNonFinite`. */
export function toFloat(value: Value, allowNonFinite = false): number {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string') n = parseFloatText(value.trim());
  if (n === undefined || (!allowNonFinite && !Number.isFinite(n))) throw new CodecError(`not a finite float: ${describe(value)}`);
  return n;
}

export function toBoolean(value: Value): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1' || value === 'true') return true;
  if (value === 0 || value === '0' || value === 'false') return false;
  throw new CodecError(`not a boolean: ${describe(value)}`);
}

export function toObjectLink(value: Value): ObjectLink {
  if (isObjectLink(value)) {
    const { objectId, instanceId } = value;
    if (isId(objectId) && isId(instanceId)) return value;
  } else if (typeof value === 'string') {
    const parsed = parseObjectLinkText(value.trim());
    if (parsed) return parsed;
  }
  throw new CodecError(`not an object link: ${describe(value)}`);
}

/** Opaque values: a Buffer, or a string holding base64 (how text, JSON and MQTT carry opaque). */
export function toBytes(value: Value): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') {
    const bytes = parseBase64(value.trim());
    if (bytes) return bytes;
  }
  throw new CodecError(`not opaque bytes: ${describe(value)}`);
}

export function toText(value: Value): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  throw new CodecError(`not a string: ${describe(value)}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Strict base64 (padding optional); Buffer.from(..., 'base64') alone accepts any garbage. */
export function parseBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

function isId(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_ID;
}

function describe(value: Value): string {
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (typeof value === 'object') return JSON.stringify(value);
  return typeof value === 'string' ? JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value) : String(value);
}
