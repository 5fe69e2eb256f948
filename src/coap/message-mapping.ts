import type { Peer } from '../transport/transport';
import type { CoapMethod } from './codes';
import type { CoapMessage } from './message';
import { type CoapOption, OptionNumber, decodeUint, encodeUint } from './options';
import type { CoapRequest, CoapResponse, InboundRequest } from './types';

/** Translation between the application's request/response objects and message options. */

const EMPTY = Buffer.alloc(0);

/** Options of an outbound request (Block options are added by the caller). */
export function requestOptions(req: CoapRequest, withObserve: boolean): CoapOption[] {
  const options: CoapOption[] = [];
  if (withObserve && req.observe !== undefined) options.push({ number: OptionNumber.Observe, value: encodeUint(req.observe) });
  for (const segment of req.uriPath) options.push({ number: OptionNumber.UriPath, value: Buffer.from(segment, 'utf8') });
  if (req.contentFormat !== undefined) options.push({ number: OptionNumber.ContentFormat, value: encodeUint(req.contentFormat) });
  if (req.uriQuery) for (const q of req.uriQuery) options.push({ number: OptionNumber.UriQuery, value: Buffer.from(q, 'utf8') });
  if (req.accept !== undefined) options.push({ number: OptionNumber.Accept, value: encodeUint(req.accept) });
  if (req.options) for (const o of req.options) options.push(o);
  return options;
}

/** Options of an outbound response or notification (Block options are added by the caller). */
export function responseOptions(res: CoapResponse): CoapOption[] {
  const options: CoapOption[] = [];
  if (res.observe !== undefined) options.push({ number: OptionNumber.Observe, value: encodeUint(res.observe & 0xffffff) });
  if (res.locationPath) for (const s of res.locationPath) options.push({ number: OptionNumber.LocationPath, value: Buffer.from(s, 'utf8') });
  if (res.contentFormat !== undefined) options.push({ number: OptionNumber.ContentFormat, value: encodeUint(res.contentFormat) });
  if (res.options) for (const o of res.options) options.push(o);
  return options;
}

function isBlockwiseOption(number: number): boolean {
  return number === OptionNumber.Block1 || number === OptionNumber.Block2 || number === OptionNumber.Size2;
}

/**
 * The application's view of a response message. With `hideBlockOptions` (block-wise handled by this
 * layer) Block1/Block2/Size2 are left out: the payload is whole by the time the application sees it.
 */
export function responseFromMessage(message: CoapMessage, hideBlockOptions: boolean, payload: Buffer = message.payload): CoapResponse {
  const res: CoapResponse = { code: message.code, payload };
  let extra: CoapOption[] | undefined;
  for (const o of message.options) {
    switch (o.number) {
      case OptionNumber.Observe:
        res.observe = decodeUint(o.value);
        break;
      case OptionNumber.ContentFormat:
        res.contentFormat = decodeUint(o.value);
        break;
      case OptionNumber.LocationPath:
        (res.locationPath ??= []).push(o.value.toString('utf8'));
        break;
      default:
        if (hideBlockOptions && isBlockwiseOption(o.number)) break;
        (extra ??= []).push(o);
    }
  }
  if (extra) res.options = extra;
  return res;
}

/**
 * The application's view of a request message. Options the layer handles itself (Block*, Size1,
 * Uri-Host, Uri-Port) are not repeated in `options`.
 */
export function inboundRequestFromMessage(message: CoapMessage, method: CoapMethod, peer: Peer): InboundRequest {
  const req: InboundRequest = {
    method,
    uriPath: [],
    peer,
    payload: message.payload.length > 0 ? message.payload : EMPTY,
    confirmable: message.type === 'CON',
    messageId: message.messageId,
    token: message.token,
  };
  let extra: CoapOption[] | undefined;
  for (const o of message.options) {
    switch (o.number) {
      case OptionNumber.UriPath:
        req.uriPath.push(o.value.toString('utf8'));
        break;
      case OptionNumber.UriQuery:
        (req.uriQuery ??= []).push(o.value.toString('utf8'));
        break;
      case OptionNumber.ContentFormat:
        req.contentFormat = decodeUint(o.value);
        break;
      case OptionNumber.Accept:
        req.accept = decodeUint(o.value);
        break;
      case OptionNumber.Observe:
        req.observe = decodeUint(o.value);
        break;
      case OptionNumber.UriHost:
      case OptionNumber.UriPort:
      case OptionNumber.Block1:
      case OptionNumber.Block2:
      case OptionNumber.Size1:
      case OptionNumber.Size2:
        break;
      default:
        (extra ??= []).push(o);
    }
  }
  if (extra) req.options = extra;
  return req;
}
