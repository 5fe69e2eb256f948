import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';
import type { Node } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';
import { CodecError, ContentFormat, decodeEntries, decodeNode, encodeNode, flattenNode } from '../../../src/lwm2m/codec';
import { readTlv, TlvKind, writeTlv } from '../../../src/lwm2m/codec/tlv';

/** Resource types of the objects used by the spec's TLV examples: [type, multiple]. */
const SPEC: Record<number, Record<number, [ResourceType, boolean?]>> = {
  1: { 0: ['integer'], 1: ['integer'], 6: ['boolean'], 7: ['string'] },
  2: { 0: ['integer'], 1: ['integer'], 2: ['integer', true], 3: ['integer'] },
  3: {
    0: ['string'], 1: ['string'], 2: ['string'], 3: ['string'], 4: ['none'], 6: ['integer', true],
    7: ['integer', true], 8: ['integer', true], 9: ['integer'], 10: ['integer'], 11: ['integer', true],
    13: ['time'], 14: ['string'], 15: ['string'], 16: ['string'], 17: ['string'],
  },
  // Objects 65 and 66 of the spec's object link example (LwM2M 1.0.1 §6.4.3.3, 1.1 §7.4.3).
  65: { 0: ['objlnk', true], 1: ['string'], 2: ['integer'] },
  66: { 0: ['string'], 1: ['string'], 2: ['objlnk'] },
  1024: { 0: ['unsigned'], 1: ['float'], 2: ['boolean'], 3: ['objlnk'], 4: ['opaque'], 5: ['time'] },
};
const model: ModelLookup = {
  resourceDefinition(objectId, resourceId) {
    const def = SPEC[objectId]?.[resourceId];
    if (!def) return undefined;
    return { id: resourceId, name: `r${resourceId}`, operations: 'RW', multiple: def[1] ?? false, mandatory: false, type: def[0] };
  },
};
const noModel: ModelLookup = { resourceDefinition: () => undefined };

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const TLV = ContentFormat.TLV;
const decode = (bytes: Buffer, path: string, m: ModelLookup = model): Node => decodeNode(TLV, bytes, parsePath(path), m);
const encode = (path: string, node: Node): Buffer => encodeNode(TLV, parsePath(path), node, model);
const valueBytes = (bytes: Buffer): Buffer => {
  const [record] = readTlv(bytes);
  return bytes.subarray(record.start, record.end);
};
const entriesOf = (bytes: Buffer, path: string): [string, string, unknown][] =>
  decodeEntries(TLV, bytes, parsePath(path), model).map((e) => [e.path, e.type, e.value]);

// OMA TS LwM2M 1.0 §6.4.3.1 / 1.1 §7.4.3.1: GET /3/0, resources without an object instance TLV (121 bytes).
const DEVICE_RESOURCES = hex(`
  C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65
  C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74
  C8 02 09 33 34 35 30 30 30 31 32 33
  C3 03 31 2E 30
  86 06 41 00 01 41 01 05
  88 07 08 42 00 0E D8 42 01 13 88
  87 08 41 00 7D 42 01 03 84
  C1 09 64
  C1 0A 0F
  83 0B 41 00 00
  C4 0D 51 82 42 8F
  C6 0E 2B 30 32 3A 30 30
  C1 10 55`);
// §6.4.3.2 A): GET /3, the same resources inside an object instance TLV.
const DEVICE_OBJECT = Buffer.concat([hex('08 00 79'), DEVICE_RESOURCES]);
// §6.4.3.2 B): GET /2, two Access Control instances (0 and 2; ACL instance 310 has a 16-bit id).
const ACCESS_CONTROL = hex(`
  08 00 0E C1 00 01 C1 01 00 83 02 41 7F 07 C1 03 7F
  08 02 12 C1 00 03 C1 01 00 87 02 41 7F 07 61 01 36 01 C1 03 7F`);
// §6.4.3.2 C): GET /1, one Server instance.
const SERVER = hex('08 00 0F C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55');
// §6.4.3.3 / 1.1 §7.4.3: object links, GET /65/0 and GET /66.
const OBJ65_INSTANCE = hex(`
  88 00 0C 44 00 00 42 00 00 44 01 00 42 00 01
  C8 01 0D 38 36 31 33 38 30 30 37 35 35 35 30 30
  C4 02 12 34 56 78`);
const OBJ66 = hex(`
  08 00 26 C8 00 0B 6D 79 53 65 72 76 69 63 65 20 31
           C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 34
           C4 02 00 43 00 00
  08 01 26 C8 00 0B 6D 79 53 65 72 76 69 63 65 20 32
           C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 35
           C4 02 FF FF FF FF`);

