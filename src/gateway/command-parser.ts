import Ajv, { type ValidateFunction } from 'ajv';
import { buildNode, isSupportedFormat } from '../lwm2m/codec';
import { ContentFormat, parseContentFormat } from '../lwm2m/codec/content-format';
import type { ModelLookup, ResourceType } from '../lwm2m/model/types';
import type { Entry } from '../lwm2m/node';
import type { RequestHandler } from '../lwm2m/device/device-request';
import type { Lwm2mOperation } from '../lwm2m/operation';
import { formatPath, fromIds, parsePath, pathIds, pathLevel, type LwM2mPath } from '../lwm2m/path';
import { preferredFormat } from '../lwm2m/registration/preferred-format';
import type { Registration } from '../lwm2m/registration/registration';
import { loadSchema } from '../package-root';
import { resourceTypeOf, typeNameOf, valueFromJson, ValueError } from './value-json';

export type JsonObject = Record<string, unknown>;

/** A validated downlink command, ready to be sent. */
export interface DownlinkCommand {
  /** The command as received: every top-level field is echoed in answers. */
  fields: JsonObject;
  msgType: string;
  /** The command's path (else basePath) as given, minus `?query`; null when it had none. */
  reqPath: string | null;
  op: Lwm2mOperation;
  /** Seconds a queued command may wait (mheaders.ttl). */
  ttl: number;
  /** Made by the gateway for lwm2m.auto_observe (never by a client: a command's own fields cannot set it). */
  auto?: true;
  /**
   * Set by the gateway when it submits the command: the command is then its own engine request
   * (DeviceRequest: op, ttl, auto, context = itself, handler), rather than being wrapped in one,
   * which cost 56 B per command, kept for as long as an observation lasts (issue 11: memory per
   * observed device). Literals that make commands carry both (undefined) so that setting them
   * does not add a property store.
   */
  context?: DownlinkCommand;
  handler?: RequestHandler<DownlinkCommand>;
}

/** A command the gateway refuses; `code` is what the error response carries. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: '4.00' | '4.04' = '4.00',
  ) {
    super(message);
  }
}

const DEFAULT_TTL = 7200;
const WRITE_ATTRIBUTES = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax', 'edge', 'con', 'hqmax'];
const NUMERIC = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

interface SplitPath {
  raw: string;
  path: LwM2mPath;
  query: string[];
}

/**
 * The query of every operation that has none: one shared frozen array rather than a `[]` per
 * operation (32 B each, kept for as long as an observation lasts).
 */
export const NO_QUERY: string[] = Object.freeze([]) as unknown as string[];

function splitPath(text: string, what: string): SplitPath {
  const q = text.indexOf('?');
  const raw = q < 0 ? text : text.slice(0, q);
  const query = q < 0 ? NO_QUERY : text.slice(q + 1).split('&').filter((s) => s !== '');
  try {
    return { raw, path: parsePath(raw), query };
  } catch (err) {
    throw new CommandError(`${what}: ${(err as Error).message}`);
  }
}

/** The reqPath of any JSON value that looks like a command, for error answers. */
export function requestPathOf(command: unknown): string | null {
  if (typeof command !== 'object' || command === null) return null;
  const data = (command as JsonObject).data;
  if (typeof data !== 'object' || data === null) return null;
  const d = data as JsonObject;
  const p = typeof d.path === 'string' ? d.path : typeof d.basePath === 'string' ? d.basePath : null;
  if (p === null) return typeof d.key === 'string' ? d.key : null; // a command by key (lwm2m.keys) names its key
  const q = p.indexOf('?');
  return q < 0 ? p : p.slice(0, q);
}

/** Turns MQTT JSON commands into LwM2M operations (contract part A, "Downlink"). */
export class CommandParser {
  private readonly validateCommand: ValidateFunction;
  /** lwm2m.keys as a Map: `data.key` comes from the command, and must not find "constructor" or "__proto__". */
  private readonly keys: ReadonlyMap<string, string>;

  constructor(
    private readonly model: ModelLookup,
    keys: Readonly<Record<string, string>> = {},
  ) {
    this.keys = new Map(Object.entries(keys));
    const ajv = new Ajv({ allErrors: false, strict: false });
    this.validateCommand = ajv.compile(loadSchema('command.schema.json'));
  }

