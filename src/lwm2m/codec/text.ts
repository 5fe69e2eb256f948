import type { ModelLookup } from '../model/types';
import type { Node } from '../node';
import type { LwM2mPath } from '../path';
import { declaredValueType, valueNode, valuePathLevel, valueToEncode } from './single-value';
import { decodeTextValue, formatTextValue } from './value-codec';

/** Plain text (content format 0): one resource or resource instance value as UTF-8 text. */
export function decodeTextNode(payload: Buffer, path: LwM2mPath, model: ModelLookup): Node {
  const level = valuePathLevel(path, 'plain text');
  const { type, value } = decodeTextValue(declaredValueType(path, model), payload.toString('utf8'));
  return valueNode(path, level, type, value);
}

export function encodeTextNode(path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  const { type, value } = valueToEncode(path, node, model, 'plain text');
  return Buffer.from(formatTextValue(type, value), 'utf8');
}