const DEVICE_ENTRIES = [
  ['/3/0/0', 'string', 'Open Mobile Alliance'],
  ['/3/0/1', 'string', 'Lightweight M2M Client'],
  ['/3/0/2', 'string', '345000123'],
  ['/3/0/3', 'string', '1.0'],
  ['/3/0/6/0', 'integer', 1],
  ['/3/0/6/1', 'integer', 5],
  ['/3/0/7/0', 'integer', 3800],
  ['/3/0/7/1', 'integer', 5000],
  ['/3/0/8/0', 'integer', 125],
  ['/3/0/8/1', 'integer', 900],
  ['/3/0/9', 'integer', 100],
  ['/3/0/10', 'integer', 15],
  ['/3/0/11/0', 'integer', 0],
  ['/3/0/13', 'time', 0x5182428f],
  ['/3/0/14', 'string', '+02:00'],
  ['/3/0/16', 'string', 'U'],
];

describe('TLV records', () => {
  it('reads the spec Device payload as 13 top-level records', () => {
    const records = readTlv(DEVICE_RESOURCES);
    expect(records).toHaveLength(13);
    expect(records[0]).toEqual({ kind: TlvKind.ResourceValue, id: 0, start: 3, end: 23 });
    expect(records[4].kind).toBe(TlvKind.MultipleResource);
    expect(readTlv(DEVICE_RESOURCES, records[4].start, records[4].end).map((r) => r.id)).toEqual([0, 1]);
  });

  it('writes 8-bit, 16-bit and 24-bit lengths and 16-bit ids', () => {
    for (const length of [0, 7, 8, 255, 256, 65535, 65536, 70000]) {
      const bytes = writeTlv([{ kind: TlvKind.ResourceValue, id: 300, value: Buffer.alloc(length, 0xab) }]);
      const [record] = readTlv(bytes);
      expect(record).toEqual({ kind: TlvKind.ResourceValue, id: 300, start: bytes.length - length, end: bytes.length });
    }
    expect(writeTlv([{ kind: TlvKind.ResourceValue, id: 1, value: Buffer.alloc(300) }]).subarray(0, 4)).toEqual(
      hex('D0 01 01 2C'),
    );
  });

  it('refuses ids and lengths TLV cannot carry', () => {
    expect(() => writeTlv([{ kind: TlvKind.ResourceValue, id: 65536, value: Buffer.alloc(0) }])).toThrow(CodecError);
  });
});

