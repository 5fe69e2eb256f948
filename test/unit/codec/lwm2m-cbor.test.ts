import { Encoder, Tag } from 'cbor-x';
import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';
import type { Node, Value } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';
import { CodecError } from '../../../src/lwm2m/codec/codec-error';
import { decodeLwm2mCborEntries, decodeLwm2mCborNode, encodeLwm2mCborNode } from '../../../src/lwm2m/codec/lwm2m-cbor';
import { mutateBytes as mutate, randomBytes, seededRandom as random } from '../../support/seeded-random';

const DEVICE: Record<number, [ResourceType, boolean?]> = {
  0: ['string'], 1: ['string'], 2: ['string'], 3: ['string'], 4: ['none'], 6: ['integer', true], 7: ['integer', true],
  8: ['integer', true], 9: ['integer'], 10: ['integer'], 11: ['integer', true], 13: ['time'], 14: ['string'],
  15: ['string'], 16: ['string'], 17: ['string'],
};
/** /1024/I/R: one resource of every type; 9 is a multiple integer. */
const TYPES: Record<number, [ResourceType, boolean?]> = {
  0: ['string'], 1: ['integer'], 2: ['unsigned'], 3: ['float'], 4: ['boolean'], 5: ['opaque'], 6: ['time'],
  7: ['objlnk'], 8: ['corelnk'], 9: ['integer', true],
};
const model: ModelLookup = {
  resourceDefinition(objectId, resourceId) {
    const def = objectId === 3 ? DEVICE[resourceId] : objectId === 1024 ? TYPES[resourceId] : undefined;
    return def && { id: resourceId, name: 'r', operations: 'RW', multiple: def[1] ?? false, mandatory: false, type: def[0] };
  },
};
const noModel: ModelLookup = { resourceDefinition: () => undefined };

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const decode = (bytes: Buffer, path: string, m: ModelLookup = model): Node => decodeLwm2mCborNode(bytes, parsePath(path), m);
const entries = (bytes: Buffer, path: string, m: ModelLookup = model): [string, string, unknown][] =>
  decodeLwm2mCborEntries(bytes, parsePath(path), m).map((e) => [e.path, e.type, e.value]);
const encode = (path: string, node: Node, m: ModelLookup = model): Buffer => encodeLwm2mCborNode(parsePath(path), node, m);
/** An independent encoder for the spec examples: Maps with integer and array keys, tag 1. */
const cborx = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });
const m = (...entries: Array<[unknown, unknown]>): Map<unknown, unknown> => new Map(entries);

/*
 * The Device object instance of the example client: the values of TS Core 1.1 Table 7.4.4-2 (the
 * SenML JSON Read /3/0, see senml-json.test.ts). TS Core 1.2 §7.4.4 (LwM2M CBOR) has no Device
 * example: this LwM2M CBOR form of it is ours, checked against the rules, not against spec bytes.
 */
const DEVICE_RESOURCES = m(
  [0, 'Open Mobile Alliance'], [1, 'Lightweight M2M Client'], [2, '345000123'], [3, '1.0'],
  [6, m([0, 1], [1, 5])], [7, m([0, 3800], [1, 5000])], [8, m([0, 125], [1, 900])], [9, 100], [10, 15],
  [11, m([0, 0])], [13, new Tag(1367491215, 1)], [14, '+02:00'], [16, 'U'],
);
const DEVICE_ENTRIES: [string, string, unknown][] = [
  ['/3/0/0', 'string', 'Open Mobile Alliance'], ['/3/0/1', 'string', 'Lightweight M2M Client'],
  ['/3/0/2', 'string', '345000123'], ['/3/0/3', 'string', '1.0'], ['/3/0/6/0', 'integer', 1], ['/3/0/6/1', 'integer', 5],
  ['/3/0/7/0', 'integer', 3800], ['/3/0/7/1', 'integer', 5000], ['/3/0/8/0', 'integer', 125], ['/3/0/8/1', 'integer', 900],
  ['/3/0/9', 'integer', 100], ['/3/0/10', 'integer', 15], ['/3/0/11/0', 'integer', 0], ['/3/0/13', 'time', 1367491215],
  ['/3/0/14', 'string', '+02:00'], ['/3/0/16', 'string', 'U'],
];

