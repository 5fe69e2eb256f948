import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';
import type { Node } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';
import { CodecError, ContentFormat, decodeEntries, decodeNode, encodeNode } from '../../../src/lwm2m/codec';
import { DEVICE_ENTRIES } from './spec-examples';

const DEVICE: Record<number, [ResourceType, boolean?]> = {
  0: ['string'], 1: ['string'], 2: ['string'], 3: ['string'], 4: ['none'], 6: ['integer', true], 7: ['integer', true],
  8: ['integer', true], 9: ['integer'], 10: ['integer'], 11: ['integer', true], 13: ['time'], 14: ['string'],
  15: ['string'], 16: ['string'], 17: ['string'],
};
const OTHER: Record<string, ResourceType> = { '5/0': 'opaque', '1024/3': 'objlnk', '1024/2': 'boolean', '1024/0': 'unsigned' };
const model: ModelLookup = {
  resourceDefinition(objectId, resourceId) {
    const def: [ResourceType, boolean?] | undefined =
      objectId === 3 ? DEVICE[resourceId] : OTHER[`${objectId}/${resourceId}`] ? [OTHER[`${objectId}/${resourceId}`]] : undefined;
    return def && { id: resourceId, name: 'r', operations: 'RW', multiple: def[1] ?? false, mandatory: false, type: def[0] };
  },
};

const JSON_FORMAT = ContentFormat.OMA_JSON;
const json = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const entriesOf = (payload: unknown, path: string) => decodeEntries(JSON_FORMAT, json(payload), parsePath(path), model);
const nodeOf = (payload: unknown, path: string): Node => decodeNode(JSON_FORMAT, json(payload), parsePath(path), model);

// OMA TS LwM2M 1.0 §6.4.4: GET /3/0 in JSON (the last resource is Supported Binding, 16).
const DEVICE_JSON = {
  bn: '/3/0/',
  e: [
    { n: '0', sv: 'Open Mobile Alliance' },
    { n: '1', sv: 'Lightweight M2M Client' },
    { n: '2', sv: '345000123' },
    { n: '3', sv: '1.0' },
    { n: '6/0', v: 1 },
    { n: '6/1', v: 5 },
    { n: '7/0', v: 3800 },
    { n: '7/1', v: 5000 },
    { n: '8/0', v: 125 },
    { n: '8/1', v: 900 },
    { n: '9', v: 100 },
    { n: '10', v: 15 },
    { n: '11/0', v: 0 },
    { n: '13', v: 1367491215 },
    { n: '14', sv: '+02:00' },
    { n: '16', sv: 'U' },
  ],
};

