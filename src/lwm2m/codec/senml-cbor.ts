import type { ModelLookup, ResourceType } from '../model/types';
import type { Entry, Node, Value } from '../node';
import type { LwM2mPath } from '../path';
import { cborInteger, cborValueItem, decimalFraction, isDecimalFraction, readCbor, writeCbor, type CborItem } from './cbor-value';
import { CodecError } from './codec-error';
import {
  senmlNodeRecords,
  senmlRecordsToEntries,
  systemClock,
  type SenmlClock,
  type SenmlRecord,
  type SenmlValue,
} from './senml-json';
import { toFloat } from './value-coercion';

/*
 * SenML CBOR (content format 112, RFC 8428 §6) as LwM2M uses it (OMA TS Core 1.1 §7.4.5, 1.1.1
 * §7.4.6, 1.2 §7.4.7): the records of SenML JSON (senml-json.ts, whose record → entries and node →
 * records code this shares) as a CBOR array of maps keyed by the RFC 8428 §6 Table 4 integer labels:
 *   bver -1, bn -2, bt -3, bu -4, bv -5, bs -6, n 0, u 1, v 2, vs 3, vb 4, s 5, t 6, ut 7, vd 8.
 * LwM2M's object link "vlo" has no integer label (RFC 8428 §6: "any extensions will use string map
 * keys"); TS Core 1.1.1 §7.4.6: "The object links use a string map key "vlo" also in SenML CBOR
 * representation" — so the text string "vlo" is the one text label accepted.
 *
 * Values: v is a CBOR integer or float (the major type types a value the model does not type:
 * integer item → integer, float item → float), vs a text string, vb a boolean, vd a byte string
 * (raw bytes, not base64), vlo a text string "O:I". bt, bv, t and bver are integers or floats.
 * RFC 8428 §6 also allows a decimal fraction (CBOR tag 4, [exponent, mantissa]) wherever SenML
 * JSON has a number (v, bt, t, bv), and TS Core 1.2 (Table C.2) represents a Time value in the CBOR
 * formats as in RFC 7049 §2.4.1, i.e. tag 1 around the number of seconds — which is how clients
 * such as Anjay write the v of a Time resource ({2: 1(1000000)}): both are accepted on input.
 *
 * Strictness: the payload is one CBOR array (readCbor refuses trailing and malformed bytes) of
 * maps; a text label spelling a SenML field that has an integer label ("n", "v", ..) is refused,
 * as is a text label ending in "_" (must-understand, RFC 8428 §4.4), a label of another CBOR type,
 * a label twice in one record and a value of the wrong CBOR type (other tags included). Unknown
 * integer or other text labels are ignored, like unknown fields in SenML JSON; so are u, bu, s,
 * bs and ut, whatever their values.
 */

type Field = 'bver' | 'bn' | 'bt' | 'bu' | 'bv' | 'bs' | 'n' | 'u' | 'v' | 'vs' | 'vb' | 's' | 't' | 'ut' | 'vd' | 'vlo';

/** RFC 8428 §6 Table 4. */
export const SENML_CBOR_LABELS: Readonly<Record<Exclude<Field, 'vlo'>, number>> = {
  bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8,
};
const FIELD_BY_LABEL = new Map<bigint, Field>(
  (Object.entries(SENML_CBOR_LABELS) as Array<[Field, number]>).map(([field, label]) => [BigInt(label), field]),
);
const VLO = 'vlo';
const TAG_EPOCH = 1n;

/** Decodes to entries exactly as decodeSenmlJsonEntries does (base name/time/value, time series, typing). */
export function decodeSenmlCborEntries(payload: Buffer, path: LwM2mPath, model: ModelLookup, now: SenmlClock = systemClock): Entry[] {
  let root: CborItem;
  try {
    root = readCbor(payload);
  } catch (err) {
    throw new CodecError(`invalid SenML CBOR: ${(err as Error).message}`);
  }
  if (root.kind !== 'array') throw new CodecError('SenML CBOR needs an array of records');
  const records = root.items.map((item, index) => parseCborRecord(item, `SenML CBOR record ${index}`));
  return senmlRecordsToEntries(records, 'SenML CBOR', path, model, now);
}

