import type { ModelLookup, ResourceType } from '../model/types';
import type { Node, TypedValue, Value } from '../node';
import { formatPath, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { declaredValueType, valueNode, valuePathLevel, valueToEncode } from './single-value';
import { parseObjectLinkText, toBoolean, toBytes, toFloat, toInteger, toObjectLink, toText } from './value-coercion';

/*
 * CBOR (RFC 8949) as LwM2M uses it: the plain CBOR format (content format 60, TS Core 1.1.1
 * and 1.2 §7.4.3: one resource or resource instance value) and the value leaves of LwM2M CBOR
 * (11544, TS Core 1.2 §7.4.4, see lwm2m-cbor.ts).
 *
 * A small reader and writer of our own rather than cbor-x: the codecs need the CBOR major type
 * of every item (cbor-x decodes 1.0 and 1 alike, tag 1 to a Date, and encodes an integral float
 * as an integer), strict rejection of trailing bytes and malformed items with a CodecError, and
 * exact, deterministic bytes on output (see writeCbor).
 *
 * Value mapping (TS Core 1.2 Table C.2 "Data Type Mapping", column "CBOR, LwM2M CBOR, and SenML
 * CBOR Formats"; Time there: "an unsigned integer or a date/time string, as defined in Section
 * 2.4.1 of [RFC7049]", whose numeric form is tag 1 around the seconds: written here as Anjay
 * writes it, C1 18 18 = 24; the table is quoted in OMA_LwM2M_for_Developers issue #537):
 *   integer → major 0/1 (int64)        unsigned → major 0 (uint64)
 *   float → major 7 float (half, single, double; an integer, or a decimal fraction (tag 4,
 *           RFC 8949 §3.4.4, which Anjay's decoder accepts too), is accepted for a float resource)
 *   boolean → simple false/true        string, corelnk → text string
 *   opaque → byte string               objlnk → text string "O:I"
 *   time → tag 1 (epoch seconds) around an integer; decoding accepts a bare integer too (and
 *          an integral float under tag 1); encoding always writes tag 1 + integer.
 * Without a model type the major type decides: uint ≤ 2^63-1 and negative int → integer,
 * larger uint → unsigned, float → float, bool → boolean, text → string, bytes → opaque,
 * tag 1 → time. With a model type a value of another CBOR type is a CodecError.
 */

/** One decoded CBOR data item, with its major type kept. */
export type CborItem =
  | { kind: 'uint'; value: bigint }
  | { kind: 'nint'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'bytes'; value: Buffer }
  | { kind: 'text'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'undefined' }
  | { kind: 'array'; items: CborItem[] }
  | { kind: 'map'; entries: Array<[CborItem, CborItem]> }
  | { kind: 'tag'; tag: bigint; item: CborItem };

const MAX_DEPTH = 32;
const BREAK = 0xff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const TAG_EPOCH = 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes exactly one CBOR data item filling the whole payload; throws CodecError otherwise. */
export function readCbor(payload: Buffer): CborItem {
  if (payload.length === 0) throw new CodecError('empty CBOR payload');
  const reader = new CborReader(payload);
  const item = reader.item(0);
  if (reader.offset !== payload.length) {
    throw new CodecError(`${payload.length - reader.offset} trailing bytes after the CBOR item`);
  }
  return item;
}

class CborReader {
  offset = 0;

  constructor(private readonly buffer: Buffer) {}

  item(depth: number): CborItem {
    if (depth > MAX_DEPTH) throw new CodecError(`CBOR nested deeper than ${MAX_DEPTH}`);
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) return this.simple(info);
    if (info === 31) return this.indefinite(major, depth);
    const argument = this.argument(info);
    switch (major) {
      case 0:
        return { kind: 'uint', value: argument };
      case 1:
        return { kind: 'nint', value: -1n - argument };
      case 2:
        return { kind: 'bytes', value: this.take(this.length(argument)) };
      case 3:
        return { kind: 'text', value: this.text(this.view(this.length(argument))) };
      case 4: {
        // Every item takes at least one byte: a count beyond the payload is malformed.
        const count = this.length(argument);
        const items: CborItem[] = [];
        for (let i = 0; i < count; i++) items.push(this.item(depth + 1));
        return { kind: 'array', items };
      }
      case 5: {
        const count = this.length(argument * 2n);
        const entries: Array<[CborItem, CborItem]> = [];
        for (let i = 0; i < count / 2; i++) entries.push([this.item(depth + 1), this.item(depth + 1)]);
        return { kind: 'map', entries };
      }
      default:
        return { kind: 'tag', tag: argument, item: this.item(depth + 1) };
    }
  }

  private indefinite(major: number, depth: number): CborItem {
    switch (major) {
      case 2:
      case 3: {
        const chunks: Buffer[] = [];
        while (!this.atBreak()) {
          const initial = this.byte();
          if (initial >> 5 !== major || (initial & 0x1f) === 31) {
            throw new CodecError('CBOR indefinite-length string holds a chunk of another type');
          }
          chunks.push(this.take(this.length(this.argument(initial & 0x1f))));
        }
        const bytes = Buffer.concat(chunks);
        return major === 2 ? { kind: 'bytes', value: bytes } : { kind: 'text', value: this.text(bytes) };
      }
      case 4: {
        const items: CborItem[] = [];
        while (!this.atBreak()) items.push(this.item(depth + 1));
        return { kind: 'array', items };
      }
      case 5: {
        const entries: Array<[CborItem, CborItem]> = [];
        while (!this.atBreak()) entries.push([this.item(depth + 1), this.item(depth + 1)]);
        return { kind: 'map', entries };
      }
      default:
        throw new CodecError(`CBOR major type ${major} cannot have an indefinite length`);
    }
  }

  /** Consumes a break byte when it is next. */
  private atBreak(): boolean {
    if (this.offset >= this.buffer.length) throw new CodecError('CBOR indefinite-length item is not terminated');
    if (this.buffer[this.offset] !== BREAK) return false;
    this.offset++;
    return true;
  }

  private simple(info: number): CborItem {
    switch (info) {
      case 20:
        return { kind: 'bool', value: false };
      case 21:
        return { kind: 'bool', value: true };
      case 22:
        return { kind: 'null' };
      case 23:
        return { kind: 'undefined' };
      case 25:
        return { kind: 'float', value: halfToNumber(this.buffer.readUInt16BE(this.advance(2))) };
      case 26:
        return { kind: 'float', value: this.buffer.readFloatBE(this.advance(4)) };
      case 27:
        return { kind: 'float', value: this.buffer.readDoubleBE(this.advance(8)) };
      case 31:
        throw new CodecError('unexpected CBOR break');
      default:
        throw new CodecError(`unsupported CBOR simple value (additional information ${info})`);
    }
  }

  private argument(info: number): bigint {
    if (info < 24) return BigInt(info);
    switch (info) {
      case 24:
        return BigInt(this.byte());
      case 25:
        return BigInt(this.buffer.readUInt16BE(this.advance(2)));
      case 26:
        return BigInt(this.buffer.readUInt32BE(this.advance(4)));
      case 27:
        return this.buffer.readBigUInt64BE(this.advance(8));
      default:
        throw new CodecError(`reserved CBOR additional information ${info}`);
    }
  }

  /** A length or count, which cannot exceed the bytes left. */
  private length(argument: bigint): number {
    const left = this.buffer.length - this.offset;
    if (argument > BigInt(left)) throw new CodecError(`CBOR length ${argument} exceeds the ${left} bytes left`);
    return Number(argument);
  }

  // Numbers and text are read in place; only byte strings are copied (take), so that a decoded
  // value does not hold on to the whole datagram.

  /** Moves past `n` bytes and returns where they start. */
  private advance(n: number): number {
    const at = this.offset;
    if (at + n > this.buffer.length) throw new CodecError('truncated CBOR payload');
    this.offset = at + n;
    return at;
  }

  private byte(): number {
    return this.buffer[this.advance(1)];
  }

  private view(n: number): Buffer {
    const at = this.advance(n);
    return this.buffer.subarray(at, at + n);
  }

  private take(n: number): Buffer {
    return Buffer.from(this.view(n));
  }

  private text(bytes: Buffer): string {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new CodecError('CBOR text string is not valid UTF-8');
    }
  }
}

