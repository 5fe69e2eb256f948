import fs from 'node:fs';
import { hasControlCharacter } from '../limits/control-characters';
import type { BootstrapCandidate, BootstrapConfigSource, BootstrapLookup } from '../lwm2m/bootstrap/bootstrap-config';
import { BootstrapConfigError, ProblemList } from './bootstrap-config-error';
import { collectBootstrapEntry, MAX_PSK_IDENTITY_BYTES, renderIdentity, resolveBootstrapEntry, type BootstrapEntry } from './bootstrap-entry';
import { describeValue, isMapping, joinKey, printable } from '../config-text/config-keys';
import { parseYamlDocument } from '../config-text/yaml-values';

/**
 * `bootstrap.config_file`: bootstrap configurations by exact endpoint name, and optional defaults
 * for every other endpoint, held in memory. `reload()` swaps the whole table at once (SIGHUP);
 * bootstraps already running keep the configuration they were given.
 */

const MAX_FILE_BYTES = 16 * 1024 * 1024;
const MAX_ENDPOINTS = 1_000_000;
/** The ceiling of lwm2m.max_endpoint_length: a longer name can never bootstrap. */
const MAX_ENDPOINT_BYTES = 65535;
const TOP_KEYS = ['defaults', 'endpoints'];

interface ConfigTable {
  defaults?: BootstrapEntry;
  endpoints: ReadonlyMap<string, BootstrapEntry>;
}

export class BootstrapConfigFile implements BootstrapConfigSource {
  private constructor(
    readonly file: string,
    private table: ConfigTable,
  ) {}

  /** Reads the file; a bad file throws a BootstrapConfigError listing every problem. */
  static load(file: string): BootstrapConfigFile {
    return new BootstrapConfigFile(file, readBootstrapConfigFile(file));
  }

  /** Endpoint entries (the defaults not counted). */
  get size(): number {
    return this.table.endpoints.size;
  }

  /** Reads the file again; on error the old table stays and the error is thrown for the caller to log. */
  reload(): number {
    this.table = readBootstrapConfigFile(this.file);
    return this.table.endpoints.size;
  }

  lookup(candidate: BootstrapCandidate): BootstrapLookup {
    const { endpoint } = candidate;
    const entry = this.table.endpoints.get(endpoint) ?? this.table.defaults;
    if (entry === undefined) return { found: false, code: '4.01', reason: `no bootstrap configuration for endpoint "${printable(endpoint, 256)}"` };
    try {
      return { found: true, config: resolveBootstrapEntry(entry, endpoint) };
    } catch (err) {
      // Only the defaults can fail here (endpoint entries were rendered at load): a PSK identity
      // template that this endpoint's name makes too long.
      if (err instanceof BootstrapConfigError) return { found: false, code: '4.00', reason: err.message.split('\n')[0] };
      return { found: false, code: '5.03', reason: 'bootstrap configuration could not be resolved', retryAfter: 5 };
    }
  }
}

function readBootstrapConfigFile(file: string): ConfigTable {
  const problems = new ProblemList();
  const text = readBounded(file, problems);
  const doc = text === undefined ? undefined : parseYamlDocument(text, problems);
  problems.throwIfAny(file);
  const table = parseConfigTable(doc ?? Object.create(null), problems);
  problems.throwIfAny(file);
  return table;
}

function readBounded(file: string, problems: ProblemList): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const { size } = fs.fstatSync(fd);
    if (size > MAX_FILE_BYTES) {
      problems.add('', `is ${size} bytes, larger than ${MAX_FILE_BYTES}`);
      return undefined;
    }
    return fs.readFileSync(fd, 'utf8');
  } catch (err) {
    problems.add('', `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function parseConfigTable(doc: unknown, problems: ProblemList): ConfigTable {
  const endpoints = new Map<string, BootstrapEntry>();
  if (!isMapping(doc)) {
    problems.add('', `must be a mapping with defaults and endpoints, got ${describeValue(doc)}`);
    return { endpoints };
  }
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.includes(key)) problems.add(printable(key), 'unknown key (only defaults and endpoints)');
  }
  const defaults = Object.hasOwn(doc, 'defaults') ? collectBootstrapEntry(doc.defaults, 'defaults', problems) : undefined;
  const raw = Object.hasOwn(doc, 'endpoints') ? doc.endpoints : undefined;
  if (raw !== undefined && !isMapping(raw)) problems.add('endpoints', `must be a mapping of endpoint names to entries, got ${describeValue(raw)}`);
  else if (raw !== undefined) {
    const names = Object.keys(raw);
    if (names.length > MAX_ENDPOINTS) problems.add('endpoints', `has ${names.length} entries, more than ${MAX_ENDPOINTS}`);
    else {
      for (const name of names) {
        const at = joinKey('endpoints', printable(name));
        const nameProblem = endpointNameProblem(name);
        if (nameProblem !== undefined) problems.add(at, nameProblem);
        const entry = collectBootstrapEntry(raw[name], at, problems);
        if (entry === undefined) continue;
        checkRenderedIdentities(entry, name, at, problems);
        endpoints.set(name, entry);
      }
    }
  }
  return defaults === undefined ? { endpoints } : { defaults, endpoints };
}

function endpointNameProblem(name: string): string | undefined {
  if (name === '') return 'an endpoint name must not be empty';
  if (hasControlCharacter(name)) return 'an endpoint name must not contain control characters';
  if (Buffer.byteLength(name) > MAX_ENDPOINT_BYTES) return `an endpoint name is at most ${MAX_ENDPOINT_BYTES} bytes`;
  return undefined;
}

/** An endpoint entry's name is known: its PSK identities are checked now rather than at each bootstrap. */
function checkRenderedIdentities(entry: BootstrapEntry, endpoint: string, at: string, problems: ProblemList): void {
  const check = (template: string | undefined, key: string) => {
    if (template !== undefined && Buffer.byteLength(renderIdentity(template, endpoint)) > MAX_PSK_IDENTITY_BYTES) {
      problems.add(`${at}.${key}.psk_identity`, `longer than ${MAX_PSK_IDENTITY_BYTES} bytes once rendered`);
    }
  };
  entry.servers.forEach((s, i) => check(s.credentials.mode === 'psk' ? s.credentials.identityTemplate : undefined, `servers[${i}]`));
  const bs = entry.bootstrapServer?.credentials;
  check(bs?.mode === 'psk' ? bs.identityTemplate : undefined, 'bootstrap_server');
}
