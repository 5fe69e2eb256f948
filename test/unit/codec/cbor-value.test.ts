import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';
import type { Node, Value } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';
import { CodecError } from '../../../src/lwm2m/codec/codec-error';
import { decodeCborValueNode, encodeCborValueNode, readCbor } from '../../../src/lwm2m/codec/cbor-value';
import { mutateBytes as mutate, randomBytes, seededRandom as random } from '../../support/seeded-random';

/** /1024/0/R: one resource of every type; 9 is a multiple integer, 10 executable. */
const TYPES: Record<number, [ResourceType, boolean?]> = {
  0: ['string'], 1: ['integer'], 2: ['unsigned'], 3: ['float'], 4: ['boolean'], 5: ['opaque'], 6: ['time'],
  7: ['objlnk'], 8: ['corelnk'], 9: ['integer', true], 10: ['none'],
};
const model: ModelLookup = {
  resourceDefinition(objectId, resourceId) {
    const def = objectId === 1024 ? TYPES[resourceId] : undefined;
    return def && { id: resourceId, name: 'r', operations: 'RW', multiple: def[1] ?? false, mandatory: false, type: def[0] };
  },
};
const noModel: ModelLookup = { resourceDefinition: () => undefined };

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const decode = (bytes: Buffer, path: string, m: ModelLookup = model): Node => decodeCborValueNode(bytes, parsePath(path), m);
const encode = (path: string, node: Node, m: ModelLookup = model): string =>
  encodeCborValueNode(parsePath(path), node, m).toString('hex');
const single = (id: number, type: ResourceType, value: Value): Node => ({ kind: 'single', id, type, value });

/*
 * A CBOR head byte is major type << 5 | additional information: < 24 the value itself, 24/25/26/27
 * a 1/2/4/8-byte argument following. Major 0 uint, 1 negative (-1 - n), 2 bytes, 3 text, 6 tag,
 * 7 simple/float (F4 false, F5 true, F9 half, FA single, FB double).
 * Hand-checked vectors (RFC 8949 §3); the TS Core does not give CBOR bytes for format 60. The value
 * mapping is that of TS Core 1.2 Table C.2 (time: RFC 7049 §2.4.1, i.e. tag 1), and the widths are
 * those of Anjay-lite's encoder (see the cross-check below).
 */
const VECTORS: Array<[string, number, string, Value, string]> = [
  ['integer 5: major 0, value in the head', 1, '05', 5, 'integer'],
  ['integer 1000: major 0 + 2-byte argument 03E8', 1, '19 03E8', 1000, 'integer'],
  ['integer -5: major 1 (0x20) with n = 4', 1, '24', -5, 'integer'],
  ['integer -2^63: major 1, 8-byte n = 2^63-1', 1, '3B 7FFFFFFFFFFFFFFF', -(2n ** 63n), 'integer'],
  ['unsigned 2^64-1: major 0, 8-byte argument', 2, '1B FFFFFFFFFFFFFFFF', 2n ** 64n - 1n, 'unsigned'],
  ['unsigned 300: major 0 + 2-byte argument 012C', 2, '19 012C', 300, 'unsigned'],
  ['float 1.5: single precision FA 3FC00000', 3, 'FA 3FC00000', 1.5, 'float'],
  ['float 0.1: double precision FB 3FB999999999999A', 3, 'FB 3FB999999999999A', 0.1, 'float'],
  ['boolean true: simple 21 = F5', 4, 'F5', true, 'boolean'],
  ['boolean false: simple 20 = F4', 4, 'F4', false, 'boolean'],
  ['string "abc": major 3 length 3 (0x63) + UTF-8', 0, '63 616263', 'abc', 'string'],
  ['opaque 010203: major 2 length 3 (0x43)', 5, '43 010203', hex('010203'), 'opaque'],
  ['time 1367491215: tag 1 (C1) + uint 0x5182428F', 6, 'C1 1A 5182428F', 1367491215, 'time'],
  ['objlnk 3:0: text "3:0"', 7, '63 333A30', { objectId: 3, instanceId: 0 }, 'objlnk'],
  ['corelnk "</3/0>": text of 6 bytes (0x66)', 8, '66 3C2F332F303E', '</3/0>', 'corelnk'],
];

