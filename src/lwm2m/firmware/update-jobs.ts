import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { CoapEndpoint, CoapResponse, InboundRequest } from '../../coap';
import { OptionNumber } from '../../coap';
import { LogThrottle } from '../../limits/log-throttle';
import { ContentFormat } from '../codec/content-format';
import type { Device } from '../device/device';
import type { DeviceManager } from '../device/device-manager';
import type { Registration } from '../registration/registration';
import type { JobRecord, JobStore } from '../store/jobs';
import type { JsonValue } from '../store/json';
import { UpdateJob, type UpdateEventData, type UpdateJobHost } from './update-job';
import { jobStateJson, parseJobState, type DeliveryMethodName, type UpdateJobState, type ServedScheme } from './update-job-state';
import { PROTOCOL_OF_SCHEME } from './firmware-resources';
import type { SoftwareOperation } from './software-target';
import type { UpdateKind, UpdateOperation } from './update-target';

export type { UpdateEventData } from './update-job';
export type { UpdateKind } from './update-target';

/** Where images come from (the gateway's image store). */
export interface ImageSource {
  get(name: string): Promise<{ readonly name: string; readonly size: number; readonly sha256: string; readonly bytes: Buffer }>;
}

export interface UpdateJobsOptions<C> {
  /** The context of the engine requests a job of this kind on this instance makes. */
  context(kind: UpdateKind, instance: { objectId: number; instanceId: number }): C;
  readonly images?: ImageSource;
  /** Where jobs are written so that they survive a restart (none: memory only). */
  readonly store?: JobStore;
  readonly jobTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** Largest push block, as an SZX (0..6: 16..1024 bytes). */
  readonly maxSzx: number;
  /** Jobs under way at once, firmware and software, all devices together. */
  readonly maxJobs: number;
  /** The scheme://host:port devices reach the gateway at for a scheme, or why there is none. */
  downloadBase(scheme: ServedScheme, reg: Registration): { base: string } | { problem: string };
  log(level: 'info' | 'warn', fields: Record<string, unknown>, message: string): void;
  onStoreError?(what: string, err: unknown): void;
}

/** A firmware-update or software-install command, as the northbound gives it (validated here). */
export interface FirmwareUpdateSpec {
  readonly uri?: unknown;
  readonly image?: unknown;
  readonly method?: unknown;
  /** Pull of an image: the scheme the gateway serves it over (default: the device's own, coap or coaps). */
  readonly protocol?: unknown;
  readonly reqID?: JsonValue;
}

/** A software command's data (validated here): the instance /9/x, the package for install, forUpdate for uninstall. */
export interface SoftwareJobSpec extends FirmwareUpdateSpec {
  readonly instance?: unknown;
  readonly forUpdate?: unknown;
}

/** What a northbound answers a command with: a CoAP-style code, and the job or an error. */
export interface JobAnswer {
  readonly code: string;
  /** The job's instance, once known (software: the /9/x the command named or defaulted to). */
  readonly path?: string;
  readonly jobId?: string;
  readonly error?: string;
}

/** Package URI /5/0/1 is a string of 0..255 bytes. */
const MAX_URI_BYTES = 255;
const KINDS: readonly UpdateKind[] = ['firmware', 'software'];
const TOKEN_BYTES = 16;
const MAX_INSTANCE_ID = 65534;

/** The package of a job that delivers one, as parsed from the command. */
type ParsedPackage = { method: DeliveryMethodName; uri?: string; image?: string; scheme?: ServedScheme };

/** The instance ids of object 9 in a registration's object list. */
function softwareInstances(objectList: readonly string[]): { listed: boolean; ids: number[] } {
  const ids: number[] = [];
  let listed = false;
  for (const p of objectList) {
    if (p === '/9') listed = true;
    const m = /^\/9\/(\d{1,5})$/.exec(p);
    if (m) {
      listed = true;
      if (Number(m[1]) <= MAX_INSTANCE_ID) ids.push(Number(m[1]));
    }
  }
  return { listed, ids };
}
const SERVED_SCHEMES: ReadonlySet<string> = new Set(['coap', 'coaps', 'http', 'https']);

/**
 * Update jobs on the device-management engine: firmware updates (OMA object 5) and software
 * install / uninstall / activate / deactivate (object 9), one job of each kind per device at a time.
 * Started and cancelled by any northbound, reported as `event` (endpoint, UpdateEventData, kind),
 * kept in the store and resumed after a restart. Packages the gateway serves for pull are
 * downloaded over CoAP(S) on the device's own listener (`/fw/<token>`, Block2) or over HTTP(S)
 * (`download`).
 */