/*
 * Not a spec example. {3: {0: {0: "Open Mobile Alliance", 7: {0: 3800, 1: 5000}, 13: 1(1367491215)}}}, by hand:
 *   A1 03                 map(1), key 3
 *   A1 00                 map(1), key 0
 *   A3                    map(3)
 *   00 74 <20 bytes>      key 0, text(20) "Open Mobile Alliance"
 *   07 A2 00 19 0ED8      key 7, map(2), 0: 3800 (uint16 0x0ED8)
 *      01 19 1388         1: 5000 (0x1388)
 *   0D C1 1A 5182428F     key 13, tag 1 + uint32 1367491215
 */
const SMALL_DEVICE = hex(`A1 03 A1 00 A3 00 74 ${Buffer.from('Open Mobile Alliance').toString('hex')}
  07 A2 00 19 0ED8 01 19 1388 0D C1 1A 5182428F`);

describe('LwM2M CBOR (content format 11544)', () => {
  it('decodes the Device object instance Read /3/0 with nested maps', () => {
    const payload = cborx.encode(m([3, m([0, DEVICE_RESOURCES])]));
    expect(entries(payload, '/3/0')).toEqual(DEVICE_ENTRIES);
    const node = decode(payload, '/3/0');
    expect(node.kind).toBe('instance');
    if (node.kind !== 'instance') return;
    expect(node.resources.get(7)).toEqual({ kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) });
    expect(node.resources.get(13)).toEqual({ kind: 'single', id: 13, type: 'time', value: 1367491215 });
    // Our encoding decodes to the same node.
    expect(decode(encode('/3/0', node), '/3/0')).toEqual(node);
    // Read /3: an object with its instance; Read /3/0/7: the resource alone.
    expect(decode(payload, '/3')).toEqual({ kind: 'object', id: 3, instances: new Map([[0, node]]) });
    // Read /3/0/9 and /3/0/7/1: the answer holds just that path, still absolute from the root.
    expect(decode(cborx.encode(m([3, m([0, m([9, 100])])])), '/3/0/9')).toEqual({ kind: 'single', id: 9, type: 'integer', value: 100 });
    expect(decode(cborx.encode(m([[3, 0, 7, 1], 5000])), '/3/0/7/1')).toEqual({ kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 });
    // Paths relative to the request are refused, not guessed.
    expect(() => decode(cborx.encode(m([9, 100])), '/3/0/9')).toThrow(/outside the request path/);
    expect(() => decode(payload, '/3/0/9')).toThrow(/\/3\/0\/0 is outside the request path \/3\/0\/9/);
  });

  it('decodes the same instance written with array keys {[3, 0]: {...}} and {[3, 0, 7]: ...}', () => {
    const expected = decode(cborx.encode(m([3, m([0, DEVICE_RESOURCES])])), '/3/0');
    expect(decode(cborx.encode(m([[3, 0], DEVICE_RESOURCES])), '/3/0')).toEqual(expected);
    // Several keys may share a prefix; a leaf may sit under a multi-level key.
    const split = m([[3, 0], m([0, 'Open Mobile Alliance'], [[7, 0], 3800])], [[3, 0, 7, 1], 5000], [[3, 0, 13], new Tag(5, 1)]);
    expect(entries(cborx.encode(split), '/3/0')).toEqual([
      ['/3/0/0', 'string', 'Open Mobile Alliance'], ['/3/0/7/0', 'integer', 3800], ['/3/0/7/1', 'integer', 5000],
      ['/3/0/13', 'time', 5],
    ]);
    expect(decode(cborx.encode(m([[3, 0, 7, 1], 5000], [[3, 0, 7], m([0, 3800])])), '/3/0/7')).toEqual({ kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) });
    // A composite payload from the root (Read-Composite, Send): entries only.
    const composite = cborx.encode(m([3, m([0, m([9, 100])])], [[1024, 0, 4], true]));
    expect(entries(composite, '/')).toEqual([['/3/0/9', 'integer', 100], ['/1024/0/4', 'boolean', true]]);
    expect(() => decode(composite, '/')).toThrow(/root path/);
  });

  it('decodes and re-encodes a hand-built byte vector exactly', () => {
    const node = decode(SMALL_DEVICE, '/3/0');
    expect(node).toEqual({
      kind: 'instance', id: 0, resources: new Map<number, unknown>([
        [0, { kind: 'single', id: 0, type: 'string', value: 'Open Mobile Alliance' }],
        [7, { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) }],
        [13, { kind: 'single', id: 13, type: 'time', value: 1367491215 }],
      ]),
    });
    expect(encode('/3/0', node).toString('hex')).toBe(SMALL_DEVICE.toString('hex'));
    // A bare integer for time is accepted too.
    expect(decode(hex('A1 03 A1 00 A1 0D 1A 5182428F'), '/3/0/13')).toEqual({ kind: 'single', id: 13, type: 'time', value: 1367491215 });
  });

  /*
   * The LwM2M CBOR section of TS Core 1.2 (§7.4.4; "section 7.4.4.4" in the issue) serializes two
   * Server object instances; OMA_LwM2M_for_Developers issue #545 quotes the map of the first verbatim:
   *   A7 00 18 65 01 1A 00015180 02 19 012C 03 19 1770 05 1A 00015180 06 F5 07 61 55
   *   = {0: 101, 1: 86400, 2: 300, 3: 6000, 5: 86400, 6: true, 7: "U"}
   * (the levels above it are not quoted: {1: {0: ..}} around it here is ours).
   */
  const SERVER_INSTANCE = 'A7 00 18 65 01 1A 00015180 02 19 012C 03 19 1770 05 1A 00015180 06 F5 07 61 55';

  it('the Server instance of the TS Core 1.2 §7.4.4 example: decodes, and is exactly what the encoder writes', () => {
    const bytes = hex(`A1 01 A1 00 ${SERVER_INSTANCE}`);
    expect(entries(bytes, '/1/0', noModel)).toEqual([
      ['/1/0/0', 'integer', 101], ['/1/0/1', 'integer', 86400], ['/1/0/2', 'integer', 300], ['/1/0/3', 'integer', 6000],
      ['/1/0/5', 'integer', 86400], ['/1/0/6', 'boolean', true], ['/1/0/7', 'string', 'U'],
    ]);
    const node = decode(bytes, '/1/0', noModel);
    expect(encode('/1/0', node, noModel).toString('hex')).toBe(bytes.toString('hex'));
    expect(encode('/1', decode(bytes, '/1', noModel), noModel).toString('hex')).toBe(bytes.toString('hex'));
  });

  /*
   * AVSystem Anjay tests/core/io/lwm2m_cbor_in.c (and Anjay-lite tests/anj/io/lwm2m_cbor_in.c): the
   * same Write on /13/26/1 (= 42) or /13/26 (1 = 42, 2 = 21) spelt with nested maps, array keys and
   * indefinite lengths; the paths start at the Object ID even for a Write.
   */
  it.each([
    ['{[13, 26, 1]: 42}', 'A1 83 0D 18 1A 01 18 2A', '/13/26/1'],
    ['{_ [_ 13, 26, 1]: 42}', 'BF 9F 0D 18 1A 01 FF 18 2A FF', '/13/26/1'],
    ['{13: {26: {1: 42}}}', 'A1 0D A1 18 1A A1 01 18 2A', '/13/26/1'],
    ['{[13]: {[26]: {[1]: 42}}}', 'A1 81 0D A1 81 18 1A A1 81 01 18 2A', '/13/26/1'],
    ['{_ [_ 13]: {_ [_ 26]: {_ [_ 1]: 42}}}', 'BF 9F 0D FF BF 9F 18 1A FF BF 9F 01 FF 18 2A FF FF FF', '/13/26/1'],
    ['{[13, 26]: {1: 42, 2: 21}}', 'A1 82 0D 18 1A A2 01 18 2A 02 15', '/13/26'],
    ['{[13, 26, 1]: 42, [13, 26, 2]: 21}', 'A2 83 0D 18 1A 01 18 2A 83 0D 18 1A 02 15', '/13/26'],
    ['{[13, 26]: {1: 42}, [13, 26, 2]: 21}', 'A2 82 0D 18 1A A1 01 18 2A 83 0D 18 1A 02 15', '/13/26'],
    ['{[13, 26, 1]: 42, [13, 26]: {[2]: 21}}', 'A2 83 0D 18 1A 01 18 2A 82 0D 18 1A A1 81 02 15', '/13/26'],
  ])('Anjay vector %s', (_diagnostic, bytes, path) => {
    const expected: [string, string, unknown][] = [['/13/26/1', 'integer', 42]];
    if (path === '/13/26') expected.push(['/13/26/2', 'integer', 21]);
    expect(entries(hex(bytes), path, noModel)).toEqual(expected);
  });

  it('encodes as Anjay-lite does, with definite lengths: {13: {26: {1: 42}}}, and its all-types notification', () => {
    // Anjay-lite writes the same nesting with indefinite maps (BF .. FF); the items are the same.
    expect(encode('/13/26/1', { kind: 'single', id: 1, type: 'integer', value: 42 }, noModel).toString('hex')).toBe('a10da1181aa101182a');
    /*
     * Anjay-lite tests/anj/io/lwm2m_cbor_encoder.c, encoded_entries (without the external-data entry):
     * {8: {8: {0: 25, 1: 100, 2: 1(3), 3: "X"*50, 4: h'44'*50, 5: false, 6: "17:18", 7: 1.1}}}
     */
    const x50 = Buffer.alloc(50, 'X').toString('hex');
    const d50 = Buffer.alloc(50, 'D').toString('hex');
    const items = `00 18 19 01 18 64 02 C1 03 03 78 32 ${x50} 04 58 32 ${d50} 05 F4 06 65 31373A3138 07 FB 3FF199999999999A`;
    const anjay = hex(`BF 08 BF 08 BF ${items} FF FF FF`);
    const types: Record<number, [ResourceType, boolean?]> = { 0: ['integer'], 1: ['unsigned'], 2: ['time'], 3: ['string'], 4: ['opaque'], 5: ['boolean'], 6: ['objlnk'], 7: ['float'] };
    const object8: ModelLookup = {
      resourceDefinition: (objectId, resourceId) => {
        const def = objectId === 8 ? types[resourceId] : undefined;
        return def && { id: resourceId, name: 'r', operations: 'RW', multiple: false, mandatory: false, type: def[0] };
      },
    };
    expect(entries(anjay, '/8/8', object8)).toEqual([
      ['/8/8/0', 'integer', 25], ['/8/8/1', 'unsigned', 100], ['/8/8/2', 'time', 3], ['/8/8/3', 'string', 'X'.repeat(50)],
      ['/8/8/4', 'opaque', Buffer.alloc(50, 'D')], ['/8/8/5', 'boolean', false], ['/8/8/6', 'objlnk', { objectId: 17, instanceId: 18 }],
      ['/8/8/7', 'float', 1.1],
    ]);
    expect(encode('/8/8', decode(anjay, '/8/8', object8), object8)).toEqual(hex(`A1 08 A1 08 A8 ${items}`));
  });

  /*
   * {1024: {0: {R: v}}} = A1 19 0400 A1 00 A1 <R> <value>: 1024 is a uint16 key (19 0400). The value
   * items are those of cbor-value.test.ts (cross-checked there against Anjay-lite's CBOR encoder).
   */
  const VECTORS: Array<[number, string, ResourceType, Value]> = [
    [0, '63 616263', 'string', 'abc'], // text(3)
    [1, '24', 'integer', -5], // major 1, n = 4
    [1, '3B 7FFFFFFFFFFFFFFF', 'integer', -(2n ** 63n)],
    [2, '1B FFFFFFFFFFFFFFFF', 'unsigned', 2n ** 64n - 1n],
    [3, 'FA 3FC00000', 'float', 1.5], // single precision
    [3, 'FB 3FB999999999999A', 'float', 0.1], // double precision
    [4, 'F5', 'boolean', true],
    [5, '43 010203', 'opaque', hex('010203')], // bytes(3)
    [6, 'C1 1A 5182428F', 'time', 1367491215], // tag 1 + uint32
    [7, '63 333A30', 'objlnk', { objectId: 3, instanceId: 0 }], // text "3:0"
    [8, '66 3C2F332F303E', 'corelnk', '</3/0>'], // text "</3/0>"
  ];
  it.each(VECTORS)('value vector: resource %i = %s', (resourceId, value, type, decoded) => {
    const bytes = hex(`A1 19 0400 A1 00 A1 ${resourceId.toString(16).padStart(2, '0')} ${value}`);
    const node = decode(bytes, `/1024/0/${resourceId}`);
    expect(node).toEqual({ kind: 'single', id: resourceId, type, value: decoded });
    expect(encode(`/1024/0/${resourceId}`, node).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('decodes a decimal fraction (tag 4) for a float, as Anjay does', () => {
    // {3303: {0: {5700: 4([-1, 215])}}} = 21.5
    expect(entries(hex('A1 19 0CE7 A1 00 A1 19 1644 C4 82 20 18 D7'), '/3303/0/5700')).toEqual([['/3303/0/5700', 'float', 21.5]]);
  });

  it('types unknown resources by CBOR major type', () => {
    const payload = hex('A1 19 2710 A1 00 A6 00 05 01 FA 3FC00000 02 F4 03 62 6869 04 41 FF 05 C1 00');
    expect(entries(payload, '/10000/0', noModel)).toEqual([
      ['/10000/0/0', 'integer', 5], ['/10000/0/1', 'float', 1.5], ['/10000/0/2', 'boolean', false],
      ['/10000/0/3', 'string', 'hi'], ['/10000/0/4', 'opaque', hex('FF')], ['/10000/0/5', 'time', 0],
    ]);
  });

  it('round trips every resource type at every node level', () => {
    const values: Record<number, Value> = {
      0: 'héllo ✓', 1: -123456789012, 2: 2n ** 64n - 1n, 3: -0.375, 4: false, 5: Buffer.alloc(40, 9), 6: 1700000000,
      7: { objectId: 65535, instanceId: 7 }, 8: '</1024/0>;ct=11544',
    };
    const resources = new Map<number, Node & { kind: 'single' | 'multiple' }>();
    for (const [id, value] of Object.entries(values)) {
      resources.set(Number(id), { kind: 'single', id: Number(id), type: TYPES[Number(id)][0], value });
    }
    resources.set(9, { kind: 'multiple', id: 9, type: 'integer', instances: new Map([[0, 1], [65535, -1]]) });
    const instance: Node = { kind: 'instance', id: 1, resources };
    const object: Node = {
      kind: 'object', id: 1024,
      instances: new Map([[1, instance], [2, { kind: 'instance', id: 2, resources: new Map() }]]),
    };
    const cases: Array<[string, Node]> = [
      ['/1024', object],
      ['/1024/1', instance],
      ['/1024/2', { kind: 'instance', id: 2, resources: new Map() }],
      ['/1024/1/9', resources.get(9) as Node],
      ['/1024/1/9', { kind: 'multiple', id: 9, type: 'integer', instances: new Map() }],
      ['/1024/1/9/65535', { kind: 'resourceInstance', id: 65535, type: 'integer', value: -1 }],
    ];
    for (const [id, node] of resources) cases.push([`/1024/1/${id}`, node]);
    for (const [path, node] of cases) {
      const bytes = encode(path, node);
      expect(decode(bytes, path)).toEqual(node);
      expect(encode(path, decode(bytes, path))).toEqual(bytes);
    }
    // Exact bytes of each level for a small case.
    expect(encode('/1024/1/9/0', { kind: 'resourceInstance', id: 0, type: 'integer', value: 1 }).toString('hex')).toBe(
      'a1190400a101a109a10001',
    );
    expect(encode('/1024', { kind: 'object', id: 1024, instances: new Map() }).toString('hex')).toBe('a1190400a0');
    expect(encode('/1024/0', { kind: 'instance', id: 0, resources: new Map() }).toString('hex')).toBe('a1190400a100a0');
    // Unknown resources encode by the node type.
    expect(encode('/9/0/1', { kind: 'single', id: 1, type: 'float', value: 2 }, noModel).toString('hex')).toBe('a109a100a101fa40000000');
  });

  it('rejects malformed payloads with CodecError and a readable message', () => {
    const rejected: Array<[string, string, RegExp]> = [
      ['05', '/3/0', /must be a map/],
      ['82 01 02', '/3/0', /must be a map/],
      ['', '/3/0', /empty CBOR payload/],
      ['A1 03 A1 00 A1 63 616263 01', '/3/0', /not an integer id/],
      ['A1 20 A0', '/3', /negative id -1/],
      ['A1 1A 00010000 A0', '/3', /id 65536 .*exceeds 65535/],
      ['A1 82 03 20 A0', '/3', /negative id/],
      ['A1 80 A0', '/3', /empty array key/],
      ['A1 82 03 F5 A0', '/3', /not an integer id/],
      ['A1 03 05', '/3', /value where a map of instances is expected/],
      ['A1 82 03 00 05', '/3/0', /value where a map of resources is expected/],
      ['A1 84 03 00 07 00 A1 00 01', '/3/0', /deeper than a resource instance/],
      ['A1 84 03 00 07 00 A0', '/3/0', /resource instance must be a value/],
      ['A1 04 A1 00 A1 00 01', '/3/0', /outside the request path \/3\/0/],
      ['A1 03 A1 01 A1 00 61 78', '/3/0', /outside the request path/],
      ['A1 83 03 00 07 01', '/3/0/7/1', /outside the request path/],
      ['A1 03 A1 00 A0', '/3/0/9', /no LwM2M CBOR value/],
      ['A1 03 A0', '/3/0/9', /no LwM2M CBOR value/],
      ['A1 03 A1 00 A1 09 63 616263', '/3/0', /not a valid integer/],
      ['A1 03 A1 00 A1 09 F6', '/3/0', /null/],
      ['A2 83 03 00 09 01 83 03 00 09 02', '/3/0', /several values for \/3\/0\/9/],
      ['A2 83 03 00 07 01 84 03 00 07 00 02', '/3/0', /both a single value and resource instances/],
      ['A2 84 03 00 07 00 02 83 03 00 07 01', '/3/0', /both a single value and resource instances/],
      ['A2 83 03 00 07 A0 83 03 00 07 01', '/3/0', /both a single value and resource instances/],
      ['A1 09 A1 00 A1 01 A2 00 01 01 F5', '/9/0', /is boolean while other instances are integer/],
      ['A1 03 A1 00 A1 09 01 00', '/3/0', /1 trailing bytes/],
      ['A1 03', '/3/0', /exceeds the 1 bytes left/], ['A1 03 A1 00 A1 09 19 03', '/3/0', /truncated/],
      ['A1 03 A1 00 A1 00 62 C328', '/3/0', /UTF-8/],
      ['BF 03 A0', '/3', /not terminated/],
    ];
    for (const [bytes, path, message] of rejected) {
      expect(() => decode(hex(bytes), path)).toThrow(CodecError);
      expect(() => decode(hex(bytes), path)).toThrow(message);
    }
    // Entries check the same structure (mixed types stay allowed there).
    expect(() => entries(hex('A2 83 03 00 09 01 83 03 00 09 02'), '/3/0')).toThrow(/several values/);
    expect(entries(hex('A1 09 A1 00 A1 01 A2 00 01 01 F5'), '/9/0', noModel)).toEqual([
      ['/9/0/1/0', 'integer', 1], ['/9/0/1/1', 'boolean', true],
    ]);
    // Indefinite-length maps are accepted; an empty map above the request path says nothing.
    expect(decode(hex('BF 03 BF 00 A1 09 05 FF FF'), '/3/0/9')).toEqual({ kind: 'single', id: 9, type: 'integer', value: 5 });
    expect(decode(hex('A1 03 A0'), '/3/0')).toEqual({ kind: 'instance', id: 0, resources: new Map() });
    expect(decode(hex('A0'), '/3')).toEqual({ kind: 'object', id: 3, instances: new Map() });
  });

  it('refuses nodes it cannot encode', () => {
    const single: Node = { kind: 'single', id: 9, type: 'integer', value: 1 };
    expect(() => encode('/3', single)).toThrow(/no instance id/);
    expect(() => encode('/', { kind: 'instance', id: 0, resources: new Map() })).toThrow(/no object id/);
    expect(() => encode('/3/0', { kind: 'resourceInstance', id: 0, type: 'integer', value: 1 })).toThrow(/no resource id/);
    expect(() => encode('/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 'x' })).toThrow(CodecError);
    expect(() => encode('/3/0/4', { kind: 'single', id: 4, type: 'none', value: '' })).toThrow(/executable/);
    expect(() => encode('/', { kind: 'object', id: 70000, instances: new Map() })).toThrow(/cannot encode id 70000/);
  });

  it('fuzz: 5,000 random and mutated payloads throw only CodecError', () => {
    const next = random(11544);
    const seeds = [
      SMALL_DEVICE,
      cborx.encode(m([3, m([0, DEVICE_RESOURCES])])),
      cborx.encode(m([[3, 0], DEVICE_RESOURCES])),
      hex('A1 19 2710 A1 00 A6 00 05 01 FA 3FC00000 02 F4 03 62 6869 04 41 FF 05 C1 00'),
      hex('BF 03 BF 00 A1 09 05 FF FF'),
    ];
    const paths = ['/', '/3', '/3/0', '/3/0/7', '/3/0/7/1', '/10000/0', '/1024/0'].map((p) => parsePath(p));
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const payload = i % 4 === 0 ? randomBytes(next, Math.floor(next() * 24)) : mutate(next, seeds[i % seeds.length]);
      const path = paths[i % paths.length];
      const lookup = i % 3 === 0 ? noModel : model;
      for (const run of [
        () => decodeLwm2mCborEntries(payload, path, lookup),
        () => encodeLwm2mCborNode(path, decodeLwm2mCborNode(payload, path, lookup), lookup),
      ]) {
        try {
          run();
          decoded++;
        } catch (err) {
          if (!(err instanceof CodecError)) throw new Error(`payload ${payload.toString('hex')} at ${i}: ${String(err)}`);
        }
      }
    }
    expect(decoded).toBeGreaterThan(100);
  });
});


