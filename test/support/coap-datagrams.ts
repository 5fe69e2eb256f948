import { type CoapOption, OptionNumber, encodeMessage, encodeUint } from '../../src/coap';

/**
 * Raw CoAP requests for floods that send faster than a client stack would: a CON POST whose token
 * is its message ID (2 bytes), so an answer matches by either. Options go in any order (the
 * encoder sorts them).
 */
export function postDatagram(messageId: number, uriPath: readonly string[], options: readonly CoapOption[], payload: Buffer): Buffer {
  return encodeMessage({
    type: 'CON',
    code: '0.02',
    messageId,
    token: Buffer.from([messageId >> 8, messageId & 0xff]),
    options: [...uriPath.map((segment) => ({ number: OptionNumber.UriPath, value: Buffer.from(segment) })), ...options],
    payload,
  });
}

/** A CON GET of `uriPath`, token = message ID as in postDatagram. */
export function getDatagram(messageId: number, uriPath: readonly string[]): Buffer {
  return encodeMessage({
    type: 'CON',
    code: '0.01',
    messageId,
    token: Buffer.from([messageId >> 8, messageId & 0xff]),
    options: uriPath.map((segment) => ({ number: OptionNumber.UriPath, value: Buffer.from(segment) })),
    payload: Buffer.alloc(0),
  });
}

/** POST /rd?ep=`endpoint` with a link-format body. */
export function registerDatagram(messageId: number, endpoint: string, links = '</3/0>'): Buffer {
  return postDatagram(
    messageId,
    ['rd'],
    [
      { number: OptionNumber.ContentFormat, value: encodeUint(40) },
      { number: OptionNumber.UriQuery, value: Buffer.from(`ep=${endpoint}`) },
    ],
    Buffer.from(links),
  );
}
