import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatPath, parsePath, pathLevel, type LwM2mPath, type PathLevel } from '../../lwm2m/path';
import { TYPE_NAMES } from '../value-json';
import { readDeviceIdMap } from './device-id-map';
import { NOTIFICATION_ATTRIBUTES, type DeviceProfile, type NotificationAttribute, type ObservedPath, type ObserveStrategy, type ProfileMatch, type RpcOperation } from './device-profile';
import { compileGlob } from './endpoint-glob';
import { describeValue, isMapping, joinKey, printable } from '../../config-text/config-keys';
import { parseYamlDocument } from '../../config-text/yaml-values';
import { ProfileProblems } from './profile-config-error';
import { parseTemplate, usesPlaceholder, type Template, type TemplateVocabulary } from './profile-template';

/**
 * The `profiles:` list (gateway.yaml, or a profiles_file) into frozen DeviceProfiles. Everything is
 * checked before anything is used, and every problem is reported at once with its key
 * (`profiles[0].telemetry./3303/0/5700`); unknown keys are refused, so that a misspelt key is not
 * silently a default.
 */

export interface ProfileSourceOptions {
  /** Names the configuration in errors: a file name. */
  source: string;
  /** `device_id_map` files are resolved against it. */
  baseDir: string;
}

const MAX_PROFILES = 1000;
/** Mappings of a few known keys: large enough that an unknown key is reported as one. */
const MAX_SMALL_MAPPING = 32;
const MAX_MATCH_ATTRS = 64;
const MAX_MATCH_OBJECTS = 64;
const MAX_MATCH_VALUE_CHARS = 1024;
const MAX_OBSERVE_PATHS = 256;
const MAX_TELEMETRY_PATHS = 1024;
const MAX_ATTRIBUTE_PATHS = 256;
const MAX_RPC_METHODS = 256;
const MAX_EXECUTE_ARGS_CHARS = 4096;
const MAX_PATH_CHARS = 64;
/** write-attr periods are seconds; 2^31 - 1 keeps them within every device's integer. */
const MAX_PERIOD = 2 ** 31 - 1;
const MAX_PROFILES_FILE_BYTES = 16 * 1024 * 1024;

/** Profile, metric, attribute and RPC method names. */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const NAME_RULE = '1 to 64 of A-Z a-z 0-9 _ . -';

const PROFILE_KEYS = ['name', 'match', 'device_id', 'device_id_map', 'tenant', 'metric_key', 'observe', 'telemetry', 'attributes', 'rpc'];
const MATCH_KEYS = ['endpoint', 'client_attrs', 'objects'];
const OBSERVE_KEYS = ['strategy', 'paths'];
const STRATEGIES: readonly ObserveStrategy[] = ['single', 'composite', 'composite_by_object'];
const INTEGER_ATTRIBUTES: ReadonlySet<NotificationAttribute> = new Set(['pmin', 'pmax', 'epmin', 'epmax']);

const IDENTITY_VOCABULARY: TemplateVocabulary = { names: ['endpoint'], clientAttrs: true };
const METRIC_KEY_VOCABULARY: TemplateVocabulary = { names: ['name', 'path', 'endpoint', 'device_id'], clientAttrs: false };

const DEFAULT_DEVICE_ID = '${endpoint}';
const DEFAULT_TENANT = '${client_attrs.tenant}';
const DEFAULT_METRIC_KEY = '${name}';

/** telemetry and attributes: values, so resources or resource instances. */
const NAMED_PATH_LEVELS: readonly PathLevel[] = ['resource', 'resourceInstance'];
const OBSERVE_LEVELS: readonly PathLevel[] = ['object', 'instance', 'resource', 'resourceInstance'];
const WRITE_LEVELS: readonly PathLevel[] = ['resource', 'resourceInstance'];
const EXECUTE_LEVELS: readonly PathLevel[] = ['resource'];
const LEVEL_TEXT: Record<PathLevel, string> = { root: '/', object: '/O', instance: '/O/I', resource: '/O/I/R', resourceInstance: '/O/I/R/RI' };

