import type { Entry, Node } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';
import { buildNode, CodecError, flattenNode } from '../../../src/lwm2m/codec';

const e = (path: string, value: Entry['value'], type: Entry['type'] = 'integer'): Entry => ({ path, type, value });
const build = (path: string, entries: Entry[]): Node => buildNode(parsePath(path), entries);

describe('buildNode', () => {
  it('builds a single resource at /O/I/R', () => {
    expect(build('/3/0/1', [e('/3/0/1', 'Lightweight M2M Client', 'string')])).toEqual({
      kind: 'single', id: 1, type: 'string', value: 'Lightweight M2M Client',
    });
  });

  it('builds a multiple resource from /O/I/R/RI entries', () => {
    expect(build('/3/0/7', [e('/3/0/7/0', 3800), e('/3/0/7/1', 5000)])).toEqual({
      kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800], [1, 5000]]),
    });
  });

  it('builds a resource instance at /O/I/R/RI', () => {
    expect(build('/3/0/7/1', [e('/3/0/7/1', 5000)])).toEqual({ kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 });
  });

  it('builds an instance and an object, keeping entry order', () => {
    const entries = [e('/3/0/9', 100), e('/3/0/6/0', 1), e('/3/0/6/1', 5), e('/3/0/16', 'U', 'string')];
    const instance = build('/3/0', entries);
    expect(instance).toEqual({
      kind: 'instance',
      id: 0,
      resources: new Map<number, Node>([
        [9, { kind: 'single', id: 9, type: 'integer', value: 100 }],
        [6, { kind: 'multiple', id: 6, type: 'integer', instances: new Map([[0, 1], [1, 5]]) }],
        [16, { kind: 'single', id: 16, type: 'string', value: 'U' }],
      ]),
    });
    const object = build('/3', [...entries, e('/3/1/9', 50)]);
    expect(object.kind === 'object' && [...object.instances.keys()]).toEqual([0, 1]);
    expect(object.kind === 'object' && object.instances.get(0)).toEqual(instance);
  });

  it('round-trips with flattenNode', () => {
    const entries = [e('/3/0/9', 100), e('/3/0/6/0', 1), e('/3/0/6/1', 5), e('/3/1/0', 'x', 'string')];
    expect(flattenNode(build('/3', entries), parsePath('/3'))).toEqual(entries);
    expect(flattenNode(build('/3/0', entries.slice(0, 3)), parsePath('/3/0'))).toEqual(entries.slice(0, 3));
    expect(flattenNode(build('/3/0/6', entries.slice(1, 3)), parsePath('/3/0/6'))).toEqual(entries.slice(1, 3));
    expect(flattenNode(build('/3/0/6/1', [entries[2]]), parsePath('/3/0/6/1'))).toEqual([entries[2]]);
  });

  it.each([
    ['an entry outside the path', '/3/0', [e('/3/1/9', 1)]],
    ['an entry of another object', '/3', [e('/4/0/9', 1)]],
    ['an instance-level entry', '/3', [e('/3/0', 1)]],
    ['an invalid entry path', '/3/0', [e('/3/x/9', 1)]],
    ['a single value and instances of one resource', '/3/0', [e('/3/0/7', 1), e('/3/0/7/0', 1)]],
    ['two values for one resource', '/3/0', [e('/3/0/9', 1), e('/3/0/9', 2)]],
    ['two values for one resource instance', '/3/0/7', [e('/3/0/7/0', 1), e('/3/0/7/0', 2)]],
    ['no value for a resource', '/3/0/9', []],
    ['no value for a resource instance', '/3/0/7/0', []],
    ['the root path', '/', [e('/3/0/9', 1)]],
  ])('throws CodecError for %s', (_name, path, entries) => {
    expect(() => build(path, entries)).toThrow(CodecError);
  });
});

describe('flattenNode', () => {
  it('needs the parent ids from the path', () => {
    const single: Node = { kind: 'single', id: 9, type: 'integer', value: 1 };
    expect(flattenNode(single, parsePath('/3/0/9'))).toEqual([e('/3/0/9', 1)]);
    expect(() => flattenNode(single, parsePath('/3'))).toThrow(CodecError);
    expect(() => flattenNode({ kind: 'instance', id: 0, resources: new Map() }, parsePath('/'))).toThrow(CodecError);
  });
});
