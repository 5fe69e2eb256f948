import { OptionNumber, decodeBlock, type CoapResponse } from '../coap';
import { decodeEntries, parseLinkFormat } from './codec';
import { CodecError } from './codec/codec-error';
import { ContentFormat, contentFormatName } from './codec/content-format';
import type { ModelLookup } from './model/types';
import type { Lwm2mOperation } from './operation';
import type { Link } from './codec/link-format';
import type { Entry } from './node';
import { isSuccess, type Lwm2mResponse, type Undecodable } from './response';

const NO_ENTRIES: readonly never[] = Object.freeze([]);

/** The response as one object (notifications are the hot path: no second object to add `observe`). */
function withObserve(res: CoapResponse, content?: readonly Entry[], links?: readonly Link[], undecodable?: Undecodable): Lwm2mResponse {
  const out: { -readonly [K in keyof Lwm2mResponse]: Lwm2mResponse[K] } = { code: res.code };
  if (content) out.content = content;
  if (links) out.links = links;
  if (undecodable) out.undecodable = undecodable;
  if (res.observe !== undefined) out.observe = res.observe;
  return out;
}

/**
 * Decodes a device's CoAP answer to `op` (its response, or a notification of its observation).
 * Content is decoded for success codes only. A payload that cannot be decoded is reported in
 * `undecodable` with the format's name and the decoder's message; a failure that is not the
 * codec's own (a bug) throws.
 */
export function decodeResponse(op: Lwm2mOperation, res: CoapResponse, model: ModelLookup): Lwm2mResponse {
  if (op.type === 'write-block') return blockAnswer(res);
  if (!isSuccess(res.code)) return withObserve(res);
  switch (op.type) {
    case 'discover': {
      const text = res.payload.toString('utf8');
      if (text.trim() === '') return withObserve(res, undefined, NO_ENTRIES);
      try {
        return withObserve(res, undefined, parseLinkFormat(text));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return withObserve(res, undefined, undefined, { format: `link format (${ContentFormat.LINK})`, message, payload: res.payload });
      }
    }
    case 'read':
    case 'observe':
    case 'cancel-observe':
    case 'read-composite':
    case 'observe-composite':
    case 'cancel-observe-composite': {
      if (res.payload.length === 0) return withObserve(res, NO_ENTRIES);
      const format = res.contentFormat ?? ContentFormat.TEXT;
      try {
        return withObserve(res, decodeEntries(format, res.payload, op.path, model));
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        const name = contentFormatName(format);
        const described = name === String(format) ? `content format ${format}` : `${name} (${format})`;
        return withObserve(res, undefined, undefined, { format: described, message: err.message, payload: res.payload });
      }
    }
    default:
      return withObserve(res);
  }
}

/** A device's answer to one block of a write: its code and the Block1 it echoed, if any (a malformed one counts as none). */
function blockAnswer(res: CoapResponse): Lwm2mResponse {
  const raw = res.options?.find((o) => o.number === OptionNumber.Block1);
  const block = raw && decodeBlock(raw.value);
  return block ? { code: res.code, block1: { num: block.num, szx: block.szx, more: block.more } } : { code: res.code };
}