export class UpdateJobs<C> extends EventEmitter implements UpdateJobHost<C> {
  private readonly jobs: Record<UpdateKind, Map<string, UpdateJob<C>>> = { firmware: new Map(), software: new Map() };
  private readonly byToken = new Map<string, UpdateJob<C>>();
  /** Refused downloads (guessed tokens, another credential): one log line per source address every 10 s. */
  private readonly refusals = new LogThrottle();
  readonly pollIntervalMs: number;

  constructor(
    readonly engine: DeviceManager<C>,
    private readonly options: UpdateJobsOptions<C>,
  ) {
    super();
    this.pollIntervalMs = options.pollIntervalMs;
    engine.on('registered', (device: Device<C>) => {
      for (const kind of KINDS) this.jobs[kind].get(device.endpoint)?.resume(true);
    });
    engine.on('restored', (device: Device<C>) => {
      for (const kind of KINDS) this.jobs[kind].get(device.endpoint)?.resume(false);
    });
    engine.server.serveResources((endpoint, req) => this.serve(endpoint, req));
  }

  /** Jobs under way, both kinds. */
  get size(): number {
    return this.jobs.firmware.size + this.jobs.software.size;
  }

  /** Jobs of one kind under way. */
  count(kind: UpdateKind): number {
    return this.jobs[kind].size;
  }

  /** The job of a kind under way on an endpoint. */
  job(endpoint: string, kind: UpdateKind = 'firmware'): UpdateJob<C> | undefined {
    return this.jobs[kind].get(endpoint);
  }

  /** Starts a firmware job on a registered device; the answer says why not (4.00 bad command, 4.04, 4.09 one under way, 5.03 too many). */
  async start(endpoint: string, spec: FirmwareUpdateSpec): Promise<JobAnswer> {
    const device = this.engine.device(endpoint);
    if (!device) return { code: '4.04', error: `endpoint ${endpoint} is not registered` };
    if (!device.reg.objectList.some((p) => p === '/5' || p.startsWith('/5/'))) return { code: '4.04', error: 'the device has no Firmware Update object (/5 is not in its object list)' };
    const parsed = this.parseSpec(spec, device.reg, 'Package URI /5/0/1');
    if ('error' in parsed) return { code: '4.00', error: parsed.error };
    return this.launch(endpoint, { kind: 'firmware', operation: 'update', instanceId: 0 }, parsed, spec.reqID);
  }

  /**
   * Starts a software job (install, uninstall, activate, deactivate) on an instance /9/x the device
   * lists (data.instance; the only one when it lists one); the answer says why not, as for start().
   */
  async startSoftware(endpoint: string, operation: SoftwareOperation, spec: SoftwareJobSpec): Promise<JobAnswer> {
    const device = this.engine.device(endpoint);
    if (!device) return { code: '4.04', error: `endpoint ${endpoint} is not registered` };
    const { listed, ids } = softwareInstances(device.reg.objectList);
    if (!listed) return { code: '4.04', error: 'the device has no Software Management object (/9 is not in its object list)' };
    let instanceId: number;
    if (spec.instance === undefined) {
      if (ids.length === 0) return { code: '4.04', error: 'the device lists no Software Management instance (/9/x) in its object list' };
      if (ids.length > 1) return { code: '4.00', error: `data.instance: the device has several Software Management instances (${ids.map((i) => `/9/${i}`).join(', ')}); name one` };
      instanceId = ids[0];
    } else {
      if (typeof spec.instance !== 'number' || !Number.isInteger(spec.instance) || spec.instance < 0 || spec.instance > MAX_INSTANCE_ID) return { code: '4.00', error: `data.instance must be an integer 0..${MAX_INSTANCE_ID}` };
      if (!ids.includes(spec.instance)) return { code: '4.04', error: `/9/${spec.instance} is not in the device's object list` };
      instanceId = spec.instance;
    }
    if (spec.forUpdate !== undefined && (operation !== 'uninstall' || typeof spec.forUpdate !== 'boolean')) return { code: '4.00', error: 'data.forUpdate applies to software-uninstall only, and is true or false' };
    let parsed: ParsedPackage | undefined;
    if (operation === 'install') {
      const p = this.parseSpec(spec, device.reg, `Package URI /9/${instanceId}/3`);
      if ('error' in p) return { code: '4.00', error: p.error };
      parsed = p;
    } else {
      const extra = (['uri', 'image', 'method', 'protocol'] as const).find((k) => spec[k] !== undefined);
      if (extra) return { code: '4.00', error: `data.${extra} applies to software-install only` };
    }
    const answer = await this.launch(endpoint, { kind: 'software', operation, instanceId, forUpdate: spec.forUpdate === true ? true : undefined }, parsed, spec.reqID);
    return { ...answer, path: `/9/${instanceId}` };
  }

