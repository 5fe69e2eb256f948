import { CoapEndpoint, type CoapConfigInput, type CoapMethod, type CoapResponse, type InboundRequest } from '../../src/coap';
import { methodFromCode } from '../../src/coap/codes';
import { decodeMessage, findOption, stringOptions } from '../../src/coap/message';
import { OptionNumber, decodeUint } from '../../src/coap/options';
import { buildNode, decodeEntries, encodeNode, isSupportedFormat } from '../../src/lwm2m/codec';
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { ObjectModel } from '../../src/lwm2m/model/object-model';
import type { Entry } from '../../src/lwm2m/node';
import { formatPath, parsePath, pathIds, type LwM2mPath } from '../../src/lwm2m/path';
import type { Peer } from '../../src/transport/transport';
import { type DeviceTransport, interceptDatagrams, openDeviceSocket } from './device-socket';
import { DEVICE_ENTRIES } from './test-device';

/** The operations a bootstrap server sends to the device (OMA LwM2M TS Core §6.1.7). */
export type BootstrapStep = 'discover' | 'read' | 'delete' | 'write' | 'finish';

export type BootstrapClientVersion = '1.0' | '1.1' | '1.2';

export interface BootstrapClientOptions {
  endpoint: string;
  server: { host: string; port: number };
  version: BootstrapClientVersion;
  /** Preferred content format sent as `pct` in the Bootstrap-Request (1.1+ only). */
  pct?: number;
  /** Talk DTLS PSK (node-dtls-client); the key as DtlsClientTransport takes it (one char per byte, see dmServer). */
  dtls?: { identity: string; key: string };
  /** The factory /0 instance with Bootstrap-Server true; default instance 0, uri coap(s)://<server>. */
  bootstrapAccount?: { instanceId: number; uri: string };
  /** More factory resources, e.g. of /5/0 or of a DM account left from an earlier bootstrap. */
  extraObjects?: Entry[];
  /** Objects supported without any instance (Discover lists them as `</O>`). */
  supportedObjects?: number[];
  /** Answer `code` to the first request of `step`. */
  fail?: { step: BootstrapStep; code: string };
  /** Never answer requests of this step (dropped below the CoAP endpoint). */
  silentAt?: BootstrapStep;
  coap?: CoapConfigInput;
}

/** How the client answers from now on (tests flip these at run time). */
export interface BootstrapClientBehaviour {
  /** Requests of this step are dropped unseen: the server retransmits, then times out. */
  silentAt?: BootstrapStep;
  /** The next `count` requests of `step` are answered `code` instead of their outcome. */
  fail?: { step: BootstrapStep; code: string; count: number };
  /** Content formats Bootstrap-Write decodes (else 4.15) and Bootstrap-Read answers in (else 4.06). */
  formats: Set<number>;
}

/** One request the server sent, as the client saw it. */
export interface BootstrapRequestRecord {
  method: CoapMethod;
  /** "/", "/0/1", or "/bs" for Bootstrap-Finish. */
  path: string;
  contentFormat?: number;
  accept?: number;
  /** Undefined for a request that is no bootstrap operation (answered 4.05). */
  step?: BootstrapStep;
  /** The answer; undefined for a dropped datagram. */
  code?: string;
}

/** The first DM server account of the client's state: what a device registers with after bootstrap. */
export interface BootstrapDmServer {
  uri: string;
  shortServerId: number;
  lifetime: number;
  binding: string;
  /** /0/x/2: 0 PSK, 1 RPK, 2 certificate, 3 NoSec. */
  mode: number;
  securityInstanceId: number;
  serverInstanceId: number;
  /** Host and port of `uri` (default port 5683 for coap, 5684 for coaps); undefined when it is no URL. */
  address?: { host: string; port: number };
  /** PSK mode: /0/x/3 as UTF-8 and /0/x/5. */
  identity?: string;
  key?: Buffer;
  /**
   * PSK mode: ready for `TestDevice.start({ dtls })`. node-dtls-client turns the key string into
   * bytes with Buffer.from(key, 'ascii'), which writes each char code's low byte (as latin1 does),
   * so `key.toString('latin1')` carries any key bytes exactly.
   */
  dtls?: { identity: string; key: string };
}

