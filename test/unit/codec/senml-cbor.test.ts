import { Encoder } from 'cbor-x';
import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';
import type { Entry, Node, ObjectInstanceNode, ResourceNode } from '../../../src/lwm2m/node';
import { parsePath, type LwM2mPath } from '../../../src/lwm2m/path';
import { CodecError, ContentFormat, decodeEntries, decodeNode, encodeNode, isSupportedFormat, parseContentFormat } from '../../../src/lwm2m/codec';
import { readCbor, writeCbor, type CborItem } from '../../../src/lwm2m/codec/cbor-value';
import { decodeSenmlCborEntries, SENML_CBOR_LABELS } from '../../../src/lwm2m/codec/senml-cbor';
import { seededRandom as random } from '../../support/seeded-random';
import { fuzzFormat } from './format-fuzz';
import { DEVICE_SENML, OBJLNK_TABLE, RFC_MEASUREMENTS } from './spec-examples';
import { senmlTestModel } from './senml-test-model';

const model = senmlTestModel;

const SENML_CBOR = ContentFormat.SENML_CBOR;
const SENML_JSON = ContentFormat.SENML_JSON;
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const entriesOf = (payload: Buffer, path: string): Entry[] => decodeEntries(SENML_CBOR, payload, parsePath(path), model);
const nodeOf = (payload: Buffer, path: string): Node => decodeNode(SENML_CBOR, payload, parsePath(path), model);
const encode = (path: string, node: Node): Buffer => encodeNode(SENML_CBOR, parsePath(path), node, model);
const jsonEntriesOf = (records: unknown, path: string): Entry[] =>
  decodeEntries(SENML_JSON, Buffer.from(JSON.stringify(records)), parsePath(path), model);
const jsonNodeOf = (records: unknown, path: string): Node => decodeNode(SENML_JSON, Buffer.from(JSON.stringify(records)), parsePath(path), model);

type JsonRecord = Record<string, unknown>;
const int = (n: number | bigint): CborItem => (BigInt(n) < 0n ? { kind: 'nint', value: BigInt(n) } : { kind: 'uint', value: BigInt(n) });
const text = (value: string): CborItem => ({ kind: 'text', value });

/**
 * SenML JSON records → the same records in SenML CBOR: integer labels (vlo as text), vd base64url
 * → bytes. JSON numbers have no integer type: with `integers` an integral number is written as a
 * CBOR integer, else every number as a float (which keeps decode(json) == decode(cbor) for resources
 * the model does not type, where a JSON v is always a float).
 */
function toCbor(records: JsonRecord[], integers = false): Buffer {
  const number = (n: number): CborItem => (integers && Number.isInteger(n) ? int(n) : { kind: 'float', value: n });
  const item = (field: string, value: unknown): CborItem => {
    if (field === 'vd') return { kind: 'bytes', value: Buffer.from(value as string, 'base64url') };
    if (typeof value === 'number') return number(value);
    if (typeof value === 'string') return text(value);
    if (typeof value === 'boolean') return { kind: 'bool', value };
    throw new Error(`no CBOR for ${String(value)}`);
  };
  const label = (field: string): CborItem =>
    Object.hasOwn(SENML_CBOR_LABELS, field) ? int(SENML_CBOR_LABELS[field as keyof typeof SENML_CBOR_LABELS]) : text(field);
  return writeCbor({
    kind: 'array',
    items: records.map((record) => ({ kind: 'map', entries: Object.entries(record).map(([field, value]) => [label(field), item(field, value)]) })),
  });
}

/** An independent CBOR encoder (cbor-x) for records written as Maps with integer keys. */
const cborx = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });
const x = (...records: Array<Array<[number | string, unknown]>>): Buffer => Buffer.from(cborx.encode(records.map((r) => new Map(r))));

/** Decoding resolves relative SenML times against the clock: tests pin it. */
const NOW_MS = 1_700_000_000_000;
const NOW = NOW_MS / 1000;
beforeEach(() => {
  jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
});
afterEach(() => {
  jest.restoreAllMocks();
});

/*
 * The SenML JSON examples of senml-json.test.ts (OMA TS Core 1.1 §7.4.4 Tables 7.4.4-2..4 as
 * transcribed by eclipse-wakaama/wakaama tests/data_senml_json_tests.c; RFC 8428 §5), which the
 * SenML CBOR section (1.1 §7.4.5, 1.1.1 §7.4.6, 1.2 §7.4.7) carries with the RFC 8428 §6 labels.
 */
// Not a spec table: leshan LwM2mNodeDecoderTest.senml_json_decode_multiple_resource.
const MULTIPLE_SENML: JsonRecord[] = [{ bn: '/3/0/7/', n: '0', v: 3800 }, { n: '1', v: 5000 }];
// Table 7.4.4-3 (historical Temperature values of /72/1/2).
const TIME_SERIES: JsonRecord[] = [
  { bn: '/72/', bt: 25462634, n: '1/2', v: 22.4, t: -5 },
  { n: '1/2', v: 22.9, t: -30 },
  { n: '1/2', v: 24.1, t: -50 },
];
// The /66 records of Table 7.4.4-4 with bn changing per instance (as wakaama's senml_json_test_17).
const OBJLNK_SENML: JsonRecord[] = [
  { bn: '/66/0/', n: '0', vs: 'myService1' },
  { n: '1', vs: 'Internet.15.234' },
  { n: '2', vlo: '67:0' },
  { bn: '/66/1/', n: '0', vs: 'myService2' },
  { n: '1', vs: 'Internet.15.235' },
  { n: '2', vlo: '65535:65535' },
];
const RFC_SENML: Array<[string, JsonRecord[], string]> = [
  ['§5.1.1 single datapoint with a unit', [{ n: '/3303/0/5700', u: 'Cel', v: 23.1 }], '/3303/0/5700'],
  ['§5.1.2 multiple datapoints', [{ bn: '/', n: '3316/0/5700', u: 'V', v: 120.1 }, { n: '3317/0/5700', u: 'A', v: 1.2 }], '/'],
  ['§5.1.2 multiple measurements (the §6 CBOR example)', RFC_MEASUREMENTS, '/'],
  ['§5.1.5 multiple data types', [{ bn: '/4242/0/', n: '0', u: 'Cel', v: 23.1 }, { n: '1', vs: 'Machine Room' }, { n: '2', vb: false }, { n: '3', vd: 'aGkgCg' }], '/4242/0'],
  ['base value', [{ bn: '/3303/0/', bv: 20, n: '5700', v: 1.5 }, { n: '5701', vs: 'Cel' }], '/3303/0'],
  ['relative time without bt', [{ n: '/3303/0/5700', v: 21, t: -5 }, { n: '/3303/0/5700', v: 22 }], '/3303/0/5700'],
  ['unknown resources', [{ bn: '/4242/0/', n: '0', vs: 'a string' }, { n: '1', v: 10 }, { n: '2', vb: true }, { n: '3', vlo: '3:0' }, { n: '4', vd: 'AQID' }], '/4242/0'],
  ['model typing', [{ n: '/1024/0/5', v: 7 }, { n: '/1024/0/1', v: 7 }, { n: '/1024/0/6', v: 1367491215 }, { n: '/1024/0/0', v: 7 }, { n: '/1024/0/0', v: -7 }, { n: '/3/0/9', v: 3.5 }, { n: '/1024/0/5', vs: '42' }, { n: '/1024/0/4', vs: '</3/0>' }, { n: '/5/0/0', vs: 'AQID' }], '/'],
];

