import type { ModelLookup, ResourceType } from '../model/types';
import type { Node, ResourceInstanceNode, SingleResourceNode, Value } from '../node';
import { formatPath, pathLevel, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { declaredType } from './declared-type';

/**
 * Shared by the single-value formats (plain text, plain CBOR): they carry one resource or resource
 * instance value. `format` names the format in error messages ("plain text").
 */
export function valuePathLevel(path: LwM2mPath, format: string): 'resource' | 'resourceInstance' {
  const level = pathLevel(path);
  if (level !== 'resource' && level !== 'resourceInstance') {
    throw new CodecError(`${format} cannot carry ${formatPath(path)}: only a resource or resource instance`);
  }
  return level;
}

/** The model's type for the resource a single-value path names. */
export function declaredValueType(path: LwM2mPath, model: ModelLookup): ResourceType | undefined {
  return declaredType(model, path.objectId as number, path.resourceId as number);
}

/** The node of one decoded value at a resource or resource-instance path. */
export function valueNode(path: LwM2mPath, level: 'resource' | 'resourceInstance', type: ResourceType, value: Value): Node {
  return level === 'resource'
    ? { kind: 'single', id: path.resourceId as number, type, value }
    : { kind: 'resourceInstance', id: path.resourceInstanceId as number, type, value };
}

/** The node as a single value; any other node kind is a CodecError. */
export function requireValueNode(node: Node, format: string): SingleResourceNode | ResourceInstanceNode {
  if (node.kind !== 'single' && node.kind !== 'resourceInstance') {
    throw new CodecError(`${format} cannot carry a ${node.kind} node: only a single value`);
  }
  return node;
}

/** The type a single-value node is encoded as: the model's when it knows the resource, else the node's own. */
export function valueToEncode(path: LwM2mPath, node: Node, model: ModelLookup, format: string): { type: ResourceType; value: Value } {
  const value = requireValueNode(node, format);
  const resourceId = value.kind === 'single' ? value.id : path.resourceId;
  const declared = path.objectId !== undefined && resourceId !== undefined ? declaredType(model, path.objectId, resourceId) : undefined;
  return { type: declared ?? value.type, value: value.value };
}