function parseCborRecord(item: CborItem, where: string): SenmlRecord {
  if (item.kind !== 'map') throw new CodecError(`${where} is not a map`);
  const record: SenmlRecord = { values: [] };
  const seen = new Set<Field>();
  for (const [key, value] of item.entries) {
    const field = fieldOf(key, where);
    if (field === undefined) continue;
    if (seen.has(field)) throw new CodecError(`${where} has "${field}" twice`);
    seen.add(field);
    const what = field === 'vlo' ? '"vlo"' : `"${field}" (label ${SENML_CBOR_LABELS[field]})`;
    switch (field) {
      case 'bver':
      case 'bt':
      case 'bv':
      case 't':
        record[field] = cborNumber(value, what, where);
        break;
      case 'bn':
      case 'n':
        record[field] = cborText(value, what, where);
        break;
      case 'v': {
        // Tag 1 (epoch-based time) around the number: a Time value.
        const time = value.kind === 'tag' && value.tag === TAG_EPOCH;
        const number = time ? value.item : value;
        if (number.kind === 'uint' || number.kind === 'nint') {
          record.values.push({ field, value: exactInteger(number.value), integer: true, time });
        } else if (number.kind === 'float') {
          record.values.push({ field, value: number.value, integer: false, time });
        } else if (!time && isDecimalFraction(number)) {
          record.values.push({ field, value: decimalFraction(number), integer: false });
        } else {
          throw new CodecError(`${where}: ${what} is not a number`);
        }
        break;
      }
      case 'vs':
      case 'vlo':
        record.values.push({ field, value: cborText(value, what, where) });
        break;
      case 'vb':
        if (value.kind !== 'bool') throw new CodecError(`${where}: ${what} is not a boolean`);
        record.values.push({ field, value: value.value });
        break;
      case 'vd':
        if (value.kind !== 'bytes') throw new CodecError(`${where}: ${what} is not a byte string`);
        record.values.push({ field, value: value.value });
        break;
      default:
        // u, bu, s, bs, ut: not used by LwM2M.
        break;
    }
  }
  // The value fields in the order SenML JSON reports them.
  const order: Array<SenmlValue['field']> = ['v', 'vs', 'vb', 'vd', 'vlo'];
  record.values.sort((a, b) => order.indexOf(a.field) - order.indexOf(b.field));
  return record;
}

/** The field of a label; undefined for an unknown one, which is ignored. */
function fieldOf(key: CborItem, where: string): Field | undefined {
  if (key.kind === 'uint' || key.kind === 'nint') return FIELD_BY_LABEL.get(key.value);
  if (key.kind !== 'text') throw new CodecError(`${where} has a label that is neither an integer nor a text string`);
  if (key.value === VLO) return 'vlo';
  if (key.value.endsWith('_')) throw new CodecError(`${where} has the must-understand label "${key.value}"`);
  if (Object.hasOwn(SENML_CBOR_LABELS, key.value)) {
    const label = SENML_CBOR_LABELS[key.value as Exclude<Field, 'vlo'>];
    throw new CodecError(`${where} has the text label "${key.value}": SenML CBOR labels it ${label}`);
  }
  return undefined;
}

function cborNumber(item: CborItem, what: string, where: string): number {
  if (item.kind === 'uint' || item.kind === 'nint') return Number(item.value);
  if (item.kind === 'float') return item.value;
  if (isDecimalFraction(item)) return decimalFraction(item);
  throw new CodecError(`${where}: ${what} is not a number`);
}

function cborText(item: CborItem, what: string, where: string): string {
  if (item.kind !== 'text') throw new CodecError(`${where}: ${what} is not a text string`);
  return item.value;
}

function exactInteger(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/**
 * Encodes a node as SenML CBOR, the records SenML JSON writes (bn on the first record of a
 * multi-value payload, n, one value field), each a map in the order bn, n, value; preferred
 * serialization (shortest heads, floats as single precision when exact, else double).
 */
export function encodeSenmlCborNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  const records = senmlNodeRecords(path, node, model, 'SenML CBOR').map((record): CborItem => {
    const entries: Array<[CborItem, CborItem]> = [];
    if (record.bn !== undefined) entries.push([cborInteger(SENML_CBOR_LABELS.bn), { kind: 'text', value: record.bn }]);
    entries.push([cborInteger(SENML_CBOR_LABELS.n), { kind: 'text', value: record.n }]);
    entries.push(valueField(record.type, record.value));
    return { kind: 'map', entries };
  });
  return writeCbor({ kind: 'array', items: records });
}

/** [label, value] of a value by resource type; integer ranges and coercions as for plain CBOR. */
function valueField(type: ResourceType, value: Value): [CborItem, CborItem] {
  const label = (field: Exclude<Field, 'vlo'>): CborItem => cborInteger(SENML_CBOR_LABELS[field]);
  switch (type) {
    case 'integer':
    case 'unsigned':
      return [label('v'), cborValueItem(type, value)];
    case 'time':
      // A plain number of seconds in SenML, not tag 1.
      return [label('v'), cborValueItem('integer', value)];
    case 'float':
      // Finite only, as in SenML JSON (decoding refuses a non-finite v).
      return [label('v'), { kind: 'float', value: toFloat(value) }];
    case 'boolean':
      return [label('vb'), cborValueItem(type, value)];
    case 'string':
    case 'corelnk':
      return [label('vs'), cborValueItem(type, value)];
    case 'opaque':
      return [label('vd'), cborValueItem(type, value)];
    case 'objlnk':
      return [{ kind: 'text', value: VLO }, cborValueItem(type, value)];
    case 'none':
      throw new CodecError('SenML CBOR cannot carry a value of an executable resource');
  }
}
