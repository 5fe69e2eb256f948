import type { ModelLookup, ResourceType } from '../model/types';
import type {
  MultipleResourceNode,
  Node,
  ObjectInstanceNode,
  ObjectNode,
  ResourceInstanceNode,
  ResourceNode,
  Value,
} from '../node';
import { formatPath, pathLevel, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { declaredMultiple, declaredType } from './declared-type';
import { readTlv, TlvKind, writeTlv, type TlvOutput, type TlvRecord } from './tlv';
import { decodeBinaryValue, encodeBinaryValue } from './value-codec';

/** Decodes a TLV payload (OMA TS Core §7.4.3) into the node kind of the request path's level. */
export function decodeTlvNode(payload: Buffer, path: LwM2mPath, model: ModelLookup): Node {
  const records = readTlv(payload);
  const decoder = new TlvNodeDecoder(payload, model);
  switch (pathLevel(path)) {
    case 'object':
      return decoder.object(path.objectId as number, records);
    case 'instance':
      return decoder.instance(path.objectId as number, path.instanceId as number, unwrapInstance(payload, records, path));
    case 'resource':
      return decoder.resource(path, unwrapInstance(payload, records, path));
    case 'resourceInstance':
      return decoder.resourceInstance(path, records);
    default:
      throw new CodecError('TLV payload for the root path');
  }
}

/** Clients may wrap the resources in an object-instance TLV below /O too (spec example "08 00 79 ..."). */
function unwrapInstance(payload: Buffer, records: TlvRecord[], path: LwM2mPath): TlvRecord[] {
  if (records.length !== 1 || records[0].kind !== TlvKind.ObjectInstance) return records;
  if (records[0].id !== path.instanceId) {
    throw new CodecError(`TLV object instance ${records[0].id} does not match ${formatPath(path)}`);
  }
  return readTlv(payload, records[0].start, records[0].end);
}

class TlvNodeDecoder {
  constructor(
    private readonly payload: Buffer,
    private readonly model: ModelLookup,
  ) {}

  object(objectId: number, records: TlvRecord[]): ObjectNode {
    const node: ObjectNode = { kind: 'object', id: objectId, instances: new Map() };
    if (records.length > 0 && records[0].kind !== TlvKind.ObjectInstance) {
      // A device that sends the resources of its only instance without the instance TLV.
      node.instances.set(0, this.instance(objectId, 0, records));
      return node;
    }
    for (const record of records) {
      if (record.kind !== TlvKind.ObjectInstance) throw new CodecError('TLV mixes object instances and resources');
      if (node.instances.has(record.id)) throw new CodecError(`duplicate TLV object instance ${record.id}`);
      node.instances.set(record.id, this.instance(objectId, record.id, this.children(record)));
    }
    return node;
  }

  instance(objectId: number, instanceId: number, records: TlvRecord[]): ObjectInstanceNode {
    const node: ObjectInstanceNode = { kind: 'instance', id: instanceId, resources: new Map() };
    for (const record of records) {
      if (node.resources.has(record.id)) throw new CodecError(`duplicate TLV resource ${record.id}`);
      node.resources.set(record.id, this.resourceRecord(objectId, record));
    }
    return node;
  }

  resource(path: LwM2mPath, records: TlvRecord[]): ResourceNode {
    const objectId = path.objectId as number;
    const resourceId = path.resourceId as number;
    if (records.length === 1 && records[0].kind !== TlvKind.ResourceInstance) {
      if (records[0].id !== resourceId) {
        throw new CodecError(`TLV resource ${records[0].id} does not match ${formatPath(path)}`);
      }
      return this.resourceRecord(objectId, records[0]);
    }
    // Bare resource instances (no multiple-resource TLV), or an empty multiple resource.
    if (records.length === 0 && !declaredMultiple(this.model, objectId, resourceId)) {
      throw new CodecError(`empty TLV payload for single resource ${formatPath(path)}`);
    }
    return this.multiple(objectId, resourceId, records);
  }

  resourceInstance(path: LwM2mPath, records: TlvRecord[]): ResourceInstanceNode {
    let current = unwrapInstance(this.payload, records, path);
    if (current.length === 1 && current[0].kind === TlvKind.MultipleResource) {
      if (current[0].id !== path.resourceId) {
        throw new CodecError(`TLV resource ${current[0].id} does not match ${formatPath(path)}`);
      }
      current = this.children(current[0]);
    }
    if (current.length !== 1 || current[0].kind !== TlvKind.ResourceInstance) {
      throw new CodecError(`expected one TLV resource instance for ${formatPath(path)}`);
    }
    const record = current[0];
    if (record.id !== path.resourceInstanceId) {
      throw new CodecError(`TLV resource instance ${record.id} does not match ${formatPath(path)}`);
    }
    const { type, value } = this.value(path.objectId as number, path.resourceId as number, record);
    return { kind: 'resourceInstance', id: record.id, type, value };
  }

  private resourceRecord(objectId: number, record: TlvRecord): ResourceNode {
    if (record.kind === TlvKind.ResourceValue) {
      const { type, value } = this.value(objectId, record.id, record);
      return { kind: 'single', id: record.id, type, value };
    }
    if (record.kind === TlvKind.MultipleResource) return this.multiple(objectId, record.id, this.children(record));
    throw new CodecError(`unexpected TLV ${record.kind === TlvKind.ObjectInstance ? 'object instance' : 'resource instance'} ${record.id} among resources`);
  }

  private multiple(objectId: number, resourceId: number, records: TlvRecord[]): MultipleResourceNode {
    const declared = declaredType(this.model, objectId, resourceId);
    const node: MultipleResourceNode = { kind: 'multiple', id: resourceId, type: declared ?? 'opaque', instances: new Map() };
    for (const record of records) {
      if (record.kind !== TlvKind.ResourceInstance) throw new CodecError(`unexpected TLV in multiple resource ${resourceId}`);
      if (node.instances.has(record.id)) throw new CodecError(`duplicate TLV resource instance ${resourceId}/${record.id}`);
      const decoded = decodeBinaryValue(declared, this.payload, record.start, record.end);
      if (decoded.type !== node.type) {
        // The node has a single type: one instance that does not fit makes them all raw bytes.
        return this.multipleRaw(resourceId, records);
      }
      node.instances.set(record.id, decoded.value);
    }
    return node;
  }

  private multipleRaw(resourceId: number, records: TlvRecord[]): MultipleResourceNode {
    const node: MultipleResourceNode = { kind: 'multiple', id: resourceId, type: 'opaque', instances: new Map() };
    for (const record of records) {
      node.instances.set(record.id, decodeBinaryValue(undefined, this.payload, record.start, record.end).value);
    }
    return node;
  }

  private value(objectId: number, resourceId: number, record: TlvRecord): { type: ResourceType; value: Value } {
    return decodeBinaryValue(declaredType(this.model, objectId, resourceId), this.payload, record.start, record.end);
  }

  private children(record: TlvRecord): TlvRecord[] {
    return readTlv(this.payload, record.start, record.end);
  }
}

/**
 * Encodes a node as TLV. An instance node is wrapped in an object-instance TLV only when the
 * request path is the object (create); at /O/I its resources are sent bare, as the spec shows.
 */
export function encodeTlvNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  if (node.kind === 'object') {
    return writeTlv([...node.instances.values()].map((instance) => instanceOutput(node.id, instance, model)));
  }
  const objectId = path.objectId;
  if (objectId === undefined) throw new CodecError(`cannot encode a ${node.kind} node for path ${formatPath(path)}`);
  switch (node.kind) {
    case 'instance':
      return writeTlv(
        pathLevel(path) === 'object' ? [instanceOutput(objectId, node, model)] : resourceOutputs(objectId, node, model),
      );
    case 'single':
    case 'multiple':
      return writeTlv([resourceOutput(objectId, node, model)]);
    case 'resourceInstance': {
      const resourceId = path.resourceId;
      if (resourceId === undefined) throw new CodecError(`cannot encode a resource instance for path ${formatPath(path)}`);
      const type = encodingType(model, objectId, resourceId, node.type);
      return writeTlv([{ kind: TlvKind.ResourceInstance, id: node.id, value: encodeValue(type, node.value) }]);
    }
  }
}

