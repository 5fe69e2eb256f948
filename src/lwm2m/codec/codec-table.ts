import type { ModelLookup } from '../model/types';
import type { Entry, Node } from '../node';
import { formatPath, pathLevel, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { ContentFormat } from './content-format';
import { decodeCborValueNode, encodeCborValueNode } from './cbor-value';
import { declaredMultiple, declaredType } from './declared-type';
import { decodeLwm2mCborEntries, decodeLwm2mCborNode, encodeLwm2mCborNode } from './lwm2m-cbor';
import { buildNode, flattenNode } from './node-entries';
import { decodeOmaJsonEntries, encodeOmaJsonNode } from './oma-json';
import { decodeOpaqueNode, encodeOpaqueNode } from './opaque';
import { decodeSenmlCborEntries, encodeSenmlCborNode } from './senml-cbor';
import { decodeSenmlJsonEntries, encodeSenmlJsonNode } from './senml-json';
import { decodeTextNode, encodeTextNode } from './text';
import { decodeTlvNode, encodeTlvNode } from './tlv-node';

type DecodeNode = (payload: Buffer, path: LwM2mPath, model: ModelLookup) => Node;
type DecodeEntries = (payload: Buffer, path: LwM2mPath, model: ModelLookup) => Entry[];
type EncodeNode = (path: LwM2mPath, node: Node, model: ModelLookup) => Buffer;

/** What one content format can do; every entry point of the codecs goes through this. Throws CodecError. */
export interface ContentFormatCodec {
  /** Payload → node relative to the request path. */
  readonly decodeNode: DecodeNode;
  /** Payload → entries with absolute paths ("/3/0/1"); timed formats keep every timed value. */
  readonly decodeEntries: DecodeEntries;
  /** Node → payload for the request path. */
  readonly encodeNode: EncodeNode;
}

/** OMA JSON and SenML (JSON, CBOR): records with times decode to entries first; the node keeps the latest of a path. */
function timedCodec(decode: DecodeEntries, encodeNode: EncodeNode): ContentFormatCodec {
  return {
    decodeNode: (payload, path, model) => timedNode(decode(payload, path, model), path, model),
    decodeEntries: (payload, path, model) => {
      const entries = decode(payload, path, model);
      // Same structural checks as decodeNode (e.g. a resource both single and multiple); the root
      // has no node kind but its entries are still meaningful.
      if (pathLevel(path) !== 'root') timedNode(entries, path, model);
      return entries;
    },
    encodeNode,
  };
}

// A format that decodes to a node has the node's entries. Each spells out its own decodeEntries
// (no shared closure) so that the call to its decoder stays monomorphic on the hot path.
const TEXT: ContentFormatCodec = {
  decodeNode: decodeTextNode,
  decodeEntries: (payload, path, model) => flattenNode(decodeTextNode(payload, path, model), path),
  encodeNode: encodeTextNode,
};
const OPAQUE: ContentFormatCodec = {
  decodeNode: (payload, path) => decodeOpaqueNode(payload, path),
  decodeEntries: (payload, path) => flattenNode(decodeOpaqueNode(payload, path), path),
  encodeNode: (_path, node) => encodeOpaqueNode(node),
};
const TLV: ContentFormatCodec = {
  decodeNode: decodeTlvNode,
  decodeEntries: (payload, path, model) => flattenNode(decodeTlvNode(payload, path, model), path),
  encodeNode: encodeTlvNode,
};
const CBOR: ContentFormatCodec = {
  decodeNode: decodeCborValueNode,
  decodeEntries: (payload, path, model) => flattenNode(decodeCborValueNode(payload, path, model), path),
  encodeNode: encodeCborValueNode,
};
const OMA_JSON = timedCodec(decodeOmaJsonEntries, encodeOmaJsonNode);

/**
 * The codecs by Content-Format number: every LwM2M format but CoRE link format (which has its own
 * parser). The pre-registration numbers map to the same codec as their registered ones.
 */
export const CODECS: ReadonlyMap<number, ContentFormatCodec> = new Map<number, ContentFormatCodec>([
  [ContentFormat.TEXT, TEXT],
  [ContentFormat.OPAQUE, OPAQUE],
  [ContentFormat.TLV, TLV],
  [ContentFormat.TLV_LEGACY, TLV],
  [ContentFormat.OMA_JSON, OMA_JSON],
  [ContentFormat.OMA_JSON_LEGACY, OMA_JSON],
  [ContentFormat.SENML_JSON, timedCodec(decodeSenmlJsonEntries, encodeSenmlJsonNode)],
  [ContentFormat.SENML_CBOR, timedCodec(decodeSenmlCborEntries, encodeSenmlCborNode)],
  [ContentFormat.CBOR, CBOR],
  // Its own entry walk: it also reads a payload for the root (Read-Composite, Send).
  [ContentFormat.LWM2M_CBOR, { decodeNode: decodeLwm2mCborNode, decodeEntries: decodeLwm2mCborEntries, encodeNode: encodeLwm2mCborNode }],
]);

/** The node for OMA JSON or SenML (JSON, CBOR) entries: of several timed values of one path, the latest wins. */
function timedNode(entries: Entry[], path: LwM2mPath, model: ModelLookup): Node {
  if (entries.length === 0 && pathLevel(path) === 'resource') {
    const { objectId, resourceId } = path as Required<Pick<LwM2mPath, 'objectId' | 'resourceId'>>;
    if (!declaredMultiple(model, objectId, resourceId)) throw new CodecError(`no value for ${formatPath(path)}`);
    return { kind: 'multiple', id: resourceId, type: declaredType(model, objectId, resourceId) ?? 'opaque', instances: new Map() };
  }
  return buildNode(path, latestPerPath(entries));
}

function latestPerPath(entries: Entry[]): Entry[] {
  const byPath = new Map<string, Entry>();
  for (const entry of entries) {
    const kept = byPath.get(entry.path);
    if (kept === undefined || (entry.time ?? 0) >= (kept.time ?? 0)) byPath.set(entry.path, entry);
  }
  return byPath.size === entries.length ? entries : [...byPath.values()];
}