describe('TLV decoding of the spec examples', () => {
  it('decodes GET /3/0 (resources without instance TLV) to an instance node', () => {
    const node = decode(DEVICE_RESOURCES, '/3/0');
    expect(node.kind).toBe('instance');
    expect(entriesOf(DEVICE_RESOURCES, '/3/0')).toEqual(DEVICE_ENTRIES);
  });

  it('decodes GET /3 (one object instance TLV) to an object node', () => {
    const node = decode(DEVICE_OBJECT, '/3');
    expect(node.kind).toBe('object');
    expect(node.kind === 'object' && [...node.instances.keys()]).toEqual([0]);
    expect(entriesOf(DEVICE_OBJECT, '/3')).toEqual(DEVICE_ENTRIES);
  });

  it('tolerates an instance TLV at /3/0 and bare resources at /3', () => {
    expect(entriesOf(DEVICE_OBJECT, '/3/0')).toEqual(DEVICE_ENTRIES);
    expect(entriesOf(DEVICE_RESOURCES, '/3')).toEqual(DEVICE_ENTRIES);
  });

  it('decodes the multiple-instance Access Control object /2', () => {
    expect(entriesOf(ACCESS_CONTROL, '/2')).toEqual([
      ['/2/0/0', 'integer', 1],
      ['/2/0/1', 'integer', 0],
      ['/2/0/2/127', 'integer', 7],
      ['/2/0/3', 'integer', 127],
      ['/2/2/0', 'integer', 3],
      ['/2/2/1', 'integer', 0],
      ['/2/2/2/127', 'integer', 7],
      ['/2/2/2/310', 'integer', 1],
      ['/2/2/3', 'integer', 127],
    ]);
  });

  it('decodes the Server object /1', () => {
    expect(entriesOf(SERVER, '/1')).toEqual([
      ['/1/0/0', 'integer', 1],
      ['/1/0/1', 'integer', 86400],
      ['/1/0/6', 'boolean', true],
      ['/1/0/7', 'string', 'U'],
    ]);
  });

  it('decodes the object link examples /65/0 and /66', () => {
    expect(entriesOf(OBJ65_INSTANCE, '/65/0')).toEqual([
      ['/65/0/0/0', 'objlnk', { objectId: 66, instanceId: 0 }],
      ['/65/0/0/1', 'objlnk', { objectId: 66, instanceId: 1 }],
      ['/65/0/1', 'string', '8613800755500'],
      ['/65/0/2', 'integer', 0x12345678],
    ]);
    expect(entriesOf(OBJ66, '/66')).toEqual([
      ['/66/0/0', 'string', 'myService 1'],
      ['/66/0/1', 'string', 'Internet.15.234'],
      ['/66/0/2', 'objlnk', { objectId: 67, instanceId: 0 }],
      ['/66/1/0', 'string', 'myService 2'],
      ['/66/1/1', 'string', 'Internet.15.235'],
      ['/66/1/2', 'objlnk', { objectId: 65535, instanceId: 65535 }],
    ]);
  });

  it('decodes single resources of the Device example', () => {
    expect(decode(hex('C1 09 64'), '/3/0/9')).toEqual({ kind: 'single', id: 9, type: 'integer', value: 100 });
    expect(decode(DEVICE_RESOURCES.subarray(0, 23), '/3/0/0')).toEqual({
      kind: 'single', id: 0, type: 'string', value: 'Open Mobile Alliance',
    });
    expect(decode(hex('C4 0D 51 82 42 8F'), '/3/0/13')).toEqual({ kind: 'single', id: 13, type: 'time', value: 1367491215 });
  });

  it('decodes multiple resources of the Device example, with or without the multiple-resource TLV', () => {
    const expected = { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) };
    expect(decode(hex('88 07 08 42 00 0E D8 42 01 13 88'), '/3/0/7')).toEqual(expected);
    expect(decode(hex('42 00 0E D8 42 01 13 88'), '/3/0/7')).toEqual(expected);
    expect(decode(hex('86 06 41 00 01 41 01 05'), '/3/0/6')).toEqual({
      kind: 'multiple', id: 6, type: 'integer', instances: new Map([[0, 1], [1, 5]]),
    });
  });

  it('decodes a resource instance', () => {
    expect(decode(hex('42 01 13 88'), '/3/0/7/1')).toEqual({ kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 });
    expect(decode(hex('88 07 04 42 01 13 88'), '/3/0/7/1')).toEqual({
      kind: 'resourceInstance', id: 1, type: 'integer', value: 5000,
    });
  });

  it('decodes empty payloads: empty object, instance and multiple resource', () => {
    expect(decode(Buffer.alloc(0), '/3')).toEqual({ kind: 'object', id: 3, instances: new Map() });
    expect(decode(Buffer.alloc(0), '/3/0')).toEqual({ kind: 'instance', id: 0, resources: new Map() });
    expect(decode(Buffer.alloc(0), '/3/0/6')).toEqual({ kind: 'multiple', id: 6, type: 'integer', instances: new Map() });
  });

  it('decodes resources without a definition as opaque bytes', () => {
    const node = decode(DEVICE_RESOURCES, '/3/0', noModel);
    const entries = flattenNode(node, parsePath('/3/0'));
    expect(entries).toHaveLength(DEVICE_ENTRIES.length);
    expect(entries.every((e) => e.type === 'opaque' && Buffer.isBuffer(e.value))).toBe(true);
    expect(entries[0].value).toEqual(Buffer.from('Open Mobile Alliance'));
    expect(entries[13].value).toEqual(hex('51 82 42 8F'));
    // An executable resource (type none) is opaque as well.
    expect(decode(hex('C1 04 01'), '/3/0/4')).toEqual({ kind: 'single', id: 4, type: 'opaque', value: hex('01') });
  });

  it('keeps values that do not fit the declared type as opaque bytes', () => {
    expect(decode(hex('C3 09 00 00 64'), '/3/0/9')).toEqual({ kind: 'single', id: 9, type: 'opaque', value: hex('00 00 64') });
    expect(decode(hex('C1 02 07'), '/1024/0/2')).toEqual({ kind: 'single', id: 2, type: 'opaque', value: hex('07') });
    expect(decode(hex('88 07 08 41 00 01 43 01 00 00 05'), '/3/0/7')).toEqual({
      kind: 'multiple', id: 7, type: 'opaque', instances: new Map([[0, hex('01')], [1, hex('00 00 05')]]),
    });
  });
});

