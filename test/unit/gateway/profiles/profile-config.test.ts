import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfilesFile, parseProfiles } from '../../../../src/gateway/profiles/profile-config';
import { ProfileConfigError, type ProfileProblem } from '../../../../src/gateway/profiles/profile-config-error';

const EXAMPLE = `
profiles:
  - name: thermometer
    match:
      endpoint: "urn:dev:thermo-*"
      client_attrs: { model: T100 }
      objects: [3303]
    device_id: "\${client_attrs.device_id}"
    device_id_map: ./device-ids.yaml
    tenant: "\${client_attrs.tenant}"
    metric_key: "\${name}"
    observe:
      strategy: single
      paths:
        /3303/0/5700: { pmin: 10, pmax: 60, st: 0.5 }
        /3/0/9: {}
        /3/0/20:
    telemetry:
      /3303/0/5700: temperature
      /3/0/9: battery_level
    attributes:
      /3/0/0: manufacturer
      /3/0/1: model
      /3/0/2: serial
      /3/0/3: firmware_version
    rpc:
      reboot: { execute: /3/0/4 }
      factory_reset: { execute: /3/0/5, args: "" }
      set_timezone: { write: /3/0/14 }
      read_battery: { read: /3/0/9 }
  - name: fallback
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'profiles-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(run: () => unknown): ProfileProblem[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ProfileConfigError);
    return [...(err as ProfileConfigError).problems];
  }
  throw new Error('no ProfileConfigError');
}

function keysOf(problems: readonly ProfileProblem[]): string[] {
  return problems.map((p) => p.key);
}

describe('loadProfilesFile', () => {
  it('reads the documented example, with device_id_map relative to the file', () => {
    writeFileSync(join(dir, 'device-ids.yaml'), 'urn:dev:thermo-1: plant-a.t1\n"urn:dev:thermo-2": \'plant-a.t2\'\n');
    const file = join(dir, 'profiles.yaml');
    writeFileSync(file, EXAMPLE);
    const [thermo, fallback] = loadProfilesFile(file);
    expect(thermo.name).toBe('thermometer');
    expect(thermo.match.endpoint?.pattern).toBe('urn:dev:thermo-*');
    expect([...thermo.match.clientAttrs]).toEqual([['model', 'T100']]);
    expect(thermo.match.objectIds).toEqual([3303]);
    expect(thermo.deviceId.source).toBe('${client_attrs.device_id}');
    expect([...(thermo.deviceIdMap ?? [])]).toEqual([
      ['urn:dev:thermo-1', 'plant-a.t1'],
      ['urn:dev:thermo-2', 'plant-a.t2'],
    ]);
    expect(thermo.observe.strategy).toBe('single');
    expect(thermo.observe.paths.map((p) => [p.path, p.attributes])).toEqual([
      ['/3303/0/5700', { pmin: 10, pmax: 60, st: 0.5 }],
      ['/3/0/9', {}],
      ['/3/0/20', {}],
    ]);
    expect(thermo.observe.paths[0].parsed).toEqual({ objectId: 3303, instanceId: 0, resourceId: 5700 });
    expect([...thermo.telemetry]).toEqual([
      ['/3303/0/5700', 'temperature'],
      ['/3/0/9', 'battery_level'],
    ]);
    expect([...thermo.attributes.values()]).toEqual(['manufacturer', 'model', 'serial', 'firmware_version']);
    expect([...thermo.rpc]).toEqual([
      ['reboot', { kind: 'execute', path: '/3/0/4', args: undefined }],
      ['factory_reset', { kind: 'execute', path: '/3/0/5', args: '' }],
      ['set_timezone', { kind: 'write', path: '/3/0/14', type: undefined }],
      ['read_battery', { kind: 'read', path: '/3/0/9' }],
    ]);
    expect(Object.isFrozen(thermo)).toBe(true);
    expect(Object.isFrozen(thermo.observe.paths)).toBe(true);

    // Defaults of a profile that gives only its name: matches every device.
    expect(fallback.match).toEqual({ endpoint: undefined, clientAttrs: new Map(), objectIds: [] });
    expect(fallback.deviceId.source).toBe('${endpoint}');
    expect(fallback.tenant.source).toBe('${client_attrs.tenant}');
    expect(fallback.metricKey.source).toBe('${name}');
    expect(fallback.deviceIdMap).toBeUndefined();
    expect(fallback.observe).toEqual({ strategy: 'single', paths: [] });
  });

  it('names the file, and every key that is wrong, in one error', () => {
    const file = join(dir, 'profiles.yaml');
    writeFileSync(file, EXAMPLE.replace('./device-ids.yaml', './missing.yaml').replace('strategy: single', 'strategy: bulk').replace('/3/0/9: battery_level', '/3/0: battery_level'));
    let error: ProfileConfigError | undefined;
    try {
      loadProfilesFile(file);
    } catch (err) {
      error = err as ProfileConfigError;
    }
    expect(error).toBeInstanceOf(ProfileConfigError);
    expect(error?.source).toBe(file);
    expect(keysOf(error?.problems ?? [])).toEqual(['profiles[0].device_id_map', 'profiles[0].observe.strategy', 'profiles[0].telemetry./3/0']);
    expect(error?.message).toContain(`invalid device profiles in ${file}:`);
    expect(error?.message).toContain('profiles[0].telemetry./3/0: must be /O/I/R or /O/I/R/RI');
    expect(error?.message).toContain('profiles[0].device_id_map: cannot read');
    expect(error?.message).toContain('ENOENT');
  });

  it('refuses YAML errors, duplicate keys, other top-level keys and a missing file', () => {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'profiles: [\n');
    expect(problemsOf(() => loadProfilesFile(file))[0].message).toMatch(/^YAML syntax error/);
    writeFileSync(file, 'profiles:\n  - name: a\n    telemetry:\n      /3/0/9: x\n      /3/0/9: y\n');
    expect(problemsOf(() => loadProfilesFile(file))).toEqual([expect.objectContaining({ message: expect.stringMatching(/YAML syntax error: Map keys must be unique/) })]);
    writeFileSync(file, 'profile: []\nother: 1\n');
    expect(keysOf(problemsOf(() => loadProfilesFile(file)))).toEqual(['profile', 'other']);
    writeFileSync(file, '- name: a\n');
    expect(problemsOf(() => loadProfilesFile(file))[0].message).toBe('the top level must be a mapping with the key profiles, got a list');
    expect(problemsOf(() => loadProfilesFile(join(dir, 'nope.yaml')))[0].message).toBe('cannot read the file: ENOENT');
  });

  it('takes `__proto__` as an ordinary (unknown) key', () => {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'profiles:\n  - name: a\n    __proto__: { name: b }\n');
    expect(problemsOf(() => loadProfilesFile(file))).toEqual([{ key: 'profiles[0].__proto__', message: 'unknown key' }]);
  });
});

const opts = { source: 'gateway.yaml', baseDir: '/nonexistent' };

describe('parseProfiles', () => {
  it('takes absent or null as no profiles', () => {
    expect(parseProfiles(undefined, opts)).toEqual([]);
    expect(parseProfiles(null, opts)).toEqual([]);
  });

  it('names every problem of every profile at once', () => {
    const problems = problemsOf(() =>
      parseProfiles(
        [
          {
            name: 'bad name!',
            colour: 'red',
            match: { endpoint: '', client_attrs: { model: 100, tenant: 'x'.repeat(1025) }, objects: [3303, -1, 'x', 65536], serial: 'x' },
            device_id: '${endpoint}-${imei}',
            tenant: '${client_attrs.tenant',
            metric_key: '${endpoint}',
            observe: {
              strategy: 'bulk',
              paths: {
                '/3303/0/5700': { pmin: 1.5, pmax: -1, st: -2, color: 1 },
                '/3/0': { gt: 3 },
                '/': {},
                '/3/0/x': {},
                '3/0/9': { pmin: 60, pmax: 10 },
                '/3303/0/5701': { lt: 10, gt: 12, st: 1 },
                '/3303/0/5702': 'fast',
                '/3/0/9/': null,
              },
              period: 3,
            },
            telemetry: { '/3303/0/5700': 'temp', '/3303/0': 'obj', '/3303/1/5700': 'temp', '/3/0/9': 'has space', '/3/0/8': 7, '3303/0/5700': 'again' },
            attributes: { '/3/0/0': 'manufacturer', '/3/0/1/2/3': 'deep' },
            rpc: {
              reboot: { execute: '/3/0' },
              both: { execute: '/3/0/4', read: '/3/0/9' },
              none: {},
              argsOnWrite: { write: '/3/0/14', args: 'x' },
              badType: { write: '/3/0/14', type: 'Text' },
              'bad method': { read: '/3/0/9' },
              notAMapping: '/3/0/4',
              longArgs: { execute: '/3/0/4', args: 'a'.repeat(4097) },
              typeOnRead: { read: '/3', type: 'String' },
            },
          },
          { name: 'ok' },
          { name: 'ok' },
          'not a mapping',
          {},
        ],
        opts,
      ),
    );
    const byKey = new Map<string, string[]>();
    for (const p of problems) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.message]);
    expect([...byKey.keys()]).toEqual([
      'profiles[0].colour',
      'profiles[0].name',
      'profiles[0].match.serial',
      'profiles[0].match.endpoint',
      'profiles[0].match.client_attrs.model',
      'profiles[0].match.client_attrs.tenant',
      'profiles[0].match.objects[1]',
      'profiles[0].match.objects[2]',
      'profiles[0].match.objects[3]',
      'profiles[0].device_id',
      'profiles[0].tenant',
      'profiles[0].metric_key',
      'profiles[0].observe.period',
      'profiles[0].observe.strategy',
      'profiles[0].observe.paths./3303/0/5700.color',
      'profiles[0].observe.paths./3303/0/5700.pmin',
      'profiles[0].observe.paths./3303/0/5700.pmax',
      'profiles[0].observe.paths./3303/0/5700.st',
      'profiles[0].observe.paths./3/0.gt',
      'profiles[0].observe.paths./',
      'profiles[0].observe.paths./3/0/x',
      'profiles[0].observe.paths.3/0/9.pmin',
      'profiles[0].observe.paths./3303/0/5701.lt',
      'profiles[0].observe.paths./3303/0/5702',
      'profiles[0].observe.paths./3/0/9/',
      'profiles[0].telemetry./3303/0',
      'profiles[0].telemetry./3303/1/5700',
      'profiles[0].telemetry./3/0/9',
      'profiles[0].telemetry./3/0/8',
      'profiles[0].telemetry.3303/0/5700',
      'profiles[0].attributes./3/0/1/2/3',
      'profiles[0].rpc.reboot.execute',
      'profiles[0].rpc.both',
      'profiles[0].rpc.none',
      'profiles[0].rpc.argsOnWrite.args',
      'profiles[0].rpc.badType.type',
      'profiles[0].rpc.bad method',
      'profiles[0].rpc.notAMapping',
      'profiles[0].rpc.longArgs.args',
      'profiles[0].rpc.typeOnRead.type',
      'profiles[2].name',
      'profiles[3]',
      'profiles[4].name',
    ]);
    expect(byKey.get('profiles[0].name')).toEqual(['must be 1 to 64 of A-Z a-z 0-9 _ . -']);
    expect(byKey.get('profiles[0].match.client_attrs.model')).toEqual(['must be a string, got a number (quote it)']);
    expect(byKey.get('profiles[0].device_id')).toEqual(['has an unknown placeholder "${imei}" (known: ${endpoint}, ${client_attrs.KEY})']);
    expect(byKey.get('profiles[0].tenant')).toEqual(['has an unclosed "${" at character 1']);
    expect(byKey.get('profiles[0].metric_key')).toEqual(['must use ${name} or ${path}: else every value of a point has the same key']);
    expect(byKey.get('profiles[0].observe.paths./3/0.gt')).toEqual(['applies to a resource only (/O/I/R or /O/I/R/RI)']);
    expect(byKey.get('profiles[0].observe.paths./')).toEqual(['must be /O or /O/I or /O/I/R or /O/I/R/RI']);
    expect(byKey.get('profiles[0].observe.paths./3/0/x')).toEqual(['invalid path "/3/0/x": "x" is not an id']);
    expect(byKey.get('profiles[0].observe.paths.3/0/9.pmin')).toEqual(['(60) must not exceed pmax (10)']);
    expect(byKey.get('profiles[0].observe.paths./3/0/9/')).toEqual(['names /3/0/9 again']);
    expect(byKey.get('profiles[0].telemetry./3303/1/5700')).toEqual(['metric name temp is also that of /3303/0/5700: the values would overwrite each other']);
    expect(byKey.get('profiles[0].telemetry.3303/0/5700')).toEqual(['names /3303/0/5700 again']);
    expect(byKey.get('profiles[0].rpc.both')).toEqual(['gives execute and read: a method runs exactly one operation']);
    expect(byKey.get('profiles[0].rpc.none')).toEqual(['needs one of execute, write, read']);
    expect(byKey.get('profiles[0].rpc.reboot.execute')).toEqual(['must be /O/I/R']);
    expect(byKey.get('profiles[2].name')).toEqual(['duplicate profile name (also profiles[1].name)']);
    expect(byKey.get('profiles[4].name')).toEqual(['is required']);
  });

  it('bounds every list and mapping', () => {
    const telemetry = Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`/3/0/${i}`, `m${i}`]));
    const observe = { paths: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`/3/0/${i}`, null])) };
    const rpc = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`m${i}`, { read: '/3' }]));
    const objects = Array.from({ length: 65 }, (_, i) => i);
    expect(problemsOf(() => parseProfiles([{ name: 'a', telemetry, observe, rpc, match: { objects } }], opts))).toEqual([
      { key: 'profiles[0].match.objects', message: 'has 65 items, more than 64' },
      { key: 'profiles[0].observe.paths', message: 'has 257 entries, more than 256' },
      { key: 'profiles[0].telemetry', message: 'has 1025 entries, more than 1024' },
      { key: 'profiles[0].rpc', message: 'has 257 entries, more than 256' },
    ]);
    expect(problemsOf(() => parseProfiles(Array.from({ length: 1001 }, (_, i) => ({ name: `p${i}` })), opts))).toEqual([{ key: 'profiles', message: 'has 1001 profiles, more than 1000' }]);
    expect(problemsOf(() => parseProfiles({ name: 'a' }, opts))).toEqual([{ key: 'profiles', message: 'must be a list, got a mapping' }]);
  });

  it('never quotes a value in a problem', () => {
    const secret = 's3cr3t-tenant-key';
    const problems = problemsOf(() => parseProfiles([{ name: 'a', match: { client_attrs: { tenant: [secret] } }, telemetry: { '/3/0/9': `${secret} x` } }], opts));
    expect(problems).toHaveLength(2);
    for (const p of problems) expect(p.message).not.toContain(secret);
  });

  it('reads lt/gt/st and the 1.1 attributes when they fit', () => {
    const [p] = parseProfiles([{ name: 'a', observe: { strategy: 'composite_by_object', paths: { '/3303/0/5700': { lt: 10, gt: 20, st: 2, epmin: 1, epmax: 30 }, '/3303': { pmin: 0 } } } }], opts);
    expect(p.observe.strategy).toBe('composite_by_object');
    expect(p.observe.paths.map((o) => o.attributes)).toEqual([{ lt: 10, gt: 20, st: 2, epmin: 1, epmax: 30 }, { pmin: 0 }]);
  });

  it('reads a write method with its type', () => {
    const [p] = parseProfiles([{ name: 'a', rpc: { set_tz: { write: '3/0/14/', type: 'String' } } }], opts);
    expect(p.rpc.get('set_tz')).toEqual({ kind: 'write', path: '/3/0/14', type: 'String' });
  });

  it('reads one device_id_map once for two profiles, and names its problems under the profile that names it', () => {
    writeFileSync(join(dir, 'ids.yaml'), 'ep1: dev1\n');
    const [a, b] = parseProfiles(
      [
        { name: 'a', device_id_map: 'ids.yaml' },
        { name: 'b', device_id_map: './ids.yaml' },
      ],
      { source: 's', baseDir: dir },
    );
    expect(a.deviceIdMap?.get('ep1')).toBe('dev1');
    expect(b.deviceIdMap).toBe(a.deviceIdMap);
    writeFileSync(join(dir, 'bad.yaml'), 'ep1: "dev/1"\n');
    expect(problemsOf(() => parseProfiles([{ name: 'a' }, { name: 'b', device_id_map: 'bad.yaml' }], { source: 's', baseDir: dir }))).toEqual([
      { key: 'profiles[1].device_id_map.ep1', message: 'device id contains an MQTT wildcard (+ #) or / (line 1)' },
    ]);
  });
});
