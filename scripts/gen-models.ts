/**
 * Regenerates src/lwm2m/model/builtin-objects.json from the OMA LwM2M registry.
 * Usage: npm run gen:models [-- registry-dir]   (default: models/oma, the registry copy in this repository)
 */
import * as fs from 'fs';
import * as path from 'path';
import { generateBuiltinObjectsJson } from '../src/lwm2m/model/builtin-generate';

const repoRoot = path.resolve(__dirname, '..');
const registryDir = path.resolve(repoRoot, process.argv[2] ?? 'models/oma');
const outFile = path.join(repoRoot, 'src/lwm2m/model/builtin-objects.json');

const { json, count, skipped } = generateBuiltinObjectsJson(registryDir);
fs.writeFileSync(outFile, json);
console.log(`${path.relative(repoRoot, outFile)}: ${count} objects, ${json.length} bytes, from ${path.relative(repoRoot, registryDir) || '.'}`);
for (const { reason } of skipped) console.log(`skipped: ${reason}`);