/** The profiles, or a ProfileConfigError naming every problem. `raw` is the value of `profiles:`; absent or null is no profiles. */
export function parseProfiles(raw: unknown, options: ProfileSourceOptions): readonly DeviceProfile[] {
  const problems = new ProfileProblems();
  const profiles = profilesOf(raw, 'profiles', options.baseDir, problems);
  problems.throwIfAny(options.source);
  return profiles;
}

/** A profiles file: YAML whose top level is `profiles:`. device_id_map files are relative to its folder. */
export function loadProfilesFile(file: string): readonly DeviceProfile[] {
  const problems = new ProfileProblems();
  let text = '';
  try {
    const size = statSync(file).size;
    if (size > MAX_PROFILES_FILE_BYTES) problems.add('', `the file is ${size} bytes, more than ${MAX_PROFILES_FILE_BYTES}`);
    else text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.add('', `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  problems.throwIfAny(file);
  const doc = parseYamlDocument(text, problems);
  problems.throwIfAny(file);
  let profiles: readonly DeviceProfile[] = [];
  if (!isMapping(doc)) {
    problems.add('', `the top level must be a mapping with the key profiles, got ${describeValue(doc)}`);
  } else {
    for (const name of Object.keys(doc)) if (name !== 'profiles') problems.add(printable(name), 'unknown key (the top level holds profiles only)');
    profiles = profilesOf(doc.profiles, 'profiles', dirname(resolve(file)), problems);
  }
  problems.throwIfAny(file);
  return profiles;
}

/** Reads of one mapping; unknown keys are problems. */
class Fields {
  constructor(
    readonly record: Readonly<Record<string, unknown>>,
    readonly at: string,
    readonly problems: ProfileProblems,
    allowed: readonly string[],
  ) {
    for (const name of Object.keys(record)) if (!allowed.includes(name)) problems.add(this.key(name), 'unknown key');
  }

  key(name: string): string {
    return joinKey(this.at, printable(name));
  }

  value(name: string): unknown {
    return Object.hasOwn(this.record, name) ? this.record[name] : undefined;
  }

  problem(name: string, message: string): void {
    this.problems.add(this.key(name), message);
  }

  string(name: string): string | undefined {
    const value = this.value(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      this.problem(name, `must be a string, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  /** A mapping, or undefined when absent or null (`key:` with nothing after it) or when a problem was recorded. */
  mapping(name: string, maxEntries: number): Readonly<Record<string, unknown>> | undefined {
    const value = this.value(name);
    if (value === undefined || value === null) return undefined;
    if (!isMapping(value)) {
      this.problem(name, `must be a mapping, got ${describeValue(value)}`);
      return undefined;
    }
    const size = Object.keys(value).length;
    if (size > maxEntries) {
      this.problem(name, `has ${size} entries, more than ${maxEntries}`);
      return undefined;
    }
    return value;
  }
}

/** Shared by the profiles of one configuration: two profiles naming one device_id_map file read it once. */
type DeviceIdMapCache = Map<string, ReadonlyMap<string, string> | undefined>;

function profilesOf(raw: unknown, at: string, baseDir: string, problems: ProfileProblems): readonly DeviceProfile[] {
  if (raw === undefined || raw === null) return Object.freeze([]);
  if (!Array.isArray(raw)) {
    problems.add(at, `must be a list, got ${describeValue(raw)}`);
    return Object.freeze([]);
  }
  if (raw.length > MAX_PROFILES) {
    problems.add(at, `has ${raw.length} profiles, more than ${MAX_PROFILES}`);
    return Object.freeze([]);
  }
  const names = new Map<string, number>();
  const maps: DeviceIdMapCache = new Map();
  const profiles: DeviceProfile[] = [];
  raw.forEach((item: unknown, i) => {
    const key = `${at}[${i}]`;
    if (!isMapping(item)) {
      problems.add(key, `must be a mapping, got ${describeValue(item)}`);
      return;
    }
    const before = problems.count;
    const profile = profileOf(new Fields(item, key, problems, PROFILE_KEYS), baseDir, maps);
    if (profile === undefined) return;
    const first = names.get(profile.name);
    if (first !== undefined) problems.add(joinKey(key, 'name'), `duplicate profile name (also ${at}[${first}].name)`);
    else names.set(profile.name, i);
    if (problems.count === before) profiles.push(profile);
  });
  return Object.freeze(profiles);
}

function profileOf(f: Fields, baseDir: string, maps: DeviceIdMapCache): DeviceProfile | undefined {
  const name = f.string('name');
  if (f.value('name') === undefined) f.problem('name', 'is required');
  else if (name !== undefined && !NAME.test(name)) f.problem('name', `must be ${NAME_RULE}`);
  const match = matchOf(f);
  const deviceId = templateOf(f, 'device_id', DEFAULT_DEVICE_ID, IDENTITY_VOCABULARY);
  const tenant = templateOf(f, 'tenant', DEFAULT_TENANT, IDENTITY_VOCABULARY);
  const metricKey = templateOf(f, 'metric_key', DEFAULT_METRIC_KEY, METRIC_KEY_VOCABULARY);
  if (metricKey !== undefined && !usesPlaceholder(metricKey, 'name') && !usesPlaceholder(metricKey, 'path')) {
    f.problem('metric_key', 'must use ${name} or ${path}: else every value of a point has the same key');
  }
  const mapFile = f.string('device_id_map');
  let deviceIdMap: ReadonlyMap<string, string> | undefined;
  if (mapFile !== undefined) {
    const file = resolve(baseDir, mapFile);
    if (!maps.has(file)) maps.set(file, readDeviceIdMap(file, f.key('device_id_map'), f.problems));
    deviceIdMap = maps.get(file);
  }
  const observe = observeOf(f);
  const telemetry = namedPaths(f, 'telemetry', MAX_TELEMETRY_PATHS, 'metric');
  const attributes = namedPaths(f, 'attributes', MAX_ATTRIBUTE_PATHS, 'attribute');
  const rpc = rpcOf(f);
  if (name === undefined || match === undefined || deviceId === undefined || tenant === undefined || metricKey === undefined) return undefined;
  return Object.freeze({ name, match, deviceId, deviceIdMap, tenant, metricKey, observe, telemetry, attributes, rpc });
}

function templateOf(f: Fields, name: string, fallback: string, vocabulary: TemplateVocabulary): Template | undefined {
  const source = f.string(name) ?? (f.value(name) === undefined ? fallback : undefined);
  if (source === undefined) return undefined;
  const parsed = parseTemplate(source, vocabulary);
  if ('problem' in parsed) {
    f.problem(name, parsed.problem);
    return undefined;
  }
  return parsed;
}

function matchOf(profile: Fields): ProfileMatch | undefined {
  const record = profile.mapping('match', MAX_SMALL_MAPPING);
  if (record === undefined) {
    const value = profile.value('match');
    return value === undefined || value === null ? Object.freeze({ endpoint: undefined, clientAttrs: new Map(), objectIds: Object.freeze([]) }) : undefined;
  }
  const f = new Fields(record, profile.key('match'), profile.problems, MATCH_KEYS);
  const before = f.problems.count;
  const pattern = f.string('endpoint');
  if (pattern !== undefined && (pattern.length === 0 || pattern.length > MAX_MATCH_VALUE_CHARS)) f.problem('endpoint', `must be 1 to ${MAX_MATCH_VALUE_CHARS} characters`);
  const clientAttrs = new Map<string, string>();
  const attrs = f.mapping('client_attrs', MAX_MATCH_ATTRS);
  if (attrs !== undefined) {
    for (const [attr, value] of Object.entries(attrs)) {
      const key = joinKey(f.key('client_attrs'), printable(attr));
      // A number would have lost its text (`0100` reads as 100); client_attrs values are strings.
      if (typeof value !== 'string') f.problems.add(key, `must be a string, got ${describeValue(value)} (quote it)`);
      else if (value.length > MAX_MATCH_VALUE_CHARS) f.problems.add(key, `is longer than ${MAX_MATCH_VALUE_CHARS} characters`);
      else clientAttrs.set(attr, value);
    }
  }
  const objectIds = new Set<number>();
  const objects = f.value('objects');
  if (objects !== undefined) {
    if (!Array.isArray(objects)) f.problem('objects', `must be a list of object ids, got ${describeValue(objects)}`);
    else if (objects.length > MAX_MATCH_OBJECTS) f.problem('objects', `has ${objects.length} items, more than ${MAX_MATCH_OBJECTS}`);
    else
      objects.forEach((id: unknown, i) => {
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 65535) f.problems.add(`${f.key('objects')}[${i}]`, `must be an object id 0..65535, got ${describeValue(id)}`);
        else objectIds.add(id);
      });
  }
  if (f.problems.count !== before) return undefined;
  return Object.freeze({ endpoint: pattern === undefined ? undefined : compileGlob(pattern), clientAttrs, objectIds: Object.freeze([...objectIds]) });
}

/** The normalised path, or undefined when it does not parse or is not at one of `levels` (a problem is recorded). */
function pathOf(text: string, key: string, levels: readonly PathLevel[], problems: ProfileProblems): LwM2mPath | undefined {
  let path: LwM2mPath;
  try {
    if (text.length > MAX_PATH_CHARS || text.includes('?')) throw new Error(`invalid path "${printable(text)}"`);
    path = parsePath(text);
  } catch (err) {
    problems.add(key, printable((err as Error).message, 200));
    return undefined;
  }
  if (!levels.includes(pathLevel(path))) {
    problems.add(key, `must be ${levels.map((l) => LEVEL_TEXT[l]).join(' or ')}`);
    return undefined;
  }
  return path;
}

function namedPaths(profile: Fields, name: string, max: number, what: string): ReadonlyMap<string, string> {
  const byPath = new Map<string, string>();
  const record = profile.mapping(name, max);
  if (record === undefined) return byPath;
  const pathByName = new Map<string, string>();
  for (const [text, value] of Object.entries(record)) {
    const key = joinKey(profile.key(name), printable(text));
    const path = pathOf(text, key, NAMED_PATH_LEVELS, profile.problems);
    if (typeof value !== 'string' || !NAME.test(value)) {
      profile.problems.add(key, `must be a ${what} name: ${NAME_RULE}, got ${typeof value === 'string' ? 'another string' : describeValue(value)}`);
      continue;
    }
    if (path === undefined) continue;
    const normal = formatPath(path);
    if (byPath.has(normal)) {
      profile.problems.add(key, `names ${normal} again`);
      continue;
    }
    const other = pathByName.get(value);
    if (other !== undefined) {
      profile.problems.add(key, `${what} name ${value} is also that of ${other}: the values would overwrite each other`);
      continue;
    }
    pathByName.set(value, normal);
    byPath.set(normal, value);
  }
  return byPath;
}

function observeOf(profile: Fields): { strategy: ObserveStrategy; paths: readonly ObservedPath[] } {
  const empty = Object.freeze({ strategy: 'single' as const, paths: Object.freeze([]) });
  const record = profile.mapping('observe', MAX_SMALL_MAPPING);
  if (record === undefined) return empty;
  const f = new Fields(record, profile.key('observe'), profile.problems, OBSERVE_KEYS);
  const strategyText = f.string('strategy') ?? 'single';
  const strategy = STRATEGIES.find((s) => s === strategyText);
  if (strategy === undefined) f.problem('strategy', `must be one of ${STRATEGIES.join(', ')}`);
  const paths: ObservedPath[] = [];
  const seen = new Set<string>();
  const pathRecord = f.mapping('paths', MAX_OBSERVE_PATHS);
  for (const [text, value] of Object.entries(pathRecord ?? {})) {
    const key = joinKey(f.key('paths'), printable(text));
    const path = pathOf(text, key, OBSERVE_LEVELS, f.problems);
    if (path === undefined) continue;
    const normal = formatPath(path);
    if (seen.has(normal)) {
      f.problems.add(key, `names ${normal} again`);
      continue;
    }
    seen.add(normal);
    const attributes = attributesOf(value, key, path, f.problems);
    if (attributes === undefined) continue;
    paths.push(Object.freeze({ path: normal, parsed: Object.freeze(path), attributes }));
  }
  return Object.freeze({ strategy: strategy ?? 'single', paths: Object.freeze(paths) });
}

/** The notification attributes of one observed path (`{}` or null: none), checked as LwM2M requires. */
function attributesOf(value: unknown, at: string, path: LwM2mPath, problems: ProfileProblems): Readonly<Partial<Record<NotificationAttribute, number>>> | undefined {
  if (value === null) return Object.freeze({});
  if (!isMapping(value)) {
    problems.add(at, `must be a mapping of notification attributes (or empty), got ${describeValue(value)}`);
    return undefined;
  }
  const f = new Fields(value, at, problems, NOTIFICATION_ATTRIBUTES);
  const before = problems.count;
  const out: Partial<Record<NotificationAttribute, number>> = {};
  const numericLevel = path.resourceId !== undefined;
  for (const name of NOTIFICATION_ATTRIBUTES) {
    const v = f.value(name);
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      f.problem(name, `must be a number, got ${describeValue(v)}`);
    } else if (INTEGER_ATTRIBUTES.has(name) && (!Number.isInteger(v) || v < 0 || v > MAX_PERIOD)) {
      f.problem(name, `must be an integer in 0..${MAX_PERIOD} (seconds), got ${Number.isInteger(v) ? v : 'a fractional number'}`);
    } else if ((name === 'gt' || name === 'lt' || name === 'st') && !numericLevel) {
      f.problem(name, 'applies to a resource only (/O/I/R or /O/I/R/RI)');
    } else if (name === 'st' && v < 0) {
      f.problem(name, `must not be negative, got ${v}`);
    } else {
      out[name] = v;
    }
  }
  if (out.pmin !== undefined && out.pmax !== undefined && out.pmin > out.pmax) f.problem('pmin', `(${out.pmin}) must not exceed pmax (${out.pmax})`);
  if (out.epmin !== undefined && out.epmax !== undefined && out.epmin > out.epmax) f.problem('epmin', `(${out.epmin}) must not exceed epmax (${out.epmax})`);
  if (out.lt !== undefined && out.gt !== undefined && out.lt + 2 * (out.st ?? 0) >= out.gt) f.problem('lt', `lt + 2 × st must be less than gt (LwM2M 1.1 §5.1.2)`);
  return problems.count === before ? Object.freeze(out) : undefined;
}