describe('SenML CBOR in the codec facade', () => {
  it('is a supported format, named 112, "senml+cbor", "senml-cbor" or its media type', () => {
    expect(isSupportedFormat(112)).toBe(true);
    for (const name of ['senml+cbor', 'senml-cbor', 'SENML_CBOR', 'application/senml+cbor', '112']) expect(parseContentFormat(name)).toBe(112);
  });

  // RFC 8428 §6 Table 4 (and §4.3 Table 1), checked against the RFC text; "vlo" has none (a text key).
  it('has the RFC 8428 §6 integer labels', () => {
    expect(SENML_CBOR_LABELS).toEqual({ bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 });
  });
});

/*
 * Hand-checked bytes. A CBOR head byte is major type << 5 | additional information (< 24: the
 * value itself; 24/25/26 a 1/2/4-byte argument follows): 0x00-0x17 uint, 0x20-0x37 negative
 * (-1 - n: 0x21 = -2), 0x6N text of N bytes, 0x8N array of N items, 0xAN map of N pairs,
 * 0xF4/0xF5 false/true, 0xFA single float, 0xFB double float.
 */
describe('SenML CBOR: hand-checked bytes', () => {
  // The multiple resource /3/0/7, [{bn:"/3/0/7/",n:"0",v:3800},{n:"1",v:5000}] (leshan's SenML JSON
  // example, not a spec table), hand-checked.
  const MULTIPLE_HEX = [
    '82', //                 array of 2 records
    'a3', //                 record 0: map of 3 pairs
    '21 67 2f332f302f372f', // -2 (bn, 0x21 = -1-1) → text(7) "/3/0/7/"
    '00 61 30', //           0 (n) → text(1) "0"
    '02 19 0ed8', //         2 (v) → uint with a 2-byte argument 0x0ED8 = 3800
    'a2', //                 record 1: map of 2 pairs
    '00 61 31', //           n → "1"
    '02 19 1388', //         v → 0x1388 = 5000
  ].join(' ');

  it('the multiple resource example: decodes, and is exactly what the encoder writes', () => {
    const bytes = hex(MULTIPLE_HEX);
    expect(entriesOf(bytes, '/3/0/7')).toEqual([
      { path: '/3/0/7/0', type: 'integer', value: 3800 },
      { path: '/3/0/7/1', type: 'integer', value: 5000 },
    ]);
    expect(encode('/3/0/7', { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) })).toEqual(bytes);
    expect(toCbor(MULTIPLE_SENML, true)).toEqual(bytes);
    expect(x([[-2, '/3/0/7/'], [0, '0'], [2, 3800]], [[0, '1'], [2, 5000]])).toEqual(bytes);
  });

  // Table 7.4.4-3 in SenML CBOR, byte for byte as eclipse-wakaama/wakaama tests/data_senml_cbor_tests.c
  // (senml_cbor_test_2, "From Table 7.4.4-3") has it: bt relative (< 2^28), t negative, v doubles.
  const TIME_SERIES_HEX = [
    '83', //                          array of 3 records
    'a5', //                          record 0: map of 5 pairs
    '21 64 2f37322f', //              -2 (bn, 0x21 = -1-1) → text(4) "/72/"
    '22 1a 0184876a', //              -3 (bt, 0x22 = -1-2) → uint with a 4-byte argument 0x0184876A = 25462634
    '00 63 312f32', //                0 (n) → text(3) "1/2"
    '02 fb 4036666666666666', //      2 (v) → double 22.4 (22.4 is not exact in single precision)
    '06 24', //                       6 (t) → 0x24 = major 1, n 4: -5
    'a3', //                          record 1: map of 3 pairs
    '00 63 312f32', //                n → "1/2"
    '02 fb 4036e66666666666', //      v → 22.9
    '06 38 1d', //                    t → major 1 with a 1-byte argument 0x1D = 29: -30
    'a3', //                          record 2
    '00 63 312f32', //                n → "1/2"
    '02 fb 403819999999999a', //      v → 24.1
    '06 38 31', //                    t → 0x31 = 49: -50
  ].join(' ');

  it('the time-series example (Table 7.4.4-3): every record kept, time = now + bt + t', () => {
    const bytes = hex(TIME_SERIES_HEX);
    expect(bytes.toString('hex')).toBe(
      '83a521642f37322f221a0184876a0063312f3202fb40366666666666660624a30063312f3202fb4036e6666666666606381da30063312f3202fb403819999999999a063831',
    );
    expect(entriesOf(bytes, '/72')).toEqual([
      { path: '/72/1/2', type: 'float', value: 22.4, time: NOW + 25462629 },
      { path: '/72/1/2', type: 'float', value: 22.9, time: NOW + 25462604 },
      { path: '/72/1/2', type: 'float', value: 24.1, time: NOW + 25462584 },
    ]);
    expect(nodeOf(bytes, '/72/1/2')).toEqual({ kind: 'single', id: 2, type: 'float', value: 22.4 });
    expect(toCbor(TIME_SERIES, true)).toEqual(bytes);
    expect(decodeSenmlCborEntries(bytes, {}, model, () => 1000)[1].time).toBe(1000 + 25462604);
  });

  // Table 7.4.4-2 in SenML CBOR, byte for byte as eclipse-leshan/leshan leshan-core/src/test/java/org/
  // eclipse/leshan/core/senml/cbor/AbstractSenMLTest.java (givenSenMLCborExample, "Read /3/0") and
  // wakaama's senml_cbor_test_1 ("From Table 7.4.4-2") have it: 0x90 = array of 16, bn, n, value.
  const DEVICE_HEX =
    '90a321652f332f302f00613003744f70656e204d6f62696c6520416c6c69616e6365a200613103764c696768747765696768' +
    '74204d324d20436c69656e74a20061320369333435303030313233a20061330363312e30a20063362f300201a20063362f310205a20063372f' +
    '3002190ed8a20063372f3102191388a20063382f3002187da20063382f3102190384a2006139021864a200623130020fa2006431312f300200' +
    'a200623133021a5182428fa20062313403662b30323a3030a200623136036155';

  it('the Device example (Table 7.4.4-2): decodes, and is exactly what the encoder writes', () => {
    const bytes = hex(DEVICE_HEX);
    expect(entriesOf(bytes, '/3/0')).toEqual(jsonEntriesOf(DEVICE_SENML, '/3/0'));
    expect(encode('/3/0', nodeOf(bytes, '/3/0'))).toEqual(bytes);
    expect(toCbor(DEVICE_SENML, true)).toEqual(bytes);
  });

  // Table 7.4.4-4 in SenML CBOR, byte for byte as wakaama's senml_cbor_test_3 has it: "vlo" is the
  // text label 63 766c6f, the links text strings, 65/0/2 the integer 1 (02 01).
  const OBJLNK_TABLE_HEX =
    '8ca321612f006836352f302f302f3063766c6f6436363a30a2006836352f302f302f3163766c6f6436363a31a2006636352f302f31036d3836' +
    '3133383030373535353030a2006636352f302f320201a2006636362f302f30036a6d795365727669636531a2006636362f302f31036f496e74' +
    '65726e65742e31352e323334a2006636362f302f3263766c6f6436373a30a2006636362f312f30036a6d795365727669636532a2006636362f' +
    '312f31036f496e7465726e65742e31352e323335a2006636362f312f3263766c6f6b36353533353a3635353335a2006636372f302f30036b38' +
    '352e37362e37362e3834a2006636372f302f31036d38352e37362e3235352e323535';

  it('the object link example (Table 7.4.4-4): decodes as the SenML JSON does', () => {
    const bytes = hex(OBJLNK_TABLE_HEX);
    expect(bytes.length).toBe(262);
    expect(toCbor(OBJLNK_TABLE, true)).toEqual(bytes);
    const entries = entriesOf(bytes, '/');
    expect(entries).toEqual(jsonEntriesOf(OBJLNK_TABLE, '/').map((e) => (e.path === '/65/0/2' ? { ...e, type: 'integer' } : e)));
    expect(entries.filter((e) => e.type === 'objlnk').map((e) => e.value)).toEqual([
      { objectId: 66, instanceId: 0 }, { objectId: 66, instanceId: 1 }, { objectId: 67, instanceId: 0 }, { objectId: 65535, instanceId: 65535 },
    ]);
  });

  // OMA_LwM2M_for_Developers issue #484 (an OMA DMSE answer on how TS Core 1.1.1 §7.4.6 "The object
  // links use a string map key "vlo" also in SenML CBOR representation" is meant):
  // [{"n":"/65/0/0/0","vlo":"66:0"}] in SenML CBOR is 81 A2 00 69 "/65/0/0/0" 63 "vlo" 64 "66:0".
  it('the vlo example of OMA_LwM2M_for_Developers#484: decodes, and is exactly what the encoder writes', () => {
    const bytes = hex('81 a2 00 69 2f36352f302f302f30 63 766c6f 64 36363a30');
    expect(entriesOf(bytes, '/65/0/0')).toEqual([{ path: '/65/0/0/0', type: 'objlnk', value: { objectId: 66, instanceId: 0 } }]);
    expect(encode('/65/0/0/0', { kind: 'resourceInstance', id: 0, type: 'objlnk', value: { objectId: 66, instanceId: 0 } })).toEqual(bytes);
  });

  // leshan LwM2mNodeDecoderTest.senml_cbor_decode_opaque_resource and SenMLCborSerializerTest:
  // [{-2: "/0/0/3", 8: h'ABCDEF'}], a single value named by bn alone (as Table 7.4.4-5 does).
  it('the opaque example of leshan: a single value named by bn alone', () => {
    expect(entriesOf(hex('81a221662f302f302f330843abcdef'), '/0/0/3')).toEqual([{ path: '/0/0/3', type: 'opaque', value: hex('abcdef') }]);
  });

  // Not a spec example: an object link, an opaque value, a boolean and a float; "vlo" is a text label
  // as in the OMA_LwM2M_for_Developers#484 example below, vd raw bytes (RFC 8428 §6).
  const TYPES_HEX = [
    '84', //                          array of 4 records
    'a3 21 68 2f313032342f302f', //   map(3): bn → text(8) "/1024/0/"
    '00 61 31 02 fa 3fc00000', //     n "1", v → single float 1.5 (exact in single precision: FA)
    'a2 00 61 32 04 f5', //           n "2", 4 (vb) → true
    'a2 00 61 33 63 766c6f 63 333a30', // n "3", text(3) "vlo" → text(3) "3:0"
    'a2 00 61 38 08 43 fbfffe', //    n "8", 8 (vd) → bytes(3) FB FF FE
  ].join(' ');

  it('vb, vd (bytes), vlo (text label) and a single-precision float', () => {
    const bytes = hex(TYPES_HEX);
    const instance: ObjectInstanceNode = {
      kind: 'instance',
      id: 0,
      resources: new Map<number, ResourceNode>([
        [1, { kind: 'single', id: 1, type: 'float', value: 1.5 }],
        [2, { kind: 'single', id: 2, type: 'boolean', value: true }],
        [3, { kind: 'single', id: 3, type: 'objlnk', value: { objectId: 3, instanceId: 0 } }],
        [8, { kind: 'single', id: 8, type: 'opaque', value: Buffer.from([0xfb, 0xff, 0xfe]) }],
      ]),
    };
    expect(nodeOf(bytes, '/1024/0')).toEqual(instance);
    expect(encode('/1024/0', instance)).toEqual(bytes);
  });

  // RFC 8428 §6: "a dump of the CBOR example for the same sensor measurement as in Section 5.1.2"
  // (the second §5.1.2 example, 7 records), byte for byte from the RFC text (0x00c3 = 195 bytes).
  // Its 1.5 is a half float (f9 3e00), its bt a double, bver 5, bu "A" (-4 = 0x23), t 0 on the last.
  const RFC_HEX = [
    '87 a7 21 78 1b 75 72 6e 3a 64 65 76 3a 6f 77 3a',
    '31 30 65 32 30 37 33 61 30 31 30 38 30 30 36 3a',
    '22 fb 41 d3 03 a1 5b 00 10 62 23 61 41 20 05 00',
    '67 76 6f 6c 74 61 67 65 01 61 56 02 fb 40 5e 06',
    '66 66 66 66 66 a3 00 67 63 75 72 72 65 6e 74 06',
    '24 02 fb 3f f3 33 33 33 33 33 33 a3 00 67 63 75',
    '72 72 65 6e 74 06 23 02 fb 3f f4 cc cc cc cc cc',
    'cd a3 00 67 63 75 72 72 65 6e 74 06 22 02 fb 3f',
    'f6 66 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e',
    '74 06 21 02 f9 3e 00 a3 00 67 63 75 72 72 65 6e',
    '74 06 20 02 fb 3f f9 99 99 99 99 99 9a a3 00 67',
    '63 75 72 72 65 6e 74 06 00 02 fb 3f fb 33 33 33',
    '33 33 33',
  ].join(' ');

  it('RFC 8428 §6 example: the structure of its diagnostic notation; refused for its names, decoded on LwM2M names', () => {
    const bytes = hex(RFC_HEX);
    expect(bytes.length).toBe(0xc3);
    // [{-2: "urn:dev:ow:10e2073a0108006:", -3: 1276020076.001, -4: "A", -1: 5, 0: "voltage", 1: "V", 2: 120.1},
    //  {0: "current", 6: -5, 2: 1.2}, {0: "current", 6: -4, 2: 1.3}, {0: "current", 6: -3, 2: 1.4},
    //  {0: "current", 6: -2, 2: 1.5}, {0: "current", 6: -1, 2: 1.6}, {0: "current", 6: 0, 2: 1.7}]
    const current = (t: number, v: number): CborItem => ({ kind: 'map', entries: [[int(0), text('current')], [int(6), int(t)], [int(2), { kind: 'float', value: v }]] });
    const diagnostic: CborItem = {
      kind: 'array',
      items: [
        {
          kind: 'map',
          entries: [
            [int(-2), text('urn:dev:ow:10e2073a0108006:')], [int(-3), { kind: 'float', value: 1276020076.001 }], [int(-4), text('A')],
            [int(-1), int(5)], [int(0), text('voltage')], [int(1), text('V')], [int(2), { kind: 'float', value: 120.1 }],
          ],
        },
        current(-5, 1.2), current(-4, 1.3), current(-3, 1.4), current(-2, 1.5), current(-1, 1.6), current(0, 1.7),
      ],
    };
    const item = readCbor(bytes);
    expect(item).toEqual(diagnostic);
    // Our writer gives the same bytes but for 1.5, which it writes in single precision (fa 3fc00000).
    expect(writeCbor(item).toString('hex')).toBe(RFC_HEX.replace(/\s+/g, '').replace('02f93e00', '02fa3fc00000'));
    expect(() => entriesOf(bytes, '/')).toThrow('is not an absolute LwM2M path');
    // The same items with the names mapped to LwM2M paths (senml-json.test.ts): every field decodes.
    const names: Record<string, string> = { 'urn:dev:ow:10e2073a0108006:': '/', voltage: '3316/0/5700', current: '3317/0/5700' };
    const renamed = structuredClone(item) as Extract<CborItem, { kind: 'array' }>;
    for (const record of renamed.items as Array<Extract<CborItem, { kind: 'map' }>>) {
      for (const entry of record.entries) {
        if (entry[1].kind === 'text' && names[entry[1].value] !== undefined) entry[1] = text(names[entry[1].value]);
      }
    }
    const entries = entriesOf(writeCbor(renamed), '/');
    expect(entries).toEqual(jsonEntriesOf(RFC_MEASUREMENTS, '/'));
    expect(entries.map((e) => [e.path, e.value])).toEqual([
      ['/3316/0/5700', 120.1], ['/3317/0/5700', 1.2], ['/3317/0/5700', 1.3], ['/3317/0/5700', 1.4], ['/3317/0/5700', 1.5],
      ['/3317/0/5700', 1.6], ['/3317/0/5700', 1.7],
    ]);
    [0, -5, -4, -3, -2, -1, 0].forEach((dt, i) => expect(entries[i].time).toBeCloseTo(1276020076.001 + dt, 3));
  });
});

