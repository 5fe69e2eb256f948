import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { describeValue, joinKey, printable } from '../../config-text/config-keys';
import { ProfileProblems } from './profile-config-error';
import { topicLevelProblem } from './topic-level';

/**
 * A `device_id_map` file: a YAML mapping endpoint → device id. Such files are generated and may be
 * large, and the `yaml` library takes seconds per hundred thousand keys (and longer still while it
 * checks keys for duplicates), so a file written one `endpoint: device-id` per line, each plain or
 * quoted, is read line by line; any other YAML is read by the library only while small.
 */

export const MAX_DEVICE_ID_MAP_BYTES = 64 * 1024 * 1024;
export const MAX_DEVICE_ID_MAP_ENTRIES = 1_000_000;
/** Larger files must be in the line form. */
export const MAX_GENERAL_YAML_BYTES = 256 * 1024;

/** A plain scalar the YAML core schema reads as text: starts with a letter, no spaces, no `#`, not null/true/false. */
const PLAIN = "[A-Za-z](?:[A-Za-z0-9_.:@\\-]*[A-Za-z0-9_.@\\-])?";
const DOUBLE_QUOTED = '"[^"\\\\\\x00-\\x1f\\x7f-\\x9f]*"';
const SINGLE_QUOTED = "'[^'\\x00-\\x1f\\x7f-\\x9f]*'";
const SCALAR = `(${PLAIN}|${DOUBLE_QUOTED}|${SINGLE_QUOTED})`;
const ENTRY_LINE = new RegExp(`^${SCALAR}:[ \\t]+${SCALAR}(?:[ \\t]+#.*)?[ \\t]*$`);
const NOT_TEXT = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;

/** The map, or undefined when the file cannot be used (every reason added to `problems` under `key`). */
export function readDeviceIdMap(file: string, key: string, problems: ProfileProblems): ReadonlyMap<string, string> | undefined {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_DEVICE_ID_MAP_BYTES) {
      problems.add(key, `${file} is ${size} bytes, more than ${MAX_DEVICE_ID_MAP_BYTES}`);
      return undefined;
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.add(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const before = problems.count;
  const lines = lineForm(text, key, problems);
  if (lines === 'not line form') {
    if (Buffer.byteLength(text, 'utf8') > MAX_GENERAL_YAML_BYTES) {
      problems.add(key, `${file} is larger than ${MAX_GENERAL_YAML_BYTES} bytes and not written one "endpoint: device-id" per line (plain text starting with a letter, or quoted)`);
      return undefined;
    }
    return generalForm(text, file, key, problems);
  }
  return problems.count === before ? lines : undefined;
}

/** The map read line by line, or 'not line form' at the first line that is not a comment, blank or `key: value`. */
function lineForm(text: string, key: string, problems: ProfileProblems): Map<string, string> | 'not line form' {
  const map = new Map<string, string>();
  // Reported only once the whole file is known to be in line form: else the general reader reports.
  const found = new ProfileProblems();
  let line = 0;
  let entries = 0;
  for (let from = 0; from < text.length; ) {
    let to = text.indexOf('\n', from);
    if (to < 0) to = text.length;
    line++;
    const raw = text.charCodeAt(to - 1) === 0x0d ? text.slice(from, to - 1) : text.slice(from, to);
    from = to + 1;
    if (raw.startsWith('#') || raw.trim() === '') continue;
    const m = ENTRY_LINE.exec(raw);
    if (m === null || NOT_TEXT.test(m[1]) || NOT_TEXT.test(m[2])) return 'not line form';
    if (++entries > MAX_DEVICE_ID_MAP_ENTRIES) {
      found.add(key, `has more than ${MAX_DEVICE_ID_MAP_ENTRIES} entries`);
      break;
    }
    addEntry(map, unquote(m[1]), unquote(m[2]), key, found, ` (line ${line})`);
  }
  found.copyTo(problems);
  return map;
}

function unquote(scalar: string): string {
  const first = scalar[0];
  return first === '"' || first === "'" ? scalar.slice(1, -1) : scalar;
}

function addEntry(map: Map<string, string>, endpoint: string, deviceId: string, key: string, problems: ProfileProblems, where: string): void {
  const entryKey = joinKey(key, printable(endpoint));
  if (map.has(endpoint)) {
    problems.add(entryKey, `duplicate endpoint${where}`);
    return;
  }
  if (endpoint === '') {
    problems.add(entryKey, `empty endpoint${where}`);
    return;
  }
  const problem = topicLevelProblem(deviceId);
  if (problem !== undefined) {
    problems.add(entryKey, `device id ${problem}${where}`);
    return;
  }
  map.set(endpoint, deviceId);
}

function generalForm(text: string, file: string, key: string, problems: ProfileProblems): ReadonlyMap<string, string> | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    for (const err of doc.errors.slice(0, 10)) problems.add(key, `${file}: YAML syntax error: ${printable(err.message.split('\n')[0].replace(/:$/, ''), 200)}`);
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ mapAsMap: true, maxAliasCount: 100 });
  } catch (err) {
    problems.add(key, `${file}: YAML error: ${printable((err as Error).message.split('\n')[0], 200)}`);
    return undefined;
  }
  if (value === null || value === undefined) return new Map();
  if (!(value instanceof Map)) {
    problems.add(key, `${file} must hold a mapping endpoint: device-id, got ${describeValue(value)}`);
    return undefined;
  }
  if (value.size > MAX_DEVICE_ID_MAP_ENTRIES) {
    problems.add(key, `has more than ${MAX_DEVICE_ID_MAP_ENTRIES} entries`);
    return undefined;
  }
  const before = problems.count;
  const map = new Map<string, string>();
  for (const [endpoint, deviceId] of value as Map<unknown, unknown>) {
    // A number key or value has lost its text (`0123` reads as 123): quoting keeps it.
    if (typeof endpoint !== 'string') {
      problems.add(key, `has a key that is ${describeValue(endpoint)}; quote endpoint names`);
      continue;
    }
    if (typeof deviceId !== 'string') {
      problems.add(joinKey(key, printable(endpoint)), `device id must be a string, got ${describeValue(deviceId)} (quote it)`);
      continue;
    }
    addEntry(map, endpoint, deviceId, key, problems, '');
  }
  return problems.count === before ? map : undefined;
}
