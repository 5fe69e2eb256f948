import { CoapEndpoint, type CoapConfigInput, type CoapResponse, type InboundRequest } from '../../src/coap';
import { buildNode, decodeEntries, encodeNode } from '../../src/lwm2m/codec';
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { ObjectModel } from '../../src/lwm2m/model/object-model';
import type { Entry } from '../../src/lwm2m/node';
import { formatPath, parsePath, pathIds, pathLevel } from '../../src/lwm2m/path';
import type { Peer } from '../../src/transport/transport';
import { type DeviceTransport, interceptDatagrams, openDeviceSocket } from './device-socket';


export interface TestDeviceOptions {
  endpoint: string;
  gateway: { host: string; port: number };
  lifetime?: number;
  lwm2m?: string;
  binding?: string;
  /** More register query items, e.g. ['imei=123']. */
  query?: string[];
  /** Link payload; default lists the objects of `entries`. */
  links?: string;
  /** Initial resource values. */
  entries?: Entry[];
  coap?: CoapConfigInput;
  /** Register over DTLS with this PSK (node-dtls-client) instead of plain UDP. */
  dtls?: { identity: string; key: string };
  /** Asked in order before the device's own answer, e.g. a simulated object (FirmwareObject). */
  handlers?: readonly DeviceRequestHandler[];
}

/** Answers a request the device received, or returns undefined when it is not its business. */
export type DeviceRequestHandler = (req: InboundRequest, device: TestDevice) => CoapResponse | Promise<CoapResponse> | undefined;

/** How the device answers the next requests (tests flip these). */
export interface DeviceBehaviour {
  /** Do not answer at all (the gateway retransmits, then times out). */
  silent: boolean;
  /** Answer RST. */
  reset: boolean;
  /** Answer with this code instead of the normal outcome. */
  code?: string;
  /** Answer with an empty ACK, then a separate response after this many ms. */
  separateAfterMs?: number;
  /** Content format of reads at resource level (text by default, like most clients). */
  resourceFormat: number;
}

interface CompositeObservation {
  token: Buffer;
  peer: Peer;
  paths: string[];
  seq: number;
}

interface DeviceObservation {
  token: Buffer;
  peer: Peer;
  path: string;
  seq: number;
}

/** A CON or NON carrying a request code (0.01-0.31): what the gateway asks of the device. */
function isRequestDatagram(bytes: Buffer): boolean {
  const type = (bytes[0] >> 4) & 0x3;
  return bytes.length >= 4 && type <= 1 && bytes[1] >= 1 && bytes[1] <= 31;
}

export const DEVICE_ENTRIES: Entry[] = [
  { path: '/3/0/0', type: 'string', value: 'Open Mobile Alliance' },
  { path: '/3/0/1', type: 'string', value: 'Lightweight M2M Client' },
  { path: '/3/0/2', type: 'string', value: '345000123' },
  { path: '/3/0/9', type: 'integer', value: 100 },
  { path: '/3/0/13', type: 'time', value: 1367491215 },
  { path: '/3/0/7/0', type: 'integer', value: 3800 },
  { path: '/3/0/7/1', type: 'integer', value: 5000 },
  { path: '/3303/0/5700', type: 'float', value: 21.5 },
  { path: '/3303/0/5701', type: 'string', value: 'Cel' },
  { path: '/1/0/1', type: 'integer', value: 300 },
];

/**
 * An LwM2M client for tests: registers over real UDP, keeps resource values in memory and answers
 * read, discover, write, write-attr, execute, create, delete and observe like a real device.
 */
export class TestDevice {
  readonly values = new Map<string, Entry>();
  readonly requests: InboundRequest[] = [];
  readonly attributes = new Map<string, string[]>();
  readonly executed: { path: string; args: string }[] = [];
  readonly observations = new Map<string, DeviceObservation>();
  /** Observe-Composite observations, keyed by their sorted paths joined with ','. */
  readonly compositeObservations = new Map<string, CompositeObservation>();
  readonly behaviour: DeviceBehaviour = { silent: false, reset: false, resourceFormat: ContentFormat.TEXT };
  location: string[] = [];
  private readonly model = ObjectModel.withBuiltins();
  private readonly gatewayPeer: Peer;

