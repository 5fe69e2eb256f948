import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateBuiltinObjectsJson } from '../../../src/lwm2m/model/builtin-generate';
import { ObjectModel } from '../../../src/lwm2m/model/object-model';
import { parseObjectXml } from '../../../src/lwm2m/model/object-xml';
import type { ObjectDefinition } from '../../../src/lwm2m/model/types';

const REGISTRY_DIR = path.resolve(__dirname, '../../../../shared/lwm2m-registry');
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

  it('holds the core OMA objects and the IPSO objects', () => {
    const ids = model.objectIds();
    for (const id of [0, 1, 2, 3, 4, 5, 6, 7, 9, 19, 3200, 3303, 3350]) expect(ids).toContain(id);
    expect(ids).not.toContain(8);
    expect(ids.every((id) => id <= 19 || (id >= 3200 && id <= 3350))).toBe(true);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('returns the same definitions as parsing the registry files directly', () => {
    for (const id of model.objectIds()) {
      const file = path.join(REGISTRY_DIR, `${id}.xml`);
      expect(model.get(id)).toEqual(parseObjectXml(fs.readFileSync(file, 'utf8'), file)[0]);
    }
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

  it('ships a builtin-objects.json that is up to date with the registry', () => {
    expect(fs.readFileSync(BUILTIN_JSON, 'utf8')).toBe(generateBuiltinObjectsJson(REGISTRY_DIR));
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
