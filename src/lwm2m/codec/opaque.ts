import type { Node } from '../node';
import { formatPath, pathLevel, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { toBytes } from './value-coercion';

/** Opaque (content format 42): the raw bytes of one resource or resource instance. */
export function decodeOpaqueNode(payload: Buffer, path: LwM2mPath): Node {
  const level = pathLevel(path);
  // A copy: the value may outlive the datagram buffer.
  const value = Buffer.from(payload);
  if (level === 'resource') return { kind: 'single', id: path.resourceId as number, type: 'opaque', value };
  if (level === 'resourceInstance') {
    return { kind: 'resourceInstance', id: path.resourceInstanceId as number, type: 'opaque', value };
  }
  throw new CodecError(`opaque format cannot carry ${formatPath(path)}: only a resource or resource instance`);
}

export function encodeOpaqueNode(node: Node): Buffer {
  if (node.kind !== 'single' && node.kind !== 'resourceInstance') {
    throw new CodecError(`opaque format cannot carry a ${node.kind} node: only a single value`);
  }
  return toBytes(node.value);
}
