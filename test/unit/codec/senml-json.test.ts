import type { ResourceType } from '../../../src/lwm2m/model/types';
import type { Node, ObjectInstanceNode, ResourceNode } from '../../../src/lwm2m/node';
import { parsePath, type LwM2mPath } from '../../../src/lwm2m/path';
import { CodecError, ContentFormat, decodeEntries, decodeNode, encodeNode, isSupportedFormat, parseContentFormat } from '../../../src/lwm2m/codec';
import { decodeSenmlJsonEntries } from '../../../src/lwm2m/codec/senml-json';
import { seededRandom as random } from '../../support/seeded-random';
import { fuzzFormat } from './format-fuzz';
import { DEVICE_ENTRIES, DEVICE_SENML, OBJLNK_TABLE, RFC_MEASUREMENTS } from './spec-examples';
import { senmlTestModel } from './senml-test-model';

const model = senmlTestModel;

const SENML = ContentFormat.SENML_JSON;
const json = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const entriesOf = (payload: unknown, path: string) => decodeEntries(SENML, json(payload), parsePath(path), model);
const nodeOf = (payload: unknown, path: string): Node => decodeNode(SENML, json(payload), parsePath(path), model);
const encode = (path: string, node: Node): string => encodeNode(SENML, parsePath(path), node, model).toString();

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
 * Sources of the examples below:
 * - OMA TS Core 1.1 (OMA-TS-LightweightM2M_Core-V1_1-20180710-A) §7.4.4 SenML JSON, Tables 7.4.4-2
 *   to 7.4.4-8 (1.1.1: §7.4.5, 1.2: §7.4.6), as transcribed verbatim by eclipse-wakaama/wakaama
 *   tests/data_senml_json_tests.c (senml_json_test_1..7, which name each table) and, for Table
 *   7.4.4-2, by eclipse-leshan/leshan leshan-core/src/test/java/org/eclipse/leshan/core/node/codec/
 *   LwM2mNodeDecoderTest.java (senml_json_decode_device_object_instance).
 * - RFC 8428 §5 and §6, from the RFC text (core-wg/senml-spec rfc8428.txt).
 */


describe('SenML JSON in the codec facade', () => {
  it('is a supported format, named 110, "senml+json", "senml-json" or its media type', () => {
    expect(isSupportedFormat(110)).toBe(true);
    for (const name of ['senml+json', 'senml-json', 'SENML_JSON', 'application/senml+json', '110']) expect(parseContentFormat(name)).toBe(110);
  });
});