const EMPTY = Buffer.alloc(0);
/** Bounds on what a (hostile) server can make the client keep. */
const MAX_VALUES = 10_000;
const MAX_RECORDS = 10_000;
const FINISH_PATH = 'bs';
/** Objects whose instances Bootstrap-Read may read (TS Core 1.1 §6.1.7.2). */
const READABLE_OBJECTS = new Set([1, 2]);
const BASE_OBJECTS = [0, 1, 2, 3];
/** Formats that carry a whole object or instance. */
const MULTI_VALUE_FORMATS = new Set<number>([
  ContentFormat.TLV,
  ContentFormat.TLV_LEGACY,
  ContentFormat.OMA_JSON,
  ContentFormat.OMA_JSON_LEGACY,
  ContentFormat.SENML_JSON,
  ContentFormat.SENML_CBOR,
  ContentFormat.LWM2M_CBOR,
]);
const SINGLE_VALUE_FORMATS = [ContentFormat.TEXT, ContentFormat.OPAQUE];

/** What each version's client decodes: 1.0 knows TLV and OMA JSON, 1.1 adds SenML and CBOR, 1.2 LwM2M CBOR. */
export function defaultFormats(version: BootstrapClientVersion): Set<number> {
  const formats: number[] = [...SINGLE_VALUE_FORMATS, ContentFormat.TLV, ContentFormat.TLV_LEGACY, ContentFormat.OMA_JSON, ContentFormat.OMA_JSON_LEGACY];
  if (version !== '1.0') formats.push(ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.CBOR);
  if (version === '1.2') formats.push(ContentFormat.LWM2M_CBOR);
  return new Set(formats);
}


/**
 * A device-side LwM2M client for bootstrap tests: sends Bootstrap-Request (and 1.2
 * Bootstrap-Pack-Request) over real UDP or DTLS, then answers the server's Bootstrap-Discover,
 * -Read, -Delete, -Write and -Finish against an in-memory object tree like a real device
 * (OMA LwM2M TS Core 1.1/1.2 §5.2.7, §6.1; 1.0 per 1.0.2: no Bootstrap-Read, no version in Discover).
 */
export class BootstrapTestClient {
  /** Every request the server sent and the client answered, in order (at most MAX_RECORDS, oldest dropped). */
  readonly requests: BootstrapRequestRecord[] = [];
  /** Request datagrams dropped by `silentAt`, retransmissions included. */
  readonly dropped: BootstrapRequestRecord[] = [];
  /** The bootstrap operations answered, in order. */
  readonly steps: BootstrapStep[] = [];
  readonly behaviour: BootstrapClientBehaviour;
  /** Resolves with the answer to the first Bootstrap-Finish. */
  readonly finished: Promise<{ code: string }>;
  private resolveFinished!: (outcome: { code: string }) => void;
  private finishAnswered = false;
  /** Leaf path ("/0/0/1", "/3/0/7/1") -> value. */
  private readonly values = new Map<string, Entry>();
  /** "/O/I" of every existing instance, with or without resources. */
  private readonly instances = new Set<string>();
  private readonly supported = new Set<number>(BASE_OBJECTS);
  private readonly model = ObjectModel.withBuiltins();
  private readonly serverPeer: Peer;

  private constructor(
    readonly options: BootstrapClientOptions,
    readonly transport: DeviceTransport,
    readonly coap: CoapEndpoint,
  ) {
    this.serverPeer = { address: options.server.host, port: options.server.port };
    this.behaviour = {
      silentAt: options.silentAt,
      fail: options.fail ? { ...options.fail, count: 1 } : undefined,
      formats: defaultFormats(options.version),
    };
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
    for (const id of options.supportedObjects ?? []) this.supported.add(id);
    for (const entry of [...this.factoryAccount(), ...DEVICE_ENTRIES.filter((e) => e.path.startsWith('/3/0/')), ...(options.extraObjects ?? [])]) {
      this.store({ ...entry });
    }
    coap.setRequestHandler((req) => this.handle(req));
  }

  static async start(options: BootstrapClientOptions): Promise<BootstrapTestClient> {
    const { transport, coap } = await openDeviceSocket(options.server, options.dtls, options.coap);
    const client = new BootstrapTestClient(options, transport, coap);
    client.dropSilentRequests();
    return client;
  }