function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Shortest heads (preferred serialization, RFC 8949 §4.2.2); floats as single precision when that
 * is exact, else double — never half precision (the same widths as Anjay's encoder: 100000.0 →
 * FA 47C35000, 1.1 → FB 3FF199999999999A), so this is not the full preferred serialization of
 * floats; decoding accepts all three widths.
 */
export function writeCbor(item: CborItem): Buffer {
  const chunks: Buffer[] = [];
  write(item, chunks);
  return Buffer.concat(chunks);
}

function write(item: CborItem, out: Buffer[]): void {
  switch (item.kind) {
    case 'uint':
      out.push(head(0, item.value));
      return;
    case 'nint':
      out.push(head(1, -1n - item.value));
      return;
    case 'bytes':
      out.push(head(2, BigInt(item.value.length)), item.value);
      return;
    case 'text': {
      const bytes = Buffer.from(item.value, 'utf8');
      out.push(head(3, BigInt(bytes.length)), bytes);
      return;
    }
    case 'array':
      out.push(head(4, BigInt(item.items.length)));
      for (const child of item.items) write(child, out);
      return;
    case 'map':
      out.push(head(5, BigInt(item.entries.length)));
      for (const [key, value] of item.entries) {
        write(key, out);
        write(value, out);
      }
      return;
    case 'tag':
      out.push(head(6, item.tag));
      write(item.item, out);
      return;
    case 'bool':
      out.push(Buffer.of(item.value ? 0xf5 : 0xf4));
      return;
    case 'null':
      out.push(Buffer.of(0xf6));
      return;
    case 'undefined':
      out.push(Buffer.of(0xf7));
      return;
    case 'float': {
      if (Number.isNaN(item.value) || Math.fround(item.value) === item.value) {
        const bytes = Buffer.alloc(5);
        bytes[0] = 0xfa;
        bytes.writeFloatBE(item.value, 1);
        out.push(bytes);
      } else {
        const bytes = Buffer.alloc(9);
        bytes[0] = 0xfb;
        bytes.writeDoubleBE(item.value, 1);
        out.push(bytes);
      }
      return;
    }
  }
}