describe('SenML CBOR decoding: the SenML JSON examples', () => {
  it('decodes the Device instance example typed by the model, at /3/0, /3 and the root', () => {
    const bytes = toCbor(DEVICE_SENML, true);
    const expected = jsonEntriesOf(DEVICE_SENML, '/3/0');
    expect(entriesOf(bytes, '/3/0')).toEqual(expected);
    expect(entriesOf(bytes, '/3')).toEqual(expected);
    expect(entriesOf(bytes, '/')).toEqual(expected);
    expect(expected.find((e) => e.path === '/3/0/13')).toEqual({ path: '/3/0/13', type: 'time', value: 1367491215 });
    expect(nodeOf(bytes, '/3/0')).toEqual(jsonNodeOf(DEVICE_SENML, '/3/0'));
    expect(nodeOf(bytes, '/3')).toEqual(jsonNodeOf(DEVICE_SENML, '/3'));
  });

  it('decodes the object link example with bn changing between instances', () => {
    const entries = entriesOf(toCbor(OBJLNK_SENML), '/66');
    expect(entries.map((e) => [e.path, e.value])).toEqual([
      ['/66/0/0', 'myService1'], ['/66/0/1', 'Internet.15.234'], ['/66/0/2', { objectId: 67, instanceId: 0 }],
      ['/66/1/0', 'myService2'], ['/66/1/1', 'Internet.15.235'], ['/66/1/2', { objectId: 65535, instanceId: 65535 }],
    ]);
  });

  it('accepts indefinite-length arrays and maps, and ignores unknown labels and u, bu, s, bs, ut', () => {
    // 9F (array, indefinite) BF (map, indefinite) 00 "…" 02 01 FF FF
    const indefinite = hex('9f bf 00 68 2f332f302f372f30 02 01 ff ff');
    expect(entriesOf(indefinite, '/3/0/7')).toEqual([{ path: '/3/0/7/0', type: 'integer', value: 1 }]);
    const extra = x([[0, '/3/0/9'], [2, 100], [1, 'W'], [-4, 7], [5, true], [-6, 'x'], [7, 1.5], [23, 'later'], [-22, 0], ['foo', [1]]]);
    expect(entriesOf(extra, '/3/0')).toEqual([{ path: '/3/0/9', type: 'integer', value: 100 }]);
  });

  it('types v by the model; without one by the CBOR major type (integer item → integer, float item → float)', () => {
    const record = (name: string, v: CborItem): CborItem => ({ kind: 'map', entries: [[int(0), text(name)], [int(2), v]] });
    const payload = writeCbor({
      kind: 'array',
      items: [
        record('/4242/0/1', int(10)),
        record('/4242/0/2', int(-10)),
        record('/4242/0/3', { kind: 'float', value: 10.5 }),
        record('/4242/0/4', { kind: 'float', value: 10 }),
        record('/1024/0/5', int(2n ** 60n + 1n)),
      ],
    });
    // The last record: A2, 00 → "/1024/0/5", 02 → 1B (8-byte argument) 0x1000000000000001 = 2^60 + 1.
    expect(payload.toString('hex').endsWith('a200692f313032342f302f35021b1000000000000001')).toBe(true);
    expect(entriesOf(payload, '/')).toEqual([
      { path: '/4242/0/1', type: 'integer', value: 10 },
      { path: '/4242/0/2', type: 'integer', value: -10 },
      { path: '/4242/0/3', type: 'float', value: 10.5 },
      { path: '/4242/0/4', type: 'float', value: 10 },
      { path: '/1024/0/5', type: 'integer', value: 2n ** 60n + 1n }, // exact: a JSON number would have rounded it
    ]);
    // Beyond int64: uint64 → unsigned, below -2^63 → float.
    const big = writeCbor({
      kind: 'array',
      items: [
        { kind: 'map', entries: [[int(0), text('/4242/0/5')], [int(2), int(2n ** 64n - 1n)]] },
        { kind: 'map', entries: [[int(0), text('/4242/0/6')], [int(2), int(-(2n ** 64n))]] },
      ],
    });
    expect(entriesOf(big, '/4242/0')).toEqual([
      { path: '/4242/0/5', type: 'unsigned', value: 2n ** 64n - 1n },
      { path: '/4242/0/6', type: 'float', value: -(2 ** 64) },
    ]);
    // The model wins over the major type: an integral float for an integer resource, an integer for a float one.
    expect(entriesOf(hex('81 a2 00 66 2f332f302f39 02 fa 42c80000'), '/3/0/9')).toEqual([{ path: '/3/0/9', type: 'integer', value: 100 }]);
    expect(entriesOf(hex('81 a2 00 66 2f332f302f39 02 fa 40600000'), '/3/0/9')).toEqual([{ path: '/3/0/9', type: 'float', value: 3.5 }]);
    expect(entriesOf(x([[0, '/1024/0/1'], [2, 7]]), '/1024/0')).toEqual([{ path: '/1024/0/1', type: 'float', value: 7 }]);
    expect(entriesOf(x([[0, '/1024/0/0'], [2, -7]]), '/1024/0')).toEqual([{ path: '/1024/0/0', type: 'integer', value: -7 }]);
  });

  // TS Core 1.2 Table C.2 (quoted in OMA_LwM2M_for_Developers#537): a Time value in the CBOR formats
  // is "an unsigned integer or a date/time string, as defined in Section 2.4.1 of [RFC7049]"; Anjay
  // writes a Time resource in SenML CBOR as {2: 1(seconds)} — these bytes are Anjay-lite's
  // tests/anj/io/senml_cbor_encoder.c "time" vector for /77/77/77/77 = 1000000.
  it('accepts a Time value under CBOR tag 1 (Anjay writes them so)', () => {
    const anjay = hex('81 a2 00 6c 2f37372f37372f37372f3737 02 c1 1a 000f4240');
    expect(entriesOf(anjay, '/77')).toEqual([{ path: '/77/77/77/77', type: 'time', value: 1000000 }]);
    expect(nodeOf(anjay, '/77/77/77/77')).toEqual({ kind: 'resourceInstance', id: 77, type: 'time', value: 1000000 });
    // Typed by the model: a time resource, and (leniently) an integer one.
    expect(entriesOf(hex('81 a2 00 69 2f313032342f302f36 02 c1 1a 5182428f'), '/1024/0')).toEqual([{ path: '/1024/0/6', type: 'time', value: 1367491215 }]);
    expect(entriesOf(hex('81 a2 00 69 2f313032342f302f35 02 c1 05'), '/1024/0')).toEqual([{ path: '/1024/0/5', type: 'integer', value: 5 }]);
    // An integral float under tag 1 too; encoding writes a plain integer (leshan does the same).
    expect(entriesOf(hex('81 a2 00 69 2f313032342f302f36 02 c1 fb 41d46090a3c00000'), '/1024/0')[0].value).toBe(1367491215);
    expect(encode('/1024/0/6', { kind: 'single', id: 6, type: 'time', value: 1367491215 }).toString('hex')).toBe('81a200692f313032342f302f36021a5182428f');
  });

  // Anjay-lite's "single_send_record_with_all_fields" vector: bt a single float (22 fa 47c35000 = 100000,
  // relative: below 2^28), n "/3/3/3", v 25.
  it('decodes Anjay\'s Send record with a single-precision base time', () => {
    expect(entriesOf(hex('81 a3 00 66 2f332f332f33 22 fa 47c35000 02 18 19'), '/')).toEqual([{ path: '/3/3/3', type: 'integer', value: 25, time: NOW + 100000 }]);
  });

  // RFC 8428 §6: "For JSON Numbers, the CBOR representation can use integers, floating-point
  // numbers, or decimal fractions (CBOR Tag 4)". 4([-1, 45]) = 4.5 is Anjay's lwm2m_cbor_in vector.
  it('accepts decimal fractions (tag 4) for v, t, bt and bv', () => {
    expect(entriesOf(hex('81 a2 00 69 2f313032342f302f31 02 c4 82 20 18 2d'), '/1024/0')).toEqual([{ path: '/1024/0/1', type: 'float', value: 4.5 }]);
    expect(entriesOf(hex('81 a2 00 69 2f343234322f302f31 02 c4 82 20 18 2d'), '/4242/0')).toEqual([{ path: '/4242/0/1', type: 'float', value: 4.5 }]);
    // t 4([-1, -50]) = -5 on bt 4([-3, 1276020076001]) = 1276020076.001; bv 4([1, 2]) = 20 added to v 1.5.
    const payload = hex('81 a5 00 6c 2f333330332f302f35373030 22 c4 82 22 1b 0000012918b92de1 06 c4 82 20 38 31 24 c4 82 01 02 02 f9 3e00');
    const [entry] = entriesOf(payload, '/3303/0/5700');
    expect(entry).toMatchObject({ path: '/3303/0/5700', type: 'float', value: 21.5 });
    expect(entry.time).toBeCloseTo(1276020076.001 - 5, 3);
  });

  it('decodes an empty array: an empty multiple resource, object or instance', () => {
    expect(nodeOf(hex('80'), '/3/0/6')).toEqual({ kind: 'multiple', id: 6, type: 'integer', instances: new Map() });
    expect(nodeOf(hex('80'), '/3')).toEqual({ kind: 'object', id: 3, instances: new Map() });
    expect(entriesOf(hex('80'), '/3/0')).toEqual([]);
  });
});