  parse(command: unknown, reg: Registration): DownlinkCommand {
    if (typeof command !== 'object' || command === null || Array.isArray(command)) {
      throw new CommandError('command must be a JSON object');
    }
    const fields = command as JsonObject;
    if (typeof fields.msgType !== 'string') throw new CommandError('msgType is missing');
    if (!this.validateCommand(fields)) {
      const e = this.validateCommand.errors?.[0];
      const where = e?.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'command';
      const extra = e?.params && 'allowedValues' in e.params ? `: ${(e.params.allowedValues as unknown[]).join(', ')}` : '';
      throw new CommandError(`${where} ${e?.message ?? 'is invalid'}${extra}`);
    }
    const data = fields.data as JsonObject;
    const hex = fields.encoding === 'hex';
    const mheaders = fields.mheaders as JsonObject | undefined;
    const ttl = typeof mheaders?.ttl === 'number' ? mheaders.ttl : DEFAULT_TTL;
    const msgType = fields.msgType;
    const op = this.operation(msgType, data, hex, reg);
    // A bootstrap-request may name no path: its answer names the trigger it executed.
    const reqPath = msgType === 'bootstrap-request' ? formatPath(op.path) : requestPathOf(fields);
    return { fields, msgType, reqPath, op, ttl, auto: undefined, context: undefined, handler: undefined };
  }

  private target(data: JsonObject): SplitPath {
    if (typeof data.path === 'string') return splitPath(data.path, 'data.path');
    if (typeof data.key === 'string') {
      const mapped = this.keys.get(data.key);
      if (mapped === undefined) throw new CommandError(`data.key "${data.key}" is not in lwm2m.keys`);
      return splitPath(mapped, `lwm2m.keys.${data.key}`);
    }
    throw new CommandError('data.path is missing');
  }

  private contentFormat(data: JsonObject, fallback: number): number {
    if (data.contentFormat === undefined) return fallback;
    let format: number | undefined;
    try {
      format = parseContentFormat(data.contentFormat as string | number);
    } catch {
      format = undefined;
    }
    if (format === undefined || !isSupportedFormat(format)) {
      throw new CommandError(`data.contentFormat ${JSON.stringify(data.contentFormat)} is not supported`);
    }
    return format;
  }

  private accept(data: JsonObject): number | undefined {
    return data.contentFormat === undefined ? undefined : this.contentFormat(data, ContentFormat.TLV);
  }

  /** Format for writes and creates: `data.contentFormat`, else the device's preferred one. */
  private writeFormat(data: JsonObject, reg: Registration): number {
    return this.contentFormat(data, preferredFormat(reg));
  }

  private operation(msgType: string, data: JsonObject, hex: boolean, reg: Registration): Lwm2mOperation {
    switch (msgType) {
      case 'read':
      case 'observe':
      case 'cancel-observe': {
        const t = this.target(data);
        if (t.path.objectId === undefined) throw new CommandError('data.path must name at least an object');
        return { type: msgType, path: t.path, query: t.query, accept: this.accept(data) };
      }
      case 'discover': {
        const t = this.target(data);
        if (t.path.objectId === undefined) throw new CommandError('data.path must name at least an object');
        return { type: 'discover', path: t.path, query: t.query };
      }
      case 'delete': {
        const t = this.target(data);
        const level = pathLevel(t.path);
        if (level !== 'instance' && level !== 'resourceInstance') throw new CommandError('data.path of delete must be /O/I (or /O/I/R/RI)');
        return { type: 'delete', path: t.path, query: t.query };
      }
      case 'execute': {
        const t = this.target(data);
        if (pathLevel(t.path) !== 'resource') throw new CommandError('data.path of execute must be /O/I/R');
        const args = typeof data.args === 'string' && data.args !== 'undefined' ? data.args : '';
        return { type: 'execute', path: t.path, query: t.query, args };
      }
      case 'bootstrap-request':
        return { type: 'execute', path: bootstrapTrigger(data, reg), query: NO_QUERY, args: '' };
      case 'write-attr': {
        const t = this.target(data);
        if (t.path.objectId === undefined) throw new CommandError('data.path must name at least an object');
        const attributes: [string, string][] = [];
        for (const name of WRITE_ATTRIBUTES) {
          const v = data[name];
          if (v === undefined || v === null) continue;
          const text = String(v).trim();
          if (!NUMERIC.test(text)) throw new CommandError(`data.${name} must be a number`);
          attributes.push([name, text]);
        }
        return { type: 'write-attr', path: t.path, query: t.query, attributes };
      }
      case 'write':
        return this.write(data, hex, reg);
      case 'create':
        return this.create(data, hex, reg);
      case 'read-composite':
      case 'observe-composite':
      case 'cancel-observe-composite':
        return { type: msgType, path: {}, query: NO_QUERY, paths: this.compositePaths(data), accept: this.compositeAccept(data) };
      case 'write-composite':
        return { type: 'write-composite', path: {}, query: NO_QUERY, entries: this.compositeEntries(data, hex) };
      default:
        throw new CommandError(`unknown msgType "${msgType}"`);
    }
  }

