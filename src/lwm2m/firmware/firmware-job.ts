import { ContentFormat } from '../codec/content-format';
import type { Device } from '../device/device';
import type { DeviceManager } from '../device/device-manager';
import type { DeviceRequest, RequestHandler, RequestOutcome } from '../device/device-request';
import type { Lwm2mOperation } from '../operation';
import { isSuccess, type Lwm2mResponse } from '../response';
import type { JsonValue } from '../store/json';
import type { FirmwareJobState } from './firmware-job-state';
import { DeliveryMethod, FirmwareState, PROTOCOL_OF_SCHEME, firmwareResources, updateResultName, type FirmwareResources } from './firmware-resources';

/** The states a job publishes (`up/firmware`). */
export type FirmwarePublicState = 'downloading' | 'downloaded' | 'updating' | 'succeeded' | 'failed' | 'cancelled';

/** One event of a job, as published: `{"msgType":"firmware","data":…}`. */
export interface FirmwareEventData {
  readonly jobId: string;
  readonly state: FirmwarePublicState;
  readonly method: 'push' | 'pull';
  readonly image?: string;
  readonly uri?: string;
  /** Push: the share of the image the device has taken, 0..1. */
  readonly progress?: number;
  readonly updateResult?: number;
  readonly result?: string;
  readonly pkgName?: string;
  readonly pkgVersion?: string;
  /** Device /3/0/3 after a successful update. */
  readonly firmwareVersion?: string;
  readonly code?: string;
  readonly error?: string;
  readonly reqID?: JsonValue;
}

/** What a job needs from the service that runs it. */
export interface FirmwareJobHost<C> {
  readonly engine: DeviceManager<C>;
  /** The context of every engine request a job makes (the northbound's marker for the engine's own requests). */
  readonly context: C;
  readonly pollIntervalMs: number;
  publish(job: FirmwareJob<C>, event: FirmwareEventData): void;
  /** The job's state changed: write it to the store. */
  persist(job: FirmwareJob<C>): void;
  /** The job is over: forget it (store, tables). */
  ended(job: FirmwareJob<C>): void;
  /** The Package URI of an image the gateway serves itself, or why there is none. */
  downloadUri(job: FirmwareJob<C>, device: Device<C>): { uri: string } | { problem: string };
  log(level: 'info' | 'warn', fields: Record<string, unknown>, message: string): void;
}

/** Push: a body the device lost is sent again from the start at most this often. */
const MAX_RESTARTS = 3;
/** How long stop() waits for a push block in flight. */
const STOP_WAIT_MS = 3000;
/** Push: progress is published in steps of this share of the image (and at the end). */
const PROGRESS_STEP = 0.05;

const INSTANCE = { objectId: 5, instanceId: 0 };
const PACKAGE = { objectId: 5, instanceId: 0, resourceId: 0 };
const PACKAGE_URI = { objectId: 5, instanceId: 0, resourceId: 1 };
const UPDATE = { objectId: 5, instanceId: 0, resourceId: 2 };
const FIRMWARE_VERSION = { objectId: 3, instanceId: 0, resourceId: 3 };

function blockBytes(szx: number): number {
  return 16 << szx;
}

function schemeOf(uri: string): string {
  const colon = uri.indexOf(':');
  return colon < 0 ? '' : uri.slice(0, colon).toLowerCase();
}

/**
 * One firmware update of one device (OMA object 5), as a state machine driven by the device's
 * answers and notifications: check /5/0 (State Idle, Protocol Support /5/0/8, Delivery Method /5/0/9)
 * → observe /5/0 (else poll it) → deliver (write Package URI, or Package block by block with Block1,
 * resumed after a loss) → wait for State Downloaded → execute Update → wait for Update Result 1.
 * Its requests go through the device's queue like any command (queue mode, one in flight) and are
 * never stored: the job's own state is, and a restarted gateway resumes from it.
 */
export class FirmwareJob<C> implements RequestHandler<C> {
  /** Answers of requests made before the last resume are ignored. */
  private generation = 0;
  private over = false;
  private observeRequest: DeviceRequest<C> | undefined;
  private observing = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollInFlight = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly deadlineTimer: NodeJS.Timeout;
  private readonly pending = new Map<DeviceRequest<C>, { generation: number; on: (outcome: RequestOutcome) => void }>();
  private lastProgress = -1;
  private blockInFlight = false;
  /** Set while stop() waits for the block in flight. */
  private stopping: (() => void) | undefined;
  private known: FirmwareResources = {};