describe('plain CBOR value (content format 60)', () => {
  it.each(VECTORS)('%s', (_name, resourceId, bytes, value, type) => {
    const node = decode(hex(bytes), `/1024/0/${resourceId}`);
    expect(node).toEqual({ kind: 'single', id: resourceId, type, value });
    expect(encode(`/1024/0/${resourceId}`, node)).toBe(hex(bytes).toString('hex'));
  });

  /*
   * AVSystem Anjay-lite tests/anj/io/cbor_encoder.c (content format 60): the bytes that client writes
   * for each value, which our encoder writes too (integers shortest, time as tag 1, floats single
   * when exact else double, object links as "O:I" text).
   */
  it.each([
    [1, 0, '00'], [1, 24, '18 18'], [1, 1000, '19 03E8'], [1, 65536, '1A 00010000'], [1, 4294967296, '1B 0000000100000000'],
    [1, 2n ** 63n - 1n, '1B 7FFFFFFFFFFFFFFF'], [1, -1, '20'], [1, -25, '38 18'], [1, -257, '39 0100'], [1, -1000, '39 03E7'],
    [1, -(2n ** 63n), '3B 7FFFFFFFFFFFFFFF'],
    [6, 24, 'C1 18 18'], [6, 4294967295, 'C1 1A FFFFFFFF'],
    [4, true, 'F5'], [4, false, 'F4'],
    [3, -0, 'FA 80000000'], [3, 100000, 'FA 47C35000'], [3, 1.1, 'FB 3FF199999999999A'], [3, 1e300, 'FB 7E37E43C8800759C'],
    [3, -4.1, 'FB C010666666666666'],
    [7, { objectId: 0, instanceId: 0 }, '63 303A30'], [7, { objectId: 2137, instanceId: 1 }, '66 323133373A31'],
    [7, { objectId: 0, instanceId: 60001 }, '67 303A3630303031'],
    [0, '', '60'], [0, 'DZBORG:DD', '69 445A424F52473A4444'], [5, hex('01020304'), '44 01020304'],
  ] as Array<[number, Value, string]>)('Anjay-lite vector: resource %i = %p → %s', (resourceId, value, bytes) => {
    const type = TYPES[resourceId][0];
    expect(encode(`/1024/0/${resourceId}`, single(resourceId, type, value))).toBe(hex(bytes).toString('hex'));
    expect(decode(hex(bytes), `/1024/0/${resourceId}`)).toEqual(single(resourceId, type, value));
  });

  it('decodes other spellings: half floats, an integer for a float, a bare integer or tagged float for time', () => {
    expect(decode(hex('F9 3E00'), '/1024/0/3')).toEqual(single(3, 'float', 1.5)); // half: 0 01111 1000000000
    expect(decode(hex('F9 7C00'), '/1024/0/3')).toEqual(single(3, 'float', Infinity));
    expect(decode(hex('F9 0001'), '/1024/0/3')).toEqual(single(3, 'float', 2 ** -24)); // subnormal
    expect(decode(hex('18 2A'), '/1024/0/3')).toEqual(single(3, 'float', 42));
    expect(decode(hex('1A 5182428F'), '/1024/0/6')).toEqual(single(6, 'time', 1367491215));
    expect(decode(hex('C1 FB 41D46090A3C00000'), '/1024/0/6')).toEqual(single(6, 'time', 1367491215));
    expect(decode(hex('18 18'), '/1024/0/1')).toEqual(single(1, 'integer', 24)); // 24 needs a 1-byte argument
    expect(decode(hex('5F 41 01 42 0203 FF'), '/1024/0/5')).toEqual(single(5, 'opaque', hex('010203'))); // chunked
    expect(decode(hex('7F 61 61 62 6263 FF'), '/1024/0/0')).toEqual(single(0, 'string', 'abc'));
    // Decimal fractions (RFC 8949 §3.4.4: tag 4 around [exponent, mantissa]): 273.15 and -0.5.
    expect(decode(hex('C4 82 21 19 6AB3'), '/1024/0/3')).toEqual(single(3, 'float', 273.15));
    expect(decode(hex('C4 82 20 24'), '/1024/0/3')).toEqual(single(3, 'float', -0.5));
    expect(decode(hex('C4 82 21 19 6AB3'), '/1024/0/3', noModel)).toEqual(single(3, 'float', 273.15));
    expect(() => decode(hex('C4 82 21 19 6AB3'), '/1024/0/1')).toThrow(CodecError); // not for an integer
    expect(() => decode(hex('C4 83 21 01 02'), '/1024/0/3')).toThrow(CodecError); // three elements
    expect(() => decode(hex('C4 82 21 F9 3E00'), '/1024/0/3')).toThrow(CodecError); // float mantissa
  });

  it('types values of unknown resources by their CBOR major type', () => {
    const cases: Array<[string, ResourceType, Value]> = [
      ['05', 'integer', 5], ['24', 'integer', -5], ['1B 8000000000000000', 'unsigned', 2n ** 63n],
      ['FA 3FC00000', 'float', 1.5], ['F4', 'boolean', false], ['63 616263', 'string', 'abc'],
      ['42 0102', 'opaque', hex('0102')], ['C1 05', 'time', 5], ['1B 0020000000000000', 'integer', 2n ** 53n],
    ];
    for (const [bytes, type, value] of cases) expect(decode(hex(bytes), '/9/0/1', noModel)).toEqual(single(1, type, value));
    // An executable resource has no value type either.
    expect(decode(hex('05'), '/1024/0/10')).toEqual(single(10, 'integer', 5));
  });

  it('decodes and encodes resource instances', () => {
    const node = decode(hex('19 0ED8'), '/1024/0/9/1');
    expect(node).toEqual({ kind: 'resourceInstance', id: 1, type: 'integer', value: 3800 });
    expect(encode('/1024/0/9/1', node)).toBe('190ed8');
  });

  it('encodes by the model type, coercing MQTT spellings; unknown resources by the node type', () => {
    expect(encode('/1024/0/1', single(1, 'string', '-5'))).toBe('24');
    expect(encode('/1024/0/3', single(3, 'integer', 2))).toBe('fa40000000');
    expect(encode('/1024/0/6', single(6, 'integer', '5'))).toBe('c105');
    expect(encode('/1024/0/5', single(5, 'string', 'AQID'))).toBe('43010203');
    expect(encode('/1024/0/7', single(7, 'string', '65:1'))).toBe('64' + Buffer.from('65:1').toString('hex'));
    expect(encode('/9/0/1', single(1, 'boolean', true), noModel)).toBe('f5');
    expect(encode('/1024/0/3', single(3, 'float', NaN))).toBe('fa7fc00000');
  });

  it('round trips every type, byte for byte', () => {
    const values: Array<[number, Value]> = [
      [0, 'héllo ✓'], [1, -(2n ** 63n)], [1, 2n ** 63n - 1n], [1, 0], [1, -24], [1, -25], [1, 65536], [2, 2n ** 64n - 1n],
      [2, 4294967296], [3, -0.25], [3, 1e300], [3, -Infinity], [4, true], [5, Buffer.alloc(300, 7)], [6, 0],
      [6, -1], [7, { objectId: 65535, instanceId: 0 }], [8, '</1>;rt="x"'], [0, ''],
    ];
    for (const [resourceId, value] of values) {
      const type = TYPES[resourceId][0];
      const path = parsePath(`/1024/0/${resourceId}`);
      const bytes = encodeCborValueNode(path, single(resourceId, type, value), model);
      expect(decodeCborValueNode(bytes, path, model)).toEqual(single(resourceId, type, value));
      // Preferred serialization: re-encoding the decoded node gives the same bytes.
      expect(encodeCborValueNode(path, decodeCborValueNode(bytes, path, model), model)).toEqual(bytes);
    }
  });

  it('rejects maps, arrays, wrong levels, wrong types and malformed CBOR with CodecError', () => {
    const rejected: Array<[string, string, RegExp]> = [
      ['A1 00 01', '/1024/0/1', /single value, not a map/],
      ['82 01 02', '/1024/0/1', /single value, not an array/],
      ['05', '/1024/0', /only a resource or resource instance/],
      ['05', '/1024', /only a resource or resource instance/],
      ['05', '/', /only a resource or resource instance/],
      ['63 616263', '/1024/0/1', /a text string is not a valid integer value/],
      ['FA 3FC00000', '/1024/0/1', /not a valid integer/],
      ['1B 8000000000000000', '/1024/0/1', /not a valid integer/],
      ['24', '/1024/0/2', /not a valid unsigned/],
      ['F5', '/1024/0/0', /not a valid string/],
      ['43 010203', '/1024/0/0', /not a valid string/],
      ['63 616263', '/1024/0/5', /not a valid opaque/],
      ['01', '/1024/0/4', /not a valid boolean/],
      ['63 616263', '/1024/0/3', /not a valid float/],
      ['62 333A', '/1024/0/7', /object link/],
      ['68 37303030303A3030', '/1024/0/7', /object link/],
      ['C2 41 01', '/1024/0/6', /not a valid time/],
      ['C1 FB 3FF8000000000000', '/1024/0/6', /not a valid time/],
      ['C1 63 616263', '/1024/0/6', /not a valid time/],
      ['C2 41 01', '/9/0/1', /unsupported CBOR tag 2/],
      ['3B FFFFFFFFFFFFFFFF', '/9/0/1', /below -2\^63/],
      ['F6', '/1024/0/1', /null is not a valid integer/],
      ['F6', '/9/0/1', /null is not an LwM2M value/],
      ['F7', '/9/0/1', /undefined is not an LwM2M value/],
      ['', '/1024/0/1', /empty CBOR payload/],
      ['05 05', '/1024/0/1', /1 trailing bytes/],
      ['19 03', '/1024/0/1', /truncated/],
      ['63 6162', '/1024/0/0', /exceeds the 2 bytes left/],
      ['62 C328', '/1024/0/0', /not valid UTF-8/],
      ['1C', '/1024/0/1', /reserved CBOR additional information 28/],
      ['FF', '/1024/0/1', /unexpected CBOR break/],
      ['F0', '/1024/0/1', /unsupported CBOR simple value/],
      ['F8 20', '/1024/0/1', /unsupported CBOR simple value/],
      ['1F', '/1024/0/1', /cannot have an indefinite length/],
      ['5F 41 01', '/1024/0/5', /not terminated/],
      ['5F 61 61 FF', '/1024/0/5', /chunk of another type/],
      ['9B FFFFFFFFFFFFFFFF', '/1024/0/1', /exceeds/],
      ['C1', '/1024/0/6', /truncated/],
    ];
    for (const [bytes, path, message] of rejected) {
      expect(() => decode(hex(bytes), path)).toThrow(CodecError);
      expect(() => decode(hex(bytes), path)).toThrow(message);
    }
  });

  it('refuses to encode anything but a single value of a representable type', () => {
    const instance: Node = { kind: 'instance', id: 0, resources: new Map() };
    const multiple: Node = { kind: 'multiple', id: 9, type: 'integer', instances: new Map([[0, 1]]) };
    expect(() => encode('/1024/0', instance)).toThrow(/cannot carry a instance node/);
    expect(() => encode('/1024/0/9', multiple)).toThrow(CodecError);
    expect(() => encode('/1024/0/10', single(10, 'none', ''))).toThrow(/executable/);
    expect(() => encode('/1024/0/1', single(1, 'integer', 'x'))).toThrow(CodecError);
    expect(() => encode('/1024/0/1', single(1, 'integer', 2n ** 63n))).toThrow(/64-bit range/);
    expect(() => encode('/1024/0/2', single(2, 'unsigned', -1))).toThrow(/0..2\^64-1/);
    expect(() => encode('/1024/0/2', single(2, 'unsigned', 2n ** 64n))).toThrow(/0..2\^64-1/);
    expect(() => encode('/1024/0/7', single(7, 'objlnk', '3'))).toThrow(CodecError);
  });

  it('fuzz: 5,000 random and mutated payloads throw only CodecError', () => {
    const next = random(60);
    const seeds = VECTORS.map(([, , bytes]) => hex(bytes)).concat([hex('5F 41 01 42 0203 FF'), hex('A1 00 01'), hex('C1 05')]);
    const paths = ['/1024/0/0', '/1024/0/1', '/1024/0/2', '/1024/0/3', '/1024/0/6', '/1024/0/7', '/1024/0/9/1', '/9/0/1'].map(
      (p) => parsePath(p),
    );
    for (let i = 0; i < 5000; i++) {
      const payload = i % 2 === 0 ? randomBytes(next, Math.floor(next() * 12)) : mutate(next, seeds[i % seeds.length]);
      const path = paths[i % paths.length];
      try {
        const node = decodeCborValueNode(payload, path, i % 3 === 0 ? noModel : model);
        encodeCborValueNode(path, node, i % 3 === 0 ? noModel : model);
      } catch (err) {
        if (!(err instanceof CodecError)) throw new Error(`payload ${payload.toString('hex')}: ${String(err)}`);
      }
    }
    // The reader alone as well.
    for (let i = 0; i < 1000; i++) {
      try {
        readCbor(randomBytes(next, 1 + Math.floor(next() * 20)));
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
      }
    }
  });
});