  private constructor(
    readonly options: TestDeviceOptions,
    readonly transport: DeviceTransport,
    readonly coap: CoapEndpoint,
  ) {
    this.gatewayPeer = { address: options.gateway.host, port: options.gateway.port };
    for (const e of options.entries ?? DEVICE_ENTRIES) this.values.set(e.path, { ...e });
    coap.setRequestHandler((req) => this.handle(req));
  }

  static async start(options: TestDeviceOptions): Promise<TestDevice> {
    const { transport, coap } = await openDeviceSocket(options.gateway, options.dtls, options.coap);
    const device = new TestDevice(options, transport, coap);
    device.interceptRequests();
    return device;
  }

  /**
   * `behaviour.silent` and `behaviour.reset` act below the CoAP endpoint (which always answers): a
   * request datagram is dropped unseen, or answered with RST. Answers to the device's own requests
   * (register, update) still come through.
   */
  private interceptRequests(): void {
    interceptDatagrams(this.transport, (bytes, peer) => {
      const b = this.behaviour;
      if (!(b.silent || b.reset) || !isRequestDatagram(bytes)) return false;
      if (b.reset) this.transport.send(peer, Buffer.from([0x70, 0x00, bytes[2], bytes[3]])); // RST, same message id
      return true;
    });
  }

  get port(): number {
    return this.transport.address().port;
  }

  linkPayload(): string {
    if (this.options.links !== undefined) return this.options.links;
    const instances = new Set<string>();
    for (const path of this.values.keys()) instances.add(path.split('/').slice(0, 3).join('/'));
    return [...instances].sort().map((p) => `<${p}>`).join(',');
  }

  private call(req: Parameters<CoapEndpoint['request']>[1]): Promise<CoapResponse> {
    return new Promise((resolve, reject) => {
      this.coap.request(this.gatewayPeer, req, {
        onResponse: resolve,
        onReset: () => reject(new Error('reset')),
        onTimeout: () => reject(new Error('timeout')),
        onError: reject,
      });
    });
  }

  async register(extraQuery: string[] = [], payload?: string): Promise<CoapResponse> {
    const o = this.options;
    const query = [`ep=${o.endpoint}`];
    if (o.lifetime !== undefined) query.push(`lt=${o.lifetime}`);
    if (o.lwm2m !== undefined) query.push(`lwm2m=${o.lwm2m}`);
    if (o.binding !== undefined) query.push(`b=${o.binding}`);
    query.push(...(o.query ?? []), ...extraQuery);
    const res = await this.call({
      method: 'POST',
      uriPath: ['rd'],
      uriQuery: query,
      contentFormat: ContentFormat.LINK,
      payload: Buffer.from(payload ?? this.linkPayload()),
    });
    if (res.code === '2.01' && res.locationPath) this.location = res.locationPath;
    return res;
  }

  update(query: string[] = [], links?: string): Promise<CoapResponse> {
    return this.call({
      method: 'POST',
      uriPath: this.location,
      uriQuery: query.length > 0 ? query : undefined,
      contentFormat: links === undefined ? undefined : ContentFormat.LINK,
      payload: links === undefined ? undefined : Buffer.from(links),
    });
  }

  deregister(): Promise<CoapResponse> {
    return this.call({ method: 'DELETE', uriPath: this.location });
  }

  /** Sends a notification for the observation of `path` with the current value(s). */
  notify(path: string, confirmable = false, seq?: number): void {
    const o = this.observations.get(path);
    if (!o) throw new Error(`no observation of ${path}`);
    o.seq = seq ?? o.seq + 1;
    const res = this.content(path);
    this.coap.notify(o.peer, o.token, { ...res, observe: o.seq }, confirmable);
  }

  /** Sends a notification for the composite observation of `paths` (any order) with the current values. */
  notifyComposite(paths: string[], confirmable = false): void {
    const o = this.compositeObservations.get(compositeKey(paths));
    if (!o) throw new Error(`no composite observation of ${paths.join(',')}`);
    o.seq += 1;
    this.coap.notify(o.peer, o.token, { ...this.compositeContent(o.paths), observe: o.seq }, confirmable);
  }

  set(path: string, value: Entry['value']): void {
    const e = this.values.get(path);
    if (!e) throw new Error(`no value at ${path}`);
    e.value = value;
  }

  async close(): Promise<void> {
    await this.coap.close();
    await this.transport.close();
  }

  // ---- request handling ----------------------------------------------------------------