  constructor(
    private readonly host: FirmwareJobHost<C>,
    readonly state: FirmwareJobState,
    /** The image's bytes (push, or pull of an image served by the gateway). */
    readonly bytes: Buffer | undefined,
  ) {
    this.deadlineTimer = setTimeout(() => this.timedOut(), Math.max(0, state.deadline - Date.now()));
    this.deadlineTimer.unref();
  }

  get id(): string {
    return this.state.id;
  }

  get endpoint(): string {
    return this.state.endpoint;
  }

  get ended(): boolean {
    return this.over;
  }

  /** Whether the device may download the image now (pull from the gateway). */
  get serving(): boolean {
    return !this.over && (this.state.step === 'deliver' || this.state.step === 'download');
  }

  /**
   * (Re)starts the current step on the device as it is now: at the start, after a restart, and when
   * the device registers again (a reboot loses a half-sent body and every observation).
   */
  resume(reregistered: boolean): void {
    if (this.over) return;
    this.generation++;
    this.pending.clear();
    this.observing = false;
    this.observeRequest = undefined;
    this.pollInFlight = false;
    this.stopPolling();
    const device = this.device();
    if (!device) return; // its next registration resumes the job
    switch (this.state.step) {
      case 'check':
        return this.check();
      case 'deliver':
        if (reregistered && this.state.method === 'push') this.startOver();
        this.observe(device);
        return this.deliver(device);
      case 'download':
      case 'update':
        // A device that rebooted mid-download has dropped it: delivered again.
        if (reregistered) {
          this.state.step = 'deliver';
          if (this.state.method === 'push') this.startOver();
          this.host.persist(this);
          this.observe(device);
          return this.deliver(device);
        }
        this.state.step = 'download';
        this.observe(device);
        return this.poll();
      case 'updating':
        this.observe(device);
        return this.poll();
    }
  }

  /** Cancels the job: resets the device's state machine (an empty Package URI, or Package for push-only devices). */
  cancel(): Promise<{ code: string; error?: string }> {
    this.generation++;
    const device = this.device();
    const finish = (code: string, error?: string) => {
      this.publish({ state: 'cancelled', code, error });
      this.end();
      return { code, error };
    };
    if (!device) return Promise.resolve(finish('2.04', 'the device is not registered: its Firmware Update object was not reset'));
    const pushOnly = this.known.delivery === DeliveryMethod.PUSH;
    const op: Lwm2mOperation = pushOnly
      ? { type: 'write', path: PACKAGE, query: [], replace: true, node: { kind: 'single', id: 0, type: 'opaque', value: Buffer.alloc(0) }, format: ContentFormat.OPAQUE }
      : { type: 'write', path: PACKAGE_URI, query: [], replace: true, node: { kind: 'single', id: 1, type: 'string', value: '' }, format: ContentFormat.TEXT };
    return new Promise((resolve) => {
      this.send(device, op, (o) => {
        if (o.kind === 'response') resolve(finish(o.response.code, isSuccess(o.response.code) ? undefined : `the device answered ${o.response.code} to the reset of ${pushOnly ? 'Package' : 'Package URI'}`));
        else resolve(finish(outcomeCode(o), `the reset of ${pushOnly ? 'Package' : 'Package URI'} got no answer (${o.kind})`));
      });
    });
  }