function head(major: number, argument: bigint): Buffer {
  const type = major << 5;
  if (argument < 24n) return Buffer.of(type | Number(argument));
  if (argument < 0x100n) return Buffer.of(type | 24, Number(argument));
  if (argument < 0x10000n) {
    const bytes = Buffer.alloc(3);
    bytes[0] = type | 25;
    bytes.writeUInt16BE(Number(argument), 1);
    return bytes;
  }
  if (argument < 0x100000000n) {
    const bytes = Buffer.alloc(5);
    bytes[0] = type | 26;
    bytes.writeUInt32BE(Number(argument), 1);
    return bytes;
  }
  const bytes = Buffer.alloc(9);
  bytes[0] = type | 27;
  bytes.writeBigUInt64BE(argument, 1);
  return bytes;
}

/** An integer item: major 0 or 1. */
export function cborInteger(value: number | bigint): CborItem {
  const n = BigInt(value);
  return n < 0n ? { kind: 'nint', value: n } : { kind: 'uint', value: n };
}

/** A number while it is a safe integer, else a bigint (the Value convention). */
function integerValue(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function describeItem(item: CborItem): string {
  switch (item.kind) {
    case 'uint':
    case 'nint':
      return 'an integer';
    case 'float':
      return 'a float';
    case 'bytes':
      return 'a byte string';
    case 'text':
      return 'a text string';
    case 'bool':
      return 'a boolean';
    case 'null':
      return 'null';
    case 'undefined':
      return 'undefined';
    case 'array':
      return 'an array';
    case 'map':
      return 'a map';
    case 'tag':
      return `tag ${item.tag}`;
  }
}

/**
 * The value of a CBOR leaf item, typed by the model's `declared` type when known, else by its
 * CBOR type. `where` (a path) only serves error messages.
 */
export function cborItemValue(item: CborItem, declared: ResourceType | undefined, where: string): TypedValue {
  const mismatch = (): CodecError =>
    new CodecError(`${where}: ${describeItem(item)} is not a valid ${declared ?? 'LwM2M'} value`);
  switch (declared) {
    case undefined:
      return untypedValue(item, where);
    case 'integer':
      if ((item.kind === 'uint' || item.kind === 'nint') && item.value >= INT64_MIN && item.value <= INT64_MAX) {
        return { type: declared, value: integerValue(item.value) };
      }
      throw mismatch();
    case 'unsigned':
      if (item.kind === 'uint') return { type: declared, value: integerValue(item.value) };
      throw mismatch();
    case 'time': {
      const seconds = timeSeconds(item);
      if (seconds === undefined) throw mismatch();
      return { type: declared, value: seconds };
    }
    case 'float':
      if (item.kind === 'float') return { type: declared, value: item.value };
      if (item.kind === 'uint' || item.kind === 'nint') return { type: declared, value: Number(item.value) };
      if (isDecimalFraction(item)) return { type: declared, value: decimalFraction(item) };
      throw mismatch();
    case 'boolean':
      if (item.kind === 'bool') return { type: declared, value: item.value };
      throw mismatch();
    case 'string':
    case 'corelnk':
      if (item.kind === 'text') return { type: declared, value: item.value };
      throw mismatch();
    case 'opaque':
      if (item.kind === 'bytes') return { type: declared, value: item.value };
      throw mismatch();
    case 'objlnk': {
      const link = item.kind === 'text' ? parseObjectLinkText(item.value) : undefined;
      if (link) return { type: declared, value: link };
      throw new CodecError(`${where}: object link must be a text string "objectId:instanceId"`);
    }
    case 'none':
      return untypedValue(item, where);
  }
}

function untypedValue(item: CborItem, where: string): TypedValue {
  switch (item.kind) {
    case 'uint':
      return { type: item.value <= INT64_MAX ? 'integer' : 'unsigned', value: integerValue(item.value) };
    case 'nint':
      if (item.value < INT64_MIN) throw new CodecError(`${where}: integer ${item.value} is below -2^63`);
      return { type: 'integer', value: integerValue(item.value) };
    case 'float':
      return { type: 'float', value: item.value };
    case 'bool':
      return { type: 'boolean', value: item.value };
    case 'text':
      return { type: 'string', value: item.value };
    case 'bytes':
      return { type: 'opaque', value: item.value };
    case 'tag': {
      if (isDecimalFraction(item)) return { type: 'float', value: decimalFraction(item) };
      const seconds = timeSeconds(item);
      if (seconds === undefined) throw new CodecError(`${where}: unsupported CBOR ${describeItem(item)} value`);
      return { type: 'time', value: seconds };
    }
    default:
      throw new CodecError(`${where}: ${describeItem(item)} is not an LwM2M value`);
  }
}

const TAG_DECIMAL_FRACTION = 4n;

/** RFC 8949 §3.4.4: tag 4 around [exponent, mantissa], both integers (bignum mantissas are not accepted). */
export function isDecimalFraction(item: CborItem): item is Extract<CborItem, { kind: 'tag' }> {
  if (item.kind !== 'tag' || item.tag !== TAG_DECIMAL_FRACTION || item.item.kind !== 'array' || item.item.items.length !== 2) return false;
  return item.item.items.every((part) => part.kind === 'uint' || part.kind === 'nint');
}

/** mantissa × 10^exponent, correctly rounded to a double (4([-1, 45]) = 4.5). */
export function decimalFraction(item: Extract<CborItem, { kind: 'tag' }>): number {
  const [exponent, mantissa] = (item.item as Extract<CborItem, { kind: 'array' }>).items as Array<Extract<CborItem, { kind: 'uint' | 'nint' }>>;
  return Number(`${mantissa.value}e${exponent.value}`);
}

/** Seconds of a time value: tag 1 around an integer (or integral float), or a bare integer. */
function timeSeconds(item: CborItem): number | undefined {
  let inner = item;
  if (item.kind === 'tag') {
    if (item.tag !== TAG_EPOCH) return undefined;
    inner = item.item;
    if (inner.kind === 'float' && Number.isSafeInteger(inner.value)) return inner.value;
  }
  if ((inner.kind === 'uint' || inner.kind === 'nint') && inner.value >= INT64_MIN && inner.value <= INT64_MAX) {
    // Time is a number of seconds (node.ts); beyond 2^53 it cannot be exact, like any JS time.
    return Number(inner.value);
  }
  return undefined;
}

/** The CBOR item for a value of `type`; values are coerced as for every encoder (value-coercion). */
export function cborValueItem(type: ResourceType, value: Value): CborItem {
  switch (type) {
    case 'integer': {
      const n = BigInt(toInteger(value));
      if (n < INT64_MIN || n > INT64_MAX) throw new CodecError(`integer ${n} is outside the 64-bit range`);
      return cborInteger(n);
    }
    case 'unsigned': {
      const n = BigInt(toInteger(value));
      if (n < 0n || n > UINT64_MAX) throw new CodecError(`unsigned ${n} is outside 0..2^64-1`);
      return cborInteger(n);
    }
    case 'time': {
      const n = BigInt(toInteger(value));
      if (n < INT64_MIN || n > INT64_MAX) throw new CodecError(`time ${n} is outside the 64-bit range`);
      return { kind: 'tag', tag: TAG_EPOCH, item: cborInteger(n) };
    }
    case 'float':
      return { kind: 'float', value: toFloat(value, true) };
    case 'boolean':
      return { kind: 'bool', value: toBoolean(value) };
    case 'string':
    case 'corelnk':
      return { kind: 'text', value: toText(value) };
    case 'opaque':
      return { kind: 'bytes', value: toBytes(value) };
    case 'objlnk': {
      const link = toObjectLink(value);
      return { kind: 'text', value: `${link.objectId}:${link.instanceId}` };
    }
    case 'none':
      throw new CodecError('CBOR cannot carry a value of an executable resource');
  }
}

/** Plain CBOR (content format 60): one resource or resource instance value, a single CBOR item. */
export function decodeCborValueNode(payload: Buffer, path: LwM2mPath, model: ModelLookup): Node {
  const level = valuePathLevel(path, 'plain CBOR');
  const item = readCbor(payload);
  if (item.kind === 'map' || item.kind === 'array') {
    throw new CodecError(`plain CBOR for ${formatPath(path)} must be a single value, not ${describeItem(item)}`);
  }
  const { type, value } = cborItemValue(item, declaredValueType(path, model), formatPath(path));
  return valueNode(path, level, type, value);
}

/** Encodes a single resource or resource instance node as one CBOR item, typed by the model first. */
export function encodeCborValueNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  const { type, value } = valueToEncode(path, node, model, 'plain CBOR');
  return writeCbor(cborValueItem(type, value));
}