describe('OMA JSON decoding', () => {
  it('decodes the spec Device example with "bn":"/3/0/" typed by the model', () => {
    expect(entriesOf(DEVICE_JSON, '/3/0')).toEqual(DEVICE_ENTRIES);
    const node = nodeOf(DEVICE_JSON, '/3/0');
    expect(node.kind).toBe('instance');
    expect(node.kind === 'instance' && node.resources.get(7)).toEqual({
      kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]),
    });
  });

  it('decodes names relative to "bn":"/", to the request path without bn, or absolute without bn', () => {
    const withRoot = { bn: '/', e: DEVICE_JSON.e.map((e) => ({ ...e, n: `3/0/${e.n}` })) };
    const relative = { e: DEVICE_JSON.e };
    const absolute = { e: DEVICE_JSON.e.map((e) => ({ ...e, n: `/3/0/${e.n}` })) };
    expect(entriesOf(withRoot, '/3/0')).toEqual(DEVICE_ENTRIES);
    expect(entriesOf(relative, '/3/0')).toEqual(DEVICE_ENTRIES);
    expect(entriesOf(absolute, '/3/0')).toEqual(DEVICE_ENTRIES);
    expect(entriesOf({ bn: '/3/0', e: [{ n: '9', v: 100 }] }, '/3/0')).toEqual([DEVICE_ENTRIES[10]]);
  });

  it('decodes the whole object at /3', () => {
    expect(entriesOf({ bn: '/3/', e: DEVICE_JSON.e.map((e) => ({ ...e, n: `0/${e.n}` })) }, '/3')).toEqual(DEVICE_ENTRIES);
  });

  // OMA TS LwM2M 1.0 §6.4.4: historical representations of a Temperature resource in a notification.
  const HISTORY = {
    e: [
      { n: '1/2', v: 22.4, t: -5 },
      { n: '1/2', v: 22.9, t: -30 },
      { n: '1/2', v: 24.1, t: -50 },
    ],
    bt: 25462634,
  };

  it('keeps every timed value of the spec historical example in the entries, time = bt + t', () => {
    expect(entriesOf(HISTORY, '/72')).toEqual([
      { path: '/72/1/2', type: 'float', value: 22.4, time: 25462629 },
      { path: '/72/1/2', type: 'float', value: 22.9, time: 25462604 },
      { path: '/72/1/2', type: 'float', value: 24.1, time: 25462584 },
    ]);
  });

  it('keeps the latest timed value in the node', () => {
    const node = nodeOf(HISTORY, '/72');
    expect(node.kind === 'object' && node.instances.get(1)?.resources.get(2)).toEqual({
      kind: 'single', id: 2, type: 'float', value: 22.4,
    });
  });

  it('accepts the draft spelling with numbers in strings', () => {
    const draft = '{"e":[{"n":"1/2","v":"22.4","t":"-5"}],"bt":"25462634"}';
    expect(entriesOf(draft, '/72')).toEqual([{ path: '/72/1/2', type: 'float', value: 22.4, time: 25462629 }]);
  });

  it('decodes a single resource with bn and no name (Leshan timestamped resource)', () => {
    const payload = { bn: '/1024/0/1', e: [{ v: 22.9, t: -30 }, { v: 22.4, t: -5 }], bt: 25462634 };
    expect(entriesOf(payload, '/1024/0/1').map((e) => e.time)).toEqual([25462604, 25462629]);
    expect(nodeOf(payload, '/1024/0/1')).toEqual({ kind: 'single', id: 1, type: 'float', value: 22.4 });
  });

  it('types unknown resources by value kind', () => {
    const payload = { bn: '/4242/0/', e: [{ n: '0', sv: 'a string' }, { n: '1', v: 10.5 }, { n: '2', bv: true }, { n: '3', ov: '3:0' }] };
    expect(entriesOf(payload, '/4242/0')).toEqual([
      { path: '/4242/0/0', type: 'string', value: 'a string' },
      { path: '/4242/0/1', type: 'float', value: 10.5 },
      { path: '/4242/0/2', type: 'boolean', value: true },
      { path: '/4242/0/3', type: 'objlnk', value: { objectId: 3, instanceId: 0 } },
    ]);
  });

  it('types known resources by the model, falling back to the value kind when it does not fit', () => {
    const payload = {
      e: [
        { n: '/5/0/0', sv: 'AQIDBAU=' },
        { n: '/3/0/9', v: 3.5 },
        { n: '/3/0/0', v: 3 },
        { n: '/1024/0/0', v: 7 },
        { n: '/1024/0/2', bv: false },
        { n: '/1024/0/3', ov: '66:1' },
        { n: '/3/0/13', sv: '1367491215' },
      ],
    };
    expect(entriesOf(payload, '/')).toEqual([
      { path: '/5/0/0', type: 'opaque', value: Buffer.from([1, 2, 3, 4, 5]) },
      { path: '/3/0/9', type: 'float', value: 3.5 },
      { path: '/3/0/0', type: 'float', value: 3 },
      { path: '/1024/0/0', type: 'unsigned', value: 7 },
      { path: '/1024/0/2', type: 'boolean', value: false },
      { path: '/1024/0/3', type: 'objlnk', value: { objectId: 66, instanceId: 1 } },
      { path: '/3/0/13', type: 'time', value: 1367491215 },
    ]);
  });

  it('decodes an empty multiple resource', () => {
    expect(nodeOf({ bn: '/3/0/6/', e: [] }, '/3/0/6')).toEqual({ kind: 'multiple', id: 6, type: 'integer', instances: new Map() });
    expect(nodeOf({ e: [] }, '/3')).toEqual({ kind: 'object', id: 3, instances: new Map() });
  });

  it('treats legacy format 1543 like 11543', () => {
    expect(decodeEntries(ContentFormat.OMA_JSON_LEGACY, json(DEVICE_JSON), parsePath('/3/0'), model)).toEqual(DEVICE_ENTRIES);
  });

  it.each([
    ['invalid JSON', '{"e":[', '/3/0'],
    ['no e', '{}', '/3/0'],
    ['e not an array', '{"e":{}}', '/3/0'],
    ['array root', '[]', '/3/0'],
    ['element not an object', '{"e":[1]}', '/3/0'],
    ['bn not a string', '{"bn":3,"e":[]}', '/3/0'],
    ['n not a string', '{"e":[{"n":9,"v":1}]}', '/3/0'],
    ['no value', '{"e":[{"n":"9"}]}', '/3/0'],
    ['two values', '{"e":[{"n":"9","v":1,"sv":"1"}]}', '/3/0'],
    ['bv not a boolean', '{"e":[{"n":"2","bv":1}]}', '/1024/0'],
    ['ov not a link', '{"e":[{"n":"3","ov":"3"}]}', '/1024/0'],
    ['sv not a string', '{"e":[{"n":"0","sv":1}]}', '/3/0'],
    ['v not a number', '{"e":[{"n":"9","v":"abc"}]}', '/3/0'],
    ['bt not a number', '{"bt":"x","e":[]}', '/3/0'],
    ['name outside the request path', '{"bn":"/4/0/","e":[{"n":"0","v":1}]}', '/3/0'],
    ['name not a resource', '{"bn":"/3/","e":[{"n":"0","v":1}]}', '/3'],
    ['name not a path', '{"e":[{"n":"x/y","v":1}]}', '/3/0'],
    ['single and multiple at once', '{"e":[{"n":"7","v":1},{"n":"7/0","v":1}]}', '/3/0'],
    ['empty single resource', '{"e":[]}', '/3/0/9'],
  ])('%s throws CodecError', (_name, payload, path) => {
    expect(() => nodeOf(payload, path)).toThrow(CodecError);
    expect(() => entriesOf(payload, path)).toThrow(CodecError);
  });
});

