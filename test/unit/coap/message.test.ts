import {
  CoapFormatError,
  OptionNumber,
  decodeBlock,
  decodeMessage,
  decodeUint,
  encodeBlock,
  encodeEmpty,
  encodeMessage,
  encodeUint,
  isFreshNotification,
  stringOptions,
  szxForSize,
  type CoapMessage,
} from '../../../src/coap';
import { isConfirmableHeader } from '../../../src/coap/message';

describe('message codec', () => {
  it('round-trips a request with options, token and payload', () => {
    const message: CoapMessage = {
      type: 'CON',
      code: '0.02',
      messageId: 0xbeef,
      token: Buffer.from('0102030405060708', 'hex'),
      options: [
        { number: OptionNumber.UriQuery, value: Buffer.from('ep=dev1') },
        { number: OptionNumber.UriPath, value: Buffer.from('rd') },
        { number: OptionNumber.ContentFormat, value: encodeUint(11543) },
        { number: OptionNumber.UriQuery, value: Buffer.from('lt=300') },
        { number: OptionNumber.Size1, value: encodeUint(5000) },
        { number: 2049, value: Buffer.from('x') },
      ],
      payload: Buffer.from('</1/0>,</3/0>'),
    };
    const decoded = decodeMessage(encodeMessage(message));
    expect(decoded.type).toBe('CON');
    expect(decoded.code).toBe('0.02');
    expect(decoded.messageId).toBe(0xbeef);
    expect(decoded.token.equals(message.token)).toBe(true);
    expect(decoded.options.map((o) => o.number)).toEqual([11, 12, 15, 15, 60, 2049]);
    expect(stringOptions(decoded.options, OptionNumber.UriQuery)).toEqual(['ep=dev1', 'lt=300']);
    expect(decodeUint(decoded.options[1].value)).toBe(11543);
    expect(decoded.payload.toString()).toBe('</1/0>,</3/0>');
  });

  it.each(['NON', 'ACK'] as const)('round-trips a %s response without token or payload', (type) => {
    const decoded = decodeMessage(encodeMessage({ type, code: '2.05', messageId: 1, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) }));
    expect(decoded).toMatchObject({ type, code: '2.05', messageId: 1, options: [] });
    expect(decoded.payload.length).toBe(0);
  });

  it('encodes empty ACK and RST as four bytes', () => {
    expect(encodeEmpty('ACK', 0x1234).toString('hex')).toBe('60001234');
    expect(encodeEmpty('RST', 0x1234).toString('hex')).toBe('70001234');
    expect(decodeMessage(encodeEmpty('RST', 7))).toMatchObject({ type: 'RST', code: '0.00', messageId: 7 });
  });

  it.each([
    ['shorter than the header', '4001'],
    ['version 2', '80010001'],
    ['token length 9', '49010001' + '00'.repeat(9)],
    ['truncated token', '44010001aabb'],
    ['reserved code class 1', '40200001'],
    ['reserved code class 7', '40e00001'],
    ['empty message with a token', '41000001aa'],
    ['payload marker without payload', '40010001ff'],
    ['option delta 15', '40010001f1'],
    ['option length 15', '400100011f'],
    ['truncated option value', '40010001b372'],
    ['truncated extended delta', '40010001d0'],
  ])('rejects %s', (_name, hex) => {
    expect(() => decodeMessage(Buffer.from(hex, 'hex'))).toThrow(CoapFormatError);
  });

  it('recognizes a CON header', () => {
    expect(isConfirmableHeader(Buffer.from('40010001', 'hex'))).toBe(true);
    expect(isConfirmableHeader(Buffer.from('50010001', 'hex'))).toBe(false);
    expect(isConfirmableHeader(Buffer.from('400100', 'hex'))).toBe(false);
    expect(isConfirmableHeader(Buffer.from('80010001', 'hex'))).toBe(false);
  });
});

describe('option values', () => {
  it('encodes uints minimally', () => {
    expect(encodeUint(0).length).toBe(0);
    expect(encodeUint(255).toString('hex')).toBe('ff');
    expect(encodeUint(256).toString('hex')).toBe('0100');
    expect(encodeUint(0x123456).toString('hex')).toBe('123456');
    expect(decodeUint(Buffer.from('01000000', 'hex'))).toBe(0x1000000);
    expect(decodeUint(Buffer.alloc(5))).toBe(-1);
    expect(() => encodeUint(-1)).toThrow(RangeError);
  });

  it('encodes and decodes block values', () => {
    for (const block of [
      { num: 0, more: true, szx: 6 },
      { num: 1, more: false, szx: 2 },
      { num: 4095, more: true, szx: 0 },
      { num: 0xfffff, more: false, szx: 6 },
    ]) {
      expect(decodeBlock(encodeBlock(block))).toEqual(block);
    }
    expect(decodeBlock(Buffer.from([0x0f]))).toBeUndefined(); // SZX 7 is reserved
    expect(decodeBlock(Buffer.alloc(4))).toBeUndefined();
    expect(szxForSize(1024)).toBe(6);
    expect(szxForSize(16)).toBe(0);
    expect(() => szxForSize(1000)).toThrow(RangeError);
  });
});

describe('notification freshness (RFC 7641 §3.4)', () => {
  const t = 1_000_000;
  it('accepts a larger sequence number and rejects an equal or smaller one', () => {
    expect(isFreshNotification(5, t, 6, t + 1)).toBe(true);
    expect(isFreshNotification(5, t, 5, t + 1)).toBe(false);
    expect(isFreshNotification(5, t, 4, t + 1)).toBe(false);
  });
  it('handles the 24-bit wrap-around', () => {
    expect(isFreshNotification(0xffffff, t, 1, t + 1)).toBe(true);
    expect(isFreshNotification(1, t, 0xffffff, t + 1)).toBe(false);
  });
  it('accepts anything more than 128 s later', () => {
    expect(isFreshNotification(5, t, 4, t + 128_001)).toBe(true);
  });
});