describe('TLV values', () => {
  const single = (id: number, type: ResourceType, value: unknown): Node =>
    ({ kind: 'single', id, type, value }) as Node;

  it.each([
    [0, '00'], [127, '7F'], [-128, '80'], [128, '00 80'], [-1, 'FF'], [-129, 'FF 7F'], [32767, '7F FF'],
    [32768, '00 00 80 00'], [-32769, 'FF FF 7F FF'], [2147483647, '7F FF FF FF'], [2147483648, '00 00 00 00 80 00 00 00'],
    [-2147483649, 'FF FF FF FF 7F FF FF FF'], [9007199254740993n, '00 20 00 00 00 00 00 01'],
    [-(2n ** 63n), '80 00 00 00 00 00 00 00'], [2n ** 63n - 1n, '7F FF FF FF FF FF FF FF'],
  ])('encodes integer %p in the shortest signed width and decodes it back', (value, bytes) => {
    const encoded = encode('/3/0/9', single(9, 'integer', value));
    expect(valueBytes(encoded)).toEqual(hex(bytes));
    const decoded = decode(encoded, '/3/0/9');
    expect(decoded.kind === 'single' && decoded.value).toBe(value);
  });

  it('decodes 64-bit integers beyond 2^53 as bigint and within it as number', () => {
    expect(decode(hex('C8 09 08 7F FF FF FF FF FF FF FF'), '/3/0/9')).toMatchObject({ value: 2n ** 63n - 1n });
    expect(decode(hex('C8 09 08 00 1F FF FF FF FF FF FF'), '/3/0/9')).toMatchObject({ value: Number.MAX_SAFE_INTEGER });
  });

  it.each([
    [0, '00'], [255, 'FF'], [256, '01 00'], [65535, 'FF FF'], [65536, '00 01 00 00'], [4294967295, 'FF FF FF FF'],
    [4294967296, '00 00 00 01 00 00 00 00'], [2n ** 64n - 1n, 'FF FF FF FF FF FF FF FF'],
  ])('encodes unsigned %p in the shortest unsigned width', (value, bytes) => {
    const encoded = encode('/1024/0/0', single(0, 'unsigned', value));
    expect(valueBytes(encoded)).toEqual(hex(bytes));
    expect(decode(encoded, '/1024/0/0')).toMatchObject({ type: 'unsigned', value });
  });

  it('encodes floats in 4 bytes only when lossless', () => {
    expect(encode('/1024/0/1', single(1, 'float', 1.5))).toEqual(hex('C4 01 3F C0 00 00'));
    expect(encode('/1024/0/1', single(1, 'float', 0.1))).toEqual(hex('C8 01 08 3F B9 99 99 99 99 99 9A'));
    expect(decode(hex('C4 01 3F C0 00 00'), '/1024/0/1')).toMatchObject({ type: 'float', value: 1.5 });
    expect(decode(hex('C8 01 08 3F B9 99 99 99 99 99 9A'), '/1024/0/1')).toMatchObject({ type: 'float', value: 0.1 });
  });

  it('encodes booleans, object links, time and opaque', () => {
    expect(encode('/1024/0/2', single(2, 'boolean', true))).toEqual(hex('C1 02 01'));
    expect(encode('/1024/0/2', single(2, 'boolean', false))).toEqual(hex('C1 02 00'));
    expect(encode('/1024/0/3', single(3, 'objlnk', { objectId: 66, instanceId: 1 }))).toEqual(hex('C4 03 00 42 00 01'));
    expect(encode('/1024/0/3', single(3, 'objlnk', '66:1'))).toEqual(hex('C4 03 00 42 00 01'));
    expect(encode('/1024/0/5', single(5, 'time', 1367491215))).toEqual(hex('C4 05 51 82 42 8F'));
    expect(encode('/1024/0/4', single(4, 'opaque', hex('01 02 03')))).toEqual(hex('C3 04 01 02 03'));
    expect(decode(hex('C3 04 01 02 03'), '/1024/0/4')).toMatchObject({ type: 'opaque', value: hex('01 02 03') });
  });

  it('refuses values that do not fit the type when encoding', () => {
    expect(() => encode('/3/0/9', single(9, 'integer', 1.5))).toThrow(CodecError);
    expect(() => encode('/3/0/9', single(9, 'integer', 2n ** 63n))).toThrow(CodecError);
    expect(() => encode('/1024/0/0', single(0, 'unsigned', -1))).toThrow(CodecError);
    expect(() => encode('/1024/0/2', single(2, 'boolean', 'yes'))).toThrow(CodecError);
    expect(() => encode('/1024/0/3', single(3, 'objlnk', '66'))).toThrow(CodecError);
    expect(() => encode('/1024/0/1', single(1, 'float', 'NaN'))).toThrow(CodecError);
  });

  it('encodes IEEE 754 specials it may have decoded', () => {
    expect(encode('/1024/0/1', single(1, 'float', Number.POSITIVE_INFINITY))).toEqual(hex('C4 01 7F 80 00 00'));
    expect(decode(encode('/1024/0/1', single(1, 'float', Number.NaN)), '/1024/0/1')).toMatchObject({ value: Number.NaN });
  });
});