describe('SenML JSON decoding: OMA TS Core 1.1 §7.4.4 examples', () => {
  it('decodes the Device object instance read example (Table 7.4.4-2, "bn":"/3/0/") typed by the model', () => {
    expect(entriesOf(DEVICE_SENML, '/3/0')).toEqual(DEVICE_ENTRIES);
    const node = nodeOf(DEVICE_SENML, '/3/0');
    expect(node.kind).toBe('instance');
    expect((node as ObjectInstanceNode).resources.get(7)).toEqual({
      kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]),
    });
    expect((node as ObjectInstanceNode).resources.get(13)).toEqual({ kind: 'single', id: 13, type: 'time', value: 1367491215 });
  });

  it('decodes the same records at /3 and at the root', () => {
    expect(entriesOf(DEVICE_SENML, '/3')).toEqual(DEVICE_ENTRIES);
    expect(entriesOf(DEVICE_SENML, '/')).toEqual(DEVICE_ENTRIES);
    expect(nodeOf(DEVICE_SENML, '/3')).toEqual({ kind: 'object', id: 3, instances: new Map([[0, nodeOf(DEVICE_SENML, '/3/0')]]) });
  });

  // Not one of the spec's tables (those have no multiple-resource Read): the same payload as leshan's
  // LwM2mNodeDecoderTest.senml_json_decode_multiple_resource, Power Source Voltage /3/0/7 of Table 7.4.4-2.
  it('decodes a multiple resource with bn "/3/0/7/" and instance names', () => {
    const payload = [{ bn: '/3/0/7/', n: '0', v: 3800 }, { n: '1', v: 5000 }];
    expect(entriesOf(payload, '/3/0/7')).toEqual([
      { path: '/3/0/7/0', type: 'integer', value: 3800 },
      { path: '/3/0/7/1', type: 'integer', value: 5000 },
    ]);
    expect(nodeOf(payload, '/3/0/7')).toEqual({ kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) });
    expect(nodeOf([{ n: '/3/0/7/1', v: 5000 }], '/3/0/7/1')).toEqual({ kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 });
    // Absolute names without bn say the same.
    expect(entriesOf([{ n: '/3/0/7/0', v: 3800 }, { n: '/3/0/7/1', v: 5000 }], '/3/0/7')).toEqual(entriesOf(payload, '/3/0/7'));
  });

  // Table 7.4.4-3: a notification with historical representations of a Temperature Resource,
  // /72/1/2 in the spec's example. Its bt 25462634 is below 2^28, so by RFC 8428 §4.5.3 the times
  // are relative to now: the decoder resolves them against the clock. /72/1/2 is not in the model:
  // v is a float.
  const TIME_SERIES = [
    { bn: '/72/', bt: 25462634, n: '1/2', v: 22.4, t: -5 },
    { n: '1/2', v: 22.9, t: -30 },
    { n: '1/2', v: 24.1, t: -50 },
  ];

  it('keeps every record of the time-series example (Table 7.4.4-3) in the entries, time = bt + t (relative: + now)', () => {
    expect(entriesOf(TIME_SERIES, '/72')).toEqual([
      { path: '/72/1/2', type: 'float', value: 22.4, time: NOW + 25462629 },
      { path: '/72/1/2', type: 'float', value: 22.9, time: NOW + 25462604 },
      { path: '/72/1/2', type: 'float', value: 24.1, time: NOW + 25462584 },
    ]);
  });

  it('keeps the latest record of a time series in the node', () => {
    expect(nodeOf(TIME_SERIES, '/72/1/2')).toEqual({ kind: 'single', id: 2, type: 'float', value: 22.4 });
    const node = nodeOf(TIME_SERIES, '/72');
    expect(node.kind === 'object' && node.instances.get(1)?.resources.get(2)).toEqual({ kind: 'single', id: 2, type: 'float', value: 22.4 });
  });

  // Not a spec example: absolute times on the IPSO Temperature Sensor Value.
  it('keeps absolute times (>= 2^28) as they are', () => {
    const payload = [
      { bn: '/3303/0/5700', bt: 1367491215, v: 24.1, t: -50 },
      { v: 22.9, t: -30 },
      { v: 22.4, t: 0 },
    ];
    expect(entriesOf(payload, '/3303/0/5700').map((e) => e.time)).toEqual([1367491165, 1367491185, 1367491215]);
    expect(nodeOf(payload, '/3303/0/5700')).toEqual({ kind: 'single', id: 5700, type: 'float', value: 22.4 });
    expect(entriesOf([{ n: '/3303/0/5700', v: 1, t: 1.5e9 }], '/')).toEqual([{ path: '/3303/0/5700', type: 'float', value: 1, time: 1.5e9 }]);
  });

  // Table 7.4.4-4 (spec-examples.ts): the Object Link example of objects 65, 66 and 67, bn "/"
  // and names relative to it. The entries of its object 66:
  const OBJLNK_66_ENTRIES = [
    { path: '/66/0/0', type: 'string', value: 'myService1' },
    { path: '/66/0/1', type: 'string', value: 'Internet.15.234' },
    { path: '/66/0/2', type: 'objlnk', value: { objectId: 67, instanceId: 0 } },
    { path: '/66/1/0', type: 'string', value: 'myService2' },
    { path: '/66/1/1', type: 'string', value: 'Internet.15.235' },
    { path: '/66/1/2', type: 'objlnk', value: { objectId: 65535, instanceId: 65535 } },
  ];

  it('decodes the object link (vlo) example of Table 7.4.4-4', () => {
    expect(entriesOf(OBJLNK_TABLE, '/')).toEqual([
      { path: '/65/0/0/0', type: 'objlnk', value: { objectId: 66, instanceId: 0 } },
      { path: '/65/0/0/1', type: 'objlnk', value: { objectId: 66, instanceId: 1 } },
      { path: '/65/0/1', type: 'string', value: '8613800755500' },
      { path: '/65/0/2', type: 'float', value: 1 },
      ...OBJLNK_66_ENTRIES,
      { path: '/67/0/0', type: 'string', value: '85.76.76.84' },
      { path: '/67/0/1', type: 'string', value: '85.76.255.255' },
    ]);
    // A request on /66 refuses the records of /65 and /67.
    expect(() => entriesOf(OBJLNK_TABLE, '/66')).toThrow('is outside /66');
  });

  // The /66 records of Table 7.4.4-4 with bn changing from one instance to the next (as wakaama's
  // senml_json_test_17 "adapted from Table 7.4.4-4").
  it('decodes the object link example with bn changing between instances', () => {
    const payload = [
      { bn: '/66/0/', n: '0', vs: 'myService1' },
      { n: '1', vs: 'Internet.15.234' },
      { n: '2', vlo: '67:0' },
      { bn: '/66/1/', n: '0', vs: 'myService2' },
      { n: '1', vs: 'Internet.15.235' },
      { n: '2', vlo: '65535:65535' },
    ];
    expect(entriesOf(payload, '/66')).toEqual(OBJLNK_66_ENTRIES);
    const node = nodeOf(payload, '/66');
    expect(node.kind === 'object' && [...node.instances.keys()]).toEqual([0, 1]);
  });

  // Table 7.4.4-5 (Read /3/0/0): a single Resource named by bn alone. The table misses a closing
  // quote, which wakaama's transcription (senml_json_test_4) corrects, as here.
  it('decodes the single resource example of Table 7.4.4-5 (bn, no n)', () => {
    const payload = '[{"bn":"/3/0/0","vs":"Open Mobile Alliance"}]';
    expect(entriesOf(payload, '/3/0/0')).toEqual([{ path: '/3/0/0', type: 'string', value: 'Open Mobile Alliance' }]);
    expect(nodeOf(payload, '/3/0/0')).toEqual({ kind: 'single', id: 0, type: 'string', value: 'Open Mobile Alliance' });
  });

  // Table 7.4.4-7 (Read-Composite response) and Table 7.4.4-8 (Write-Composite request): absolute
  // names in n, no bn; spaced as wakaama transcribes them (senml_json_test_6, _7). /1/0/1, /3311 and
  // /3308 are not in the model.
  it('decodes the composite examples of Tables 7.4.4-7 and 7.4.4-8', () => {
    const read = '[{"n":"/3/0/0", "vs":"Open Mobile Alliance"},{"n" :"/3/0/9", "v":95},{"n":"/1/0/1", "v":86400}]';
    expect(entriesOf(read, '/')).toEqual([
      { path: '/3/0/0', type: 'string', value: 'Open Mobile Alliance' },
      { path: '/3/0/9', type: 'integer', value: 95 },
      { path: '/1/0/1', type: 'float', value: 86400 },
    ]);
    const write = '[{"n":"/3311/0/5850", "vb":false},{"n":"/3311/1/5850", "vb":false},{"n":"/3311/2/5851", "v":20},{"n":"/3308/0/5900", "v":18}]';
    expect(entriesOf(write, '/')).toEqual([
      { path: '/3311/0/5850', type: 'boolean', value: false },
      { path: '/3311/1/5850', type: 'boolean', value: false },
      { path: '/3311/2/5851', type: 'float', value: 20 },
      { path: '/3308/0/5900', type: 'float', value: 18 },
    ]);
  });
});

