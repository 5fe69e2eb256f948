import type { Value } from '../../lwm2m/node';

/**
 * A resource value as a platform sees it. Numbers stay numbers while JSON can hold them exactly: an
 * integer beyond 2^53 (a bigint) and a float that is NaN or infinite become their decimal text.
 * Booleans are kept apart from numbers (as "true"/"false" in telemetry, where a 1/0 could not be
 * told from an integer resource), opaque bytes are base64, an object link "O:I", strings themselves.
 */
export type PointValue = { readonly kind: 'number'; readonly value: number } | { readonly kind: 'boolean'; readonly value: boolean } | { readonly kind: 'string'; readonly value: string };

export function pointValue(value: Value): PointValue {
  if (typeof value === 'number') return Number.isFinite(value) ? { kind: 'number', value } : { kind: 'string', value: String(value) };
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? { kind: 'number', value: Number(value) } : { kind: 'string', value: value.toString() };
  }
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (typeof value === 'string') return { kind: 'string', value };
  if (Buffer.isBuffer(value)) return { kind: 'string', value: value.toString('base64') };
  return { kind: 'string', value: `${value.objectId}:${value.instanceId}` };
}

/**
 * The mapped name of an entry's path: the path's own, else (a resource instance "/3/0/7/1") its
 * resource's name with the instance id appended ("voltage.1"). Undefined when neither is mapped.
 */
export function mappedName(names: ReadonlyMap<string, string>, path: string): string | undefined {
  const own = names.get(path);
  if (own !== undefined) return own;
  const slashes = countSlashes(path);
  if (slashes !== 4) return undefined;
  const cut = path.lastIndexOf('/');
  const resourceName = names.get(path.slice(0, cut));
  return resourceName === undefined ? undefined : `${resourceName}.${path.slice(cut + 1)}`;
}

function countSlashes(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 0x2f) n++;
  return n;
}
