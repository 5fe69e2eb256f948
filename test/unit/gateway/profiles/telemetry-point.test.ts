import { ContentFormat, decodeEntries } from '../../../../src/lwm2m/codec';
import { ObjectModel } from '../../../../src/lwm2m/model/object-model';
import type { Entry } from '../../../../src/lwm2m/node';
import { attributesMessage } from '../../../../src/gateway/profiles/attributes-message';
import { parseProfiles } from '../../../../src/gateway/profiles/profile-config';
import { telemetryPoint, telemetryPoints } from '../../../../src/gateway/profiles/telemetry-point';

const opts = { source: 'test', baseDir: '/' };
const telemetry = {
  '/3303/0/5700': 'temperature',
  '/3/0/9': 'battery_level',
  '/3/0/7': 'voltage',
  '/3/0/6/1': 'power_source_1',
  '/3/0/13': 'clock',
  '/3/0/11': 'error',
  '/3/0/16': 'binding',
  '/3/0/17': 'type',
  '/3/0/8': 'current',
  '/4/0/2': 'rssi',
  '/5/0/0': 'package',
  '/1/0/6': 'notify_storing',
  '/3/0/22': 'link',
  '/3/0/99': 'huge',
  '/3303/0/5601': '__proto__',
};
const [profile, blockbax] = parseProfiles(
  [
    { name: 'p', telemetry },
    { name: 'blockbax', metric_key: '${endpoint}$${path}', telemetry },
  ],
  opts,
);
const ids = { deviceId: 'dev-1', endpoint: 'urn:dev:1' };
const NOW = 1_700_000_000_123;