  /**
   * Stops without publishing (the gateway closes; the stored state stays for the next start). A push
   * block in flight is waited for (at most STOP_WAIT_MS): its answer moves the stored offset to where
   * the device is, so that the next start sends the block the device expects (another one would make
   * it drop the whole body, 4.08, and the push start over).
   */
  stop(): Promise<void> {
    this.clearTimers();
    if (this.over || !this.blockInFlight) {
      this.over = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopping = undefined;
        this.over = true;
        resolve();
      };
      const timer = setTimeout(done, STOP_WAIT_MS);
      this.stopping = done;
    });
  }

  // ---- steps ---------------------------------------------------------------------------------

  private check(): void {
    const device = this.device();
    if (!device) return;
    this.send(device, { type: 'read', path: INSTANCE, query: [] }, (o) => {
      if (o.kind !== 'response') return this.lost(o, 'the read of /5/0', () => this.check());
      const res = o.response;
      if (!isSuccess(res.code)) return this.fail(`the device answered ${res.code} to a read of /5/0: it has no usable Firmware Update object`, res.code);
      const r = firmwareResources(res.content ?? []);
      this.known = r;
      const problem = this.mismatch(r);
      if (problem) return this.fail(problem);
      if (r.state !== undefined && r.state !== FirmwareState.IDLE) {
        return this.fail(`the device's firmware update is not idle (State ${r.state}); send firmware-cancel to reset it first`);
      }
      this.state.step = 'deliver';
      this.host.persist(this);
      this.publish({ state: 'downloading', progress: this.state.method === 'push' ? 0 : undefined });
      const now = this.device();
      if (!now) return;
      this.observe(now);
      this.deliver(now);
    });
  }

  /** Why the device cannot take this job (delivery method, protocol), or undefined. */
  private mismatch(r: FirmwareResources): string | undefined {
    const { method } = this.state;
    if (method === 'push' && r.delivery === DeliveryMethod.PULL) return 'the device only takes firmware by pull (Firmware Update Delivery Method /5/0/9 = 0): use "method":"pull"';
    if (method === 'pull' && r.delivery === DeliveryMethod.PUSH) return 'the device only takes firmware by push (Firmware Update Delivery Method /5/0/9 = 1): use "method":"push" with an image';
    if (method === 'pull' && r.protocols !== undefined) {
      const scheme = this.state.uri !== undefined ? schemeOf(this.state.uri) : (this.state.scheme ?? '');
      const protocol = PROTOCOL_OF_SCHEME[scheme];
      if (protocol === undefined || !r.protocols.includes(protocol)) {
        return `the device does not support ${scheme} downloads (Firmware Update Protocol Support /5/0/8 = [${r.protocols.join(', ')}])`;
      }
    }
    return undefined;
  }

  /** Observes /5/0 (State and Update Result notifications); polls instead when it cannot. */
  private observe(device: Device<C>): void {
    // Someone else's observation of /5/0 would be replaced by ours: poll instead.
    if (device.observation('/5/0')) return;
    const request = this.send(device, { type: 'observe', path: INSTANCE, query: [] }, (o) => {
      if (o.kind === 'response' && isSuccess(o.response.code) && o.response.observe !== undefined) {
        this.observing = true;
        this.stopPolling();
        this.took(firmwareResources(o.response.content ?? []));
      }
    });
    this.observeRequest = request;
  }

  private deliver(device: Device<C>): void {
    if (this.state.method === 'push') return this.sendBlock(device);
    let uri = this.state.uri;
    if (uri === undefined) {
      const served = this.host.downloadUri(this, device);
      if ('problem' in served) return this.fail(served.problem);
      uri = served.uri;
    }
    const node = { kind: 'single' as const, id: 1, type: 'string' as const, value: uri };
    this.send(device, { type: 'write', path: PACKAGE_URI, query: [], replace: true, node, format: ContentFormat.TEXT }, (o) => {
      if (o.kind !== 'response') return this.lost(o, 'the write of Package URI', () => this.resume(false));
      if (!isSuccess(o.response.code)) return this.fail(`the device answered ${o.response.code} to the write of Package URI /5/0/1`, o.response.code);
      this.delivered();
    });
  }

  private sendBlock(device: Device<C>): void {
    const bytes = this.bytes as Buffer;
    const { offset, szx } = this.state;
    const size = blockBytes(szx);
    const payload = bytes.subarray(offset, offset + size);
    const more = offset + payload.length < bytes.length;
    const num = offset / size;
    const op: Lwm2mOperation = { type: 'write-block', path: PACKAGE, query: [], format: ContentFormat.OPAQUE, payload, num, szx, more, size: bytes.length };
    this.blockInFlight = true;
    this.send(device, op, (o) => {
      this.blockInFlight = false;
      if (this.stopping) {
        if (o.kind === 'response' && (o.response.code === '2.31' || isSuccess(o.response.code)) && more) this.state.offset = offset + payload.length;
        return this.stopping();
      }
      if (o.kind !== 'response') return this.lost(o, `block ${num} of Package`, () => this.resumeBlocks());
      const { code, block1 } = o.response;
      if (code === '4.08' && this.state.restarts < MAX_RESTARTS) {
        // The device lost the body (it restarted, or dropped it after a pause): from the start.
        this.host.log('info', { ep: this.endpoint, jobId: this.id, block: num }, 'firmware push: the device lost the body (4.08); sending it again from the start');
        this.startOver();
        return this.resumeBlocks();
      }
      if (code === '4.13') return this.fail('the device refused the image as too large (4.13 Request Entity Too Large)', code);
      if (code !== '2.31' && !isSuccess(code)) return this.fail(`the device answered ${code} to block ${num} of Package /5/0/0`, code);
      this.state.offset = offset + payload.length;
      // The device may ask for smaller blocks: the next one is cut at the same offset in its size (RFC 7959 §2.5).
      if (block1 && block1.szx < this.state.szx) this.state.szx = block1.szx;
      if (!more) return this.delivered();
      this.progress(false);
      this.resumeBlocks();
    });
  }

  private resumeBlocks(): void {
    const device = this.device();
    if (device) this.sendBlock(device);
  }

  private startOver(): void {
    this.state.offset = 0;
    this.state.restarts++;
    this.lastProgress = -1;
  }

  /** The package is with the device (pull: it has the URI): wait for State Downloaded. */
  private delivered(): void {
    this.state.step = 'download';
    if (this.state.method === 'push') this.progress(true);
    this.host.persist(this);
    this.poll(true);
  }

  private progress(final: boolean): void {
    const total = this.bytes?.length ?? 0;
    const share = total === 0 ? 1 : this.state.offset / total;
    if (!final && share - this.lastProgress < PROGRESS_STEP) return;
    this.lastProgress = share;
    this.host.persist(this);
    this.publish({ state: 'downloading', progress: Math.floor(share * 1000) / 1000 });
  }

  private execute(): void {
    const device = this.device();
    if (!device) return;
    this.send(device, { type: 'execute', path: UPDATE, query: [], args: '' }, (o) => {
      if (o.kind === 'response' && o.response.code === '4.05') {
        // Not (or no longer) Downloaded: what the device says next decides.
        this.state.step = 'download';
        return this.poll(true);
      }
      if (o.kind === 'response' && !isSuccess(o.response.code)) return this.fail(`the device answered ${o.response.code} to Update /5/0/2`, o.response.code);
      if (o.kind === 'deregistered' || o.kind === 'expired' || o.kind === 'failed' || o.kind === 'reset') {
        if (o.kind === 'failed') return this.fail(`Update /5/0/2 failed: ${o.error}`, o.code);
        if (o.kind === 'reset') return this.fail('the device answered Update /5/0/2 with RST');
        return;
      }
      // 2.04, or no answer: a device may reboot into the new firmware before it answers.
      this.state.step = 'updating';
      this.host.persist(this);
      this.publish({ state: 'updating' });
      this.poll(true);
    });
  }

  private succeed(): void {
    const device = this.device();
    const finish = (firmwareVersion?: string) => {
      this.publish({ state: 'succeeded', updateResult: 1, result: updateResultName(1), pkgName: this.known.pkgName, pkgVersion: this.known.pkgVersion, firmwareVersion });
      this.end();
    };
    this.stopPolling();
    this.state.step = 'updating';
    if (!device) return finish();
    this.generation++;
    this.send(device, { type: 'read', path: FIRMWARE_VERSION, query: [] }, (o) => {
      const value = o.kind === 'response' ? o.response.content?.[0]?.value : undefined;
      finish(typeof value === 'string' ? value : undefined);
    });
  }

  // ---- what the device says --------------------------------------------------------------

  /** Values of /5/0 from a read or a notification. */
  private took(r: FirmwareResources): void {
    if (this.over) return;
    this.known = { ...this.known, ...r };
    const { state, result } = r;
    const step = this.state.step;
    if (step === 'download') {
      if (result !== undefined && result >= 2) return this.failWithResult(result);
      if (state === FirmwareState.DOWNLOADED) {
        this.publish({ state: 'downloaded' });
        this.state.step = 'update';
        this.host.persist(this);
        this.stopPolling();
        return this.execute();
      }
    } else if (step === 'update' || step === 'updating') {
      if (result === 1) return this.succeed();
      // 11 (deferred, object 5 1.1): the device will update later; wait.
      if (result !== undefined && result >= 2 && result !== 11) return this.failWithResult(result);
    }
  }

  private failWithResult(result: number): void {
    this.fail(`the device reported Update Result ${result} (${updateResultName(result)})`, undefined, result);
  }

  /** A request got no response: wait for the device (deregistered), retry, or fail. */
  private lost(o: RequestOutcome, what: string, retry: () => void): void {
    switch (o.kind) {
      case 'deregistered':
      case 'expired':
        return; // the device's next registration, or the deadline, decides
      case 'timeout':
        this.host.log('info', { ep: this.endpoint, jobId: this.id, step: this.state.step }, `firmware job: no answer to ${what}; trying again`);
        return retry();
      case 'failed':
        return this.fail(`${what} failed: ${o.error}`, o.code);
      default:
        return this.fail(`${what} got ${o.kind === 'reset' ? 'RST' : 'no response'}`);
    }
  }

  /** Reads /5/0 now (`now`) or every poll interval while the device's answer is awaited and nothing is observed. */
  private poll(now = false): void {
    if (now || !this.observing) this.readState();
    if (this.observing || this.pollTimer) return;
    this.pollTimer = setInterval(() => this.readState(), this.host.pollIntervalMs);
    this.pollTimer.unref();
  }

  private readState(): void {
    if (this.pollInFlight || this.over) return;
    const step = this.state.step;
    if (step !== 'download' && step !== 'update' && step !== 'updating') return this.stopPolling();
    const device = this.device();
    if (!device) return;
    this.pollInFlight = true;
    this.send(device, { type: 'read', path: INSTANCE, query: [] }, (o) => {
      this.pollInFlight = false;
      if (o.kind === 'response' && isSuccess(o.response.code)) this.took(firmwareResources(o.response.content ?? []));
    });
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private timedOut(): void {
    if (this.over) return;
    const seconds = Math.round((this.state.deadline - this.state.createdAt) / 1000);
    this.fail(`the job did not end within firmware.job_timeout (${seconds} s); it stopped at step ${this.state.step}`);
  }

  private fail(error: string, code?: string, updateResult?: number): void {
    if (this.over) return;
    this.publish({ state: 'failed', error, code, updateResult, result: updateResult === undefined ? undefined : updateResultName(updateResult) });
    this.end();
  }

  private end(): void {
    if (this.over) return;
    this.over = true;
    this.generation++;
    this.clearTimers();
    const device = this.device();
    if (this.observing && device) {
      this.send(device, { type: 'cancel-observe', path: INSTANCE, query: [] }, () => undefined);
    }
    this.host.ended(this);
  }

  private clearTimers(): void {
    clearTimeout(this.deadlineTimer);
    this.stopPolling();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private publish(fields: Omit<FirmwareEventData, 'jobId' | 'method' | 'reqID' | 'image' | 'uri'>): void {
    const s = this.state;
    const event: Record<string, unknown> = { jobId: s.id, method: s.method };
    if (s.image) event.image = s.image.name;
    if (s.uri !== undefined) event.uri = s.uri;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) event[k] = v;
    if (s.reqID !== undefined) event.reqID = s.reqID;
    this.host.publish(this, event as unknown as FirmwareEventData);
  }

  // ---- requests ----------------------------------------------------------------------------

  private device(): Device<C> | undefined {
    const device = this.host.engine.device(this.endpoint);
    return device && !device.closed ? device : undefined;
  }

  /** Queues a request on the device; `on` hears its outcome unless the job moved on meanwhile. */
  private send(device: Device<C>, op: Lwm2mOperation, on: (outcome: RequestOutcome) => void): DeviceRequest<C> {
    const ttl = Math.max(1, Math.ceil((this.state.deadline - Date.now()) / 1000));
    const request: DeviceRequest<C> = { op, ttl, transient: true, context: this.host.context, handler: this };
    this.pending.set(request, { generation: this.generation, on });
    const refusal = this.host.engine.submit(device, request);
    if (refusal) {
      // The device's queue is full (commands of others): try the step again a little later.
      this.pending.delete(request);
      if (!this.retryTimer && !this.over) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.resume(false);
        }, this.host.pollIntervalMs);
        this.retryTimer.unref();
      }
    }
    return request;
  }

  /** @internal RequestHandler */
  answered(_device: Device<C>, request: DeviceRequest<C>, outcome: RequestOutcome): void {
    const waiting = this.pending.get(request);
    this.pending.delete(request);
    if (!waiting || waiting.generation !== this.generation) return;
    waiting.on(outcome);
  }

  /** @internal RequestHandler */
  notified(_device: Device<C>, request: DeviceRequest<C>, response: Lwm2mResponse): void {
    if (request !== this.observeRequest || this.over) return;
    if (!isSuccess(response.code) || response.observe === undefined) {
      // The device ended the observation: poll from now on.
      this.observing = false;
      this.observeRequest = undefined;
      return this.poll();
    }
    this.took(firmwareResources(response.content ?? []));
  }

  /** @internal RequestHandler */
  failed(_device: Device<C>, _request: DeviceRequest<C>, err: unknown): void {
    this.host.log('warn', { ep: this.endpoint, jobId: this.id, err: err instanceof Error ? err.message : String(err) }, 'firmware job: handling an answer failed');
  }
}

/** The code an answer without a response is reported with. */
function outcomeCode(o: RequestOutcome): string {
  switch (o.kind) {
    case 'response':
      return o.response.code;
    case 'failed':
      return o.code;
    case 'timeout':
      return 'coap_timeout';
    default:
      return o.kind;
  }
}
