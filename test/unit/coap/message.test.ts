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
import { generate } from 'coap-packet';
import { isConfirmableHeader } from '../../../src/coap/message';
import { randomBytes, seededRandom } from '../../support/seeded-random';

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

  it('encodes the RFC 7252 appendix A exchanges byte for byte', () => {
    // A.1/A.2: CON GET /temperature, MID 0x7d34, no token (then with token 0x20); ACK 2.05 "22.3 C".
    const uriPath = [{ number: OptionNumber.UriPath, value: Buffer.from('temperature') }];
    const get = { type: 'CON', code: '0.01', messageId: 0x7d34, options: uriPath, payload: Buffer.alloc(0) } as const;
    expect(encodeMessage({ ...get, token: Buffer.alloc(0) }).toString('hex')).toBe('40017d34bb74656d7065726174757265');
    expect(encodeMessage({ ...get, token: Buffer.from([0x20]) }).toString('hex')).toBe('41017d3420bb74656d7065726174757265');
    const ack = encodeMessage({ type: 'ACK', code: '2.05', messageId: 0x7d34, token: Buffer.from([0x20]), options: [], payload: Buffer.from('22.3 C') });
    expect(ack.toString('hex')).toBe('61457d3420ff32322e332043');
  });

  it('writes extended option deltas and lengths (13 and 269 boundaries) and sorts options stably', () => {
    const value = (n: number) => Buffer.alloc(n, 0x61);
    const bytes = encodeMessage({
      type: 'NON',
      code: '2.05',
      messageId: 1,
      token: Buffer.alloc(0),
      options: [
        { number: 2049, value: value(269) },
        { number: 15, value: Buffer.from('b') },
        { number: 12, value: value(13) },
        { number: 15, value: Buffer.from('c') },
      ],
      payload: Buffer.alloc(0),
    });
    const header = bytes.subarray(0, 4).toString('hex');
    expect(header).toBe('50450001');
    // 12: delta 12, length 13 -> 0xcd 0x00; 15: delta 3 -> 0x31 'b', delta 0 -> 0x01 'c'; 2049: delta 2034 -> 14, length 269 -> 14: 0xee 0x06e5 0x0000
    expect(bytes.subarray(4, 6).toString('hex')).toBe('cd00');
    expect(bytes.subarray(19, 23).toString('hex')).toBe('31620163');
    expect(bytes.subarray(23, 28).toString('hex')).toBe('ee06e50000');
    expect(bytes.length).toBe(28 + 269);
    expect(decodeMessage(bytes).options.map((o) => o.number)).toEqual([12, 15, 15, 2049]);
  });

  it('refuses what cannot be framed: a long token, a bad code, an option number above 65535', () => {
    const base: CoapMessage = { type: 'CON', code: '0.01', messageId: 1, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) };
    expect(() => encodeMessage({ ...base, token: Buffer.alloc(9) })).toThrow(RangeError);
    expect(() => encodeMessage({ ...base, code: '2.32' })).toThrow(RangeError);
    expect(() => encodeMessage({ ...base, code: 'GET' })).toThrow(RangeError);
    expect(() => encodeMessage({ ...base, options: [{ number: 65536, value: Buffer.alloc(0) }] })).toThrow(RangeError);
  });

  it('encodes 2,000 random messages exactly as coap-packet does', () => {
    const next = seededRandom(7252);
    const types = ['CON', 'NON', 'ACK', 'RST'] as const;
    for (let i = 0; i < 2000; i++) {
      const count = Math.floor(next() * 6);
      const options = Array.from({ length: count }, () => ({
        number: [1, 3, 11, 12, 14, 15, 17, 23, 27, 28, 60, 258, 2049, 65000][Math.floor(next() * 14)],
        value: randomBytes(next, [0, 1, 5, 12, 13, 14, 100, 268, 269, 300][Math.floor(next() * 10)]),
      }));
      const message: CoapMessage = {
        type: types[Math.floor(next() * 4)],
        code: `${[0, 2, 4, 5][Math.floor(next() * 4)]}.0${1 + Math.floor(next() * 5)}`,
        messageId: Math.floor(next() * 65536),
        token: randomBytes(next, Math.floor(next() * 9)),
        options,
        payload: randomBytes(next, Math.floor(next() * 3) * 40),
      };
      const reference = generate(
        {
          code: message.code,
          messageId: message.messageId,
          token: message.token,
          confirmable: message.type === 'CON',
          ack: message.type === 'ACK',
          reset: message.type === 'RST',
          options: message.options.map((o) => ({ name: o.number, value: o.value })),
          payload: message.payload,
        },
        65507,
      );
      expect(encodeMessage(message).toString('hex')).toBe(reference.toString('hex'));
    }
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
