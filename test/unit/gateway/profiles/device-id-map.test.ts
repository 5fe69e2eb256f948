import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_DEVICE_ID_MAP_ENTRIES, MAX_GENERAL_YAML_BYTES, readDeviceIdMap } from '../../../../src/gateway/profiles/device-id-map';
import { ProfileConfigError, ProfileProblems, type ProfileProblem } from '../../../../src/gateway/profiles/profile-config-error';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'device-ids-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function read(name: string, text: string): { map: ReadonlyMap<string, string> | undefined; problems: ProfileProblem[] } {
  const file = join(dir, name);
  writeFileSync(file, text);
  const problems = new ProfileProblems();
  const map = readDeviceIdMap(file, 'm', problems);
  try {
    problems.throwIfAny('test');
    return { map, problems: [] };
  } catch (err) {
    return { map, problems: [...(err as ProfileConfigError).problems] };
  }
}

describe('readDeviceIdMap', () => {
  it('reads the line form: plain, double- and single-quoted, comments, blank lines, CRLF, a BOM', () => {
    const { map, problems } = read('a.yaml', '\ufeff# generated\r\nurn:imei:1: dev-1\r\n\r\n"urn:dev:x y": \'dev 2\'  # a comment\n\'ep.3\': "dev.3"\n');
    expect(problems).toEqual([]);
    expect([...(map ?? [])]).toEqual([
      ['urn:imei:1', 'dev-1'],
      ['urn:dev:x y', 'dev 2'],
      ['ep.3', 'dev.3'],
    ]);
  });

  it('reads any other YAML mapping with the yaml library while small', () => {
    const { map, problems } = read('b.yaml', '{ ep1: dev1, "ep2": "dev\\u00e92" }\n');
    expect(problems).toEqual([]);
    expect([...(map ?? [])]).toEqual([
      ['ep1', 'dev1'],
      ['ep2', 'devé2'],
    ]);
    expect(read('empty.yaml', '').map?.size).toBe(0);
    expect(read('null.yaml', '# nothing\n~\n').map?.size).toBe(0);
  });

  it('refuses numbers, which lose their text (0123 reads as 123), and non-mappings', () => {
    expect(read('c.yaml', 'ep1: 0123\n0123: dev\n').problems).toEqual([
      { key: 'm.ep1', message: 'device id must be a string, got a number (quote it)' },
      { key: 'm', message: 'has a key that is a number; quote endpoint names' },
    ]);
    expect(read('d.yaml', 'ep1: true\n').problems).toEqual([{ key: 'm.ep1', message: 'device id must be a string, got a boolean (quote it)' }]);
    expect(read('e.yaml', '- a\n- b\n').problems).toEqual([{ key: 'm', message: `${join(dir, 'e.yaml')} must hold a mapping endpoint: device-id, got a list` }]);
    expect(read('f.yaml', 'a: [\n').problems[0].message).toContain('YAML syntax error');
  });

  it('refuses device ids that cannot be a topic level, and duplicate endpoints, with their line', () => {
    const { map, problems } = read('g.yaml', 'ep1: "a+b"\nep2: "a#"\nep3: ""\nep4: ok\n"ep5": "\\u0000"\n');
    expect(map).toBeUndefined();
    // ep5's escape makes this file general YAML: no line numbers then.
    expect(problems).toEqual([
      { key: 'm.ep1', message: 'device id contains an MQTT wildcard (+ #) or /' },
      { key: 'm.ep2', message: 'device id contains an MQTT wildcard (+ #) or /' },
      { key: 'm.ep3', message: 'device id is empty' },
      { key: 'm.ep5', message: 'device id contains NUL or another control character' },
    ]);
    expect(read('g2.yaml', '{ep1: a, ep1: b}\n').problems).toEqual([{ key: 'm', message: expect.stringContaining('YAML syntax error: Map keys must be unique') }]);
    expect(read('h.yaml', 'ep1: a\nep1: b\nep2: "a/b"\n').problems).toEqual([
      { key: 'm.ep1', message: 'duplicate endpoint (line 2)' },
      { key: 'm.ep2', message: 'device id contains an MQTT wildcard (+ #) or / (line 3)' },
    ]);
    expect(read('i.yaml', `ep1: "${'x'.repeat(257)}"\n`).problems).toEqual([{ key: 'm.ep1', message: 'device id is 257 bytes, longer than 256 (line 1)' }]);
  });

  it('reads a large file in the line form', () => {
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(`urn:dev:thermo-${i}: plant.t${i}`);
    const text = lines.join('\n') + '\n';
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_GENERAL_YAML_BYTES);
    const { map, problems } = read('big.yaml', text);
    expect(problems).toEqual([]);
    expect(map?.size).toBe(50_000);
    expect(map?.get('urn:dev:thermo-49999')).toBe('plant.t49999');
  });

  it('refuses a large file in another form, and more entries than the bound', () => {
    const text = '{' + Array.from({ length: 20_000 }, (_, i) => `ep${i}: dev${i}`).join(', ') + '}\n';
    expect(read('flow.yaml', text).problems).toEqual([{ key: 'm', message: expect.stringContaining('not written one "endpoint: device-id" per line') }]);
    const many = Array.from({ length: MAX_DEVICE_ID_MAP_ENTRIES + 1 }, (_, i) => `e${i}: d${i}`).join('\n');
    const result = read('many.yaml', many);
    expect(result.map).toBeUndefined();
    expect(result.problems).toEqual([{ key: 'm', message: `has more than ${MAX_DEVICE_ID_MAP_ENTRIES} entries` }]);
  });

  it('reports at most 1000 problems, counting the rest', () => {
    const text = Array.from({ length: 1500 }, (_, i) => `ep${i}: "bad+${i}"`).join('\n');
    const { problems } = read('bad-many.yaml', text);
    expect(problems).toHaveLength(1001);
    expect(problems[1000]).toEqual({ key: '', message: 'and 500 more problems' });
  });

  it('names a missing file', () => {
    const problems = new ProfileProblems();
    expect(readDeviceIdMap(join(dir, 'absent.yaml'), 'm', problems)).toBeUndefined();
    expect(problems.count).toBe(1);
  });
});
