/** CommandParser: write/create content with resource instances under an instance, and hex values. */
import { CommandError, CommandParser } from '../../../src/gateway/command-parser';
import { ContentFormat } from '../../../src/lwm2m/codec/content-format';
import { ObjectModel } from '../../../src/lwm2m/model/object-model';
import type { Lwm2mOperation } from '../../../src/lwm2m/operation';
import type { Registration } from '../../../src/lwm2m/registration/registration';

const reg = { lwm2mVersion: '1.0', contentFormats: [] } as unknown as Registration;
const parser = new CommandParser(ObjectModel.withBuiltins());
const parse = (command: Record<string, unknown>): Lwm2mOperation => parser.parse(command, reg).op;
const refusal = (command: Record<string, unknown>): string => {
  try {
    parser.parse(command, reg);
  } catch (err) {
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).code).toBe('4.00');
    return (err as CommandError).message;
  }
  throw new Error('the command was accepted');
};

describe('write and create content under an instance', () => {
  it('accepts resource instances beside resources under /O/I: a multiple resource in the instance node', () => {
    const op = parse({
      msgType: 'write',
      data: {
        basePath: '/3/0',
        content: [
          { path: '14', type: 'String', value: '+02:00' },
          { path: '6/0', value: 1 },
          { path: '/3/0/6/1', value: 5 }, // absolute, as a read of /3/0 returns it
          { path: '7/1', type: 'Integer', value: 5000 },
        ],
      },
    });
    expect(op).toMatchObject({ type: 'write', replace: false, format: ContentFormat.TLV });
    expect(op.type === 'write' && op.node).toEqual({
      kind: 'instance',
      id: 0,
      resources: new Map<number, unknown>([
        [14, { kind: 'single', id: 14, type: 'string', value: '+02:00' }],
        [6, { kind: 'multiple', id: 6, type: 'integer', instances: new Map([[0, 1], [1, 5]]) }],
        [7, { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[1, 5000]]) }],
      ]),
    });
  });

  it('accepts resource instances in create under /O', () => {
    const op = parse({ msgType: 'create', data: { basePath: '/3303', content: [{ path: '1/5700', value: 3.5 }, { path: '1/5750', type: 'String', value: 'x' }, { path: '1/9000/0', type: 'Integer', value: 7 }] } });
    expect(op.type === 'create' && op.node.kind === 'object' && op.node.instances.get(1)?.resources.get(9000)).toEqual({
      kind: 'multiple', id: 9000, type: 'integer', instances: new Map([[0, 7]]),
    });
  });

  it('refuses what is not a resource or resource instance, mixes, and instances of differing types', () => {
    const write = (basePath: string, content: unknown[]) => refusal({ msgType: 'write', data: { basePath, content } });
    expect(write('/3/0', [{ path: '7/0/1', type: 'Integer', value: 1 }])).toMatch(/data\.content\[0\]\.path "7\/0\/1" is too deep under \/3\/0/);
    expect(refusal({ msgType: 'create', data: { basePath: '/3303', content: [{ path: '1', type: 'Integer', value: 1 }] } })).toMatch(
      /data\.content\[0\]\.path "1" does not name a resource or resource instance under \/3303/,
    );
    expect(write('/3/0', [{ path: '7', type: 'Integer', value: 1 }, { path: '7/0', type: 'Integer', value: 2 }])).toMatch(/data\.content: .*mixes a single value with resource instances/);
    expect(write('/3/0', [{ path: '6/0', type: 'Integer', value: 1 }, { path: '6/0', type: 'Integer', value: 2 }])).toMatch(/several values for \/3\/0\/6\/0/);
    expect(write('/3/0', [{ path: '9999/0', type: 'Integer', value: 1 }, { path: '9999/1', type: 'String', value: 'a' }])).toBe(
      'data.content[1] is a String instance of /3/0/9999 but data.content[0] is Integer: the instances of a resource share one type',
    );
  });
});

describe('"encoding":"hex"', () => {
  it('applies to every value, String included', () => {
    const op = parse({ encoding: 'hex', msgType: 'write', data: { path: '/3/0/14', type: 'String', value: '48656C6C6F' } });
    expect(op.type === 'write' && op.node).toEqual({ kind: 'single', id: 14, type: 'string', value: 'Hello' });
    const content = parse({
      encoding: 'hex',
      msgType: 'write',
      data: { basePath: '/3/0', content: [{ path: '9', value: '64' }, { path: '7/0', value: '0ed8' }, { path: '16', value: '5551' }] },
    });
    expect(content.type === 'write' && content.node.kind === 'instance' && [...content.node.resources.values()]).toEqual([
      { kind: 'single', id: 9, type: 'integer', value: 100 },
      { kind: 'multiple', id: 7, type: 'integer', instances: new Map([[0, 3800]]) },
      { kind: 'single', id: 16, type: 'string', value: 'UQ' },
    ]);
  });

  it('refuses a value that is not hex, naming the field', () => {
    expect(refusal({ encoding: 'hex', msgType: 'write', data: { path: '/3/0/14', type: 'String', value: 'ZZ' } })).toMatch(/^data\.value: "ZZ" is not hex/);
    expect(refusal({ encoding: 'hex', msgType: 'write', data: { path: '/3/0/14', type: 'String', value: 'ABC' } })).toMatch(/^data\.value: "ABC" is not hex/);
    expect(refusal({ encoding: 'hex', msgType: 'write', data: { basePath: '/3/0', content: [{ path: '9', value: '64' }, { path: '13', value: '123' }] } })).toMatch(
      /^data\.content\[1\]\.value: "123" is not hex/,
    );
    expect(refusal({ encoding: 'hex', msgType: 'write-composite', data: { content: [{ path: '/3/0/9', value: '000064' }] } })).toMatch(
      /^data\.content\[0\]\.value: "000064" is not a hex Integer: 1, 2, 4 or 8 bytes/,
    );
  });
});