/*
 * The RFC 8428 §5.1 examples with their names mapped to LwM2M paths and everything else kept:
 * "urn:dev:ow:10e2073a0108006:" (bn) → "/", "voltage" → "3316/0/5700" (IPSO Voltage, Sensor Value),
 * "current" → "3317/0/5700" (IPSO Current), the 1-wire sensor → /3303/0/5700, "temp", "label", "open",
 * "nfv-reader" → /4242/0/0..3. The RFC's own names are not LwM2M paths and are refused.
 */
describe('SenML JSON decoding: RFC 8428 §5 examples on LwM2M paths', () => {
  // §5.1.1 Single Data Point: [{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]; "u" is ignored.
  it('single datapoint with a unit', () => {
    expect(entriesOf([{ n: '/3303/0/5700', u: 'Cel', v: 23.1 }], '/3303/0/5700')).toEqual([{ path: '/3303/0/5700', type: 'float', value: 23.1 }]);
    expect(() => entriesOf([{ n: 'urn:dev:ow:10e2073a01080063', u: 'Cel', v: 23.1 }], '/')).toThrow('is not an absolute LwM2M path');
  });

  // §5.1.2 Multiple Data Points, first example:
  // [{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},{"n":"current","u":"A","v":1.2}]
  it('multiple datapoints under one bn', () => {
    const payload = [{ bn: '/', n: '3316/0/5700', u: 'V', v: 120.1 }, { n: '3317/0/5700', u: 'A', v: 1.2 }];
    expect(entriesOf(payload, '/')).toEqual([
      { path: '/3316/0/5700', type: 'float', value: 120.1 },
      { path: '/3317/0/5700', type: 'float', value: 1.2 },
    ]);
  });

  // §5.1.2 Multiple Data Points, second example (spec-examples.ts).
  it('multiple measurements: bt applies to the following records, t relative to it', () => {
    const payload = RFC_MEASUREMENTS;
    const entries = entriesOf(payload, '/');
    expect(entries.map((e) => [e.path, e.value])).toEqual([
      ['/3316/0/5700', 120.1], ['/3317/0/5700', 1.2], ['/3317/0/5700', 1.3], ['/3317/0/5700', 1.4], ['/3317/0/5700', 1.5],
      ['/3317/0/5700', 1.6], ['/3317/0/5700', 1.7],
    ]);
    const times = entries.map((e) => e.time as number);
    [0, -5, -4, -3, -2, -1, 0].forEach((dt, i) => expect(times[i]).toBeCloseTo(1.276020076001e9 + dt, 3));
    expect(nodeOf(payload.slice(1).map((r, i) => (i === 0 ? { ...r, bn: '/', bt: 1.276020076001e9 } : r)), '/3317/0/5700')).toEqual({
      kind: 'single', id: 5700, type: 'float', value: 1.7,
    });
  });

  // §5.1.5 Multiple Data Types: v, vs, vb and vd ("aGkgCg" = "hi \n").
  it('multiple data types, vd as base64url', () => {
    const payload = [
      { bn: '/4242/0/', n: '0', u: 'Cel', v: 23.1 },
      { n: '1', vs: 'Machine Room' },
      { n: '2', vb: false },
      { n: '3', vd: 'aGkgCg' },
    ];
    expect(entriesOf(payload, '/4242/0')).toEqual([
      { path: '/4242/0/0', type: 'float', value: 23.1 },
      { path: '/4242/0/1', type: 'string', value: 'Machine Room' },
      { path: '/4242/0/2', type: 'boolean', value: false },
      { path: '/4242/0/3', type: 'opaque', value: Buffer.from('hi \n') },
    ]);
  });

  // §4.5.3: without bt, a small t is relative to now ("5 seconds ago").
  it('resolves a time relative to now, and leaves records without bt/t untimed', () => {
    expect(entriesOf([{ n: '/3303/0/5700', v: 21, t: -5 }, { n: '/3303/0/5700', v: 22 }], '/3303/0/5700')).toEqual([
      { path: '/3303/0/5700', type: 'float', value: 21, time: NOW - 5 },
      { path: '/3303/0/5700', type: 'float', value: 22 },
    ]);
    const clock = () => 1000;
    expect(decodeSenmlJsonEntries(json([{ n: '/3303/0/5700', v: 1, t: -5 }]), {}, model, clock)[0].time).toBe(995);
  });

  it('adds bv (base value) to v', () => {
    expect(entriesOf([{ bn: '/3303/0/', bv: 20, n: '5700', v: 1.5 }, { n: '5701', vs: 'Cel' }], '/3303/0')).toEqual([
      { path: '/3303/0/5700', type: 'float', value: 21.5 },
      { path: '/3303/0/5701', type: 'string', value: 'Cel' },
    ]);
  });
});

