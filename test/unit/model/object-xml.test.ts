import * as fs from 'fs';
import * as path from 'path';
import { parseObjectXml } from '../../../src/lwm2m/model/object-xml';
import type { ObjectDefinition } from '../../../src/lwm2m/model/types';

/** The OMA registry copy in this repository (models/oma/README.md). */
const REGISTRY_DIR = path.resolve(__dirname, '../../../models/oma');
const objectFiles = fs.readdirSync(REGISTRY_DIR).filter((name) => /^\d+\.xml$/.test(name));

function parseRegistryObject(id: number): ObjectDefinition {
  const file = path.join(REGISTRY_DIR, `${id}.xml`);
  const defs = parseObjectXml(fs.readFileSync(file, 'utf8'), file);
  expect(defs).toHaveLength(1);
  return defs[0];
}

/** A minimal document around the given <Object> body. */
function lwm2m(objectBody: string): string {
  return `<?xml version="1.0"?><LWM2M><Object ObjectType="MODefinition">${objectBody}</Object></LWM2M>`;
}

describe('parseObjectXml on the OMA registry', () => {
  it('finds the registry object files', () => {
    expect(objectFiles.length).toBeGreaterThanOrEqual(300);
  });

  it.each(objectFiles)('parses %s with the object id of its file name and every resource', (name) => {
    const xml = fs.readFileSync(path.join(REGISTRY_DIR, name), 'utf8');
    const defs = parseObjectXml(xml, name);
    expect(defs).toHaveLength(1);
    const [def] = defs;
    expect(def.id).toBe(Number(name.slice(0, -4)));
    expect(def.name).not.toBe('');
    // Independent count of the <Item ID=".."> elements in the file text; some files comment items out.
    const live = xml.replace(/<!--[\s\S]*?-->/g, '');
    const itemIds = new Set([...live.matchAll(/<Item\s+ID="(\d+)"/g)].map((m) => Number(m[1])));
    expect(Object.keys(def.resources).map(Number).sort((a, b) => a - b)).toEqual([...itemIds].sort((a, b) => a - b));
  });

  it('reads the Device object (3)', () => {
    const device = parseRegistryObject(3);
    expect(device).toMatchObject({
      id: 3,
      name: 'Device',
      version: '1.2',
      lwm2mVersion: '1.1',
      urn: 'urn:oma:lwm2m:oma:3:1.2',
      multiple: false,
      mandatory: true,
    });
    expect(device.resources[0]).toEqual({
      id: 0,
      name: 'Manufacturer',
      operations: 'R',
      multiple: false,
      mandatory: false,
      type: 'string',
    });
    expect(device.resources[4]).toMatchObject({ name: 'Reboot', operations: 'E', type: 'none', mandatory: true });
    expect(device.resources[7]).toMatchObject({
      name: 'Power Source Voltage',
      operations: 'R',
      type: 'integer',
      multiple: true,
    });
    expect(device.resources[13]).toMatchObject({ name: 'Current Time', operations: 'RW', type: 'time' });
  });

  it('reads the Temperature object (3303)', () => {
    const temperature = parseRegistryObject(3303);
    expect(temperature).toMatchObject({ id: 3303, name: 'Temperature', multiple: true, mandatory: false });
    expect(temperature.resources[5700]).toMatchObject({ name: 'Sensor Value', operations: 'R', type: 'float' });
  });

  it('reads objlnk, corelnk and unsigned integer resources', () => {
    const server = parseRegistryObject(1);
    expect(server.resources[10]).toMatchObject({ name: 'APN Link', type: 'objlnk', multiple: false });
    expect(server.resources[24]).toMatchObject({ name: 'Alternate APN Links', type: 'objlnk', multiple: true });
    expect(server.resources[13]).toMatchObject({ name: 'Registration Priority Order', type: 'unsigned' });
    const observationGroup = parseRegistryObject(22);
    expect(observationGroup.resources[0]).toMatchObject({ name: 'ObserveLinks', type: 'corelnk', multiple: true });
  });

  it('meets every resource type across the registry', () => {
    const types = new Set(
      objectFiles.flatMap((name) =>
        parseObjectXml(fs.readFileSync(path.join(REGISTRY_DIR, name), 'utf8'), name).flatMap((def) =>
          Object.values(def.resources).map((resource) => resource.type),
        ),
      ),
    );
    expect([...types].sort()).toEqual(
      ['boolean', 'corelnk', 'float', 'integer', 'none', 'objlnk', 'opaque', 'string', 'time', 'unsigned'],
    );
  });
});