  private async launch(
    endpoint: string,
    what: { kind: UpdateKind; operation: UpdateOperation; instanceId: number; forUpdate?: boolean },
    parsed: ParsedPackage | undefined,
    reqID: JsonValue | undefined,
  ): Promise<JobAnswer> {
    const { kind } = what;
    const cancelWith = `${kind}-cancel`;
    const busy = this.jobs[kind].get(endpoint);
    if (busy) return { code: '4.09', jobId: busy.id, error: `a ${kind} job is under way on this endpoint (jobId ${busy.id}): cancel it with ${cancelWith} first` };
    if (this.size >= this.options.maxJobs) return { code: '5.03', error: `too many update jobs under way (firmware.max_jobs: ${this.options.maxJobs})` };
    let image: { name: string; size: number; sha256: string; bytes: Buffer } | undefined;
    if (parsed?.image !== undefined) {
      if (!this.options.images) return { code: '4.04', error: 'no image store: set firmware.dir' };
      try {
        image = await this.options.images.get(parsed.image);
      } catch (err) {
        return { code: '4.04', error: err instanceof Error ? err.message : String(err) };
      }
      if (image.size === 0) return { code: '4.00', error: `image ${image.name} is empty` };
      // The awaited read let another start in.
      const raced = this.jobs[kind].get(endpoint);
      if (raced) return { code: '4.09', jobId: raced.id, error: `a ${kind} job is under way on this endpoint (jobId ${raced.id})` };
      if (this.size >= this.options.maxJobs) return { code: '5.03', error: `too many update jobs under way (firmware.max_jobs: ${this.options.maxJobs})` };
    }
    const now = Date.now();
    const state: UpdateJobState = {
      id: randomBytes(8).toString('hex'),
      endpoint,
      ...what,
      method: parsed?.method,
      uri: parsed?.uri,
      image: image && { name: image.name, size: image.size, sha256: image.sha256 },
      scheme: parsed?.scheme,
      token: parsed?.method === 'pull' && image ? randomBytes(TOKEN_BYTES).toString('hex') : undefined,
      step: 'check',
      offset: 0,
      szx: this.options.maxSzx,
      restarts: 0,
      createdAt: now,
      deadline: now + this.options.jobTimeoutMs,
      reqID,
    };
    const job = this.add(state, image?.bytes);
    this.persist(job);
    const fields = { ep: endpoint, jobId: state.id, operation: kind === 'software' ? state.operation : undefined, instance: kind === 'software' ? state.instanceId : undefined, method: state.method, image: image?.name, uri: state.uri };
    this.options.log('info', fields, `${kind} job started`);
    job.resume(false);
    return { code: '2.01', jobId: state.id };
  }

  /** Cancels the endpoint's job of a kind (resets the device's Firmware Update object or software instance). */
  async cancel(endpoint: string, kind: UpdateKind = 'firmware'): Promise<JobAnswer> {
    const job = this.jobs[kind].get(endpoint);
    if (!job) return { code: '4.04', error: `no ${kind} job is under way on this endpoint` };
    const { code, error } = await job.cancel();
    return { code, jobId: job.id, error };
  }