  private under(path: string): Entry[] {
    const prefix = path === '/' ? '/' : path + '/';
    return [...this.values.values()].filter((e) => e.path === path || e.path.startsWith(prefix));
  }

  /** Reads asked for in SenML JSON, SenML CBOR, LwM2M CBOR (any level) or CBOR (one value) are answered in it. */
  private content(path: string, accept?: number): CoapResponse {
    const entries = this.under(path);
    if (entries.length === 0) return { code: '4.04', payload: Buffer.alloc(0) };
    const p = parsePath(path);
    const anyLevel = accept === ContentFormat.SENML_JSON || accept === ContentFormat.SENML_CBOR || accept === ContentFormat.LWM2M_CBOR;
    if (anyLevel || (accept === ContentFormat.CBOR && entries.length === 1)) {
      return { code: '2.05', contentFormat: accept, payload: encodeNode(accept, p, buildNode(p, entries), this.model) };
    }
    const level = pathLevel(p);
    const single = entries.length === 1 && entries[0].path === path;
    if ((level === 'resource' || level === 'resourceInstance') && single && this.behaviour.resourceFormat !== ContentFormat.TLV) {
      const format = this.behaviour.resourceFormat;
      return { code: '2.05', contentFormat: format, payload: encodeNode(format, p, buildNode(p, entries), this.model) };
    }
    return { code: '2.05', contentFormat: ContentFormat.TLV, payload: encodeNode(ContentFormat.TLV, p, buildNode(p, entries), this.model) };
  }

  private async handle(req: InboundRequest): Promise<CoapResponse> {
    this.requests.push(req);
    const b = this.behaviour;
    if (b.separateAfterMs !== undefined) await new Promise((r) => setTimeout(r, b.separateAfterMs));
    if (b.code) return { code: b.code, payload: Buffer.alloc(0) };
    for (const handler of this.options.handlers ?? []) {
      const res = await handler(req, this);
      if (res) return res;
    }
    return this.answer(req);
  }

  private answer(req: InboundRequest): CoapResponse {
    const empty = Buffer.alloc(0);
    const path = formatPath(parsePath(req.uriPath.join('/')));
    const p = parsePath(path);
    switch (req.method) {
      case 'GET': {
        if (req.accept === ContentFormat.LINK) {
          const entries = this.under(path);
          if (entries.length === 0) return { code: '4.04', payload: empty };
          const resources = [...new Set(entries.map((e) => e.path.split('/').slice(0, 4).join('/')))];
          const links = [`<${path}>`, ...resources.filter((r) => r !== path).map((r) => `<${r}>`)];
          return { code: '2.05', contentFormat: ContentFormat.LINK, payload: Buffer.from(links.join(',')) };
        }
        const res = this.content(path, req.accept);
        if (req.observe === 0 && res.code === '2.05') {
          this.observations.set(path, { token: req.token, peer: req.peer, path, seq: 1 });
          return { ...res, observe: 1 };
        }
        // RFC 7641 §3.6: only a GET with the observation's token deregisters it.
        if (req.observe === 1 && this.observations.get(path)?.token.equals(req.token)) this.observations.delete(path);
        return res;
      }
      case 'PUT': {
        if (req.payload.length === 0) {
          this.attributes.set(path, req.uriQuery ?? []);
          return { code: '2.04', payload: empty };
        }
        return this.write(p, req);
      }
      case 'POST': {
        const level = pathLevel(p);
        if (level === 'resource') {
          this.executed.push({ path, args: req.payload.toString() });
          return { code: '2.04', payload: empty };
        }
        if (level === 'instance') return this.write(p, req);
        if (level === 'object') {
          const entries = decodeEntries(req.contentFormat ?? ContentFormat.TLV, req.payload, p, this.model);
          for (const e of entries) this.values.set(e.path, e);
          const instance = entries[0]?.path.split('/')[2] ?? '0';
          return { code: '2.01', payload: empty, locationPath: [String(p.objectId), instance] };
        }
        return { code: '4.05', payload: empty };
      }
      case 'DELETE': {
        const entries = this.under(path);
        if (entries.length === 0) return { code: '4.04', payload: empty };
        for (const e of entries) this.values.delete(e.path);
        return { code: '2.02', payload: empty };
      }
      case 'FETCH':
        return this.fetch(req);
      case 'iPATCH':
        return this.patch(req);
      default:
        return { code: '4.05', payload: empty };
    }
  }

