import type { ModelLookup } from '../model/types';
import type { Node } from '../node';
import { formatPath, pathLevel, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { declaredType } from './declared-type';
import { decodeTextValue, formatTextValue } from './value-codec';

/** Plain text (content format 0): one resource or resource instance value as UTF-8 text. */
export function decodeTextNode(payload: Buffer, path: LwM2mPath, model: ModelLookup): Node {
  const level = pathLevel(path);
  if (level !== 'resource' && level !== 'resourceInstance') {
    throw new CodecError(`plain text cannot carry ${formatPath(path)}: only a resource or resource instance`);
  }
  const resourceId = path.resourceId as number;
  const { type, value } = decodeTextValue(declaredType(model, path.objectId as number, resourceId), payload.toString('utf8'));
  return level === 'resource'
    ? { kind: 'single', id: resourceId, type, value }
    : { kind: 'resourceInstance', id: path.resourceInstanceId as number, type, value };
}

export function encodeTextNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  if (node.kind !== 'single' && node.kind !== 'resourceInstance') {
    throw new CodecError(`plain text cannot carry a ${node.kind} node: only a single value`);
  }
  const resourceId = node.kind === 'single' ? node.id : path.resourceId;
  const declared =
    path.objectId !== undefined && resourceId !== undefined ? declaredType(model, path.objectId, resourceId) : undefined;
  return Buffer.from(formatTextValue(declared ?? node.type, node.value), 'utf8');
}
