import { CodecError } from './codec/codec-error';
import type { Entry, ObjectLink, Value } from './node';
import { formatPath, type LwM2mPath } from './path';

/**
 * Payloads of the composite operations (OMA TS Core 1.1 §6.3.8–§6.3.10), in SenML JSON (RFC 8428,
 * content format 110) with absolute names: Read-Composite and Observe-Composite list the paths as
 * records with a name only; Write-Composite carries one record per value.
 */

type SenmlRecord = { n: string } & ({ v: number } | { vs: string } | { vb: boolean } | { vd: string } | { vlo: string });

/** `[{"n":"/3/0/9"},{"n":"/1/0/1"}]`: the path list of a Read- or Observe-Composite. */
export function encodeSenmlPathList(paths: readonly LwM2mPath[]): Buffer {
  return Buffer.from(JSON.stringify(paths.map((p) => ({ n: formatPath(p) }))), 'utf8');
}

function isObjectLink(value: Value): value is ObjectLink {
  return typeof value === 'object' && !Buffer.isBuffer(value);
}

function record(e: Entry): SenmlRecord {
  const n = e.path;
  const value = e.value;
  switch (e.type) {
    case 'boolean':
      return { n, vb: value === true };
    case 'opaque':
      return { n, vd: (Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')).toString('base64url') };
    case 'objlnk':
      return { n, vlo: isObjectLink(value) ? `${value.objectId}:${value.instanceId}` : String(value) };
    case 'string':
    case 'corelnk':
      return { n, vs: String(value) };
    default:
      // SenML JSON numbers are IEEE doubles; beyond 2^53 an integer cannot be carried exactly.
      if (typeof value === 'bigint' && (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))) {
        throw new CodecError(`${n}: ${value} does not fit a SenML JSON number`);
      }
      return { n, v: Number(value) };
  }
}

/** `[{"n":"/3/0/14","vs":"+02:00"},{"n":"/1/0/1","v":600}]`: the values of a Write-Composite. */
export function encodeSenmlJsonEntries(entries: readonly Entry[]): Buffer {
  return Buffer.from(JSON.stringify(entries.map(record)), 'utf8');
}

/** The key of a composite observation among a device's observations: its paths, sorted. */
export function compositeObservationKey(paths: readonly LwM2mPath[]): string {
  return 'composite:' + [...new Set(paths.map(formatPath))].sort().join(',');
}