describe('TLV round trips of the spec examples', () => {
  it.each([
    ['/3/0', DEVICE_RESOURCES],
    ['/3', DEVICE_OBJECT],
    ['/2', ACCESS_CONTROL],
    ['/1', SERVER],
    ['/65/0', OBJ65_INSTANCE],
    ['/66', OBJ66],
    ['/3/0/9', hex('C1 09 64')],
    ['/3/0/7', hex('88 07 08 42 00 0E D8 42 01 13 88')],
    ['/3/0/6', hex('86 06 41 00 01 41 01 05')],
    ['/3/0/11', hex('83 0B 41 00 00')],
    ['/3/0/7/1', hex('42 01 13 88')],
  ])('encode(decode(%s)) reproduces the bytes', (path, bytes) => {
    expect(encode(path, decode(bytes, path))).toEqual(bytes);
  });

  it('round-trips without a model (opaque bytes re-emitted as is)', () => {
    const path = parsePath('/3');
    expect(encodeNode(TLV, path, decodeNode(TLV, DEVICE_OBJECT, path, noModel), noModel)).toEqual(DEVICE_OBJECT);
  });

  it('wraps an instance in an object instance TLV when the request path is the object (create)', () => {
    const instance = decode(SERVER.subarray(3), '/1/0');
    expect(encode('/1', instance)).toEqual(SERVER);
  });

  it('treats legacy format 1542 like 11542', () => {
    const path = parsePath('/3/0');
    expect(decodeNode(ContentFormat.TLV_LEGACY, DEVICE_RESOURCES, path, model)).toEqual(decode(DEVICE_RESOURCES, '/3/0'));
  });
});

describe('malformed TLV', () => {
  it.each([
    ['truncated type byte header', 'C8', '/3/0'],
    ['truncated 16-bit id', 'E1 00', '/3/0'],
    ['truncated length field', 'D0 00 01', '/3/0'],
    ['truncated value', 'C8 00 14 4F 70 65 6E', '/3/0'],
    ['length beyond buffer (24-bit)', 'D8 00 FF FF FF 00', '/3/0'],
    ['child beyond its parent', '08 00 03 C8 00 14', '/3'],
    ['multiple resource child beyond parent', '86 06 41 00 01 41 01', '/3/0'],
    ['duplicate resource', 'C1 09 64 C1 09 65', '/3/0'],
    ['duplicate object instance', '08 00 00 08 00 00', '/3'],
    ['duplicate resource instance', '86 06 41 00 01 41 00 05', '/3/0'],
    ['object instance inside a multiple resource', '83 06 00 00 00', '/3/0'],
    ['resource instance among resources', 'C1 09 64 41 00 01', '/3/0'],
    ['instances mixed with resources', '08 00 00 C1 09 64', '/3'],
    ['wrong resource id', 'C1 08 64', '/3/0/9'],
    ['wrong instance wrapper', '08 01 03 C1 09 64', '/3/0'],
    ['several object instances for an instance path', '08 00 00 08 01 00', '/3/0'],
    ['empty payload for a single resource', '', '/3/0/9'],
    ['wrong resource instance id', '42 00 13 88', '/3/0/7/1'],
    ['root path', 'C1 09 64', '/'],
  ])('%s throws CodecError', (_name, bytes, path) => {
    expect(() => decode(hex(bytes), path)).toThrow(CodecError);
    expect(() => decodeEntries(TLV, hex(bytes), parsePath(path), model)).toThrow(CodecError);
  });

  it('throws CodecError for every truncation of the spec examples', () => {
    for (const [path, bytes] of [['/3', DEVICE_OBJECT], ['/2', ACCESS_CONTROL], ['/66', OBJ66]] as const) {
      for (let length = 1; length < bytes.length; length++) {
        const truncated = bytes.subarray(0, length);
        let error: unknown;
        try {
          decode(truncated, path);
        } catch (err) {
          error = err;
        }
        // A prefix may happen to be a whole TLV; otherwise only CodecError is acceptable.
        if (error !== undefined) expect(error).toBeInstanceOf(CodecError);
      }
      expect(() => decode(bytes.subarray(0, bytes.length - 1), path)).toThrow(CodecError);
    }
  });
});
