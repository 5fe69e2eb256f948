import * as fs from 'fs';
import * as path from 'path';
import { parseObjectXml } from './object-xml';
import { toStoredObject, type StoredObjectDefinition } from './stored-object';
import type { ObjectDefinition } from './types';

/** Objects every LwM2M client needs: a registry without them is the wrong directory, not a bad file. */
const CORE_OBJECT_IDS = [0, 1, 2, 3, 4, 5, 6, 7, 9, 19];

/** A registry file left out of the built-in model, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

export interface BuiltinObjects {
  /** Every object of the registry, in id order. */
  objects: StoredObjectDefinition[];
  /** Object files that failed to parse, or that define other objects than the one they are named after. */
  skipped: SkippedFile[];
}

/** The registry's object files (`<id>.xml`), in id order; Common.xml, DDF.xml and the XSDs are not objects. */
export function registryObjectFiles(registryDir: string): { id: number; name: string }[] {
  return fs
    .readdirSync(registryDir)
    .filter((name) => /^\d+\.xml$/.test(name))
    .map((name) => ({ id: Number(name.slice(0, -'.xml'.length)), name }))
    .sort((a, b) => a.id - b.id);
}

/**
 * Reads every object of the OMA registry. Each object is taken from the file named after its id,
 * so an id cannot be defined twice: a file that fails to parse, lacks its own object, or also
 * defines others is reported in `skipped` (what it lacks is left out, not guessed). A missing core
 * object throws.
 */
export function readBuiltinObjects(registryDir: string): BuiltinObjects {
  const objects: StoredObjectDefinition[] = [];
  const skipped: SkippedFile[] = [];
  for (const { id, name } of registryObjectFiles(registryDir)) {
    const file = path.join(registryDir, name);
    let defs: ObjectDefinition[];
    try {
      defs = parseObjectXml(fs.readFileSync(file, 'utf8'), name);
    } catch (err) {
      skipped.push({ file: name, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    for (const other of defs.filter((d) => d.id !== id)) {
      skipped.push({ file: name, reason: `${name}: object ${other.id} is not taken from a file named after object ${id}` });
    }
    const def = defs.find((d) => d.id === id);
    if (def === undefined) skipped.push({ file: name, reason: `${name}: does not define object ${id}` });
    else objects.push(toStoredObject(def));
  }
  const have = new Set(objects.map((o) => o.id));
  const missing = CORE_OBJECT_IDS.filter((id) => !have.has(id));
  if (missing.length > 0) {
    throw new Error(`${registryDir}: core object(s) missing or unreadable: ${missing.map((id) => `${id}.xml`).join(', ')}`);
  }
  return { objects, skipped };
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

/** What `npm run gen:models` writes to builtin-objects.json, and what it left out. */
export function generateBuiltinObjectsJson(registryDir: string): { json: string; count: number; skipped: SkippedFile[] } {
  const { objects, skipped } = readBuiltinObjects(registryDir);
  return { json: formatBuiltinObjects(objects), count: objects.length, skipped };
}
