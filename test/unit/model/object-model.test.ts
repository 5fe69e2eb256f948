import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateBuiltinObjectsJson, registryObjectFiles } from '../../../src/lwm2m/model/builtin-generate';
import { ObjectModel } from '../../../src/lwm2m/model/object-model';
import { parseObjectXml } from '../../../src/lwm2m/model/object-xml';
import type { ObjectDefinition } from '../../../src/lwm2m/model/types';

/** The OMA registry copy in this repository (models/oma/README.md). */
const REGISTRY_DIR = path.resolve(__dirname, '../../../models/oma');
const BUILTIN_JSON = path.resolve(__dirname, '../../../src/lwm2m/model/builtin-objects.json');

function definition(id: number, name: string, resourceIds: number[] = []): ObjectDefinition {
  const resources: ObjectDefinition['resources'] = {};
  for (const rid of resourceIds) {
    resources[rid] = { id: rid, name: `r${rid}`, operations: 'R', multiple: false, mandatory: false, type: 'string' };
  }
  return { id, name, version: '1.0', lwm2mVersion: '1.0', multiple: true, mandatory: false, resources };
}

describe('ObjectModel.withBuiltins', () => {
  const model = ObjectModel.withBuiltins();

  it('holds every object of the OMA registry, in id order', () => {
    const registryIds = registryObjectFiles(REGISTRY_DIR).map((f) => f.id);
    expect(registryIds.length).toBeGreaterThanOrEqual(300);
    expect(model.objectIds()).toEqual(registryIds);
    for (const id of [0, 1, 3, 5, 8, 9, 19, 25, 2048, 3303, 3443, 10241, 18831]) expect(model.get(id)).toBeDefined();
  });

  it('returns the same definitions as parsing the registry files directly', () => {
    for (const id of model.objectIds()) {
      const file = path.join(REGISTRY_DIR, `${id}.xml`);
      expect(model.get(id)).toEqual(parseObjectXml(fs.readFileSync(file, 'utf8'), file)[0]);
    }
  });

  it('types resources of objects beyond the core and IPSO ones', () => {
    // Firmware Update (5): an opaque package, an executable, an integer state.
    expect(model.resourceDefinition(5, 0)).toMatchObject({ name: 'Package', type: 'opaque', operations: 'W' });
    expect(model.resourceDefinition(5, 2)).toMatchObject({ name: 'Update', type: 'none', operations: 'E' });
    expect(model.resourceDefinition(5, 3)).toMatchObject({ name: 'State', type: 'integer' });
    // LwM2M Gateway (25): the IoT devices' objects as a CoRE link.
    expect(model.get(25)).toMatchObject({ name: 'LwM2M Gateway', multiple: true });
    expect(model.resourceDefinition(25, 0)).toMatchObject({ name: 'Device ID', type: 'string' });
    expect(model.resourceDefinition(25, 3)).toMatchObject({ name: 'IoT Device Objects', type: 'corelnk' });
    // Vendor objects: HostDeviceInfo (10241), CmdhPolicy (2048), MQTT Publication (18831).
    expect(model.resourceDefinition(10241, 5905)).toMatchObject({ name: 'Host Device Manufacturer', type: 'string', multiple: true });
    expect(model.resourceDefinition(2048, 2)).toMatchObject({ name: 'LimiRules', type: 'objlnk', multiple: true });
    expect(model.resourceDefinition(18831, 3)).toMatchObject({ name: 'QoS', type: 'unsigned' });
    expect(model.resourceDefinition(18831, 4)).toMatchObject({ name: 'Retain', type: 'boolean' });
  });

  it('looks up resource definitions', () => {
    expect(model.resourceDefinition(3, 0)).toMatchObject({ name: 'Manufacturer', type: 'string' });
    expect(model.resourceDefinition(3303, 5700)).toMatchObject({ name: 'Sensor Value', type: 'float' });
    expect(model.resourceDefinition(3, 9999)).toBeUndefined();
    expect(model.resourceDefinition(60000, 0)).toBeUndefined();
    expect(model.get(60000)).toBeUndefined();
  });

  it('gives each model its own definitions', () => {
    const other = ObjectModel.withBuiltins();
    other.add(definition(3, 'Replaced'));
    expect(model.get(3)?.name).toBe('Device');
  });

  it('ships a builtin-objects.json that is up to date with the registry, skipping nothing', () => {
    const { json, skipped } = generateBuiltinObjectsJson(REGISTRY_DIR);
    expect(skipped).toEqual([]);
    expect(fs.readFileSync(BUILTIN_JSON, 'utf8')).toBe(json);
  });
});

describe('ObjectModel.add', () => {
  it('replaces an earlier definition of the same object id', () => {
    const model = new ObjectModel();
    model.add(definition(42000, 'First', [1]));
    model.add(definition(42000, 'Second', [2]));
    expect(model.get(42000)?.name).toBe('Second');
    expect(model.resourceDefinition(42000, 1)).toBeUndefined();
    expect(model.resourceDefinition(42000, 2)).toMatchObject({ id: 2 });
    expect(model.objectIds()).toEqual([42000]);
  });
});

describe('ObjectModel.loadXmlDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-model-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads good files and reports broken ones without throwing', () => {
    fs.writeFileSync(
      path.join(dir, 'good.xml'),
      `<LWM2M><Object><Name>Custom</Name><ObjectID>42001</ObjectID><Resources>
        <Item ID="1"><Name>Value</Name><Operations>R</Operations><Type>Float</Type></Item>
      </Resources></Object></LWM2M>`,
    );
    fs.writeFileSync(path.join(dir, 'broken.xml'), '<LWM2M><Object><Name>Broken</Name>');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not xml, not read');
    fs.mkdirSync(path.join(dir, 'nested.xml'));

    const model = ObjectModel.withBuiltins();
    const result = model.loadXmlDir(dir);

    expect(result.loaded).toBe(1);
    expect(result.errors).toEqual([{ file: path.join(dir, 'broken.xml'), message: expect.stringContaining('broken.xml') }]);
    expect(model.resourceDefinition(42001, 1)).toMatchObject({ name: 'Value', type: 'float' });
    expect(model.get(3)?.name).toBe('Device');
  });

  it('lets a user file override a built-in object', () => {
    fs.writeFileSync(
      path.join(dir, '3.xml'),
      '<LWM2M><Object><Name>My Device</Name><ObjectID>3</ObjectID><Resources/></Object></LWM2M>',
    );
    const model = ObjectModel.withBuiltins();
    expect(model.loadXmlDir(dir)).toEqual({ loaded: 1, errors: [] });
    expect(model.get(3)?.name).toBe('My Device');
    expect(model.resourceDefinition(3, 0)).toBeUndefined();
  });

  it('throws for a directory that does not exist', () => {
    expect(() => new ObjectModel().loadXmlDir(path.join(dir, 'missing'))).toThrow();
  });
});