describe('OMA JSON encoding', () => {
  const encode = (path: string, node: Node): string => encodeNode(JSON_FORMAT, parsePath(path), node, model).toString();

  it('encodes an instance with bn = request path + "/" and decodes back to the same node', () => {
    const node = nodeOf(DEVICE_JSON, '/3/0');
    const text = encode('/3/0', node);
    expect(JSON.parse(text)).toEqual(DEVICE_JSON);
    expect(nodeOf(text, '/3/0')).toEqual(node);
  });

  it('encodes an object, a multiple resource and a single value', () => {
    expect(encode('/3', nodeOf({ bn: '/3/0/', e: [{ n: '9', v: 100 }] }, '/3'))).toBe('{"bn":"/3/","e":[{"n":"0/9","v":100}]}');
    expect(encode('/3/0/7', { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]) })).toBe(
      '{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}',
    );
    const single = encode('/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 100 });
    expect(single).toBe('{"bn":"/3/0/9","e":[{"v":100}]}');
    expect(nodeOf(single, '/3/0/9')).toEqual({ kind: 'single', id: 9, type: 'integer', value: 100 });
    expect(encode('/3/0/7/1', { kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 })).toBe(
      '{"bn":"/3/0/7/1","e":[{"v":5000}]}',
    );
  });

  it('encodes each value kind', () => {
    const instance: Node = {
      kind: 'instance',
      id: 0,
      resources: new Map<number, Node & { kind: 'single' }>([
        [0, { kind: 'single', id: 0, type: 'string', value: 'say "hi"' }],
        [1, { kind: 'single', id: 1, type: 'float', value: 10.5 }],
        [2, { kind: 'single', id: 2, type: 'boolean', value: true }],
        [3, { kind: 'single', id: 3, type: 'objlnk', value: { objectId: 3, instanceId: 0 } }],
        [4, { kind: 'single', id: 4, type: 'opaque', value: Buffer.from([1, 2, 3, 4, 5]) }],
        [5, { kind: 'single', id: 5, type: 'integer', value: 2n ** 62n }],
      ]),
    };
    expect(encode('/4242/0', instance)).toBe(
      '{"bn":"/4242/0/","e":[{"n":"0","sv":"say \\"hi\\""},{"n":"1","v":10.5},{"n":"2","bv":true},' +
        '{"n":"3","ov":"3:0"},{"n":"4","sv":"AQIDBAU="},{"n":"5","v":4611686018427387904}]}',
    );
  });

  it('refuses values that do not fit', () => {
    expect(() => encode('/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 'many' })).toThrow(CodecError);
    expect(() => encode('/3/0/4', { kind: 'single', id: 4, type: 'none', value: '' })).toThrow(CodecError);
  });
});
