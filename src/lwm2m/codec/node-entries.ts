import type { ResourceType } from '../model/types';
import type {
  Entry,
  MultipleResourceNode,
  Node,
  ObjectInstanceNode,
  ObjectNode,
  ResourceNode,
  Value,
} from '../node';
import { formatPath, parsePath, pathLevel, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';

/**
 * Leaves of a node as entries with absolute paths ("/3/0/1", "/3/0/7/1"), in node order.
 * `path` is the request path the node was decoded for: it supplies the parent ids.
 */
export function flattenNode(node: Node, path: LwM2mPath): Entry[] {
  const entries: Entry[] = [];
  switch (node.kind) {
    case 'object':
      for (const instance of node.instances.values()) pushInstance(entries, `/${node.id}/`, instance);
      break;
    case 'instance':
      pushInstance(entries, `/${requireId(path.objectId, path, 'object')}/`, node);
      break;
    case 'single':
    case 'multiple':
      pushResource(entries, parentPrefix(path), node);
      break;
    case 'resourceInstance': {
      const prefix = `${parentPrefix(path)}${requireId(path.resourceId, path, 'resource')}/`;
      entries.push({ path: prefix + node.id, type: node.type, value: node.value });
      break;
    }
  }
  return entries;
}

/** "/O/I/" of a resource-level path. */
function parentPrefix(path: LwM2mPath): string {
  return `/${requireId(path.objectId, path, 'object')}/${requireId(path.instanceId, path, 'instance')}/`;
}

function requireId(id: number | undefined, path: LwM2mPath, what: string): number {
  if (id === undefined) throw new CodecError(`path ${formatPath(path)} has no ${what} id for this node`);
  return id;
}

function pushInstance(entries: Entry[], objectPrefix: string, instance: ObjectInstanceNode): void {
  const prefix = `${objectPrefix}${instance.id}/`;
  for (const resource of instance.resources.values()) pushResource(entries, prefix, resource);
}

function pushResource(entries: Entry[], instancePrefix: string, resource: ResourceNode): void {
  if (resource.kind === 'single') {
    entries.push({ path: instancePrefix + resource.id, type: resource.type, value: resource.value });
    return;
  }
  const prefix = `${instancePrefix}${resource.id}/`;
  for (const [id, value] of resource.instances) entries.push({ path: prefix + id, type: resource.type, value });
}

/**
 * Builds the node for a request path from absolute-path entries: /O/I/R -> single resource,
 * /O/I/R/RI -> multiple resource instances, several resources under /O/I -> instance, and so on.
 * Every entry must be a resource or resource instance at or below the request path.
 */
export function buildNode(path: LwM2mPath, entries: readonly Entry[]): Node {
  const level = pathLevel(path);
  if (level === 'root') throw new CodecError('cannot build a node for the root path');
  const leaves = entries.map((entry) => toLeaf(entry, path));
  switch (level) {
    case 'object': {
      const objectId = path.objectId as number;
      const byInstance = groupBy(leaves, (leaf) => leaf.ids[1]);
      const node: ObjectNode = { kind: 'object', id: objectId, instances: new Map() };
      for (const [instanceId, group] of byInstance) node.instances.set(instanceId, buildInstance(instanceId, group));
      return node;
    }
    case 'instance':
      return buildInstance(path.instanceId as number, leaves);
    case 'resource':
      if (leaves.length === 0) throw new CodecError(`no value for ${formatPath(path)}`);
      return buildResource(path.resourceId as number, leaves);
    case 'resourceInstance': {
      if (leaves.length !== 1 || leaves[0].ids.length !== 4) {
        throw new CodecError(`expected one value for ${formatPath(path)}, got ${leaves.length}`);
      }
      const { type, value } = leaves[0];
      return { kind: 'resourceInstance', id: path.resourceInstanceId as number, type, value };
    }
  }
}

interface Leaf {
  /** [O, I, R] or [O, I, R, RI]. */
  ids: number[];
  type: ResourceType;
  value: Value;
  path: string;
}

function toLeaf(entry: Entry, requestPath: LwM2mPath): Leaf {
  let parsed: LwM2mPath;
  try {
    parsed = parsePath(entry.path);
  } catch (err) {
    throw new CodecError(`invalid entry path "${entry.path}": ${(err as Error).message}`);
  }
  const ids = [parsed.objectId, parsed.instanceId, parsed.resourceId, parsed.resourceInstanceId].filter(
    (id): id is number => id !== undefined,
  );
  if (ids.length < 3) throw new CodecError(`entry ${entry.path} is not a resource or resource instance`);
  const requestIds = [requestPath.objectId, requestPath.instanceId, requestPath.resourceId, requestPath.resourceInstanceId];
  for (let i = 0; i < 4 && requestIds[i] !== undefined; i++) {
    if (ids[i] !== requestIds[i]) throw new CodecError(`entry ${entry.path} is outside ${formatPath(requestPath)}`);
  }
  return { ids, type: entry.type, value: entry.value, path: entry.path };
}

function buildInstance(instanceId: number, leaves: Leaf[]): ObjectInstanceNode {
  const node: ObjectInstanceNode = { kind: 'instance', id: instanceId, resources: new Map() };
  for (const [resourceId, group] of groupBy(leaves, (leaf) => leaf.ids[2])) {
    node.resources.set(resourceId, buildResource(resourceId, group));
  }
  return node;
}

function buildResource(resourceId: number, leaves: Leaf[]): ResourceNode {
  const first = leaves[0];
  if (first.ids.length === 3) {
    if (leaves.length > 1) {
      const other = leaves.find((leaf) => leaf.ids.length === 4);
      throw new CodecError(other ? `${first.path} mixes a single value with resource instances (${other.path})` : `several values for ${first.path}`);
    }
    return { kind: 'single', id: resourceId, type: first.type, value: first.value };
  }
  const node: MultipleResourceNode = { kind: 'multiple', id: resourceId, type: first.type, instances: new Map() };
  for (const leaf of leaves) {
    if (leaf.ids.length !== 4) throw new CodecError(`${leaf.path} mixes a single value with resource instances`);
    if (node.instances.has(leaf.ids[3])) throw new CodecError(`several values for ${leaf.path}`);
    node.instances.set(leaf.ids[3], leaf.value);
  }
  return node;
}

function groupBy(leaves: Leaf[], key: (leaf: Leaf) => number): Map<number, Leaf[]> {
  const groups = new Map<number, Leaf[]>();
  for (const leaf of leaves) {
    const k = key(leaf);
    const group = groups.get(k);
    if (group) group.push(leaf);
    else groups.set(k, [leaf]);
  }
  return groups;
}