  /** Takes back the jobs a previous process stored (call after the engine's restore). */
  async restore(): Promise<number> {
    const store = this.options.store;
    if (!store) return 0;
    const records: JobRecord[] = [];
    for await (const record of store.all()) if ((KINDS as readonly string[]).includes(record.kind)) records.push(record);
    let restored = 0;
    for (const record of records) {
      const kind = record.kind as UpdateKind;
      const state = parseJobState(record.data, record.endpoint, kind);
      if (!state) {
        this.options.log('warn', { ep: record.endpoint, jobId: record.id, kind }, `a stored ${kind} job could not be read back; dropped`);
        this.unstore(record.endpoint, kind);
        continue;
      }
      let bytes: Buffer | undefined;
      if (state.image) {
        try {
          const image = await this.options.images?.get(state.image.name);
          if (!image || image.sha256 !== state.image.sha256) throw new Error(`image ${state.image.name} changed or is gone since the job started`);
          bytes = image.bytes;
        } catch (err) {
          this.options.log('warn', { ep: record.endpoint, jobId: state.id, err: err instanceof Error ? err.message : String(err) }, `a stored ${kind} job cannot go on`);
          const software = kind === 'software' ? { operation: state.operation, instance: state.instanceId } : {};
          const event: UpdateEventData = { jobId: state.id, state: 'failed', ...software, method: state.method, image: state.image.name, error: `after a restart: ${err instanceof Error ? err.message : String(err)}`, ...(state.reqID !== undefined ? { reqID: state.reqID } : {}) };
          this.emit('event', state.endpoint, event, kind);
          this.unstore(record.endpoint, kind);
          continue;
        }
      }
      const job = this.add(state, bytes);
      restored++;
      if (this.engine.device(state.endpoint)) job.resume(false);
    }
    return restored;
  }

  /** Stops every job's timers; what the store holds stays for the next start (written once more, with the latest offsets). */
  async close(): Promise<void> {
    const jobs = [...this.jobs.firmware.values(), ...this.jobs.software.values()];
    await Promise.all(jobs.map((job) => job.stop()));
    const store = this.options.store;
    if (store) await Promise.all(jobs.map((job) => store.put(this.record(job)).catch((err: unknown) => this.options.onStoreError?.('job put', err))));
    this.jobs.firmware.clear();
    this.jobs.software.clear();
    this.byToken.clear();
  }

  /** An image a job serves over HTTP(S): the bytes for a download token, when the job is at the download. */
  download(token: string): { bytes: Buffer; sha256: string } | undefined {
    const job = this.byToken.get(token);
    if (!job || !job.serving || !job.bytes || !job.state.image) return undefined;
    if (job.state.scheme !== 'http' && job.state.scheme !== 'https') return undefined;
    return { bytes: job.bytes, sha256: job.state.image.sha256 };
  }

  // ---- UpdateJobHost -----------------------------------------------------------------------

  /** @internal */
  context(job: UpdateJob<C>): C {
    return this.options.context(job.kind, job.target.instance);
  }

  /** @internal */
  publish(job: UpdateJob<C>, event: UpdateEventData): void {
    this.emit('event', job.endpoint, event, job.kind);
  }

  /** @internal */
  persist(job: UpdateJob<C>): void {
    const store = this.options.store;
    if (!store || job.ended) return;
    store.put(this.record(job)).catch((err: unknown) => this.options.onStoreError?.('job put', err));
  }

  /** @internal */
  ended(job: UpdateJob<C>): void {
    const jobs = this.jobs[job.kind];
    if (jobs.get(job.endpoint) === job) jobs.delete(job.endpoint);
    if (job.state.token !== undefined) this.byToken.delete(job.state.token);
    this.unstore(job.endpoint, job.kind);
  }

  /** @internal */
  downloadUri(job: UpdateJob<C>, device: Device<C>): { uri: string } | { problem: string } {
    const scheme = job.state.scheme;
    if (scheme === undefined || job.state.token === undefined) return { problem: 'the job has no download path' };
    const base = this.options.downloadBase(scheme, device.reg);
    if ('problem' in base) return base;
    const uri = `${base.base}/fw/${job.state.token}`;
    if (Buffer.byteLength(uri) > MAX_URI_BYTES) return { problem: `the download URI would be longer than ${MAX_URI_BYTES} bytes (Package URI ${job.target.path}/${job.target.packageUriResource})` };
    return { uri };
  }

  /** @internal */
  log(level: 'info' | 'warn', fields: Record<string, unknown>, message: string): void {
    this.options.log(level, fields, message);
  }

  // ---- internals -----------------------------------------------------------------------------

  private add(state: UpdateJobState, bytes: Buffer | undefined): UpdateJob<C> {
    const job = new UpdateJob(this, state, bytes);
    this.jobs[state.kind].set(state.endpoint, job);
    if (state.token !== undefined) this.byToken.set(state.token, job);
    return job;
  }

  private record(job: UpdateJob<C>): JobRecord {
    return { id: job.id, endpoint: job.endpoint, kind: job.kind, createdAt: job.state.createdAt, updatedAt: Date.now(), data: jobStateJson(job.state) };
  }

