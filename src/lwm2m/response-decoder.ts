import type { CoapResponse } from '../coap';
import { decodeEntries, parseLinkFormat } from './codec';
import { CodecError } from './codec/codec-error';
import { ContentFormat, contentFormatName } from './codec/content-format';
import type { ModelLookup } from './model/types';
import type { Lwm2mOperation } from './operation';
import { isSuccess, type Lwm2mResponse } from './response';

const NO_ENTRIES: readonly never[] = Object.freeze([]);

function withObserve(res: CoapResponse, out: { code: string; content?: Lwm2mResponse['content']; links?: Lwm2mResponse['links']; undecodable?: Lwm2mResponse['undecodable'] }): Lwm2mResponse {
  return res.observe === undefined ? out : { ...out, observe: res.observe };
}

/**
 * Decodes a device's CoAP answer to `op` (its response, or a notification of its observation).
 * Content is decoded for success codes only. A payload that cannot be decoded is reported in
 * `undecodable` with the format's name and the decoder's message; a failure that is not the
 * codec's own (a bug) throws.
 */
export function decodeResponse(op: Lwm2mOperation, res: CoapResponse, model: ModelLookup): Lwm2mResponse {
  if (!isSuccess(res.code)) return withObserve(res, { code: res.code });
  switch (op.type) {
    case 'discover': {
      const text = res.payload.toString('utf8');
      if (text.trim() === '') return withObserve(res, { code: res.code, links: NO_ENTRIES });
      try {
        return withObserve(res, { code: res.code, links: parseLinkFormat(text) });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return withObserve(res, { code: res.code, undecodable: { format: `link format (${ContentFormat.LINK})`, message, payload: res.payload } });
      }
    }
    case 'read':
    case 'observe':
    case 'cancel-observe':
    case 'read-composite':
    case 'observe-composite':
    case 'cancel-observe-composite': {
      if (res.payload.length === 0) return withObserve(res, { code: res.code, content: NO_ENTRIES });
      const format = res.contentFormat ?? ContentFormat.TEXT;
      try {
        return withObserve(res, { code: res.code, content: decodeEntries(format, res.payload, op.path, model) });
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        const name = contentFormatName(format);
        const described = name === String(format) ? `content format ${format}` : `${name} (${format})`;
        return withObserve(res, { code: res.code, undecodable: { format: described, message: err.message, payload: res.payload } });
      }
    }
    default:
      return withObserve(res, { code: res.code });
  }
}
