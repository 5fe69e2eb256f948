import type { ResourceType } from '../model/types';
import type { TypedValue, Value } from '../node';
import { CodecError } from './codec-error';
import {
  parseBase64,
  parseFloatText,
  parseIntegerText,
  parseObjectLinkText,
  toBoolean,
  toBytes,
  toFloat,
  toInteger,
  toObjectLink,
  toText,
} from './value-coercion';

/*
 * Per-type value encodings of OMA TS Core appendix C: binary (the TLV value field) and text
 * (plain text format, OMA JSON "sv", strings from MQTT).
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Decodes buffer[start, end) as `type`. Without a type, or when the bytes do not fit the declared
 * type (e.g. a 3-byte integer), the value is kept as opaque bytes rather than refusing the payload.
 */
export function decodeBinaryValue(type: ResourceType | undefined, buffer: Buffer, start: number, end: number): TypedValue {
  const length = end - start;
  switch (type) {
    case 'string':
    case 'corelnk':
      return { type, value: buffer.toString('utf8', start, end) };
    case 'integer':
    case 'time': {
      const value = readSigned(buffer, start, length);
      if (value !== undefined) return { type, value };
      break;
    }
    case 'unsigned': {
      const value = readUnsigned(buffer, start, length);
      if (value !== undefined) return { type, value };
      break;
    }
    case 'float':
      if (length === 4) return { type, value: buffer.readFloatBE(start) };
      if (length === 8) return { type, value: buffer.readDoubleBE(start) };
      break;
    case 'boolean':
      if (length === 1 && buffer[start] <= 1) return { type, value: buffer[start] === 1 };
      break;
    case 'objlnk':
      if (length === 4) {
        return { type, value: { objectId: buffer.readUInt16BE(start), instanceId: buffer.readUInt16BE(start + 2) } };
      }
      break;
    default:
      break;
  }
  // A copy: the value may outlive the datagram buffer it was read from.
  return { type: 'opaque', value: Buffer.from(buffer.subarray(start, end)) };
}

function readSigned(buffer: Buffer, start: number, length: number): number | bigint | undefined {
  switch (length) {
    case 1:
      return buffer.readInt8(start);
    case 2:
      return buffer.readInt16BE(start);
    case 4:
      return buffer.readInt32BE(start);
    case 8:
      return narrow(buffer.readBigInt64BE(start));
    default:
      return undefined;
  }
}

function readUnsigned(buffer: Buffer, start: number, length: number): number | bigint | undefined {
  switch (length) {
    case 1:
      return buffer[start];
    case 2:
      return buffer.readUInt16BE(start);
    case 4:
      return buffer.readUInt32BE(start);
    case 8:
      return narrow(buffer.readBigUInt64BE(start));
    default:
      return undefined;
  }
}

function narrow(value: bigint): number | bigint {
  return value >= -BigInt(Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Encodes a value as `type` for TLV; integers use the shortest two's-complement width. */
export function encodeBinaryValue(type: ResourceType, value: Value): Buffer {
  switch (type) {
    case 'string':
    case 'corelnk':
      return Buffer.from(toText(value), 'utf8');
    case 'integer':
    case 'time':
      return writeSigned(toInteger(value));
    case 'unsigned':
      return writeUnsigned(toInteger(value));
    case 'float': {
      const n = toFloat(value, true);
      // 4 bytes only when no precision is lost.
      if (Math.fround(n) === n) {
        const out = Buffer.allocUnsafe(4);
        out.writeFloatBE(n);
        return out;
      }
      const out = Buffer.allocUnsafe(8);
      out.writeDoubleBE(n);
      return out;
    }
    case 'boolean':
      return Buffer.from([toBoolean(value) ? 1 : 0]);
    case 'objlnk': {
      const link = toObjectLink(value);
      const out = Buffer.allocUnsafe(4);
      out.writeUInt16BE(link.objectId);
      out.writeUInt16BE(link.instanceId, 2);
      return out;
    }
    case 'opaque':
      return toBytes(value);
    case 'none':
      return Buffer.alloc(0);
  }
}

function writeSigned(value: number | bigint): Buffer {
  const big = BigInt(value);
  if (big < INT64_MIN || big > INT64_MAX) throw new CodecError(`integer ${value} does not fit in 64 bits`);
  if (big >= -0x80n && big <= 0x7fn) return Buffer.from([Number(big) & 0xff]);
  if (big >= -0x8000n && big <= 0x7fffn) {
    const out = Buffer.allocUnsafe(2);
    out.writeInt16BE(Number(big));
    return out;
  }
  if (big >= -0x80000000n && big <= 0x7fffffffn) {
    const out = Buffer.allocUnsafe(4);
    out.writeInt32BE(Number(big));
    return out;
  }
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(big);
  return out;
}

function writeUnsigned(value: number | bigint): Buffer {
  const big = BigInt(value);
  if (big < 0n || big > UINT64_MAX) throw new CodecError(`unsigned integer ${value} out of range`);
  if (big <= 0xffn) return Buffer.from([Number(big)]);
  if (big <= 0xffffn) {
    const out = Buffer.allocUnsafe(2);
    out.writeUInt16BE(Number(big));
    return out;
  }
  if (big <= 0xffffffffn) {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(Number(big));
    return out;
  }
  const out = Buffer.allocUnsafe(8);
  out.writeBigUInt64BE(big);
  return out;
}

/** Parses text as `type`; undefined when it is not a valid spelling of that type. */
export function parseTextValue(type: ResourceType, text: string): Value | undefined {
  switch (type) {
    case 'string':
    case 'corelnk':
    case 'none':
      return text;
    case 'integer':
    case 'time':
      return parseIntegerText(text.trim());
    case 'unsigned': {
      const value = parseIntegerText(text.trim());
      return value !== undefined && value >= 0 && BigInt(value) <= UINT64_MAX ? value : undefined;
    }
    case 'float':
      return parseFloatText(text.trim());
    case 'boolean': {
      const t = text.trim();
      if (t === '1' || t === 'true') return true;
      if (t === '0' || t === 'false') return false;
      return undefined;
    }
    case 'objlnk':
      return parseObjectLinkText(text.trim());
    case 'opaque':
      return parseBase64(text.trim());
  }
}

/**
 * Decodes text as `type`. Without a type, or when the text is no valid spelling of it, the value
 * is kept as a string rather than refusing the payload.
 */
export function decodeTextValue(type: ResourceType | undefined, text: string): TypedValue {
  if (type !== undefined) {
    const value = parseTextValue(type, text);
    if (value !== undefined) return { type, value };
  }
  return { type: 'string', value: text };
}

/** Text spelling of a value (plain text format): booleans "1"/"0", objlnk "O:I", opaque base64. */
export function formatTextValue(type: ResourceType, value: Value): string {
  switch (type) {
    case 'string':
    case 'corelnk':
      return toText(value);
    case 'integer':
    case 'time':
      return String(toInteger(value));
    case 'unsigned': {
      const n = toInteger(value);
      if (n < 0) throw new CodecError(`unsigned integer ${n} is negative`);
      return String(n);
    }
    case 'float':
      return String(toFloat(value));
    case 'boolean':
      return toBoolean(value) ? '1' : '0';
    case 'objlnk': {
      const link = toObjectLink(value);
      return `${link.objectId}:${link.instanceId}`;
    }
    case 'opaque':
      return toBytes(value).toString('base64');
    case 'none':
      return '';
  }
}