  /** `data.paths` of a composite read or observe: absolute paths of objects, instances, resources or resource instances. */
  private compositePaths(data: JsonObject): LwM2mPath[] {
    const seen = new Set<string>();
    const paths: LwM2mPath[] = [];
    (data.paths as string[]).forEach((text, i) => {
      const path = this.compositePath(text, `data.paths[${i}]`);
      const key = formatPath(path);
      if (seen.has(key)) return;
      seen.add(key);
      paths.push(path);
    });
    return paths;
  }

  private compositePath(text: string, where: string): LwM2mPath {
    if (text.includes('?')) throw new CommandError(`${where}: a composite path cannot carry a query`);
    const { path } = splitPath(text, where);
    if (path.objectId === undefined) throw new CommandError(`${where} must name at least an object`);
    return path;
  }

  /** Composite answers are SenML: JSON (the default) or CBOR. */
  private compositeAccept(data: JsonObject): number {
    const format = this.contentFormat(data, ContentFormat.SENML_JSON);
    if (format !== ContentFormat.SENML_JSON && format !== ContentFormat.SENML_CBOR) {
      throw new CommandError(`data.contentFormat of a composite operation must be SenML JSON (110) or SenML CBOR (112)`);
    }
    return format;
  }

  /** `data.content` of write-composite: one value per resource or resource instance, absolute paths. */
  private compositeEntries(data: JsonObject, hex: boolean): Entry[] {
    const seen = new Set<string>();
    return (data.content as JsonObject[]).map((item, i) => {
      const where = `data.content[${i}]`;
      const path = this.compositePath(String(item.path), `${where}.path`);
      const level = pathLevel(path);
      if (level !== 'resource' && level !== 'resourceInstance') throw new CommandError(`${where}.path must be /O/I/R or /O/I/R/RI`);
      const key = formatPath(path);
      if (seen.has(key)) throw new CommandError(`${where}.path ${key} is given twice`);
      seen.add(key);
      return this.entry(path, item, hex, where);
    });
  }

  private typeFor(path: LwM2mPath, typeName: unknown, where: string): ResourceType {
    if (typeof typeName === 'string') {
      const t = resourceTypeOf(typeName);
      if (!t) throw new CommandError(`${where}.type "${typeName}" is not a known type`);
      return t;
    }
    if (path.objectId !== undefined && path.resourceId !== undefined) {
      const def = this.model.resourceDefinition(path.objectId, path.resourceId);
      if (def && def.type !== 'none') return def.type;
    }
    throw new CommandError(`${where}.type is missing and ${formatPath(path)} has no known type`);
  }

  private entry(path: LwM2mPath, item: JsonObject, hex: boolean, where: string): Entry {
    const type = this.typeFor(path, item.type, where);
    try {
      return { path: formatPath(path), type, value: valueFromJson(type, item.value as never, hex) };
    } catch (err) {
      if (err instanceof ValueError) throw new CommandError(`${where}.value: ${err.message}`);
      throw err;
    }
  }

  /** Resolves an item path against basePath: relative ("1", "0/1", "/0/1"), or absolute under it. */
  private itemPath(base: LwM2mPath, itemPath: string, where: string): LwM2mPath {
    const baseIds = pathIds(base);
    let ids: number[];
    try {
      ids = pathIds(parsePath(itemPath));
    } catch (err) {
      throw new CommandError(`${where}.path: ${(err as Error).message}`);
    }
    const absolute = itemPath.trim().startsWith('/') && ids.length > baseIds.length && baseIds.every((id, i) => ids[i] === id);
    const full = absolute ? ids : [...baseIds, ...ids];
    if (full.length > 4) throw new CommandError(`${where}.path "${itemPath}" is too deep under ${formatPath(base)}`);
    return fromIds(full);
  }

