/**
 * Regenerates src/lwm2m/model/builtin-objects.json from the OMA LwM2M registry.
 * Usage: npx ts-node scripts/gen-models.ts [registry-dir]   (default: ../shared/lwm2m-registry)
 */
import * as fs from 'fs';
import * as path from 'path';
import { generateBuiltinObjectsJson } from '../src/lwm2m/model/builtin-generate';

const repoRoot = path.resolve(__dirname, '..');
const registryDir = path.resolve(repoRoot, process.argv[2] ?? '../shared/lwm2m-registry');
const outFile = path.join(repoRoot, 'src/lwm2m/model/builtin-objects.json');

const json = generateBuiltinObjectsJson(registryDir);
fs.writeFileSync(outFile, json);
const count = (JSON.parse(json) as unknown[]).length;
console.log(`${path.relative(repoRoot, outFile)}: ${count} objects, ${json.length} bytes, from ${registryDir}`);
