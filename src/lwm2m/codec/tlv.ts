import { CodecError } from './codec-error';

/** TLV identifier types (type byte bits 7-6). */
export const TlvKind = {
  ObjectInstance: 0,
  ResourceInstance: 1,
  MultipleResource: 2,
  ResourceValue: 3,
} as const;
export type TlvKind = (typeof TlvKind)[keyof typeof TlvKind];

/**
 * One TLV record. The value is not copied: it is the byte range [start, end) of the decoded
 * buffer, so nested records are read with another readTlv over that range.
 */
export interface TlvRecord {
  kind: TlvKind;
  id: number;
  start: number;
  end: number;
}

const MAX_LENGTH = 0xffffff;

/** Reads the records that fill buffer[start, end) exactly; throws CodecError on any truncation. */
export function readTlv(buffer: Buffer, start = 0, end = buffer.length): TlvRecord[] {
  const records: TlvRecord[] = [];
  let pos = start;
  while (pos < end) {
    const type = buffer[pos++];
    const idBytes = type & 0x20 ? 2 : 1;
    const lengthBytes = (type >> 3) & 0x03;
    if (pos + idBytes + lengthBytes > end) throw new CodecError(`truncated TLV header at byte ${pos - 1}`);
    const id = idBytes === 2 ? (buffer[pos] << 8) | buffer[pos + 1] : buffer[pos];
    pos += idBytes;
    let length = type & 0x07;
    if (lengthBytes > 0) {
      length = 0;
      for (let i = 0; i < lengthBytes; i++) length = (length << 8) | buffer[pos++];
    }
    if (pos + length > end) {
      throw new CodecError(`TLV value of ${length} bytes at byte ${pos} exceeds the payload`);
    }
    records.push({ kind: (type >> 6) as TlvKind, id, start: pos, end: pos + length });
    pos += length;
  }
  return records;
}

/** A record to encode: a leaf value or nested records. */
export interface TlvOutput {
  kind: TlvKind;
  id: number;
  value: Buffer | TlvOutput[];
}

/** Encodes records with the shortest id and length fields. */
export function writeTlv(records: readonly TlvOutput[]): Buffer {
  const chunks: Buffer[] = [];
  for (const record of records) appendRecord(record, chunks);
  return Buffer.concat(chunks);
}

function appendRecord(record: TlvOutput, chunks: Buffer[]): void {
  const value = Array.isArray(record.value) ? writeTlv(record.value) : record.value;
  if (record.id < 0 || record.id > 0xffff || !Number.isInteger(record.id)) {
    throw new CodecError(`TLV id ${record.id} out of range`);
  }
  const length = value.length;
  if (length > MAX_LENGTH) throw new CodecError(`TLV value of ${length} bytes exceeds 16 MiB`);
  const wideId = record.id > 0xff;
  const lengthBytes = length <= 7 ? 0 : length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;
  const header = Buffer.allocUnsafe(1 + (wideId ? 2 : 1) + lengthBytes);
  header[0] = (record.kind << 6) | (wideId ? 0x20 : 0) | (lengthBytes << 3) | (lengthBytes === 0 ? length : 0);
  let pos = 1;
  if (wideId) header[pos++] = record.id >> 8;
  header[pos++] = record.id & 0xff;
  for (let i = lengthBytes - 1; i >= 0; i--) header[pos++] = (length >> (8 * i)) & 0xff;
  chunks.push(header, value);
}
