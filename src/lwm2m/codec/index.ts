import type { ModelLookup } from '../model/types';
import type { Entry, Node } from '../node';
import { formatPath, pathLevel, type LwM2mPath } from '../path';
import { CodecError } from './codec-error';
import { ContentFormat, contentFormatName } from './content-format';
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

export { CodecError } from './codec-error';
export { ContentFormat, contentFormatMediaType, contentFormatName, parseContentFormat } from './content-format';
export { formatLink, parseLinkFormat, type Link } from './link-format';
export { buildNode, flattenNode } from './node-entries';

/** Formats decodeNode/encodeNode handle (every LwM2M one but CoRE link format, which has its own parser). */
export function isSupportedFormat(format: number): boolean {
  switch (format) {
    case ContentFormat.TEXT:
    case ContentFormat.OPAQUE:
    case ContentFormat.TLV:
    case ContentFormat.TLV_LEGACY:
    case ContentFormat.OMA_JSON:
    case ContentFormat.OMA_JSON_LEGACY:
    case ContentFormat.SENML_JSON:
    case ContentFormat.SENML_CBOR:
    case ContentFormat.CBOR:
    case ContentFormat.LWM2M_CBOR:
      return true;
    default:
      return false;
  }
}

/** Decodes a payload relative to the request path `path`; throws CodecError. */
export function decodeNode(format: number, payload: Buffer, path: LwM2mPath, model: ModelLookup): Node {
  switch (format) {
    case ContentFormat.TLV:
    case ContentFormat.TLV_LEGACY:
      return decodeTlvNode(payload, path, model);
    case ContentFormat.TEXT:
      return decodeTextNode(payload, path, model);
    case ContentFormat.OPAQUE:
      return decodeOpaqueNode(payload, path);
    case ContentFormat.OMA_JSON:
    case ContentFormat.OMA_JSON_LEGACY:
      return timedNode(decodeOmaJsonEntries(payload, path, model), path, model);
    case ContentFormat.SENML_JSON:
      return timedNode(decodeSenmlJsonEntries(payload, path, model), path, model);
    case ContentFormat.SENML_CBOR:
      return timedNode(decodeSenmlCborEntries(payload, path, model), path, model);
    case ContentFormat.CBOR:
      return decodeCborValueNode(payload, path, model);
    case ContentFormat.LWM2M_CBOR:
      return decodeLwm2mCborNode(payload, path, model);
    default:
      throw unsupported(format);
  }
}

/**
 * Decodes to entries with absolute paths ("/3/0/1", "/3/0/7/1"): flattenNode(decodeNode(..)),
 * except that OMA JSON, SenML JSON and SenML CBOR keep every timed value with its `time` (the node has room
 * for one).
 */
export function decodeEntries(format: number, payload: Buffer, path: LwM2mPath, model: ModelLookup): Entry[] {
  let entries: Entry[];
  if (format === ContentFormat.OMA_JSON || format === ContentFormat.OMA_JSON_LEGACY) {
    entries = decodeOmaJsonEntries(payload, path, model);
  } else if (format === ContentFormat.SENML_JSON) {
    entries = decodeSenmlJsonEntries(payload, path, model);
  } else if (format === ContentFormat.SENML_CBOR) {
    entries = decodeSenmlCborEntries(payload, path, model);
  } else if (format === ContentFormat.LWM2M_CBOR) {
    // Its own entry walk: it also reads a payload for the root (Read-Composite, Send).
    return decodeLwm2mCborEntries(payload, path, model);
  } else {
    return flattenNode(decodeNode(format, payload, path, model), path);
  }
  // Same structural checks as decodeNode (e.g. a resource both single and multiple); the root
  // has no node kind but its entries are still meaningful.
  if (pathLevel(path) !== 'root') timedNode(entries, path, model);
  return entries;
}

/** Encodes a node for the request path `path`; throws CodecError. */
export function encodeNode(format: number, path: LwM2mPath, node: Node, model: ModelLookup): Buffer {
  switch (format) {
    case ContentFormat.TLV:
    case ContentFormat.TLV_LEGACY:
      return encodeTlvNode(path, node, model);
    case ContentFormat.TEXT:
      return encodeTextNode(path, node, model);
    case ContentFormat.OPAQUE:
      return encodeOpaqueNode(node);
    case ContentFormat.OMA_JSON:
    case ContentFormat.OMA_JSON_LEGACY:
      return encodeOmaJsonNode(path, node, model);
    case ContentFormat.SENML_JSON:
      return encodeSenmlJsonNode(path, node, model);
    case ContentFormat.SENML_CBOR:
      return encodeSenmlCborNode(path, node, model);
    case ContentFormat.CBOR:
      return encodeCborValueNode(path, node, model);
    case ContentFormat.LWM2M_CBOR:
      return encodeLwm2mCborNode(path, node, model);
    default:
      throw unsupported(format);
  }
}

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

function unsupported(format: number): CodecError {
  return new CodecError(`unsupported content format ${contentFormatName(format)}`);
}