describe('parseObjectXml tolerance', () => {
  it('accepts a BOM, whitespace, odd casing, a single Item and missing optional fields', () => {
    const xml =
      '\uFEFF' +
      lwm2m(`
        <Name>  My
          Object </Name>
        <ObjectID> 42000 </ObjectID>
        <MultipleInstances> multiple </MultipleInstances>
        <Resources>
          <Item ID=" 7 ">
            <Name>Level</Name>
            <Operations> rw </Operations>
            <MultipleInstances>SINGLE</MultipleInstances>
            <Mandatory>mandatory</Mandatory>
            <Type> unsigned   integer </Type>
            <Units>  % </Units>
            <RangeEnumeration>0..100</RangeEnumeration>
          </Item>
        </Resources>`);
    expect(parseObjectXml(xml, 'custom.xml')).toEqual([
      {
        id: 42000,
        name: 'My Object',
        version: '1.0',
        lwm2mVersion: '1.0',
        multiple: true,
        mandatory: false,
        resources: {
          7: {
            id: 7,
            name: 'Level',
            operations: 'RW',
            multiple: false,
            mandatory: true,
            type: 'unsigned',
            units: '%',
            rangeEnumeration: '0..100',
          },
        },
      },
    ]);
  });

  it('maps every Type spelling and an executable with empty Type to none', () => {
    const types = ['String', 'Integer', 'Unsigned Integer', 'Float', 'Boolean', 'Opaque', 'Time', 'Objlnk', 'Corelnk', ''];
    const items = types
      .map((type, i) => `<Item ID="${i}"><Name>r${i}</Name><Operations>${type ? 'R' : 'E'}</Operations><Type>${type}</Type></Item>`)
      .join('');
    const [def] = parseObjectXml(lwm2m(`<Name>T</Name><ObjectID>1</ObjectID><Resources>${items}</Resources>`));
    expect(Object.values(def.resources).map((r) => r.type)).toEqual([
      'string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk', 'none',
    ]);
    expect(def.resources[9].operations).toBe('E');
  });

  it('keeps numeric-looking text as strings and accepts an object without resources', () => {
    const [def] = parseObjectXml(
      lwm2m('<Name>123</Name><ObjectID>5</ObjectID><ObjectVersion>2.0</ObjectVersion><Resources/>'),
    );
    expect(def).toEqual({
      id: 5,
      name: '123',
      version: '2.0',
      lwm2mVersion: '1.0',
      multiple: false,
      mandatory: false,
      resources: {},
    });
  });

  it('returns every <Object> of a document', () => {
    const xml = `<LWM2M>
      <Object><Name>A</Name><ObjectID>10</ObjectID></Object>
      <Object><Name>B</Name><ObjectID>11</ObjectID></Object>
    </LWM2M>`;
    expect(parseObjectXml(xml).map((d) => d.id)).toEqual([10, 11]);
  });
});

describe('parseObjectXml errors', () => {
  it.each([
    ['malformed XML', '<LWM2M><Object>', /broken\.xml: not well-formed XML/],
    ['another root element', '<DDFList><Item/></DDFList>', /broken\.xml: .*no <LWM2M> root/],
    ['no Object element', '<LWM2M></LWM2M>', /broken\.xml: .*no <Object>/],
    ['no ObjectID', lwm2m('<Name>X</Name>'), /broken\.xml: .*no <ObjectID>/],
    ['a non-numeric ObjectID', lwm2m('<ObjectID>x1</ObjectID>'), /broken\.xml: invalid ObjectID "x1"/],
    ['an ObjectID above 65535', lwm2m('<ObjectID>70000</ObjectID>'), /invalid ObjectID "70000"/],
    [
      'an unknown Type',
      lwm2m('<ObjectID>1</ObjectID><Resources><Item ID="2"><Type>Double</Type></Item></Resources>'),
      /broken\.xml: object 1 resource 2: unknown Type "Double"/,
    ],
    [
      'unknown Operations',
      lwm2m('<ObjectID>1</ObjectID><Resources><Item ID="2"><Operations>X</Operations></Item></Resources>'),
      /object 1 resource 2: unknown Operations "X"/,
    ],
    [
      'a resource without ID',
      lwm2m('<ObjectID>1</ObjectID><Resources><Item><Name>n</Name></Item></Resources>'),
      /object 1: resource <Item> with invalid ID ""/,
    ],
    [
      'a duplicate resource ID',
      lwm2m('<ObjectID>1</ObjectID><Resources><Item ID="2"/><Item ID="2"/></Resources>'),
      /object 1: duplicate resource ID 2/,
    ],
    ['a bad MultipleInstances', lwm2m('<ObjectID>1</ObjectID><MultipleInstances>Many</MultipleInstances>'), /MultipleInstances/],
    ['a bad Mandatory', lwm2m('<ObjectID>1</ObjectID><Mandatory>Yes</Mandatory>'), /Mandatory must be/],
  ])('rejects %s, naming the source', (_label, xml, message) => {
    expect(() => parseObjectXml(xml, 'broken.xml')).toThrow(message);
  });

  it.each(['Common.xml', 'DDF.xml', 'LWM2M_senml_units.xml'])('rejects the registry non-object file %s', (name) => {
    const xml = fs.readFileSync(path.join(REGISTRY_DIR, name), 'utf8');
    expect(() => parseObjectXml(xml, name)).toThrow(new RegExp(`^${name.replace('.', '\\.')}: `));
  });
});