  private unstore(endpoint: string, kind: UpdateKind): void {
    this.options.store?.remove(endpoint, kind).catch((err: unknown) => this.options.onStoreError?.('job remove', err));
  }

  /** The package of a firmware-update or software-install command; `resource` names Package URI in errors. */
  private parseSpec(spec: FirmwareUpdateSpec, reg: Registration, resource: string): ParsedPackage | { error: string } {
    const { uri, image, method, protocol } = spec;
    if (method !== undefined && method !== 'push' && method !== 'pull') return { error: 'data.method must be "push" or "pull"' };
    if ((uri === undefined) === (image === undefined)) return { error: 'give exactly one of data.uri (a package URI the device downloads) and data.image (an image of firmware.dir)' };
    if (uri !== undefined) {
      if (typeof uri !== 'string' || uri === '') return { error: 'data.uri must be a non-empty string' };
      if (Buffer.byteLength(uri) > MAX_URI_BYTES) return { error: `data.uri is longer than ${MAX_URI_BYTES} bytes (${resource})` };
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f\s]/.test(uri)) return { error: 'data.uri must not contain spaces or control characters' };
      const scheme = uri.slice(0, Math.max(0, uri.indexOf(':'))).toLowerCase();
      if (PROTOCOL_OF_SCHEME[scheme] === undefined || !uri.slice(scheme.length).startsWith('://')) return { error: 'data.uri must be a coap, coaps, http, https, coap+tcp or coaps+tcp URI' };
      if (method === 'push') return { error: 'data.uri is downloaded by the device ("method":"pull"); push takes data.image' };
      if (protocol !== undefined) return { error: 'data.protocol applies to data.image only' };
      return { method: 'pull', uri };
    }
    if (typeof image !== 'string' || image === '') return { error: 'data.image must be the name of an image of firmware.dir' };
    if (method !== 'pull') {
      if (protocol !== undefined) return { error: 'data.protocol applies to "method":"pull" only' };
      return { method: 'push', image };
    }
    const scheme = protocol === undefined ? (reg.peer.identity ? 'coaps' : 'coap') : protocol;
    if (typeof scheme !== 'string' || !SERVED_SCHEMES.has(scheme)) return { error: 'data.protocol must be "coap", "coaps", "http" or "https"' };
    return { method: 'pull', image, scheme: scheme as ServedScheme };
  }

  /**
   * `GET /fw/<token>` on a device listener: the image of a pull job at its download, cut into
   * Block2 blocks by the CoAP layer. Over DTLS only the job's own device (its credential) gets it;
   * anything else is a 4.04, like a token that does not exist.
   */
  private serve(endpoint: CoapEndpoint, req: InboundRequest): CoapResponse | undefined {
    if (req.uriPath[0] !== 'fw' || req.uriPath.length > 2) return undefined;
    const job = req.uriPath.length === 2 ? this.byToken.get(req.uriPath[1]) : undefined;
    if (!job || !job.serving || !job.bytes || !job.state.image) return this.refuse(req, 'no download under way at this path');
    const scheme = endpoint.transport.scheme;
    if (scheme !== job.state.scheme) return this.refuse(req, `the download is served over ${job.state.scheme ?? 'another scheme'}`);
    if (scheme === 'coaps' && req.peer.identity?.name !== this.engine.device(job.endpoint)?.reg.peer.identity?.name) return this.refuse(req, 'another DTLS credential than the job device\'s');
    if (req.method !== 'GET') return METHOD_NOT_ALLOWED;
    return { code: '2.05', contentFormat: ContentFormat.OPAQUE, payload: job.bytes, options: [{ number: OptionNumber.ETag, value: Buffer.from(job.state.image.sha256.slice(0, 16), 'hex') }] };
  }

  /** A 4.04 for a download path, logged (never the token: it is the download's only secret). */
  private refuse(req: InboundRequest, reason: string): CoapResponse {
    const admitted = this.refusals.admit(req.peer.address);
    if (admitted) this.options.log('info', { peer: `${req.peer.address}:${req.peer.port}`, reason, suppressed: admitted.suppressed || undefined }, 'firmware download refused (4.04)');
    return NOT_FOUND;
  }
}

const NOT_FOUND: CoapResponse = { code: '4.04', payload: Buffer.alloc(0) };
const METHOD_NOT_ALLOWED: CoapResponse = { code: '4.05', payload: Buffer.alloc(0) };
