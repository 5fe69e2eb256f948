/** An LwM2M path: /O, /O/I, /O/I/R or /O/I/R/RI (the root `/` has no ids). */
export interface LwM2mPath {
  objectId?: number;
  instanceId?: number;
  resourceId?: number;
  resourceInstanceId?: number;
}

const MAX_ID = 65535;

/**
 * Parses "/3/0/1", "3/0/1", "/3/0/1/" (leading and trailing slash optional).
 * Throws an Error with a readable message for anything else.
 */
export function parsePath(text: string): LwM2mPath {
  const trimmed = text.trim().replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return {};
  const parts = trimmed.split('/');
  if (parts.length > 4) throw new Error(`invalid path "${text}": more than 4 levels`);
  const ids = parts.map((p) => {
    if (!/^\d{1,5}$/.test(p)) throw new Error(`invalid path "${text}": "${p}" is not an id`);
    const n = Number(p);
    if (n > MAX_ID) throw new Error(`invalid path "${text}": id ${n} exceeds ${MAX_ID}`);
    return n;
  });
  return fromIds(ids);
}

export function fromIds(ids: readonly number[]): LwM2mPath {
  const path: LwM2mPath = {};
  if (ids.length > 0) path.objectId = ids[0];
  if (ids.length > 1) path.instanceId = ids[1];
  if (ids.length > 2) path.resourceId = ids[2];
  if (ids.length > 3) path.resourceInstanceId = ids[3];
  return path;
}

export function pathIds(path: LwM2mPath): number[] {
  const ids: number[] = [];
  if (path.objectId === undefined) return ids;
  ids.push(path.objectId);
  if (path.instanceId === undefined) return ids;
  ids.push(path.instanceId);
  if (path.resourceId === undefined) return ids;
  ids.push(path.resourceId);
  if (path.resourceInstanceId === undefined) return ids;
  ids.push(path.resourceInstanceId);
  return ids;
}

/** "/3/0/1"; the root is "/". */
export function formatPath(path: LwM2mPath): string {
  const ids = pathIds(path);
  return ids.length === 0 ? '/' : '/' + ids.join('/');
}

export type PathLevel = 'root' | 'object' | 'instance' | 'resource' | 'resourceInstance';

export function pathLevel(path: LwM2mPath): PathLevel {
  return (['root', 'object', 'instance', 'resource', 'resourceInstance'] as const)[pathIds(path).length];
}
