import * as fs from 'fs';
import * as path from 'path';
import { parseObjectXml } from './object-xml';
import { toStoredObject, type StoredObjectDefinition } from './stored-object';

/** Core OMA objects shipped with the gateway (8, Lock and Wipe, is deliberately left out). */
const CORE_OBJECT_IDS = [0, 1, 2, 3, 4, 5, 6, 7, 9, 19];

/** IPSO smart objects: every id in this range that the registry defines is shipped. */
const IPSO_RANGE = { first: 3200, last: 3350 };

/** Object ids to ship, from what the registry directory holds; a missing core object is an error. */
export function builtinObjectIds(registryDir: string): number[] {
  const present = new Set(
    fs
      .readdirSync(registryDir)
      .filter((name) => /^\d+\.xml$/.test(name))
      .map((name) => Number(name.slice(0, -'.xml'.length))),
  );
  const missing = CORE_OBJECT_IDS.filter((id) => !present.has(id));
  if (missing.length > 0) {
    throw new Error(`${registryDir}: core object file(s) missing: ${missing.map((id) => `${id}.xml`).join(', ')}`);
  }
  const ipso = [...present].filter((id) => id >= IPSO_RANGE.first && id <= IPSO_RANGE.last);
  return [...CORE_OBJECT_IDS, ...ipso].sort((a, b) => a - b);
}

/** Reads the shipped objects from the OMA registry, in id order. */
export function readBuiltinObjects(registryDir: string): StoredObjectDefinition[] {
  return builtinObjectIds(registryDir).map((id) => {
    const file = path.join(registryDir, `${id}.xml`);
    const defs = parseObjectXml(fs.readFileSync(file, 'utf8'), file);
    const def = defs.find((d) => d.id === id);
    if (def === undefined) throw new Error(`${file}: does not define object ${id}`);
    return toStoredObject(def);
  });
}

/**
 * The text of builtin-objects.json: one resource per line, which keeps the file close to minified
 * size (fully indented JSON is ~1.6x larger) while diffs between registry versions stay readable.
 */
export function formatBuiltinObjects(objects: StoredObjectDefinition[]): string {
  const blocks = objects.map((object) => {
    const { resources, ...header } = object;
    const head = JSON.stringify(header).slice(0, -1); // reopen the object to append resources
    if (resources.length === 0) return `  ${head},"resources":[]}`;
    const lines = resources.map((resource) => `    ${JSON.stringify(resource)}`);
    return `  ${head},"resources":[\n${lines.join(',\n')}\n  ]}`;
  });
  return `[\n${blocks.join(',\n')}\n]\n`;
}

/** What `npm run gen:models` writes to builtin-objects.json, for the registry in `registryDir`. */
export function generateBuiltinObjectsJson(registryDir: string): string {
  return formatBuiltinObjects(readBuiltinObjects(registryDir));
}