/** As a test asserts it: the point through JSON, as a platform receives it. */
function json(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

describe('telemetryPoint', () => {
  it('makes one point of several mapped values in one notification, stamped now when entries carry no time', () => {
    const entries: Entry[] = [
      { path: '/3303/0/5700', type: 'float', value: 21.5 },
      { path: '/3/0/9', type: 'integer', value: 87 },
      { path: '/3/0/0', type: 'string', value: 'unmapped' },
    ];
    expect(json(telemetryPoint(profile, ids, entries, NOW))).toEqual({
      device_id: 'dev-1',
      endpoint: 'urn:dev:1',
      ts: NOW,
      numeric_values: { temperature: 21.5, battery_level: 87 },
      string_values: {},
    });
  });

  it('is undefined (no points) when no entry is mapped', () => {
    const entries: Entry[] = [{ path: '/3/0/0', type: 'string', value: 'x' }];
    expect(telemetryPoint(profile, ids, entries, NOW)).toBeUndefined();
    expect(telemetryPoints(profile, ids, [], NOW)).toEqual([]);
  });

  it('types every value: numbers, bigint as a number when safe, text otherwise', () => {
    const entries: Entry[] = [
      { path: '/3/0/13', type: 'time', value: 1_700_000_000 },
      { path: '/3/0/8', type: 'integer', value: 2n ** 40n },
      { path: '/3/0/99', type: 'unsigned', value: 2n ** 64n - 1n },
      { path: '/3/0/11', type: 'float', value: Number.NaN },
      { path: '/4/0/2', type: 'integer', value: -(2n ** 63n) },
      { path: '/1/0/6', type: 'boolean', value: true },
      { path: '/3/0/16', type: 'string', value: 'UQ' },
      { path: '/3/0/17', type: 'objlnk', value: { objectId: 3, instanceId: 0 } },
      { path: '/5/0/0', type: 'opaque', value: Buffer.from([1, 2, 255]) },
      { path: '/3/0/22', type: 'corelnk', value: '</3/0>' },
    ];
    expect(json(telemetryPoint(profile, ids, entries, NOW))).toEqual({
      device_id: 'dev-1',
      endpoint: 'urn:dev:1',
      ts: NOW,
      numeric_values: { clock: 1_700_000_000, current: 2 ** 40 },
      string_values: {
        huge: '18446744073709551615',
        error: 'NaN',
        rssi: '-9223372036854775808',
        notify_storing: 'true',
        binding: 'UQ',
        type: '3:0',
        package: 'AQL/',
        link: '</3/0>',
      },
    });
  });

  it('names a resource instance by its resource with the instance id appended, unless the instance is mapped itself', () => {
    const entries: Entry[] = [
      { path: '/3/0/7/0', type: 'integer', value: 3300 },
      { path: '/3/0/7/1', type: 'integer', value: 5000 },
      { path: '/3/0/6/1', type: 'integer', value: 5 },
      { path: '/3/0/6/2', type: 'integer', value: 6 },
    ];
    expect(json(telemetryPoint(profile, ids, entries, NOW))).toMatchObject({ numeric_values: { 'voltage.0': 3300, 'voltage.1': 5000, power_source_1: 5 } });
  });

  it('renders metric keys with metric_key: Blockbax ingestion ids', () => {
    const entries: Entry[] = [
      { path: '/3303/0/5700', type: 'float', value: 21.5 },
      { path: '/3/0/7/1', type: 'integer', value: 5000 },
    ];
    expect(json(telemetryPoint(blockbax, ids, entries, NOW))).toMatchObject({ numeric_values: { 'urn:dev:1$/3303/0/5700': 21.5, 'urn:dev:1$/3/0/7/1': 5000 } });
  });

  it('keeps a metric named __proto__ as a key, not a prototype', () => {
    const point = telemetryPoint(profile, ids, [{ path: '/3303/0/5601', type: 'float', value: -4 }], NOW);
    expect(JSON.stringify(point?.numeric_values)).toBe('{"__proto__":-4}');
  });

  it('splits a SenML time series into one point per time, oldest first, times in ms', () => {
    const entries: Entry[] = [
      { path: '/3303/0/5700', type: 'float', value: 22, time: 1_700_000_002 },
      { path: '/3/0/9', type: 'integer', value: 80, time: 1_700_000_002 },
      { path: '/3303/0/5700', type: 'float', value: 20, time: 1_700_000_000.5 },
      { path: '/3303/0/5700', type: 'float', value: 21, time: 1_700_000_001 },
      { path: '/3/0/0', type: 'string', value: 'unmapped', time: 1_600_000_000 },
    ];
    expect(json(telemetryPoints(profile, ids, entries, NOW))).toEqual([
      { device_id: 'dev-1', endpoint: 'urn:dev:1', ts: 1_700_000_000_500, numeric_values: { temperature: 20 }, string_values: {} },
      { device_id: 'dev-1', endpoint: 'urn:dev:1', ts: 1_700_000_001_000, numeric_values: { temperature: 21 }, string_values: {} },
      { device_id: 'dev-1', endpoint: 'urn:dev:1', ts: 1_700_000_002_000, numeric_values: { temperature: 22, battery_level: 80 }, string_values: {} },
    ]);
    // As one point: the latest time, and each key's latest value.
    expect(json(telemetryPoint(profile, ids, entries, NOW))).toEqual({
      device_id: 'dev-1',
      endpoint: 'urn:dev:1',
      ts: 1_700_000_002_000,
      numeric_values: { temperature: 22, battery_level: 80 },
      string_values: {},
    });
  });

  it('stamps entries without a time now, beside timed ones', () => {
    const entries: Entry[] = [
      { path: '/3303/0/5700', type: 'float', value: 20, time: 1_600_000_000 },
      { path: '/3/0/9', type: 'integer', value: 80 },
    ];
    expect(telemetryPoints(profile, ids, entries, NOW).map((p) => p.ts)).toEqual([1_600_000_000_000, NOW]);
  });

  it('lets a later value of another kind replace a key in a merged point', () => {
    const entries: Entry[] = [
      { path: '/3/0/11', type: 'float', value: Number.POSITIVE_INFINITY, time: 1 },
      { path: '/3/0/11', type: 'float', value: 1.5, time: 2 },
    ];
    expect(json(telemetryPoint(profile, ids, entries, NOW))).toMatchObject({ ts: 2000, numeric_values: { error: 1.5 }, string_values: {} });
  });
});

describe('attributesMessage', () => {
  const [p] = parseProfiles([{ name: 'a', attributes: { '/3/0/0': 'manufacturer', '/3/0/9': 'battery', '/1/0/6': 'storing', '/3/0/7': 'voltage', '/3/0/99': 'big' } }], opts);

  it('keeps numbers, strings and booleans natural', () => {
    const entries: Entry[] = [
      { path: '/3/0/0', type: 'string', value: 'ACME' },
      { path: '/3/0/9', type: 'integer', value: 87 },
      { path: '/1/0/6', type: 'boolean', value: false },
      { path: '/3/0/7/2', type: 'integer', value: 3300n },
      { path: '/3/0/99', type: 'unsigned', value: 2n ** 63n },
      { path: '/3/0/1', type: 'string', value: 'unmapped' },
    ];
    expect(json(attributesMessage(p, 'dev-1', entries))).toEqual({
      device_id: 'dev-1',
      attributes: { manufacturer: 'ACME', battery: 87, storing: false, 'voltage.2': 3300, big: '9223372036854775808' },
    });
  });

  it('is undefined when no entry is mapped', () => {
    expect(attributesMessage(p, 'dev-1', [{ path: '/3/0/1', type: 'string', value: 'x' }])).toBeUndefined();
  });
});

describe('telemetry of a decoded SenML JSON notification', () => {
  it('makes points of what the SenML decoder gives, base time and base name applied', () => {
    const senml = [
      { bn: '/3303/0/', bt: 1_700_000_000, n: '5700', v: 20.5 },
      { n: '5700', v: 21, t: 10 },
      { bn: '/3/0/', n: '9', v: 90 },
    ];
    const entries = decodeEntries(ContentFormat.SENML_JSON, Buffer.from(JSON.stringify(senml)), {}, ObjectModel.withBuiltins());
    expect(json(telemetryPoints(profile, ids, entries, NOW))).toEqual([
      { device_id: 'dev-1', endpoint: 'urn:dev:1', ts: 1_700_000_000_000, numeric_values: { temperature: 20.5, battery_level: 90 }, string_values: {} },
      { device_id: 'dev-1', endpoint: 'urn:dev:1', ts: 1_700_000_010_000, numeric_values: { temperature: 21 }, string_values: {} },
    ]);
  });
});