const RPC_OPERATIONS = ['execute', 'write', 'read'] as const;

function rpcOf(profile: Fields): ReadonlyMap<string, RpcOperation> {
  const methods = new Map<string, RpcOperation>();
  const record = profile.mapping('rpc', MAX_RPC_METHODS);
  for (const [method, value] of Object.entries(record ?? {})) {
    const key = joinKey(profile.key('rpc'), printable(method));
    if (!NAME.test(method)) {
      profile.problems.add(key, `method names must be ${NAME_RULE}`);
      continue;
    }
    if (!isMapping(value)) {
      profile.problems.add(key, `must be a mapping with one of execute, write, read, got ${describeValue(value)}`);
      continue;
    }
    const operation = rpcOperationOf(new Fields(value, key, profile.problems, [...RPC_OPERATIONS, 'args', 'type']));
    if (operation !== undefined) methods.set(method, operation);
  }
  return methods;
}

function rpcOperationOf(f: Fields): RpcOperation | undefined {
  const given = RPC_OPERATIONS.filter((op) => f.value(op) !== undefined);
  if (given.length !== 1) {
    f.problems.add(f.at, given.length === 0 ? 'needs one of execute, write, read' : `gives ${given.join(' and ')}: a method runs exactly one operation`);
    return undefined;
  }
  const kind = given[0];
  const before = f.problems.count;
  const text = f.string(kind);
  const levels = kind === 'execute' ? EXECUTE_LEVELS : kind === 'write' ? WRITE_LEVELS : OBSERVE_LEVELS;
  const path = text === undefined ? undefined : pathOf(text, f.key(kind), levels, f.problems);
  const args = f.string('args');
  if (args !== undefined && kind !== 'execute') f.problem('args', 'belongs to execute only');
  if (args !== undefined && args.length > MAX_EXECUTE_ARGS_CHARS) f.problem('args', `is longer than ${MAX_EXECUTE_ARGS_CHARS} characters`);
  const type = f.string('type');
  if (type !== undefined && kind !== 'write') f.problem('type', 'belongs to write only');
  else if (type !== undefined && !TYPE_NAMES.includes(type)) f.problem('type', `must be one of ${TYPE_NAMES.join(', ')}`);
  if (path === undefined || f.problems.count !== before) return undefined;
  const normal = formatPath(path);
  if (kind === 'execute') return Object.freeze({ kind, path: normal, args });
  if (kind === 'write') return Object.freeze({ kind, path: normal, type });
  return Object.freeze({ kind, path: normal });
}
