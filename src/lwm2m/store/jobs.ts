import { deepFreeze, type JsonObject } from './json';

/** The stored state of one device-management job (a firmware or software update); one per endpoint and kind. */
export interface JobRecord {
  /** 1..64 chars of [A-Za-z0-9_-]. */
  readonly id: string;
  /** The device's endpoint name: non-empty, well-formed Unicode, <= 1024 bytes. */
  readonly endpoint: string;
  /** 1..32 chars of [a-z0-9-], e.g. "firmware", "software". */
  readonly kind: string;
  /** ms since epoch, finite, >= 0. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The job's own state (the job module validates it when it reads it back); JSON object, <= 64 KiB as JSON. */
  readonly data: JsonObject;
}

/** Jobs by endpoint and kind, so that an update under way survives a gateway restart. Records are immutable. */
export interface JobStore {
  /** Stores a record, replacing the one with the same endpoint and kind. A malformed record is refused (throws a RangeError naming the field). */
  put(record: JobRecord): Promise<void>;
  /** Removes the endpoint's job of that kind; an unknown one does nothing. A malformed endpoint or kind is refused (RangeError). */
  remove(endpoint: string, kind: string): Promise<void>;
  /** Every record, in no particular order (start-up). A stored value that does not read back as a valid record is skipped (onError told), never thrown. Removing while iterating is safe. */
  all(): AsyncIterable<JobRecord>;
}

export const MAX_JOB_DATA_BYTES = 64 * 1024;
/** Deep enough for any job state; bounds the walk (and JSON.parse/stringify) of hostile nesting. */
export const MAX_JOB_DATA_DEPTH = 32;
/** As for provisioned credentials: a sanity bound well above any configurable `lwm2m.max_endpoint_length`. */
export const MAX_JOB_ENDPOINT_BYTES = 1024;

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;
const JOB_KIND = /^[a-z0-9-]{1,32}$/;
const LONE_SURROGATE = /\p{Cs}/u;

/** Why `endpoint` and `kind` cannot name a job, naming the field (never quoting the value); undefined when they can. */
export function jobKeyProblem(endpoint: unknown, kind: unknown): string | undefined {
  if (typeof endpoint !== 'string' || endpoint === '') return 'endpoint must be a non-empty string';
  if (LONE_SURROGATE.test(endpoint)) return 'endpoint is not well-formed Unicode';
  if (Buffer.byteLength(endpoint) > MAX_JOB_ENDPOINT_BYTES) return `endpoint is longer than ${MAX_JOB_ENDPOINT_BYTES} bytes`;
  if (typeof kind !== 'string' || !JOB_KIND.test(kind)) return 'kind must be 1 to 32 characters of a-z, 0-9 and -';
  return undefined;
}

/** Refuses an endpoint/kind pair no job can have (a RangeError naming the field). */
export function checkJobKey(endpoint: string, kind: string): void {
  const problem = jobKeyProblem(endpoint, kind);
  if (problem) throw new RangeError(problem);
}

/** Why `record` is not a valid job record, naming the field; undefined when it is. Values are never quoted (data may hold a package URI with credentials). */
export function jobRecordProblem(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'a job record must be an object';
  const { id, endpoint, kind, createdAt, updatedAt, data } = record as Record<string, unknown>;
  if (typeof id !== 'string' || !JOB_ID.test(id)) return 'id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -';
  const keyProblem = jobKeyProblem(endpoint, kind);
  if (keyProblem) return keyProblem;
  for (const [field, value] of [['createdAt', createdAt], ['updatedAt', updatedAt]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return `${field} must be a finite number of ms since epoch, not negative`;
  }
  if (!isPlainObject(data)) return 'data must be a JSON object';
  const dataProblem = jsonProblem(data, 'data', 0, { nodes: 0 });
  if (dataProblem) return dataProblem;
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_JOB_DATA_BYTES) return `data is larger than ${MAX_JOB_DATA_BYTES} bytes as JSON`;
  return undefined;
}

/** Refuses a malformed record before it is stored (a RangeError naming the field). */
export function checkJobRecord(record: JobRecord): void {
  const problem = jobRecordProblem(record);
  if (problem) throw new RangeError(problem);
}

/** The stored fields only, in a fixed order: what every backend writes. */
export function jobRecordJson(record: JobRecord): string {
  const { id, endpoint, kind, createdAt, updatedAt, data } = record;
  return JSON.stringify({ id, endpoint, kind, createdAt, updatedAt, data });
}

/** A stored value read back: the deep-frozen record, or undefined when it is not valid JSON or not a valid record. */
export function parseJobRecord(value: string): JobRecord | undefined {
  // A value far beyond the bounds is damaged; JSON.parse need not build it. (An endpoint's byte may
  // take 6 characters as a JSON escape; data is bounded as JSON already.)
  if (value.length > MAX_JOB_DATA_BYTES + 6 * MAX_JOB_ENDPOINT_BYTES + 1024) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (jobRecordProblem(parsed) !== undefined) return undefined;
  const { id, endpoint, kind, createdAt, updatedAt, data } = parsed as JobRecord;
  return deepFreeze({ id, endpoint, kind, createdAt, updatedAt, data });
}

/** A collision-free name for an endpoint's job of a kind (a Map key or Redis hash field): a JSON array of kind and endpoint. */
export function jobKeyName(endpoint: string, kind: string): string {
  return JSON.stringify([kind, endpoint]);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Why `value` (at `path`) is not plain JSON data. An object's undefined property is allowed: JSON
 * drops it, as every backend does. Each node costs at least one byte of JSON, so counting nodes stops
 * the walk of a huge value early.
 */
function jsonProblem(value: unknown, path: string, depth: number, budget: { nodes: number }): string | undefined {
  if (++budget.nodes > MAX_JOB_DATA_BYTES) return `data is larger than ${MAX_JOB_DATA_BYTES} bytes as JSON`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${shortPath(path)} is not a finite number`;
  if (depth >= MAX_JOB_DATA_DEPTH) return `data is nested deeper than ${MAX_JOB_DATA_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = jsonProblem(value[i], `${path}[${i}]`, depth + 1, budget);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (value[key] === undefined) continue;
      const problem = jsonProblem(value[key], `${path}.${key}`, depth + 1, budget);
      if (problem) return problem;
    }
    return undefined;
  }
  return `${shortPath(path)} is not JSON data (a ${value === undefined ? 'missing value' : typeof value === 'object' ? 'non-plain object' : typeof value})`;
}

/** Keys come from the caller's data: a path in an error text stays short. */
function shortPath(path: string): string {
  const chars = [...path];
  return chars.length > 80 ? `${chars.slice(0, 77).join('')}...` : path;
}
