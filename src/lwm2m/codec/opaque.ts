import type { Node } from '../node';
import type { LwM2mPath } from '../path';
import { requireValueNode, valueNode, valuePathLevel } from './single-value';
import { toBytes } from './value-coercion';

/** Opaque (content format 42): the raw bytes of one resource or resource instance. */
export function decodeOpaqueNode(payload: Buffer, path: LwM2mPath): Node {
  const level = valuePathLevel(path, 'opaque format');
  // A copy: the value may outlive the datagram buffer.
  return valueNode(path, level, 'opaque', Buffer.from(payload));
}

export function encodeOpaqueNode(node: Node): Buffer {
  return toBytes(requireValueNode(node, 'opaque format').value);
}