describe('SenML JSON decoding: types', () => {
  it('types unknown resources by value kind', () => {
    const payload = [
      { bn: '/4242/0/', n: '0', vs: 'a string' }, { n: '1', v: 10 }, { n: '2', vb: true }, { n: '3', vlo: '3:0' }, { n: '4', vd: 'AQID' },
    ];
    expect(entriesOf(payload, '/4242/0')).toEqual([
      { path: '/4242/0/0', type: 'string', value: 'a string' },
      { path: '/4242/0/1', type: 'float', value: 10 },
      { path: '/4242/0/2', type: 'boolean', value: true },
      { path: '/4242/0/3', type: 'objlnk', value: { objectId: 3, instanceId: 0 } },
      { path: '/4242/0/4', type: 'opaque', value: Buffer.from([1, 2, 3]) },
    ]);
  });

  it('types known resources by the model (integer vs float, time, unsigned), the value kind when it does not fit', () => {
    const payload = [
      { n: '/1024/0/5', v: 7 },
      { n: '/1024/0/1', v: 7 },
      { n: '/1024/0/6', v: 1367491215 },
      { n: '/1024/0/0', v: 7 },
      { n: '/1024/0/0', v: -7 },
      { n: '/3/0/9', v: 3.5 },
      { n: '/3/0/0', v: 3 },
      { n: '/1024/0/5', v: 2 ** 60 },
      { n: '/1024/0/5', vs: '42' },
      { n: '/1024/0/4', vs: '</3/0>' },
      { n: '/5/0/0', vs: 'AQID' },
    ];
    expect(entriesOf(payload, '/')).toEqual([
      { path: '/1024/0/5', type: 'integer', value: 7 },
      { path: '/1024/0/1', type: 'float', value: 7 },
      { path: '/1024/0/6', type: 'time', value: 1367491215 },
      { path: '/1024/0/0', type: 'unsigned', value: 7 },
      { path: '/1024/0/0', type: 'float', value: -7 },
      { path: '/3/0/9', type: 'float', value: 3.5 },
      { path: '/3/0/0', type: 'float', value: 3 },
      { path: '/1024/0/5', type: 'integer', value: 2n ** 60n },
      { path: '/1024/0/5', type: 'integer', value: 42 },
      { path: '/1024/0/4', type: 'corelnk', value: '</3/0>' },
      { path: '/5/0/0', type: 'opaque', value: Buffer.from([1, 2, 3]) },
    ]);
  });

  it('accepts padded base64url, normalises names with leading zeros', () => {
    expect(entriesOf([{ n: '/5/0/0', vd: 'AQ==' }], '/5/0/0')[0].value).toEqual(Buffer.from([1]));
    expect(entriesOf([{ n: '/03/00/009', v: 1 }], '/3/0/9')[0].path).toBe('/3/0/9');
  });

  it('decodes an empty array: an empty multiple resource, object or instance', () => {
    expect(nodeOf([], '/3/0/6')).toEqual({ kind: 'multiple', id: 6, type: 'integer', instances: new Map() });
    expect(nodeOf([], '/3')).toEqual({ kind: 'object', id: 3, instances: new Map() });
    expect(entriesOf([], '/3/0')).toEqual([]);
  });
});