function instanceOutput(objectId: number, instance: ObjectInstanceNode, model: ModelLookup): TlvOutput {
  return { kind: TlvKind.ObjectInstance, id: instance.id, value: resourceOutputs(objectId, instance, model) };
}

function resourceOutputs(objectId: number, instance: ObjectInstanceNode, model: ModelLookup): TlvOutput[] {
  return [...instance.resources.values()].map((resource) => resourceOutput(objectId, resource, model));
}

function resourceOutput(objectId: number, resource: ResourceNode, model: ModelLookup): TlvOutput {
  const type = encodingType(model, objectId, resource.id, resource.type);
  if (resource.kind === 'single') {
    return { kind: TlvKind.ResourceValue, id: resource.id, value: encodeValue(type, resource.value) };
  }
  const instances: TlvOutput[] = [];
  for (const [id, value] of resource.instances) {
    instances.push({ kind: TlvKind.ResourceInstance, id, value: encodeValue(type, value) });
  }
  return { kind: TlvKind.MultipleResource, id: resource.id, value: instances };
}

/** The device expects the declared type; the node's own type serves for unknown resources. */
function encodingType(model: ModelLookup, objectId: number, resourceId: number, nodeType: ResourceType): ResourceType {
  return declaredType(model, objectId, resourceId) ?? nodeType;
}

/** A Buffer is taken as the already encoded value (e.g. an opaque-decoded unknown resource). */
function encodeValue(type: ResourceType, value: Value): Buffer {
  return Buffer.isBuffer(value) ? value : encodeBinaryValue(type, value);
}
