/** An LwM2M path: /O, /O/I, /O/I/R or /O/I/R/RI (the root `/` has no ids). */
export interface LwM2mPath {
  objectId?: number;
  instanceId?: number;
  resourceId?: number;
  resourceInstanceId?: number;
}

const MAX_ID = 65535;
const SLASH = 0x2f;

/**
 * Parses "/3/0/1", "3/0/1", "/3/0/1/" (leading and trailing slash optional).
 * Throws an Error with a readable message for anything else. One pass, no regular expression:
 * every downlink command goes through here.
 */
export function parsePath(text: string): LwM2mPath {
  const s = text.trim();
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) === SLASH) start++;
  while (end > start && s.charCodeAt(end - 1) === SLASH) end--;
  if (start === end) return {};
  let levels = 1;
  for (let i = start; i < end; i++) if (s.charCodeAt(i) === SLASH) levels++;
  if (levels > 4) throw new Error(`invalid path "${text}": more than 4 levels`);
  const ids: number[] = [];
  let from = start;
  while (from <= end) {
    let to = from;
    let id = 0;
    for (; to < end; to++) {
      const c = s.charCodeAt(to);
      if (c === SLASH) break;
      id = c >= 48 && c <= 57 ? id * 10 + (c - 48) : NaN;
    }
    if (to === from || to - from > 5 || Number.isNaN(id)) throw new Error(`invalid path "${text}": "${s.slice(from, to)}" is not an id`);
    if (id > MAX_ID) throw new Error(`invalid path "${text}": id ${id} exceeds ${MAX_ID}`);
    ids.push(id);
    from = to + 1;
  }
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