describe('SenML JSON rejections', () => {
  it.each([
    ['invalid JSON', '[{"n":', '/3/0'],
    ['not an array', '{"bn":"/3/0/","e":[]}', '/3/0'],
    ['a number', '3', '/3/0'],
    ['a record not an object', '[1]', '/3/0'],
    ['a null record', '[null]', '/3/0'],
    ['a nested array', '[[{"n":"/3/0/9","v":1}]]', '/3/0'],
    ['a record without a name when no bn', '[{"v":1}]', '/3/0'],
    ['an empty name when no bn', '[{"n":"","v":1}]', '/3/0'],
    ['a relative name', '[{"n":"3/0/9","v":1}]', '/3/0'],
    ['a name not a path', '[{"n":"/3/x/9","v":1}]', '/3/0'],
    ['a name with a trailing slash', '[{"n":"/3/0/9/","v":1}]', '/3/0'],
    ['a name with five levels', '[{"n":"/3/0/7/0/1","v":1}]', '/3/0'],
    ['an id beyond 65535', '[{"n":"/3/0/70000","v":1}]', '/3/0'],
    ['a name not a resource', '[{"bn":"/3/0","v":1}]', '/3'],
    ['a name outside the request path', '[{"n":"/4/0/0","v":1}]', '/3/0'],
    ['bn not a string', '[{"bn":3,"n":"/3/0/9","v":1}]', '/3/0'],
    ['n not a string', '[{"bn":"/3/0/","n":9,"v":1}]', '/3/0'],
    ['bt not a number', '[{"bn":"/3/0/9","bt":"1","v":1}]', '/3/0'],
    ['t not a number', '[{"n":"/3/0/9","t":"1","v":1}]', '/3/0'],
    ['bv not a number', '[{"n":"/3/0/9","bv":true,"v":1}]', '/3/0'],
    ['no value', '[{"n":"/3/0/9"}]', '/3/0'],
    ['v and vs in one record', '[{"n":"/3/0/9","v":1,"vs":"1"}]', '/3/0'],
    ['vb and vd in one record', '[{"n":"/1024/0/2","vb":true,"vd":"AQ"}]', '/1024/0'],
    ['v not a number', '[{"n":"/3/0/9","v":"100"}]', '/3/0'],
    ['vs not a string', '[{"n":"/3/0/0","vs":1}]', '/3/0'],
    ['vb not a boolean', '[{"n":"/1024/0/2","vb":1}]', '/1024/0'],
    ['vd not a string', '[{"n":"/5/0/0","vd":1}]', '/5/0'],
    ['vd with the base64 alphabet', '[{"n":"/5/0/0","vd":"+/8"}]', '/5/0'],
    ['vd of a bad length', '[{"n":"/5/0/0","vd":"AQIDB"}]', '/5/0'],
    ['vd with bad padding', '[{"n":"/5/0/0","vd":"AQ="}]', '/5/0'],
    ['vd not canonical', '[{"n":"/5/0/0","vd":"AR"}]', '/5/0'],
    ['vlo not a link', '[{"n":"/1024/0/3","vlo":"3"}]', '/1024/0'],
    ['vlo out of range', '[{"n":"/1024/0/3","vlo":"70000:0"}]', '/1024/0'],
    ['vlo not a string', '[{"n":"/1024/0/3","vlo":{"objectId":3,"instanceId":0}}]', '/1024/0'],
    ['a must-understand field', '[{"n":"/3/0/9","v":1,"ttl_":5}]', '/3/0'],
    ['an unsupported version', '[{"bver":11,"n":"/3/0/9","v":1}]', '/3/0'],
    ['single and multiple at once', '[{"n":"/3/0/7","v":1},{"n":"/3/0/7/0","v":1}]', '/3/0'],
    ['an empty single resource', '[]', '/3/0/9'],
    ['a resource for a resource instance path', '[{"n":"/3/0/7","v":1}]', '/3/0/7/0'],
  ])('%s throws CodecError', (_name, payload, path) => {
    expect(() => nodeOf(payload, path)).toThrow(CodecError);
    expect(() => entriesOf(payload, path)).toThrow(CodecError);
  });

  it('says what is wrong', () => {
    expect(() => entriesOf('{}', '/3/0')).toThrow('SenML JSON needs an array of records');
    expect(() => entriesOf([{ n: '/3/0/9', v: 1 }, { v: 2 }], '/')).toThrow('SenML JSON record 1 has no name (neither bn nor n)');
    expect(() => entriesOf([{ v: 2 }], '/')).toThrow('SenML JSON record 0 has no name (neither bn nor n)');
    expect(() => entriesOf([{ n: '/3/0/9', v: 1, vs: '1' }], '/')).toThrow('needs exactly one of v, vs, vb, vd, vlo (has v, vs)');
    expect(() => entriesOf([{ n: '/5/0/0', vd: 'A' }], '/')).toThrow('"vd" is not base64url');
  });
});

