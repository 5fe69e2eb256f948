import type { ModelLookup } from '../model/types';
import type { Entry, Node } from '../node';
import type { LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { CODECS, type ContentFormatCodec } from './codec-table';
import { contentFormatName } from './content-format';

export { CodecError } from './codec-error';
export { ContentFormat, contentFormatMediaType, contentFormatName, parseContentFormat } from './content-format';
export { formatLink, parseLinkFormat, type Link } from './link-format';
export { buildNode, flattenNode } from './node-entries';

/** Formats decodeNode/encodeNode handle (every LwM2M one but CoRE link format, which has its own parser). */
export function isSupportedFormat(format: number): boolean {
  return CODECS.has(format);
}

/** Decodes a payload relative to the request path `path`; throws CodecError. */
export function decodeNode(format: number, payload: Buffer, path: LwM2mPath, model: ModelLookup): Node {
  return codecFor(format).decodeNode(payload, path, model);
}

/**
 * Decodes to entries with absolute paths ("/3/0/1", "/3/0/7/1"): flattenNode(decodeNode(..)),
 * except that OMA JSON, SenML JSON and SenML CBOR keep every timed value with its `time` (the node has room
 * for one).
 */
export function decodeEntries(format: number, payload: Buffer, path: LwM2mPath, model: ModelLookup): Entry[] {
  return codecFor(format).decodeEntries(payload, path, model);
}

/** Encodes a node for the request path `path`; throws CodecError. */
export function encodeNode(format: number, path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  return codecFor(format).encodeNode(path, node, model);
}

function codecFor(format: number): ContentFormatCodec {
  const codec = CODECS.get(format);
  if (codec === undefined) throw new CodecError(`unsupported content format ${contentFormatName(format)}`);
  return codec;
}