  get port(): number {
    return this.transport.address().port;
  }

  /** The default Bootstrap-Request query: `ep`, and `pct` when set and the version has it. */
  bootstrapQuery(): string[] {
    const query = [`ep=${this.options.endpoint}`];
    if (this.options.pct !== undefined && this.options.version !== '1.0') query.push(`pct=${this.options.pct}`);
    return query;
  }

  /** CON `POST /bs?ep=..[&pct=..]`; `query` replaces the default one (for malformed requests). */
  requestBootstrap(query: string[] = this.bootstrapQuery()): Promise<CoapResponse> {
    return this.call({ method: 'POST', uriPath: [FINISH_PATH], uriQuery: query });
  }

  /**
   * 1.2 Bootstrap-Pack-Request: CON `GET /bspack?ep=..` (Accept SenML CBOR); a 2.05 SenML CBOR answer
   * is applied to the state as Bootstrap-Writes of every instance it carries (rejects if it does not decode).
   */
  async requestPack(query: string[] = [`ep=${this.options.endpoint}`]): Promise<CoapResponse> {
    const res = await this.call({ method: 'GET', uriPath: ['bspack'], uriQuery: query, accept: ContentFormat.SENML_CBOR });
    if (res.code !== '2.05') return res;
    if (res.contentFormat !== ContentFormat.SENML_CBOR) {
      throw new Error(`Bootstrap-Pack answer in content format ${String(res.contentFormat)}, not SenML CBOR`);
    }
    const entries = decodeEntries(ContentFormat.SENML_CBOR, res.payload, {}, this.model);
    if (this.values.size + entries.length > MAX_VALUES) throw new Error(`Bootstrap-Pack of ${entries.length} values exceeds ${MAX_VALUES}`);
    this.replaceInstances(entries);
    return res;
  }

  /** The values under `path` (default everything), ordered by path ids. */
  objects(path = '/'): Entry[] {
    const prefix = path === '/' ? '/' : formatPath(parsePath(path)) + '/';
    const exact = prefix.slice(0, -1);
    return [...this.values.values()]
      .filter((e) => e.path === exact || e.path.startsWith(prefix))
      .sort((a, b) => compareIds(idsOf(a.path), idsOf(b.path)))
      .map((e) => ({ ...e }));
  }

  /** "/O/I" of every instance, ordered by ids. */
  instancePaths(): string[] {
    return [...this.instances].sort((a, b) => compareIds(idsOf(a), idsOf(b)));
  }

