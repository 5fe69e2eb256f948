import { parseDocument } from 'yaml';
import { joinKey, printable, type ProblemSink } from './config-keys';

/**
 * YAML text to plain values (bootstrap configurations, device profiles). Keys go through `Map`s first, so that
 * two keys YAML holds apart but JSON cannot (`101` and `"101"`) are reported instead of one silently
 * replacing the other, and mappings are built without a prototype, so that a key named `__proto__`
 * is a key like any other.
 */

/** Aliases expand to copies: without a bound a small file could expand to gigabytes. */
const MAX_ALIAS_COUNT = 100;
const MAX_SYNTAX_ERRORS = 10;

/** The document's value, or undefined when it has syntax errors (each added to `problems` under `at`). */
export function parseYamlDocument(text: string, problems: ProblemSink, at = ''): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    for (const err of doc.errors.slice(0, MAX_SYNTAX_ERRORS)) {
      // The message's first line only: the next ones quote the source line, which may hold a key.
      const reason = err.message.split('\n')[0].replace(/:$/, '');
      problems.add(at, `YAML syntax error: ${printable(reason, 200)}`);
    }
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ mapAsMap: true, maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    problems.add(at, `YAML error: ${printable((err as Error).message.split('\n')[0], 200)}`);
    return undefined;
  }
  return plainValue(value, at, problems);
}

function plainValue(value: unknown, at: string, problems: ProblemSink): unknown {
  if (Array.isArray(value)) return value.map((item, i) => plainValue(item, `${at}[${i}]`, problems));
  if (!(value instanceof Map)) return value;
  const out = Object.create(null) as Record<string, unknown>;
  for (const [rawKey, item] of value) {
    if (rawKey !== null && typeof rawKey === 'object') {
      problems.add(at, 'has a key that is a mapping or a list; keys must be text or numbers');
      continue;
    }
    const key = String(rawKey);
    const path = joinKey(at, printable(key));
    if (Object.hasOwn(out, key)) {
      problems.add(path, 'duplicate key (keys are compared as text)');
      continue;
    }
    out[key] = plainValue(item, path, problems);
  }
  return out;
}
