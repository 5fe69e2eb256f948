/**
 * Regenerates src/app/config-schema-types.ts from schemas/gateway.schema.json, the one description of
 * gateway.yaml (users read it too): the types of the document as the schema validator hands it to
 * src/app/config.ts, every key with a default filled in.
 *
 * Usage: npm run gen:config-types            (writes the file)
 *        npm run gen:config-types -- --check (exits 1 when the file is out of date; test/unit/config/config-schema-types.test.ts runs it)
 */
import fs from 'node:fs';
import path from 'node:path';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

const repoRoot = path.resolve(__dirname, '..');
const SCHEMA_FILE = path.join(repoRoot, 'schemas', 'gateway.schema.json');
const TYPES_FILE = path.join(repoRoot, 'src', 'app', 'config-schema-types.ts');

const BANNER = `/**
 * GENERATED from schemas/gateway.schema.json by scripts/gen-config-types.ts: do not edit by hand.
 * Change the schema, then run \`npm run gen:config-types\` (a test fails while this file is out of date).
 *
 * The configuration document after schema validation: every key that has a default in the schema is
 * present (required here); durations, sizes and binds are still as written (number or string).
 * src/app/config.ts derives the validated GatewayConfig from these types.
 */`;

/** The root type's name; the other types are named after the schema's definitions. */
const ROOT_TYPE = 'ConfigDocument';

/**
 * The schema as the validator applies it (Ajv with useDefaults): a property with a default is always
 * there afterwards, so it is required in the generated types. The schema file itself stays as users
 * read it; only this copy is changed.
 */
function withDefaultsRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withDefaultsRequired);
  if (schema === null || typeof schema !== 'object') return schema;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    // `default` values are data, not schemas: copy them as they are.
    result[key] = key === 'default' || key === 'enum' ? value : withDefaultsRequired(value);
  }
  const properties = result.properties;
  if (properties !== null && typeof properties === 'object' && !Array.isArray(properties)) {
    const required = new Set(Array.isArray(result.required) ? (result.required as string[]) : []);
    for (const [name, property] of Object.entries(properties)) {
      if (property !== null && typeof property === 'object' && 'default' in property) required.add(name);
    }
    if (required.size > 0) result.required = [...required];
  }
  return result;
}

/** The text of src/app/config-schema-types.ts for the schema file as it is now. */
async function generateConfigTypes(schemaFile = SCHEMA_FILE): Promise<string> {
  const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as JSONSchema;
  const prepared = { ...(withDefaultsRequired(schema) as JSONSchema), title: ROOT_TYPE };
  return compile(prepared, ROOT_TYPE, {
    bannerComment: BANNER,
    // An object schema that says nothing of its keys (auth.http.body) is a map of unknown values.
    additionalProperties: true,
    unknownAny: true,
    // Index signatures as in the hand-written types before (Record<string, string>): no `| undefined`.
    strictIndexSignatures: false,
    declareExternallyReferenced: true,
    unreachableDefinitions: false,
    style: { printWidth: 120, singleQuote: true },
    cwd: path.dirname(schemaFile),
  });
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const text = await generateConfigTypes();
  const current = fs.existsSync(TYPES_FILE) ? fs.readFileSync(TYPES_FILE, 'utf8') : undefined;
  const relative = path.relative(repoRoot, TYPES_FILE);
  if (check) {
    if (current !== text) {
      console.error(`${relative} is out of date with schemas/gateway.schema.json: run npm run gen:config-types`);
      process.exitCode = 1;
    } else console.log(`${relative} is up to date`);
    return;
  }
  if (current === text) console.log(`${relative}: unchanged`);
  else {
    fs.writeFileSync(TYPES_FILE, text);
    console.log(`${relative}: written`);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