  /**
   * The first complete DM account: a Security instance with Bootstrap-Server false and a Short
   * Server ID, and the Server instance of that id with a lifetime and a binding.
   */
  dmServer(): BootstrapDmServer | undefined {
    for (const security of this.instanceIdsOf(0)) {
      if (this.value(0, security, 1) === true) continue;
      const ssid = this.numberAt(0, security, 10);
      const uri = this.value(0, security, 0);
      const mode = this.numberAt(0, security, 2);
      if (ssid === undefined || typeof uri !== 'string' || mode === undefined) continue;
      const server = this.instanceIdsOf(1).find((id) => this.numberAt(1, id, 0) === ssid);
      if (server === undefined) continue;
      const lifetime = this.numberAt(1, server, 1);
      const binding = this.value(1, server, 7);
      if (lifetime === undefined || typeof binding !== 'string') continue;
      const account: BootstrapDmServer = {
        uri,
        shortServerId: ssid,
        lifetime,
        binding,
        mode,
        securityInstanceId: security,
        serverInstanceId: server,
        address: uriAddress(uri),
      };
      const identity = this.value(0, security, 3);
      const key = this.value(0, security, 5);
      if (mode === 0 && Buffer.isBuffer(identity) && Buffer.isBuffer(key)) {
        account.identity = identity.toString('utf8');
        account.key = Buffer.from(key);
        account.dtls = { identity: account.identity, key: key.toString('latin1') };
      }
      return account;
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.coap.close();
    await this.transport.close();
  }

  // ---- state ------------------------------------------------------------------------------

  private factoryAccount(): Entry[] {
    const { server, dtls } = this.options;
    const account = this.options.bootstrapAccount ?? { instanceId: 0, uri: `${dtls ? 'coaps' : 'coap'}://${server.host}:${server.port}` };
    const at = `/0/${account.instanceId}/`;
    return [
      { path: `${at}0`, type: 'string', value: account.uri },
      { path: `${at}1`, type: 'boolean', value: true },
      { path: `${at}2`, type: 'integer', value: dtls ? 0 : 3 },
      { path: `${at}3`, type: 'opaque', value: dtls ? Buffer.from(dtls.identity, 'utf8') : EMPTY },
      { path: `${at}4`, type: 'opaque', value: EMPTY },
      { path: `${at}5`, type: 'opaque', value: dtls ? Buffer.from(dtls.key, 'latin1') : EMPTY },
    ];
  }

  private store(entry: Entry): void {
    const ids = idsOf(entry.path);
    if (ids.length < 3) throw new Error(`entry ${entry.path} is not a resource or resource instance`);
    this.values.set(entry.path, entry);
    this.instances.add(`/${ids[0]}/${ids[1]}`);
    this.supported.add(ids[0]);
  }

  private value(objectId: number, instanceId: number, resourceId: number): Entry['value'] | undefined {
    return this.values.get(`/${objectId}/${instanceId}/${resourceId}`)?.value;
  }

  private numberAt(objectId: number, instanceId: number, resourceId: number): number | undefined {
    const v = this.value(objectId, instanceId, resourceId);
    return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : undefined;
  }

  private instanceIdsOf(objectId: number): number[] {
    return this.instancePaths()
      .map(idsOf)
      .filter((ids) => ids[0] === objectId)
      .map((ids) => ids[1]);
  }

  /** The Bootstrap-Server account (any /0 instance with Bootstrap-Server true) and the Device instance survive deletes. */
  private isProtected(objectId: number, instanceId: number): boolean {
    return (objectId === 0 && this.value(0, instanceId, 1) === true) || (objectId === 3 && instanceId === 0);
  }

  private removeUnder(path: string): void {
    const prefix = path + '/';
    for (const key of [...this.values.keys()]) if (key === path || key.startsWith(prefix)) this.values.delete(key);
  }

  private removeInstance(objectId: number, instanceId: number): void {
    const path = `/${objectId}/${instanceId}`;
    this.removeUnder(path);
    this.instances.delete(path);
  }

  /** Bootstrap-Write of whole instances: each instance the entries name is replaced by them. */
  private replaceInstances(entries: readonly Entry[]): void {
    const touched = new Set(entries.map((e) => idsOf(e.path).slice(0, 2).join('/')));
    for (const key of touched) {
      const [objectId, instanceId] = key.split('/').map(Number);
      this.removeInstance(objectId, instanceId);
    }
    for (const e of entries) this.store({ ...e });
  }

  // ---- requests ---------------------------------------------------------------------------

  private call(req: Parameters<CoapEndpoint['request']>[1]): Promise<CoapResponse> {
    return new Promise((resolve, reject) => {
      this.coap.request(this.serverPeer, req, {
        onResponse: resolve,
        onReset: () => reject(new Error('reset')),
        onTimeout: () => reject(new Error('timeout')),
        onError: reject,
      });
    });
  }

  /** `silentAt` acts below the CoAP endpoint (which always answers), as TestDevice's `silent` does. */
  private dropSilentRequests(): void {
    interceptDatagrams(this.transport, (bytes) => {
      const silentAt = this.behaviour.silentAt;
      if (silentAt === undefined) return false;
      const record = requestRecordOf(bytes);
      if (record === undefined || record.step !== silentAt) return false;
      pushBounded(this.dropped, record);
      return true;
    });
  }

  private handle(req: InboundRequest): CoapResponse {
    const record: BootstrapRequestRecord = {
      method: req.method,
      path: requestPathText(req.uriPath),
      contentFormat: req.contentFormat,
      accept: req.accept,
      step: stepOf(req.method, req.uriPath, req.accept),
    };
    const res = this.outcome(req, record.step);
    record.code = res.code;
    pushBounded(this.requests, record);
    if (record.step !== undefined) pushBounded(this.steps, record.step);
    if (record.step === 'finish' && !this.finishAnswered) {
      this.finishAnswered = true;
      this.resolveFinished({ code: res.code });
    }
    return res;
  }

  private outcome(req: InboundRequest, step: BootstrapStep | undefined): CoapResponse {
    const fail = this.behaviour.fail;
    if (step !== undefined && fail !== undefined && fail.step === step && fail.count > 0) {
      fail.count -= 1;
      return { code: fail.code, payload: EMPTY };
    }
    if (step === undefined) return answer('4.05');
    if (step === 'finish') return this.finish();
    let path: LwM2mPath;
    try {
      path = parsePath(req.uriPath.join('/'));
    } catch {
      return answer('4.04');
    }
    switch (step) {
      case 'discover':
        return this.discover(path);
      case 'read':
        return this.read(path, req.accept);
      case 'delete':
        return this.delete(path);
      case 'write':
        return this.write(path, req);
    }
  }

  /** Bootstrap-Discover on "/" or "/O" (TS Core 1.1 §6.1.7.1). */
  private discover(path: LwM2mPath): CoapResponse {
    const ids = pathIds(path);
    if (ids.length > 1) return answer('4.00');
    if (ids.length === 1 && !this.supported.has(ids[0])) return answer('4.04');
    const objectIds = ids.length === 1 ? ids : [...this.supported].sort((a, b) => a - b);
    const links: string[] = [];
    const modern = this.options.version !== '1.0';
    if (ids.length === 0 && modern) links.push(`</>;lwm2m=${this.options.version}`);
    for (const objectId of objectIds) {
      const instanceIds = this.instanceIdsOf(objectId);
      if (instanceIds.length === 0) links.push(`</${objectId}>`);
      for (const instanceId of instanceIds) links.push(`</${objectId}/${instanceId}>${modern ? this.discoverAttributes(objectId, instanceId) : ''}`);
    }
    return { code: '2.05', contentFormat: ContentFormat.LINK, payload: Buffer.from(links.join(',')) };
  }

  /** `ssid` on DM Security and Server instances, `uri` on DM Security instances (1.1+). */
  private discoverAttributes(objectId: number, instanceId: number): string {
    if (objectId !== 0 && objectId !== 1) return '';
    const ssid = this.numberAt(objectId, instanceId, 0 === objectId ? 10 : 0);
    if (ssid === undefined || (objectId === 0 && this.value(0, instanceId, 1) === true)) return '';
    const uri = objectId === 0 ? this.value(0, instanceId, 0) : undefined;
    return `;ssid=${ssid}` + (typeof uri === 'string' ? `;uri="${uri}"` : '');
  }

  /** Bootstrap-Read (1.1+): only Server and Access Control objects and instances. */
  private read(path: LwM2mPath, accept: number | undefined): CoapResponse {
    if (this.options.version === '1.0') return answer('4.05');
    const ids = pathIds(path);
    if (ids.length === 0 || !READABLE_OBJECTS.has(ids[0])) return answer('4.01');
    if (ids.length > 2) return answer('4.00');
    const format = accept ?? ContentFormat.TLV;
    if (!this.behaviour.formats.has(format) || !MULTI_VALUE_FORMATS.has(format)) return answer('4.06');
    if (ids.length === 2 && !this.instances.has(`/${ids[0]}/${ids[1]}`)) return answer('4.04');
    const entries = this.objects(formatPath(path));
    const node = ids.length === 2 && entries.length === 0 ? { kind: 'instance' as const, id: ids[1], resources: new Map() } : buildNode(path, entries);
    return { code: '2.05', contentFormat: format, payload: encodeNode(format, path, node, this.model) };
  }

  /** Bootstrap-Delete (TS Core 1.1 §6.1.7.4): "/" or "/O" spares the bootstrap account and /3/0; naming them is 4.00. */
  private delete(path: LwM2mPath): CoapResponse {
    const ids = pathIds(path);
    if (ids.length > 2) return answer('4.00');
    if (ids.length === 2) {
      if (this.isProtected(ids[0], ids[1])) return answer('4.00');
      this.removeInstance(ids[0], ids[1]);
      return answer('2.02');
    }
    for (const instance of this.instancePaths().map(idsOf)) {
      if (ids.length === 1 && instance[0] !== ids[0]) continue;
      if (!this.isProtected(instance[0], instance[1])) this.removeInstance(instance[0], instance[1]);
    }
    return answer('2.02');
  }

  /** Bootstrap-Write of an object, an instance (created when absent) or a resource. */
  private write(path: LwM2mPath, req: InboundRequest): CoapResponse {
    const ids = pathIds(path);
    if (ids.length === 0 || ids.length > 3) return answer('4.00');
    if (!this.supported.has(ids[0])) return answer('4.04');
    const format = req.contentFormat;
    if (format === undefined) return answer('4.00');
    if (!this.behaviour.formats.has(format) || !isSupportedFormat(format)) return answer('4.15');
    let entries: Entry[];
    try {
      entries = decodeEntries(format, req.payload, path, this.model);
    } catch {
      return answer('4.00');
    }
    if (this.values.size + entries.length > MAX_VALUES) return answer('4.13');
    if (ids.length === 3) {
      this.removeUnder(formatPath(path));
      for (const e of entries) this.store({ ...e });
      this.instances.add(`/${ids[0]}/${ids[1]}`);
      return answer('2.04');
    }
    this.replaceInstances(entries);
    if (ids.length === 2 && entries.length === 0) {
      this.removeInstance(ids[0], ids[1]);
      this.instances.add(`/${ids[0]}/${ids[1]}`);
    }
    return answer('2.04');
  }

  /**
   * Bootstrap-Finish (TS Core 1.1 §6.1.7.5): 4.06 unless there is a Server instance and each has a
   * DM Security instance (Bootstrap-Server false) with its Short Server ID.
   */
  private finish(): CoapResponse {
    const servers = this.instanceIdsOf(1);
    if (servers.length === 0) return answer('4.06');
    const securities = this.instanceIdsOf(0).filter((id) => this.value(0, id, 1) === false);
    for (const server of servers) {
      const ssid = this.numberAt(1, server, 0);
      if (ssid === undefined || !securities.some((id) => this.numberAt(0, id, 10) === ssid)) return answer('4.06');
    }
    return answer('2.04');
  }
}

function answer(code: string): CoapResponse {
  return { code, payload: EMPTY };
}

/** Which bootstrap operation a request is; undefined for anything else. */
function stepOf(method: CoapMethod, uriPath: readonly string[], accept: number | undefined): BootstrapStep | undefined {
  switch (method) {
    case 'GET':
      return accept === ContentFormat.LINK ? 'discover' : 'read';
    case 'DELETE':
      return 'delete';
    case 'PUT':
      return 'write';
    case 'POST':
      return uriPath.length === 1 && uriPath[0] === FINISH_PATH ? 'finish' : undefined;
    default:
      return undefined;
  }
}

/** The record of a request datagram (CON or NON with a method code); undefined for anything else. */
function requestRecordOf(bytes: Buffer): BootstrapRequestRecord | undefined {
  let message: ReturnType<typeof decodeMessage>;
  try {
    message = decodeMessage(bytes);
  } catch {
    return undefined;
  }
  if (message.type !== 'CON' && message.type !== 'NON') return undefined;
  const method = methodFromCode(message.code);
  if (method === undefined) return undefined;
  const uriPath = stringOptions(message.options, OptionNumber.UriPath);
  const acceptBytes = findOption(message.options, OptionNumber.Accept);
  const formatBytes = findOption(message.options, OptionNumber.ContentFormat);
  const accept = acceptBytes === undefined ? undefined : Number(decodeUint(acceptBytes));
  return {
    method,
    path: requestPathText(uriPath),
    contentFormat: formatBytes === undefined ? undefined : Number(decodeUint(formatBytes)),
    accept,
    step: stepOf(method, uriPath, accept),
  };
}

function requestPathText(uriPath: readonly string[]): string {
  return '/' + uriPath.join('/');
}

function idsOf(path: string): number[] {
  return pathIds(parsePath(path));
}

function compareIds(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function pushBounded<T>(list: T[], item: T): void {
  if (list.length >= MAX_RECORDS) list.shift();
  list.push(item);
}

/** Host and port of a coap(s)[+tcp] URI; undefined when it does not parse. */
function uriAddress(uri: string): { host: string; port: number } | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return undefined;
  const port = url.port !== '' ? Number(url.port) : url.protocol.startsWith('coaps') ? 5684 : 5683;
  return { host, port };
}