  /**
   * `data.content` of write and create, resolved against basePath. Under /O/I (and /O for create)
   * an item names a resource ("1") or a resource instance of a multiple resource ("6/0"): a read of
   * an instance returns both, so that its content can be written back. Under /O/I/R items are
   * resource instances.
   */
  private items(base: LwM2mPath, content: JsonObject[], hex: boolean): Entry[] {
    const baseDepth = pathIds(base).length;
    const entries = content.map((item, i) => {
      const where = `data.content[${i}]`;
      const p = this.itemPath(base, String(item.path), where);
      const depth = pathIds(p).length;
      if (depth === 3 && baseDepth < 3) return this.entry(p, item, hex, where);
      if (depth === 4) return this.entry(p, item, hex, where);
      const wanted = baseDepth === 3 ? 'a resource instance' : 'a resource or resource instance';
      throw new CommandError(`${where}.path "${String(item.path)}" does not name ${wanted} under ${formatPath(base)}`);
    });
    sameTypePerResource(entries);
    return entries;
  }

  private write(data: JsonObject, hex: boolean, reg: Registration): Lwm2mOperation {
    const format = this.writeFormat(data, reg);
    if (data.content !== undefined && data.basePath !== undefined) {
      const t = splitPath(String(data.basePath), 'data.basePath');
      const level = pathLevel(t.path);
      const content = data.content as JsonObject[];
      if (level === 'instance') {
        const entries = this.items(t.path, content, hex);
        return { type: 'write', path: t.path, query: t.query, replace: false, node: this.node(t.path, entries), format };
      }
      if (level === 'resource') {
        const entries = this.items(t.path, content, hex);
        return { type: 'write', path: t.path, query: t.query, replace: true, node: this.node(t.path, entries), format };
      }
      throw new CommandError('data.basePath of write must be /O/I or /O/I/R');
    }
    const t = this.target(data);
    const level = pathLevel(t.path);
    if (level !== 'resource' && level !== 'resourceInstance') throw new CommandError('data.path of a single write must be /O/I/R or /O/I/R/RI');
    const entry = this.entry(t.path, data, hex, 'data');
    return { type: 'write', path: t.path, query: t.query, replace: true, node: this.node(t.path, [entry]), format };
  }

  private create(data: JsonObject, hex: boolean, reg: Registration): Lwm2mOperation {
    const format = this.writeFormat(data, reg);
    const t = splitPath(String(data.basePath), 'data.basePath');
    if (pathLevel(t.path) !== 'object') throw new CommandError('data.basePath of create must be /O');
    const entries = this.items(t.path, data.content as JsonObject[], hex);
    if (entries.length === 0) throw new CommandError('data.content of create must not be empty');
    return { type: 'create', path: t.path, query: t.query, node: this.node(t.path, entries), format };
  }

  private node(path: LwM2mPath, entries: Entry[]) {
    try {
      return buildNode(path, entries);
    } catch (err) {
      throw new CommandError(`data.content: ${(err as Error).message}`);
    }
  }
}

/**
 * A multiple resource has one type (the node keeps one; TLV and the CBOR formats encode every
 * instance by it): instances given different types are refused here, with the items named,
 * rather than coerced or failed at encoding.
 */
function sameTypePerResource(entries: readonly Entry[]): void {
  const typeOf = new Map<string, { type: ResourceType; index: number }>();
  entries.forEach((entry, index) => {
    const ids = entry.path.split('/');
    if (ids.length !== 5) return; // "/O/I/R/RI" splits into 5
    const resource = ids.slice(0, 4).join('/');
    const first = typeOf.get(resource);
    if (first === undefined) typeOf.set(resource, { type: entry.type, index });
    else if (first.type !== entry.type) {
      throw new CommandError(
        `data.content[${index}] is a ${typeNameOf(entry.type)} instance of ${resource} but data.content[${first.index}] is ${typeNameOf(first.type)}: the instances of a resource share one type`,
      );
    }
  });
}

/** Resource 9 of the Server instance (/1/x) data.path names, else of the first one the device registered. */
function bootstrapTrigger(data: JsonObject, reg: Registration): LwM2mPath {
  if (typeof data.path === 'string') {
    const { path } = splitPath(data.path, 'data.path');
    const level = pathLevel(path);
    if (path.objectId !== 1 || (level !== 'instance' && !(level === 'resource' && path.resourceId === 9))) {
      throw new CommandError('data.path of bootstrap-request must be a Server instance /1/x (or its trigger /1/x/9)');
    }
    return { objectId: 1, instanceId: path.instanceId, resourceId: 9 };
  }
  for (const link of reg.objectList) {
    const ids = link.split('/');
    if (ids.length === 3 && ids[1] === '1' && /^[0-9]{1,5}$/.test(ids[2])) return { objectId: 1, instanceId: Number(ids[2]), resourceId: 9 };
  }
  throw new CommandError('the device registered no Server instance (/1/x): give data.path');
}
