import type { ModelLookup, ResourceType } from '../model/types';
import type {
  Entry,
  MultipleResourceNode,
  Node,
  ObjectInstanceNode,
  ObjectNode,
  ResourceNode,
  Value,
} from '../node';
import { formatPath, pathIds, pathLevel, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { cborInteger, cborItemValue, cborValueItem, readCbor, writeCbor, type CborItem } from './cbor-value';
import { declaredType } from './declared-type';

/*
 * LwM2M CBOR (content format 11544, OMA TS Core 1.2 §7.4.4): a tree of CBOR maps keyed by path
 * segments, e.g. a Read of /3/0 (an illustration, not a spec example):
 *   {3: {0: {0: "Open Mobile Alliance", 7: {0: 3800, 1: 5000}, 13: 1(1367491215)}}}
 * A key is an id or an array of ids covering several levels at once ({[3, 0]: {0: ..}}); keys
 * nest down to the value leaves (see cbor-value.ts for the value mapping).
 *
 * Paths are absolute: TS Core 1.2 §7.4.4 says "Except when used for a Write or Create operation, the
 * IDs inside the top-level payload MUST start with the Object ID", and client implementations read
 * Write payloads from the root too (Anjay: {[13, 26, 1]: 42} for a Write on /13/26/1). A payload
 * whose paths lie outside the request path is refused, never reinterpreted relative to it (that
 * would make {3: ..} for a request /3/0 ambiguous). Encoding nests one map per level from the root,
 * without array keys, as Anjay does ({3: {3: {3: 25}}} for a Read of /3/3/3).
 *
 * An empty map stands for an empty object, instance or multiple resource; a map at the resource
 * instance level, a leaf above the resource level, null and undefined are refused.
 */

const MAX_ID = 65535;

interface Leaf {
  /** [O, I, R] or [O, I, R, RI]. */
  ids: number[];
  type: ResourceType;
  value: Value;
}

interface Flat {
  leaves: Leaf[];
  /** The leaves and the paths of empty maps ([O], [O, I] or [O, I, R]), in payload order. */
  all: Array<Leaf | number[]>;
}

/** Decodes to the node kind of the request path's level (object, instance, resource, resource instance). */
export function decodeLwm2mCborNode(payload: Buffer, path: LwM2mPath, model: ModelLookup): Node {
  const level = pathLevel(path);
  if (level === 'root') throw new CodecError('cannot decode an LwM2M CBOR node for the root path');
  const objects = buildTree(flatten(payload, path, model), model, true);
  const objectId = path.objectId as number;
  const object = objects.get(objectId) ?? { kind: 'object', id: objectId, instances: new Map() };
  if (level === 'object') return object;
  const instanceId = path.instanceId as number;
  const instance = object.instances.get(instanceId) ?? { kind: 'instance', id: instanceId, resources: new Map() };
  if (level === 'instance') return instance;
  const resource = instance.resources.get(path.resourceId as number);
  if (!resource) throw new CodecError(`no LwM2M CBOR value for ${formatPath(path)}`);
  if (level === 'resource') return resource;
  const resourceInstanceId = path.resourceInstanceId as number;
  const value = resource.kind === 'multiple' ? resource.instances.get(resourceInstanceId) : undefined;
  if (resource.kind !== 'multiple' || value === undefined) {
    throw new CodecError(`no LwM2M CBOR value for ${formatPath(path)}`);
  }
  return { kind: 'resourceInstance', id: resourceInstanceId, type: resource.type, value };
}

/**
 * Decodes to entries with absolute paths ("/3/0/1", "/3/0/7/1") in payload order; any request
 * path, the root included (Read-Composite, Send). Unlike the node, a multiple resource of an
 * unknown type may hold values of different CBOR types here.
 */
export function decodeLwm2mCborEntries(payload: Buffer, path: LwM2mPath, model: ModelLookup): Entry[] {
  const flat = flatten(payload, path, model);
  buildTree(flat, model, false); // the structural checks: duplicates, single and multiple at once
  return flat.leaves.map((leaf) => ({ path: '/' + leaf.ids.join('/'), type: leaf.type, value: leaf.value }));
}

function flatten(payload: Buffer, path: LwM2mPath, model: ModelLookup): Flat {
  const root = readCbor(payload);
  if (root.kind !== 'map') throw new CodecError('LwM2M CBOR payload must be a map');
  const flat: Flat = { leaves: [], all: [] };
  walk(root, [], pathIds(path), model, flat);
  return flat;
}

function walk(
  map: Extract<CborItem, { kind: 'map' }>,
  prefix: number[],
  requestIds: number[],
  model: ModelLookup,
  flat: Flat,
): void {
  if (map.entries.length === 0 && prefix.length > 0) {
    if (prefix.length > 3) throw new CodecError(`LwM2M CBOR ${formatIds(prefix)}: a resource instance must be a value, not a map`);
    // An empty map above the request path says nothing about it.
    if (prefix.length >= requestIds.length) {
      checkWithin(prefix, requestIds);
      flat.all.push(prefix);
    }
    return;
  }
  for (const [key, value] of map.entries) {
    const ids = [...prefix, ...keyIds(key, prefix)];
    if (ids.length > 4) throw new CodecError(`LwM2M CBOR path ${formatIds(ids)} is deeper than a resource instance`);
    const common = Math.min(ids.length, requestIds.length);
    if (!sameIds(ids.slice(0, common), requestIds.slice(0, common))) {
      throw new CodecError(`LwM2M CBOR path ${formatIds(ids)} is outside the request path ${formatIds(requestIds)}`);
    }
    if (value.kind === 'map') {
      walk(value, ids, requestIds, model, flat);
      continue;
    }
    if (ids.length < 3) {
      throw new CodecError(`LwM2M CBOR ${formatIds(ids)} holds a value where a map of ${ids.length === 1 ? 'instances' : 'resources'} is expected`);
    }
    checkWithin(ids, requestIds);
    const where = formatIds(ids);
    const { type, value: leafValue } = cborItemValue(value, declaredType(model, ids[0], ids[2]), `LwM2M CBOR ${where}`);
    const leaf: Leaf = { ids, type, value: leafValue };
    flat.leaves.push(leaf);
    flat.all.push(leaf);
  }
}

/** The ids of a key: an id, or a non-empty array of ids. */
function keyIds(key: CborItem, prefix: number[]): number[] {
  if (key.kind === 'array') {
    if (key.items.length === 0) throw new CodecError(`LwM2M CBOR empty array key under ${formatIds(prefix)}`);
    return key.items.map((item) => keyId(item, prefix));
  }
  return [keyId(key, prefix)];
}

function keyId(item: CborItem, prefix: number[]): number {
  if (item.kind === 'nint') throw new CodecError(`LwM2M CBOR negative id ${item.value} under ${formatIds(prefix)}`);
  if (item.kind !== 'uint') throw new CodecError(`LwM2M CBOR key under ${formatIds(prefix)} is not an integer id`);
  if (item.value > BigInt(MAX_ID)) throw new CodecError(`LwM2M CBOR id ${item.value} under ${formatIds(prefix)} exceeds ${MAX_ID}`);
  return Number(item.value);
}

/** A leaf or empty map at or below the request path. */
function checkWithin(ids: number[], requestIds: number[]): void {
  if (ids.length < requestIds.length || !sameIds(ids.slice(0, requestIds.length), requestIds)) {
    throw new CodecError(`LwM2M CBOR path ${formatIds(ids)} is outside the request path ${formatIds(requestIds)}`);
  }
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function formatIds(ids: number[]): string {
  return ids.length === 0 ? '/' : '/' + ids.join('/');
}

/**
 * Objects from the leaves and empty maps, in payload order. `oneType`: a multiple resource must
 * have a single type (the node keeps one), else a CodecError.
 */
function buildTree(flat: Flat, model: ModelLookup, oneType: boolean): Map<number, ObjectNode> {
  const objects = new Map<number, ObjectNode>();
  const objectOf = (id: number): ObjectNode => {
    let node = objects.get(id);
    if (!node) objects.set(id, (node = { kind: 'object', id, instances: new Map() }));
    return node;
  };
  const instanceOf = (ids: number[]): ObjectInstanceNode => {
    const object = objectOf(ids[0]);
    let node = object.instances.get(ids[1]);
    if (!node) object.instances.set(ids[1], (node = { kind: 'instance', id: ids[1], resources: new Map() }));
    return node;
  };
  /** Typed by its first instance; the model's type (or opaque) while it has none. */
  const untyped = new Set<MultipleResourceNode>();
  const multipleOf = (ids: number[], type: ResourceType): MultipleResourceNode => {
    const instance = instanceOf(ids);
    const existing = instance.resources.get(ids[2]);
    if (existing?.kind === 'single') {
      throw new CodecError(`LwM2M CBOR ${formatIds(ids.slice(0, 3))} is both a single value and resource instances`);
    }
    if (existing) return existing;
    const node: MultipleResourceNode = { kind: 'multiple', id: ids[2], type, instances: new Map() };
    untyped.add(node);
    instance.resources.set(ids[2], node);
    return node;
  };

  for (const leaf of flat.all) {
    if (Array.isArray(leaf)) {
      if (leaf.length === 1) objectOf(leaf[0]);
      else if (leaf.length === 2) instanceOf(leaf);
      else multipleOf(leaf, declaredType(model, leaf[0], leaf[2]) ?? 'opaque');
      continue;
    }
    const where = formatIds(leaf.ids);
    if (leaf.ids.length === 3) {
      const instance = instanceOf(leaf.ids);
      const existing: ResourceNode | undefined = instance.resources.get(leaf.ids[2]);
      if (existing?.kind === 'single') throw new CodecError(`LwM2M CBOR has several values for ${where}`);
      if (existing) throw new CodecError(`LwM2M CBOR ${where} is both a single value and resource instances`);
      instance.resources.set(leaf.ids[2], { kind: 'single', id: leaf.ids[2], type: leaf.type, value: leaf.value });
      continue;
    }
    const node = multipleOf(leaf.ids, leaf.type);
    if (node.instances.has(leaf.ids[3])) throw new CodecError(`LwM2M CBOR has several values for ${where}`);
    if (untyped.delete(node)) node.type = leaf.type;
    else if (oneType && node.type !== leaf.type) {
      throw new CodecError(`LwM2M CBOR ${where} is ${leaf.type} while other instances are ${node.type}`);
    }
    node.instances.set(leaf.ids[3], leaf.value);
  }
  return objects;
}

/**
 * Encodes a node for the request path as maps nested from the root, one id per level. An empty
 * object, instance or multiple resource is an empty map.
 */
export function encodeLwm2mCborNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  if (node.kind === 'object') return writeCbor(map([[node.id, objectItem(node, model)]]));
  const objectId = requireId(path.objectId, path, node, 'object');
  if (node.kind === 'instance') {
    return writeCbor(map([[objectId, map([[node.id, instanceItem(objectId, node, model)]])]]));
  }
  const instanceId = requireId(path.instanceId, path, node, 'instance');
  let resourceItem: CborItem;
  let resourceId: number;
  if (node.kind === 'resourceInstance') {
    resourceId = requireId(path.resourceId, path, node, 'resource');
    const type = declaredType(model, objectId, resourceId) ?? node.type;
    resourceItem = map([[node.id, cborValueItem(type, node.value)]]);
  } else {
    resourceId = node.id;
    resourceItem = resourceValueItem(objectId, node, model);
  }
  return writeCbor(map([[objectId, map([[instanceId, map([[resourceId, resourceItem]])]])]]));
}

function requireId(id: number | undefined, path: LwM2mPath, node: Node, what: string): number {
  if (id === undefined) throw new CodecError(`cannot encode a ${node.kind} node for path ${formatPath(path)}: no ${what} id`);
  return id;
}

function map(entries: Array<[number, CborItem]>): CborItem {
  for (const [id] of entries) {
    if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new CodecError(`cannot encode id ${id} in LwM2M CBOR`);
  }
  return { kind: 'map', entries: entries.map(([id, item]) => [cborInteger(id), item]) };
}

function objectItem(object: ObjectNode, model: ModelLookup): CborItem {
  return map([...object.instances.values()].map((instance) => [instance.id, instanceItem(object.id, instance, model)]));
}

function instanceItem(objectId: number, instance: ObjectInstanceNode, model: ModelLookup): CborItem {
  return map([...instance.resources.values()].map((resource) => [resource.id, resourceValueItem(objectId, resource, model)]));
}

/** The value of a single resource, or the map of a multiple resource's instances. */
function resourceValueItem(objectId: number, resource: ResourceNode, model: ModelLookup): CborItem {
  const type = declaredType(model, objectId, resource.id) ?? resource.type;
  if (resource.kind === 'single') return cborValueItem(type, resource.value);
  return map([...resource.instances].map(([id, value]) => [id, cborValueItem(type, value)]));
}
