import fs from 'node:fs';
import path from 'node:path';

let root: string | undefined;

/** The directory holding package.json (and schemas/): the same from src/ (ts-jest) and dist/src/. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${__dirname}`);
    dir = parent;
  }
  root = dir;
  return dir;
}

/** A JSON Schema of schemas/, parsed. */
export function loadSchema(name: string): object {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'schemas', name), 'utf8')) as object;
}

/** The gateway's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
