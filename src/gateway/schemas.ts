import fs from 'node:fs';
import path from 'node:path';

/** The package root (holds package.json): schemas/ sits there, whether we run from src/ or dist/src/. */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package root not found');
    dir = parent;
  }
  return dir;
}

export function loadSchema(name: string): object {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'schemas', name), 'utf8')) as object;
}