describe('SenML CBOR ≡ SenML JSON for the same records', () => {
  const CASES: Array<[string, JsonRecord[], string]> = [
    ['the Device instance', DEVICE_SENML, '/3/0'],
    ['the Device instance at the root', DEVICE_SENML, '/'],
    ['the multiple resource', MULTIPLE_SENML, '/3/0/7'],
    ['a resource instance', [{ n: '/3/0/7/1', v: 5000 }], '/3/0/7/1'],
    ['the time series', TIME_SERIES, '/72/1/2'],
    ['the time series at the object', TIME_SERIES, '/72'],
    ['absolute times', [{ bn: '/3303/0/5700', bt: 1367491215, v: 24.1, t: -50 }, { v: 22.9, t: -30 }, { v: 22.4, t: 0 }], '/3303/0/5700'],
    ['the object links', OBJLNK_SENML, '/66'],
    ['the object links of Table 7.4.4-4', OBJLNK_TABLE, '/'],
    ...RFC_SENML,
  ];

  it.each(CASES)('%s: entries and node alike (numbers as CBOR floats)', (_name, records, path) => {
    const cbor = toCbor(records);
    expect(entriesOf(cbor, path)).toEqual(jsonEntriesOf(records, path));
    if (path !== '/') expect(nodeOf(cbor, path)).toEqual(jsonNodeOf(records, path));
  });

  it.each(CASES.filter(([name]) => !['unknown resources', 'model typing', 'the object links of Table 7.4.4-4'].includes(name)))(
    '%s: alike with integral numbers as CBOR integers too (the model types them)',
    (_name, records, path) => {
      expect(entriesOf(toCbor(records, true), path)).toEqual(jsonEntriesOf(records, path));
    },
  );
});

