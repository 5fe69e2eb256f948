import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';
import type { Node } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';
import { CodecError, ContentFormat, decodeEntries, decodeNode, encodeNode } from '../../../src/lwm2m/codec';

const TYPES: Record<string, ResourceType> = {
  '3/0': 'string', '3/9': 'integer', '3/13': 'time', '3/7': 'integer', '3/4': 'none',
  '5/0': 'opaque', '1/6': 'boolean', '1024/0': 'unsigned', '1024/1': 'float', '1024/3': 'objlnk', '1024/5': 'corelnk',
};
const model: ModelLookup = {
  resourceDefinition(objectId, resourceId) {
    const type = TYPES[`${objectId}/${resourceId}`];
    return type && { id: resourceId, name: 'r', operations: 'RW', multiple: objectId === 3 && resourceId === 7, mandatory: false, type };
  },
};
const text = (payload: string, path: string): Node => decodeNode(ContentFormat.TEXT, Buffer.from(payload), parsePath(path), model);
const encodeText = (path: string, node: Node): string => encodeNode(ContentFormat.TEXT, parsePath(path), node, model).toString();

describe('plain text', () => {
  it('decodes the spec example GET /3/0/0 -> "Open Mobile Alliance"', () => {
    expect(text('Open Mobile Alliance', '/3/0/0')).toEqual({ kind: 'single', id: 0, type: 'string', value: 'Open Mobile Alliance' });
  });

  it('decodes values per the model type', () => {
    expect(text('100', '/3/0/9')).toMatchObject({ type: 'integer', value: 100 });
    expect(text('-42', '/3/0/9')).toMatchObject({ type: 'integer', value: -42 });
    expect(text('9223372036854775807', '/3/0/9')).toMatchObject({ type: 'integer', value: 9223372036854775807n });
    expect(text('1367491215', '/3/0/13')).toMatchObject({ type: 'time', value: 1367491215 });
    expect(text('AQIDBAU=', '/5/0/0')).toMatchObject({ type: 'opaque', value: Buffer.from([1, 2, 3, 4, 5]) });
    expect(text('4294967295', '/1024/0/0')).toMatchObject({ type: 'unsigned', value: 4294967295 });
    expect(text('3.14', '/1024/0/1')).toMatchObject({ type: 'float', value: 3.14 });
    expect(text('-1.5e3', '/1024/0/1')).toMatchObject({ type: 'float', value: -1500 });
    expect(text('66:1', '/1024/0/3')).toMatchObject({ type: 'objlnk', value: { objectId: 66, instanceId: 1 } });
    expect(text('</3/0>', '/1024/0/5')).toMatchObject({ type: 'corelnk', value: '</3/0>' });
  });

  it.each([['1', true], ['0', false], ['true', true], ['false', false]])('decodes boolean %p', (payload, value) => {
    expect(text(payload, '/1/0/6')).toMatchObject({ type: 'boolean', value });
  });

  it('decodes a resource instance', () => {
    expect(text('3800', '/3/0/7/0')).toEqual({ kind: 'resourceInstance', id: 0, type: 'integer', value: 3800 });
  });

  it('decodes unknown resources, and values that do not fit the declared type, as strings', () => {
    expect(text('12', '/9999/0/1')).toMatchObject({ type: 'string', value: '12' });
    expect(text('twelve', '/3/0/9')).toMatchObject({ type: 'string', value: 'twelve' });
    expect(text('!,-INVALID$_\'', '/5/0/0')).toMatchObject({ type: 'string', value: '!,-INVALID$_\'' });
    expect(text('yes', '/1/0/6')).toMatchObject({ type: 'string', value: 'yes' });
  });

  it('refuses paths above a resource', () => {
    expect(() => text('1', '/3/0')).toThrow(CodecError);
    expect(() => text('1', '/3')).toThrow(CodecError);
  });

  it('encodes values in their text spelling', () => {
    const single = (id: number, type: ResourceType, value: unknown): Node => ({ kind: 'single', id, type, value }) as Node;
    expect(encodeText('/3/0/0', single(0, 'string', 'Open Mobile Alliance'))).toBe('Open Mobile Alliance');
    expect(encodeText('/3/0/9', single(9, 'integer', 100))).toBe('100');
    expect(encodeText('/3/0/9', single(9, 'integer', 2n ** 62n))).toBe('4611686018427387904');
    expect(encodeText('/1/0/6', single(6, 'boolean', true))).toBe('1');
    expect(encodeText('/1/0/6', single(6, 'boolean', false))).toBe('0');
    expect(encodeText('/1024/0/1', single(1, 'float', 3.14))).toBe('3.14');
    expect(encodeText('/1024/0/3', single(3, 'objlnk', { objectId: 66, instanceId: 1 }))).toBe('66:1');
    expect(encodeText('/5/0/0', single(0, 'opaque', Buffer.from([1, 2, 3, 4, 5])))).toBe('AQIDBAU=');
    expect(encodeText('/3/0/7/1', { kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 })).toBe('5000');
    // The model type wins over the node's: "100" from MQTT for an integer resource.
    expect(encodeText('/3/0/9', single(9, 'string', '100'))).toBe('100');
  });

  it('refuses to encode anything but a single value', () => {
    const instance: Node = { kind: 'instance', id: 0, resources: new Map() };
    const multiple: Node = { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 1]]) };
    expect(() => encodeText('/3/0', instance)).toThrow(CodecError);
    expect(() => encodeText('/3/0/7', multiple)).toThrow(CodecError);
    expect(() => encodeText('/3/0/9', { kind: 'single', id: 9, type: 'integer', value: 'x' })).toThrow(CodecError);
  });

  it('gives absolute-path entries', () => {
    expect(decodeEntries(ContentFormat.TEXT, Buffer.from('100'), parsePath('/3/0/9'), model)).toEqual([
      { path: '/3/0/9', type: 'integer', value: 100 },
    ]);
  });
});

describe('opaque', () => {
  const bytes = Buffer.from([0, 1, 0xfe, 0xff]);

  it('decodes raw bytes of a resource or resource instance', () => {
    expect(decodeNode(ContentFormat.OPAQUE, bytes, parsePath('/5/0/0'), model)).toEqual({
      kind: 'single', id: 0, type: 'opaque', value: bytes,
    });
    expect(decodeNode(ContentFormat.OPAQUE, bytes, parsePath('/5/0/0/3'), model)).toEqual({
      kind: 'resourceInstance', id: 3, type: 'opaque', value: bytes,
    });
  });

  it('copies the payload so the value outlives the datagram', () => {
    const payload = Buffer.from(bytes);
    const node = decodeNode(ContentFormat.OPAQUE, payload, parsePath('/5/0/0'), model);
    payload.fill(0);
    expect(node.kind === 'single' && node.value).toEqual(bytes);
  });

  it('encodes a single opaque value and refuses anything else', () => {
    expect(encodeNode(ContentFormat.OPAQUE, parsePath('/5/0/0'), { kind: 'single', id: 0, type: 'opaque', value: bytes }, model)).toEqual(bytes);
    const instance: Node = { kind: 'instance', id: 0, resources: new Map() };
    expect(() => encodeNode(ContentFormat.OPAQUE, parsePath('/5/0'), instance, model)).toThrow(CodecError);
    expect(() => encodeNode(ContentFormat.OPAQUE, parsePath('/3/0/9'), { kind: 'single', id: 9, type: 'integer', value: 5 }, model)).toThrow(CodecError);
    expect(() => decodeNode(ContentFormat.OPAQUE, bytes, parsePath('/5/0'), model)).toThrow(CodecError);
  });
});
