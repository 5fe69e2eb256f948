import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { ObjectDefinition, Operations, ResourceDefinition, ResourceType } from './types';

/** Largest object / resource id: both are 16-bit in LwM2M paths. */
const MAX_ID = 65535;

/** Parsed XML node as fast-xml-parser yields it (all leaf values kept as strings). */
type XmlNode = { [key: string]: unknown };

// Values are kept as strings (parseTagValue: false) so that e.g. RangeEnumeration "0..255" or a
// Name like "1" is never turned into a number; Object and Item are always arrays so that a single
// element and several elements read the same way.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  removeNSPrefix: true,
  isArray: (tagName) => tagName === 'Object' || tagName === 'Item',
});

/** Keys are matched after lowercasing and dropping whitespace, so "Unsigned Integer" → "unsignedinteger". */
const RESOURCE_TYPES: Record<string, ResourceType> = {
  '': 'none',
  none: 'none',
  string: 'string',
  integer: 'integer',
  unsignedinteger: 'unsigned',
  unsigned: 'unsigned',
  float: 'float',
  boolean: 'boolean',
  opaque: 'opaque',
  time: 'time',
  objlnk: 'objlnk',
  corelnk: 'corelnk',
};

const OPERATIONS: Record<string, Operations> = {
  '': '',
  NONE: '',
  R: 'R',
  W: 'W',
  RW: 'RW',
  WR: 'RW',
  E: 'E',
};

/**
 * Parses an OMA LwM2M object definition document (`<LWM2M>` with one or more `<Object>`).
 * `source` (usually the file name) is named in every error message.
 */
export function parseObjectXml(xml: string, source = '<xml>'): ObjectDefinition[] {
  const body = xml.replace(/^\uFEFF/, '');
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}`);
  };

  const valid = XMLValidator.validate(body);
  if (valid !== true) {
    fail(`not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  }
  const doc = parser.parse(body) as XmlNode;
  if (!('LWM2M' in doc)) {
    return fail('not an LwM2M object definition (no <LWM2M> root element)');
  }
  const root = doc['LWM2M'];
  const objects = isNode(root) ? root['Object'] : undefined;
  if (!Array.isArray(objects) || objects.length === 0) {
    return fail('not an LwM2M object definition (no <Object> element)');
  }
  return objects.map((object, index) => {
    if (!isNode(object)) return fail(`<Object> #${index + 1} is empty`);
    return readObject(object, fail);
  });
}

function readObject(object: XmlNode, fail: (problem: string) => never): ObjectDefinition {
  const idText = text(object['ObjectID']);
  if (idText === '') fail('not an LwM2M object definition (<Object> has no <ObjectID>)');
  const id = parseId(idText);
  if (id === undefined) fail(`invalid ObjectID "${idText}"`);
  const where = `object ${id}`;

  const def: ObjectDefinition = {
    id,
    name: collapseSpaces(text(object['Name'])),
    version: text(object['ObjectVersion']) || '1.0',
    lwm2mVersion: text(object['LWM2MVersion']) || '1.0',
    multiple: readMultiple(object['MultipleInstances'], where, fail),
    mandatory: readMandatory(object['Mandatory'], where, fail),
    resources: {},
  };
  const urn = text(object['ObjectURN']);
  if (urn !== '') def.urn = urn;

  // <Resources/> (or a missing element) is an object without resources, which is legal.
  const resources = object['Resources'];
  const items = isNode(resources) && Array.isArray(resources['Item']) ? resources['Item'] : [];
  for (const item of items) {
    const resource = readResource(isNode(item) ? item : {}, where, fail);
    if (def.resources[resource.id] !== undefined) fail(`${where}: duplicate resource ID ${resource.id}`);
    def.resources[resource.id] = resource;
  }
  return def;
}

function readResource(item: XmlNode, objectWhere: string, fail: (problem: string) => never): ResourceDefinition {
  const idText = text(item['@_ID']);
  const id = parseId(idText);
  if (id === undefined) return fail(`${objectWhere}: resource <Item> with invalid ID "${idText}"`);
  const where = `${objectWhere} resource ${id}`;

  const opsText = text(item['Operations']).replace(/\s+/g, '').toUpperCase();
  const operations = OPERATIONS[opsText];
  if (operations === undefined) fail(`${where}: unknown Operations "${text(item['Operations'])}"`);

  const typeText = text(item['Type']).replace(/\s+/g, '').toLowerCase();
  const type = RESOURCE_TYPES[typeText];
  if (type === undefined) fail(`${where}: unknown Type "${text(item['Type'])}"`);

  const def: ResourceDefinition = {
    id,
    name: collapseSpaces(text(item['Name'])),
    operations,
    multiple: readMultiple(item['MultipleInstances'], where, fail),
    mandatory: readMandatory(item['Mandatory'], where, fail),
    type,
  };
  const units = text(item['Units']);
  if (units !== '') def.units = units;
  const range = text(item['RangeEnumeration']);
  if (range !== '') def.rangeEnumeration = range;
  return def;
}

/** "Multiple" / "Single"; absent means single (the common case, and the safe reading). */
function readMultiple(node: unknown, where: string, fail: (problem: string) => never): boolean {
  const value = text(node).toLowerCase();
  if (value === 'multiple') return true;
  if (value === 'single' || value === '') return false;
  return fail(`${where}: MultipleInstances must be Multiple or Single, got "${text(node)}"`);
}

/** "Mandatory" / "Optional"; absent means optional. */
function readMandatory(node: unknown, where: string, fail: (problem: string) => never): boolean {
  const value = text(node).toLowerCase();
  if (value === 'mandatory') return true;
  if (value === 'optional' || value === '') return false;
  return fail(`${where}: Mandatory must be Mandatory or Optional, got "${text(node)}"`);
}

function parseId(value: string): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const id = Number(value);
  return id <= MAX_ID ? id : undefined;
}

/** Text content of a leaf element: a string, or `#text` when the element also carries attributes. */
function text(node: unknown): string {
  if (typeof node === 'string') return node.trim();
  if (Array.isArray(node)) return text(node[0]);
  if (isNode(node)) return text(node['#text']);
  return '';
}

/** Names are display text; hand-written XML may wrap or double-space them. */
function collapseSpaces(value: string): string {
  return value.replace(/\s+/g, ' ');
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