describe('SenML JSON encoding', () => {
  it('encodes the Device instance as the spec example (Table 7.4.4-2), byte for byte: bn "/3/0/" on the first record', () => {
    const node = nodeOf(DEVICE_SENML, '/3/0');
    const text = encode('/3/0', node);
    expect(text).toBe(JSON.stringify(DEVICE_SENML));
    expect(text.startsWith('[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},')).toBe(true);
    expect(nodeOf(text, '/3/0')).toEqual(node);
  });

  // A single value is named by n alone. Table 7.4.4-5 names its single Resource by bn alone
  // ([{"bn":"/3/0/0","vs":..}]), Table 7.4.4-7 and the SenML CBOR object link example of
  // OMA_LwM2M_for_Developers#484 by n alone: both resolve to the same name (RFC 8428 §4.5.1) and
  // both decode (see the Table 7.4.4-5 test above).
  it('encodes an object, a multiple resource, a single value and a resource instance', () => {
    expect(encode('/3', nodeOf([{ n: '/3/0/9', v: 100 }], '/3'))).toBe('[{"bn":"/3/","n":"0/9","v":100}]');
    expect(encode('/3/0/7', { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) })).toBe(
      '[{"bn":"/3/0/7/","n":"0","v":3800},{"n":"1","v":5000}]',
    );
    expect(encode('/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 100 })).toBe('[{"n":"/3/0/9","v":100}]');
    expect(encode('/3/0/7/1', { kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 })).toBe('[{"n":"/3/0/7/1","v":5000}]');
    expect(encode('/3/0/6', { kind: 'multiple', id: 6, type: 'integer', instances: new Map() })).toBe('[]');
  });

  it('picks the value kind by resource type', () => {
    const resources: [number, ResourceType, unknown][] = [
      [0, 'unsigned', 7], [1, 'float', 10.5], [2, 'boolean', true], [3, 'objlnk', { objectId: 3, instanceId: 0 }],
      [4, 'corelnk', '</3/0>;ver=1.1'], [5, 'integer', 2n ** 62n], [6, 'time', 1367491215], [7, 'string', 'say "hi"'],
      [8, 'opaque', Buffer.from([0xfb, 0xff, 0xfe])],
    ];
    const node = {
      kind: 'instance',
      id: 0,
      resources: new Map(resources.map(([id, type, value]) => [id, { kind: 'single', id, type, value }])),
    } as ObjectInstanceNode;
    expect(encode('/1024/0', node)).toBe(
      '[{"bn":"/1024/0/","n":"0","v":7},{"n":"1","v":10.5},{"n":"2","vb":true},{"n":"3","vlo":"3:0"},' +
        '{"n":"4","vs":"</3/0>;ver=1.1"},{"n":"5","v":4611686018427387904},{"n":"6","v":1367491215},' +
        '{"n":"7","vs":"say \\"hi\\""},{"n":"8","vd":"-__-"}]',
    );
  });

  const ROUND_TRIPS: [string, ResourceType, unknown][] = [
    ['/1024/0/0', 'unsigned', 7],
    ['/1024/0/0', 'unsigned', 0],
    ['/1024/0/1', 'float', 10.5],
    ['/1024/0/1', 'float', -1e-300],
    ['/1024/0/2', 'boolean', true],
    ['/1024/0/2', 'boolean', false],
    ['/1024/0/3', 'objlnk', { objectId: 65535, instanceId: 0 }],
    ['/1024/0/4', 'corelnk', '</3/0/7>;dim=2'],
    ['/1024/0/5', 'integer', -42],
    ['/1024/0/5', 'integer', 2n ** 62n],
    ['/1024/0/6', 'time', 1367491215],
    ['/1024/0/7', 'string', 'üñï "\\ \u0000'],
    ['/1024/0/7', 'string', ''],
    ['/1024/0/8', 'opaque', Buffer.from([0, 1, 2, 0xfb, 0xff])],
    ['/1024/0/8', 'opaque', Buffer.alloc(0)],
  ];

  it.each(ROUND_TRIPS)('round trips %s %s %p', (path, type, value) => {
    const resourceId = Number(path.split('/')[3]);
    const node = { kind: 'single', id: resourceId, type, value } as ResourceNode;
    expect(nodeOf(encode(path, node), path)).toEqual(node);
    const instance: ObjectInstanceNode = { kind: 'instance', id: 0, resources: new Map([[resourceId, node]]) };
    expect(nodeOf(encode('/1024/0', instance), '/1024/0')).toEqual(instance);
    expect(nodeOf(encode('/1024', { kind: 'object', id: 1024, instances: new Map([[0, instance]]) }), '/1024')).toEqual({
      kind: 'object', id: 1024, instances: new Map([[0, instance]]),
    });
  });

  it('round trips a multiple resource and an instance of every type', () => {
    const multiple: ResourceNode = { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [5, -1]]) };
    expect(nodeOf(encode('/3/0/7', multiple), '/3/0/7')).toEqual(multiple);
    const instance = { kind: 'instance', id: 0, resources: new Map() } as ObjectInstanceNode;
    ROUND_TRIPS.forEach(([path, type, value]) => {
      const id = Number(path.split('/')[3]);
      if (!instance.resources.has(id)) instance.resources.set(id, { kind: 'single', id, type, value } as ResourceNode);
    });
    expect(nodeOf(encode('/1024/0', instance), '/1024/0')).toEqual(instance);
  });

  it('accepts MQTT-style spellings of values, and refuses values that do not fit', () => {
    expect(encode('/1024/0/8', { kind: 'single', id: 8, type: 'opaque', value: '+/8=' })).toBe('[{"n":"/1024/0/8","vd":"-_8"}]');
    expect(encode('/1024/0/3', { kind: 'single', id: 3, type: 'objlnk', value: '3:1' })).toBe('[{"n":"/1024/0/3","vlo":"3:1"}]');
    expect(() => encode('/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 'many' })).toThrow(CodecError);
    expect(() => encode('/1024/0/0', { kind: 'single', id: 0, type: 'unsigned', value: -1 })).toThrow(CodecError);
    expect(() => encode('/1024/0/1', { kind: 'single', id: 1, type: 'float', value: Number.NaN })).toThrow(CodecError);
    expect(() => encode('/3/0/4', { kind: 'single', id: 4, type: 'none', value: '' })).toThrow(CodecError);
  });
});


describe('SenML JSON fuzzing', () => {
  const SEEDS: unknown[] = [
    DEVICE_SENML,
    [{ bn: '/3303/0/5700', bt: 25462634, v: 22.4, t: -5 }, { v: 22.9, t: -30 }],
    [{ bn: '/66/0/', n: '0', vs: 'x' }, { n: '2', vlo: '67:0' }, { bn: '/5/0/', n: '0', vd: 'aGkgCg' }, { n: '/1024/0/2', vb: true }],
  ];
  const FIELDS = ['bn', 'bt', 'bv', 'bver', 'n', 't', 'v', 'vs', 'vb', 'vd', 'vlo', 'u', 'x_'];
  const PATHS: LwM2mPath[] = ['/', '/3', '/3/0', '/3/0/7', '/3/0/7/0', '/3/0/9', '/3303/0/5700', '/66', '/5/0/0', '/1024/0'].map(parsePath);

  function randomJson(next: () => number, depth = 0): unknown {
    switch (Math.floor(next() * (depth > 2 ? 6 : 8))) {
      case 0: return Math.floor(next() * 2 ** 31) - 2 ** 30;
      case 1: return next() * 1e10 - 5e9;
      case 2: return ['', '/3/0/0', '/3/0/7/1', '3:0', 'AQID', '+/', '/', 'x', '/3/0/', '0', '/99999/0/0'][Math.floor(next() * 11)];
      case 3: return next() < 0.5;
      case 4: return null;
      case 5: return [1e308, -0, 2 ** 53 + 1, 1e-320][Math.floor(next() * 4)];
      case 6: return Array.from({ length: Math.floor(next() * 3) }, () => randomJson(next, depth + 1));
      default: return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [FIELDS[Math.floor(next() * FIELDS.length)], randomJson(next, depth + 1)]));
    }
  }

  /** A structural mutation (field values, records) or a byte-level one. */
  function mutate(next: () => number): Buffer {
    const records = structuredClone(SEEDS[Math.floor(next() * SEEDS.length)]) as Record<string, unknown>[];
    const kind = Math.floor(next() * 6);
    if (kind <= 2) {
      for (let i = 0, n = 1 + Math.floor(next() * 3); i < n; i++) {
        const record = records[Math.floor(next() * records.length)];
        const field = FIELDS[Math.floor(next() * FIELDS.length)];
        if (next() < 0.3) delete record[field];
        else record[field] = randomJson(next);
      }
      if (kind === 2) records.splice(Math.floor(next() * records.length), 0, randomJson(next) as Record<string, unknown>);
      return json(records);
    }
    const bytes = json(records);
    if (kind === 3) {
      for (let i = 0, n = 1 + Math.floor(next() * 4); i < n; i++) bytes[Math.floor(next() * bytes.length)] ^= 1 << Math.floor(next() * 8);
      return bytes;
    }
    if (kind === 4) return bytes.subarray(0, Math.floor(next() * bytes.length));
    return json(randomJson(next));
  }

  it('5,000 random and mutated payloads: only CodecError, and what decodes re-encodes and decodes again', () => {
    const next = random(0x5e41);
    const draw = (): [Buffer, LwM2mPath] => [mutate(next), PATHS[Math.floor(next() * PATHS.length)]];
    const decoded = fuzzFormat(SENML, 5000, draw, model, (payload) => payload.toString());
    expect(decoded).toBeGreaterThan(50);
  });
});
