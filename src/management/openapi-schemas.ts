import { loadSchema } from '../package-root';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** `#/definitions/x...` of a schemas/ file as `#/components/schemas/<Name>.x...` of the OpenAPI document. */
function rewriteRefs(value: Json, name: string): Json {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, name));
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = key === '$ref' && typeof v === 'string' && v.startsWith('#/definitions/') ? `#/components/schemas/${name}.${v.slice('#/definitions/'.length)}` : rewriteRefs(v, name);
  }
  return out;
}

/**
 * A JSON Schema of schemas/ (the MQTT contract's command or uplink message) as OpenAPI components:
 * the schema as `<name>`, each of its definitions as `<name>.<definition>`. The HTTP API documents
 * its command bodies and answers with the very schemas the MQTT side validates against.
 */
export function contractComponents(file: string, name: string): Record<string, Json> {
  const schema = rewriteRefs(loadSchema(file) as Json, name) as JsonObject;
  const { definitions, $schema: _draft, $id: _id, ...main } = schema;
  const components: Record<string, Json> = { [name]: main };
  if (definitions && typeof definitions === 'object' && !Array.isArray(definitions)) {
    for (const [key, def] of Object.entries(definitions)) components[`${name}.${key}`] = def;
  }
  return components;
}
