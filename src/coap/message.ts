import { generate, parse } from 'coap-packet';
import { EMPTY_CODE } from './codes';
import type { CoapOption } from './options';

/** A CoAP message as this layer handles it: framing only, no request/response semantics. */

export type MessageType = 'CON' | 'NON' | 'ACK' | 'RST';

export interface CoapMessage {
  type: MessageType;
  code: string;
  messageId: number;
  token: Buffer;
  /** In wire order (ascending number, repeated options in their order). */
  options: CoapOption[];
  payload: Buffer;
}

/** The datagram is not a well-formed CoAP message (§3). */
export class CoapFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoapFormatError';
  }
}

export const MAX_TOKEN_LENGTH = 8;
/** Largest UDP payload; coap-packet's own default (1280) would refuse non-block-wise large bodies. */
const MAX_DATAGRAM_SIZE = 65507;
const TYPE_BITS: Record<MessageType, number> = { CON: 0, NON: 1, ACK: 2, RST: 3 };
const TYPE_BY_BITS: readonly MessageType[] = ['CON', 'NON', 'ACK', 'RST'];

/** True if the header looks like a CoAP 1 CON: such a datagram is answered with RST when it is malformed (§4.2). */
export function isConfirmableHeader(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes[0] >> 6 === 1 && ((bytes[0] >> 4) & 3) === 0;
}

/** An empty ACK or RST (4 bytes, code 0.00, no token), written directly: it is the most frequent reply. */
export function encodeEmpty(type: 'ACK' | 'RST', messageId: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf[0] = 0x40 | (TYPE_BITS[type] << 4);
  buf[1] = 0;
  buf.writeUInt16BE(messageId, 2);
  return buf;
}

export function encodeMessage(message: CoapMessage): Buffer {
  if (message.token.length > MAX_TOKEN_LENGTH) throw new RangeError('token longer than 8 bytes');
  return generate(
    {
      code: message.code,
      messageId: message.messageId,
      token: message.token,
      confirmable: message.type === 'CON',
      ack: message.type === 'ACK',
      reset: message.type === 'RST',
      // coap-packet sorts this array in place (stably); it is always built fresh for one message.
      options: message.options.map((o) => ({ name: o.number, value: o.value })),
      payload: message.payload,
    },
    MAX_DATAGRAM_SIZE,
  );
}

/**
 * Decodes a datagram; throws CoapFormatError for anything malformed.
 * coap-packet neither bounds-checks option values (it silently truncates them), nor rejects token
 * lengths 9..15 (it implements RFC 8974 extended tokens), nor a payload marker without payload, and it
 * reports option numbers as names; so we walk the header and options first, validate, and keep the numbers.
 */
export function decodeMessage(bytes: Buffer): CoapMessage {
  const numbers = scanOptions(bytes);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(bytes);
  } catch (err) {
    throw new CoapFormatError((err as Error).message);
  }
  const options: CoapOption[] = new Array(numbers.length);
  for (let i = 0; i < numbers.length; i++) options[i] = { number: numbers[i], value: parsed.options[i].value };
  return {
    type: TYPE_BY_BITS[(bytes[0] >> 4) & 3],
    code: parsed.code,
    messageId: parsed.messageId,
    token: parsed.token,
    options,
    payload: parsed.payload,
  };
}

/** Validates the framing (§3) and returns the option numbers in order. */
function scanOptions(bytes: Buffer): number[] {
  const length = bytes.length;
  if (length < 4) throw new CoapFormatError('shorter than the 4-byte header');
  const first = bytes[0];
  if (first >> 6 !== 1) throw new CoapFormatError('unsupported version');
  const tokenLength = first & 15;
  if (tokenLength > MAX_TOKEN_LENGTH) throw new CoapFormatError('token length above 8');
  const codeClass = bytes[1] >> 5;
  if (codeClass === 1 || codeClass >= 6) throw new CoapFormatError('reserved code class');
  if (bytes[1] === 0) {
    if (length !== 4) throw new CoapFormatError('empty message with token, options or payload');
    return [];
  }
  let pos = 4 + tokenLength;
  if (pos > length) throw new CoapFormatError('truncated token');
  const numbers: number[] = [];
  let number = 0;
  while (pos < length) {
    const byte = bytes[pos++];
    if (byte === 0xff) {
      if (pos === length) throw new CoapFormatError('payload marker without payload');
      break;
    }
    let delta = byte >> 4;
    let valueLength = byte & 15;
    if (delta === 15 || valueLength === 15) throw new CoapFormatError('reserved option nibble');
    if (delta === 13) {
      if (pos + 1 > length) throw new CoapFormatError('truncated option delta');
      delta = bytes[pos++] + 13;
    } else if (delta === 14) {
      if (pos + 2 > length) throw new CoapFormatError('truncated option delta');
      delta = bytes.readUInt16BE(pos) + 269;
      pos += 2;
    }
    if (valueLength === 13) {
      if (pos + 1 > length) throw new CoapFormatError('truncated option length');
      valueLength = bytes[pos++] + 13;
    } else if (valueLength === 14) {
      if (pos + 2 > length) throw new CoapFormatError('truncated option length');
      valueLength = bytes.readUInt16BE(pos) + 269;
      pos += 2;
    }
    number += delta;
    if (number > 0xffff) throw new CoapFormatError('option number above 65535');
    pos += valueLength;
    if (pos > length) throw new CoapFormatError('truncated option value');
    numbers.push(number);
  }
  return numbers;
}

export function findOption(options: readonly CoapOption[], number: number): Buffer | undefined {
  for (let i = 0; i < options.length; i++) if (options[i].number === number) return options[i].value;
  return undefined;
}

export function countOption(options: readonly CoapOption[], number: number): number {
  let n = 0;
  for (let i = 0; i < options.length; i++) if (options[i].number === number) n++;
  return n;
}

/** The values of a repeatable string option (Uri-Path, Uri-Query, Location-Path) as UTF-8 strings. */
export function stringOptions(options: readonly CoapOption[], number: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < options.length; i++) if (options[i].number === number) out.push(options[i].value.toString('utf8'));
  return out;
}

export function isEmptyMessage(message: CoapMessage): boolean {
  return message.code === EMPTY_CODE;
}