  /** Read-Composite and Observe-Composite (TS Core 1.1 §6.3.8, §6.3.10): FETCH / with a SenML JSON path list. */
  private fetch(req: InboundRequest): CoapResponse {
    const empty = Buffer.alloc(0);
    if (req.uriPath.length > 0) return { code: '4.05', payload: empty };
    if (req.contentFormat !== ContentFormat.SENML_JSON) return { code: '4.15', payload: empty };
    if (req.accept !== undefined && req.accept !== ContentFormat.SENML_JSON) return { code: '4.06', payload: empty };
    const paths = senmlPathList(req.payload);
    if (!paths) return { code: '4.00', payload: empty };
    const key = compositeKey(paths);
    const res = this.compositeContent(paths);
    if (req.observe === 0 && res.code === '2.05') {
      this.compositeObservations.set(key, { token: req.token, peer: req.peer, paths, seq: 1 });
      return { ...res, observe: 1 };
    }
    if (req.observe === 1 && this.compositeObservations.get(key)?.token.equals(req.token)) this.compositeObservations.delete(key);
    return res;
  }

  /** The values under each path, as SenML JSON records with absolute names; paths without a value are left out. */
  private compositeContent(paths: string[]): CoapResponse {
    const entries = paths.flatMap((p) => this.under(p));
    if (entries.length === 0) return { code: '4.04', payload: Buffer.alloc(0) };
    return { code: '2.05', contentFormat: ContentFormat.SENML_JSON, payload: Buffer.from(JSON.stringify(entries.map(senmlRecord))) };
  }

  /** Write-Composite (TS Core 1.1 §6.3.9): iPATCH / with SenML values. */
  private patch(req: InboundRequest): CoapResponse {
    const empty = Buffer.alloc(0);
    if (req.uriPath.length > 0) return { code: '4.05', payload: empty };
    if (req.contentFormat !== ContentFormat.SENML_JSON && req.contentFormat !== ContentFormat.SENML_CBOR) return { code: '4.15', payload: empty };
    let entries: Entry[];
    try {
      entries = decodeEntries(req.contentFormat, req.payload, {}, this.model);
    } catch {
      return { code: '4.00', payload: empty };
    }
    for (const e of entries) this.values.set(e.path, e);
    return { code: '2.04', payload: empty };
  }

  private write(p: ReturnType<typeof parsePath>, req: InboundRequest): CoapResponse {
    const entries = decodeEntries(req.contentFormat ?? ContentFormat.TEXT, req.payload, p, this.model);
    if (req.method === 'PUT' && pathIds(p).length === 3) {
      for (const e of this.under(formatPath(p))) this.values.delete(e.path);
    }
    for (const e of entries) this.values.set(e.path, e);
    return { code: '2.04', payload: Buffer.alloc(0) };
  }
}

function compositeKey(paths: string[]): string {
  return [...paths].sort().join(',');
}

/** The names of a SenML JSON path list (records with `n`, and `bn`, only); undefined when it is not one. */
function senmlPathList(payload: Buffer): string[] | undefined {
  let records: unknown;
  try {
    records = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(records) || records.length === 0) return undefined;
  let base = '';
  const paths: string[] = [];
  for (const r of records as Record<string, unknown>[]) {
    if (typeof r !== 'object' || r === null) return undefined;
    if (typeof r.bn === 'string') base = r.bn;
    const name = base + (typeof r.n === 'string' ? r.n : '');
    if (name === '') return undefined;
    try {
      paths.push(formatPath(parsePath(name)));
    } catch {
      return undefined;
    }
  }
  return paths;
}

/** One SenML JSON record with an absolute name (RFC 8428; LwM2M value kinds). */
function senmlRecord(e: Entry): Record<string, unknown> {
  const v = e.value;
  switch (e.type) {
    case 'boolean':
      return { n: e.path, vb: v };
    case 'opaque':
      return { n: e.path, vd: Buffer.isBuffer(v) ? v.toString('base64url') : '' };
    case 'objlnk':
      return { n: e.path, vlo: typeof v === 'object' && !Buffer.isBuffer(v) ? `${v.objectId}:${v.instanceId}` : String(v) };
    case 'string':
    case 'corelnk':
      return { n: e.path, vs: String(v) };
    default:
      return { n: e.path, v: Number(v) };
  }
}