describe('SenML CBOR encoding', () => {
  it('encodes the Device instance as the spec example (Table 7.4.4-2, bn "/3/0/" first), read back by cbor-x as the same records', () => {
    const node = nodeOf(toCbor(DEVICE_SENML, true), '/3/0');
    const bytes = encode('/3/0', node);
    expect(bytes).toEqual(toCbor(DEVICE_SENML, true));
    expect(nodeOf(bytes, '/3/0')).toEqual(node);
    // cbor-x writes the same records (integer labels, integral numbers as integers) to the same bytes.
    const label = (field: string): number => SENML_CBOR_LABELS[field as keyof typeof SENML_CBOR_LABELS];
    expect(bytes).toEqual(x(...DEVICE_SENML.map((record) => Object.entries(record).map(([f, v]): [number, unknown] => [label(f), v]))));
  });

  it('names as SenML JSON does: an object, a multiple resource, a single value and a resource instance', () => {
    for (const [path, node] of [
      ['/3', jsonNodeOf([{ n: '/3/0/9', v: 100 }], '/3')],
      ['/3/0/7', { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) }],
      ['/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 100 }],
      ['/3/0/7/1', { kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 }],
      ['/3/0/6', { kind: 'multiple', id: 6, type: 'integer', instances: new Map() }],
    ] as Array<[string, Node]>) {
      const json = JSON.parse(encodeNode(SENML_JSON, parsePath(path), node, model).toString()) as JsonRecord[];
      expect(encode(path, node)).toEqual(toCbor(json, true));
    }
    expect(encode('/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 100 }).toString('hex')).toBe('81a200662f332f302f39021864');
  });

  const ROUND_TRIPS: Array<[string, ResourceType, unknown]> = [
    ['/1024/0/0', 'unsigned', 7],
    ['/1024/0/0', 'unsigned', 0],
    ['/1024/0/0', 'unsigned', 2n ** 64n - 1n],
    ['/1024/0/1', 'float', 10.5],
    ['/1024/0/1', 'float', 10],
    ['/1024/0/1', 'float', -1e-300],
    ['/1024/0/2', 'boolean', true],
    ['/1024/0/2', 'boolean', false],
    ['/1024/0/3', 'objlnk', { objectId: 65535, instanceId: 0 }],
    ['/1024/0/4', 'corelnk', '</3/0/7>;dim=2'],
    ['/1024/0/5', 'integer', -42],
    ['/1024/0/5', 'integer', 2n ** 62n + 1n],
    ['/1024/0/5', 'integer', -(2n ** 63n)],
    ['/1024/0/6', 'time', 1367491215],
    ['/1024/0/7', 'string', 'üñï "\\ \u0000'],
    ['/1024/0/7', 'string', ''],
    ['/1024/0/8', 'opaque', Buffer.from([0, 1, 2, 0xfb, 0xff])],
    ['/1024/0/8', 'opaque', Buffer.alloc(0)],
  ];

  it.each(ROUND_TRIPS)('round trips %s %s %p as a resource, an instance and an object', (path, type, value) => {
    const resourceId = Number(path.split('/')[3]);
    const node = { kind: 'single', id: resourceId, type, value } as ResourceNode;
    expect(nodeOf(encode(path, node), path)).toEqual(node);
    const instance: ObjectInstanceNode = { kind: 'instance', id: 0, resources: new Map([[resourceId, node]]) };
    expect(nodeOf(encode('/1024/0', instance), '/1024/0')).toEqual(instance);
    const object: Node = { kind: 'object', id: 1024, instances: new Map([[0, instance]]) };
    expect(nodeOf(encode('/1024', object), '/1024')).toEqual(object);
  });

  it('round trips a multiple resource, a resource instance and an instance of every type', () => {
    const multiple: ResourceNode = { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [5, -1]]) };
    expect(nodeOf(encode('/3/0/7', multiple), '/3/0/7')).toEqual(multiple);
    const instanceValue: Node = { kind: 'resourceInstance', id: 5, type: 'integer', value: -1 };
    expect(nodeOf(encode('/3/0/7/5', instanceValue), '/3/0/7/5')).toEqual(instanceValue);
    const instance = { kind: 'instance', id: 0, resources: new Map() } as ObjectInstanceNode;
    ROUND_TRIPS.forEach(([path, type, value]) => {
      const id = Number(path.split('/')[3]);
      if (!instance.resources.has(id)) instance.resources.set(id, { kind: 'single', id, type, value } as ResourceNode);
    });
    expect(nodeOf(encode('/1024/0', instance), '/1024/0')).toEqual(instance);
    // Without a model the CBOR types still carry integer, float, boolean, string, opaque and object link.
    const bare: ModelLookup = { resourceDefinition: () => undefined };
    const bytes = encodeNode(SENML_CBOR, parsePath('/1024/0'), instance, bare);
    const entries = decodeEntries(SENML_CBOR, bytes, parsePath('/1024/0'), bare);
    expect(entries.map((e) => e.type)).toEqual(['integer', 'float', 'boolean', 'objlnk', 'string', 'integer', 'integer', 'string', 'opaque']);
  });

  it('accepts MQTT-style spellings of values, and refuses values that do not fit', () => {
    // base64 "+/8=" → bytes FB FF: 81 (array 1) A2 (map 2) 00 69 "/1024/0/8" 08 (vd) 42 FB FF.
    expect(encode('/1024/0/8', { kind: 'single', id: 8, type: 'opaque', value: '+/8=' }).toString('hex')).toBe('81a200692f313032342f302f380842fbff');
    expect(nodeOf(encode('/1024/0/3', { kind: 'single', id: 3, type: 'objlnk', value: '3:1' }), '/1024/0/3')).toEqual({
      kind: 'single', id: 3, type: 'objlnk', value: { objectId: 3, instanceId: 1 },
    });
    expect(() => encode('/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 'many' })).toThrow(CodecError);
    expect(() => encode('/1024/0/0', { kind: 'single', id: 0, type: 'unsigned', value: -1 })).toThrow(CodecError);
    expect(() => encode('/1024/0/5', { kind: 'single', id: 5, type: 'integer', value: 2n ** 63n })).toThrow(CodecError);
    expect(() => encode('/1024/0/1', { kind: 'single', id: 1, type: 'float', value: Number.NaN })).toThrow(CodecError);
    expect(() => encode('/1024/0/1', { kind: 'single', id: 1, type: 'float', value: Infinity })).toThrow(CodecError);
    expect(() => encode('/3/0/4', { kind: 'single', id: 4, type: 'none', value: '' })).toThrow('SenML CBOR cannot carry a value of an executable resource');
  });
});

describe('SenML CBOR rejections', () => {
  const r = (...pairs: Array<[number | string, unknown]>): Buffer => x(pairs);
  it.each([
    ['an empty payload', Buffer.alloc(0), '/3/0'],
    ['trailing bytes after the array', hex('80 00'), '/3/0'],
    ['a truncated payload', r([0, '/3/0/9'], [2, 100]).subarray(0, 8), '/3/0'],
    ['an unterminated indefinite array', hex('9f a2 00 66 2f332f302f39 02 01'), '/3/0'],
    ['a map, not an array', hex('a0'), '/3/0'],
    ['a text string', hex('61 78'), '/3/0'],
    ['a tagged array', hex('d8 70 80'), '/3/0'],
    ['a record not a map', hex('81 01'), '/3/0'],
    ['a nested array', hex('81 81 a2 00 66 2f332f302f39 02 01'), '/3/0'],
    ['a text label "n"', r(['n', '/3/0/9'], [2, 1]), '/3/0'],
    ['a text label "v"', r([0, '/3/0/9'], ['v', 1]), '/3/0'],
    ['a text label "bn"', r(['bn', '/3/0/'], [0, '9'], [2, 1]), '/3/0'],
    ['a text label "vd"', r([0, '/5/0/0'], ['vd', 'AQID']), '/5/0'],
    ['a must-understand text label', r([0, '/3/0/9'], [2, 1], ['ttl_', 5]), '/3/0'],
    ['a byte-string label', hex('81 a2 00 66 2f332f302f39 41 02 01'), '/3/0'],
    ['a float label', hex('81 a2 00 66 2f332f302f39 fa 40000000 01'), '/3/0'],
    ['a label twice', hex('81 a3 00 66 2f332f302f39 02 01 02 02'), '/3/0'],
    ['n twice', hex('81 a3 00 66 2f332f302f39 00 66 2f332f302f39 02 01'), '/3/0'],
    ['bn not a text string', r([-2, Buffer.from('/3/0/')], [0, '9'], [2, 1]), '/3/0'],
    ['n not a text string', r([-2, '/3/0/'], [0, 9], [2, 1]), '/3/0'],
    ['bt not a number', r([0, '/3/0/9'], [-3, '1'], [2, 1]), '/3/0'],
    ['t not a number', r([0, '/3/0/9'], [6, true], [2, 1]), '/3/0'],
    ['bv not a number', r([0, '/3/0/9'], [-5, 'x'], [2, 1]), '/3/0'],
    ['bver not a number', r([-1, '10'], [0, '/3/0/9'], [2, 1]), '/3/0'],
    ['an unsupported version', r([-1, 11], [0, '/3/0/9'], [2, 1]), '/3/0'],
    ['v a text string', r([0, '/3/0/9'], [2, '100']), '/3/0'],
    ['v a boolean', r([0, '/3/0/9'], [2, true]), '/3/0'],
    ['v a byte string', r([0, '/3/0/9'], [2, Buffer.from([1])]), '/3/0'],
    ['v under tag 24', hex('81 a2 00 66 2f332f302f39 02 d8 18 01'), '/3/0'],
    ['v a tagged time string (tag 0)', hex('81 a2 00 66 2f332f302f39 02 c0 61 31'), '/3/0'],
    ['v a time tag around a text string', hex('81 a2 00 66 2f332f302f39 02 c1 61 31'), '/3/0'],
    ['v a time tag around a fraction', hex('81 a2 00 69 2f313032342f302f36 02 c1 fb 3ff8000000000000'), '/1024/0'],
    ['v a decimal fraction of one item', hex('81 a2 00 66 2f332f302f39 02 c4 81 01'), '/3/0'],
    ['v a decimal fraction with a float mantissa', hex('81 a2 00 66 2f332f302f39 02 c4 82 20 fa 3fc00000'), '/3/0'],
    ['v a decimal fraction beyond a double', hex('81 a2 00 66 2f332f302f39 02 c4 82 19 0400 01'), '/3/0'],
    ['bt a time tag', hex('81 a3 00 66 2f332f302f39 22 c1 01 02 01'), '/3/0'],
    ['v null', hex('81 a2 00 66 2f332f302f39 02 f6'), '/3/0'],
    ['v NaN', hex('81 a2 00 66 2f332f302f39 02 f9 7e00'), '/3/0'],
    ['v infinite', hex('81 a2 00 66 2f332f302f39 02 fa 7f800000'), '/3/0'],
    ['vs a byte string', r([0, '/3/0/0'], [3, Buffer.from('x')]), '/3/0'],
    ['vb an integer', r([0, '/1024/0/2'], [4, 1]), '/1024/0'],
    ['vd a (base64) text string', r([0, '/5/0/0'], [8, 'AQID']), '/5/0'],
    ['vlo not a text string', r([0, '/1024/0/3'], ['vlo', 3]), '/1024/0'],
    ['vlo not a link', r([0, '/1024/0/3'], ['vlo', '3']), '/1024/0'],
    ['vlo out of range', r([0, '/1024/0/3'], ['vlo', '70000:0']), '/1024/0'],
    ['no value', r([0, '/3/0/9']), '/3/0'],
    ['v and vs in one record', r([0, '/3/0/9'], [2, 1], [3, '1']), '/3/0'],
    ['a record without a name when no bn', r([2, 1]), '/3/0'],
    ['a relative name', r([0, '3/0/9'], [2, 1]), '/3/0'],
    ['a name with five levels', r([0, '/3/0/7/0/1'], [2, 1]), '/3/0'],
    ['a name not a resource', r([-2, '/3/0'], [2, 1]), '/3'],
    ['a name outside the request path', r([0, '/4/0/0'], [2, 1]), '/3/0'],
    ['single and multiple at once', x([[0, '/3/0/7'], [2, 1]], [[0, '/3/0/7/0'], [2, 1]]), '/3/0'],
    ['an empty single resource', hex('80'), '/3/0/9'],
    ['a resource for a resource instance path', r([0, '/3/0/7'], [2, 1]), '/3/0/7/0'],
  ])('%s throws CodecError', (_name, payload, path) => {
    expect(() => nodeOf(payload, path)).toThrow(CodecError);
    expect(() => entriesOf(payload, path)).toThrow(CodecError);
  });

  it('says what is wrong', () => {
    expect(() => entriesOf(hex('a0'), '/3/0')).toThrow('SenML CBOR needs an array of records');
    expect(() => entriesOf(hex('80 00'), '/3/0')).toThrow('invalid SenML CBOR: 1 trailing bytes after the CBOR item');
    expect(() => entriesOf(hex('81 01'), '/3/0')).toThrow('SenML CBOR record 0 is not a map');
    expect(() => entriesOf(r(['n', '/3/0/9'], [2, 1]), '/')).toThrow('SenML CBOR record 0 has the text label "n": SenML CBOR labels it 0');
    expect(() => entriesOf(r([0, '/3/0/9'], [2, '1']), '/')).toThrow('SenML CBOR record 0: "v" (label 2) is not a number');
    expect(() => entriesOf(r([0, '/5/0/0'], [8, 'AQ']), '/')).toThrow('"vd" (label 8) is not a byte string');
    expect(() => entriesOf(x([[0, '/3/0/9'], [2, 1]], [[2, 2]]), '/')).toThrow('SenML CBOR record 1 has no name (neither bn nor n)');
    expect(() => entriesOf(r([0, '/3/0/9'], [2, 1], [3, '1']), '/')).toThrow('needs exactly one of v, vs, vb, vd, vlo (has v, vs)');
    expect(() => entriesOf(r([0, '/3/0/9'], [2, 1], ['x_', 1]), '/')).toThrow('must-understand label "x_"');
  });
});

describe('SenML CBOR fuzzing', () => {
  const SEED_RECORDS: Array<[JsonRecord[], string]> = [
    [DEVICE_SENML, '/3/0'], [TIME_SERIES, '/72/1/2'], [OBJLNK_SENML, '/66'], [RFC_SENML[3][1], '/4242/0'], [MULTIPLE_SENML, '/3/0/7'],
  ];
  const SEEDS: Array<[CborItem, LwM2mPath]> = SEED_RECORDS.map(([records, path], i) => [readCbor(toCbor(records, i % 2 === 0)), parsePath(path)]);
  const LABELS: CborItem[] = [-1, -2, -3, -5, 0, 1, 2, 3, 4, 6, 8, 9, -7].map(int).concat([text('vlo'), text('n'), text('x_'), text('u')]);
  const PATHS: LwM2mPath[] = ['/', '/3', '/3/0', '/3/0/7', '/3/0/7/0', '/3/0/9', '/72/1/2', '/3303/0/5700', '/66', '/5/0/0', '/1024/0', '/4242/0'].map(parsePath);

  function randomItem(next: () => number, depth = 0): CborItem {
    const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)];
    switch (Math.floor(next() * (depth > 2 ? 8 : 10))) {
      case 0: return int(Math.floor(next() * 2 ** 31) - 2 ** 30);
      case 1: return int(pick([0n, 2n ** 64n - 1n, -(2n ** 64n), 2n ** 53n + 1n, 25462634n, -5n]));
      case 2: return { kind: 'float', value: pick([next() * 1e10 - 5e9, 1e308, -0, NaN, Infinity, 1e-320, 3, 2 ** 28]) };
      case 3: return text(pick(['', '/3/0/0', '/3/0/7/1', '3:0', '65535:65535', '/', 'x', '/3/0/', '0', '7/1', '/99999/0/0', '/1024/0/']));
      case 4: return { kind: 'bool', value: next() < 0.5 };
      case 5: return { kind: 'bytes', value: Buffer.from(Array.from({ length: Math.floor(next() * 4) }, () => Math.floor(next() * 256))) };
      case 6: return pick<CborItem>([{ kind: 'null' }, { kind: 'undefined' }]);
      case 7: return { kind: 'tag', tag: pick([1n, 24n, 105n]), item: int(5) };
      case 8: return { kind: 'array', items: Array.from({ length: Math.floor(next() * 3) }, () => randomItem(next, depth + 1)) };
      default: return { kind: 'map', entries: Array.from({ length: Math.floor(next() * 4) }, () => [pick(LABELS), randomItem(next, depth + 1)] as [CborItem, CborItem]) };
    }
  }

  /** Structural mutations of a seed's records (labels, values, records) or byte-level ones. */
  function mutate(next: () => number): [Buffer, LwM2mPath] {
    const [seed, seedPath] = SEEDS[Math.floor(next() * SEEDS.length)];
    // Half of the time the seed's own path, so that more mutants decode.
    const path = next() < 0.5 ? seedPath : PATHS[Math.floor(next() * PATHS.length)];
    return [mutateSeed(seed, next), path];
  }

  function mutateSeed(seed: CborItem, next: () => number): Buffer {
    const records = structuredClone(seed) as Extract<CborItem, { kind: 'array' }>;
    const kind = Math.floor(next() * 7);
    if (kind <= 2) {
      for (let i = 0, n = 1 + Math.floor(next() * 3); i < n; i++) {
        const record = records.items[Math.floor(next() * records.items.length)] as Extract<CborItem, { kind: 'map' }>;
        const at = Math.floor(next() * (record.entries.length + 1));
        if (next() < 0.3) record.entries.splice(at, 1);
        else if (next() < 0.5 && at < record.entries.length) record.entries[at][1] = randomItem(next);
        else record.entries.splice(at, 0, [LABELS[Math.floor(next() * LABELS.length)], randomItem(next)]);
      }
      if (kind === 2) records.items.splice(Math.floor(next() * records.items.length), 0, randomItem(next));
      return writeCbor(records);
    }
    const bytes = writeCbor(records);
    if (kind === 3) {
      for (let i = 0, n = 1 + Math.floor(next() * 4); i < n; i++) bytes[Math.floor(next() * bytes.length)] ^= 1 << Math.floor(next() * 8);
      return bytes;
    }
    if (kind === 4) return bytes.subarray(0, Math.floor(next() * bytes.length));
    if (kind === 5) return Buffer.from(Array.from({ length: Math.floor(next() * 48) }, () => Math.floor(next() * 256)));
    return writeCbor(randomItem(next));
  }

  it('5,000 random and mutated payloads: only CodecError, and what decodes re-encodes and decodes again', () => {
    const next = random(0x5e112);
    const decoded = fuzzFormat(SENML_CBOR, 5000, () => mutate(next), model, (payload) => payload.toString('hex'));
    expect(decoded).toBeGreaterThan(50);
  });
});
