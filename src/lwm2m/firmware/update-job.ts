import { ContentFormat } from '../codec/content-format';
import type { Device } from '../device/device';
import type { DeviceManager } from '../device/device-manager';
import type { DeviceRequest, RequestHandler, RequestOutcome } from '../device/device-request';
import type { Entry } from '../node';
import type { Lwm2mOperation } from '../operation';
import { isSuccess, type Lwm2mResponse } from '../response';
import type { JsonValue } from '../store/json';
import { targetOf, type UpdateJobState } from './update-job-state';
import { DeliveryMethod, PROTOCOL_OF_SCHEME } from './firmware-resources';
import type { TargetResources, UpdateKind, UpdateTarget } from './update-target';

/**
 * The states a job publishes: firmware (`up/firmware`) downloading, downloaded, updating; software
 * (`up/software`) downloading, delivered, installing, uninstalling, activating, deactivating; then
 * succeeded, failed or cancelled.
 */
export type UpdatePublicState = string;

/** One event of a job, as published: `{"msgType":"firmware"|"software","data":…}`. */
export interface UpdateEventData {
  readonly jobId: string;
  readonly state: UpdatePublicState;
  /** Software: install, uninstall, activate or deactivate, and the instance /9/x. */
  readonly operation?: string;
  readonly instance?: number;
  readonly forUpdate?: boolean;
  readonly method?: 'push' | 'pull';
  readonly image?: string;
  readonly uri?: string;
  /** Push: the share of the image the device has taken, 0..1. */
  readonly progress?: number;
  readonly updateResult?: number;
  readonly result?: string;
  readonly pkgName?: string;
  readonly pkgVersion?: string;
  /** Device /3/0/3 after a successful firmware update. */
  readonly firmwareVersion?: string;
  /** Software: Activation State /9/x/12 after the job. */
  readonly activationState?: boolean;
  readonly code?: string;
  readonly error?: string;
  readonly reqID?: JsonValue;
}

/** What a job needs from the service that runs it. */
export interface UpdateJobHost<C> {
  readonly engine: DeviceManager<C>;
  /** The context of every engine request a job makes (the northbound's marker for the engine's own requests). */
  context(job: UpdateJob<C>): C;
  readonly pollIntervalMs: number;
  publish(job: UpdateJob<C>, event: UpdateEventData): void;
  /** The job's state changed: write it to the store. */
  persist(job: UpdateJob<C>): void;
  /** The job is over: forget it (store, tables). */
  ended(job: UpdateJob<C>): void;
  /** The Package URI of an image the gateway serves itself, or why there is none. */
  downloadUri(job: UpdateJob<C>, device: Device<C>): { uri: string } | { problem: string };
  log(level: 'info' | 'warn', fields: Record<string, unknown>, message: string): void;
}

/** Push: a body the device lost is sent again from the start at most this often. */
const MAX_RESTARTS = 3;
/** How long stop() waits for a push block in flight. */
const STOP_WAIT_MS = 3000;
/** Push: progress is published in steps of this share of the image (and at the end). */
const PROGRESS_STEP = 0.05;


function blockBytes(szx: number): number {
  return 16 << szx;
}

function schemeOf(uri: string): string {
  const colon = uri.indexOf(':');
  return colon < 0 ? '' : uri.slice(0, colon).toLowerCase();
}

/**
 * One update job of one device, as a state machine driven by the device's answers and notifications:
 * check the target instance (object 5: State Idle, Protocol Support /5/0/8, Delivery Method /5/0/9;
 * object 9: the Update State the operation needs) → observe it (else poll it) → deliver (write
 * Package URI, or Package block by block with Block1, resumed after a loss) → wait until the package
 * is ready (Downloaded; DELIVERED) → execute (Update; Install, Uninstall, Activate, Deactivate) →
 * wait for the outcome. What differs between objects is the job's UpdateTarget.
 * Its requests go through the device's queue like any command (queue mode, one in flight) and are
 * never stored: the job's own state is, and a restarted gateway resumes from it.
 */
export class UpdateJob<C> implements RequestHandler<C> {
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
  private known: TargetResources = {};
  /** The object-specific part: instance, resources, start condition, outcomes. */
  readonly target: UpdateTarget;
  private readonly requestContext: C;

  constructor(
    private readonly host: UpdateJobHost<C>,
    readonly state: UpdateJobState,
    /** The image's bytes (push, or pull of an image served by the gateway). */
    readonly bytes: Buffer | undefined,
  ) {
    this.target = targetOf(state);
    this.requestContext = host.context(this);
    this.deadlineTimer = setTimeout(() => this.timedOut(), Math.max(0, state.deadline - Date.now()));
    this.deadlineTimer.unref();
  }

  get id(): string {
    return this.state.id;
  }

  get endpoint(): string {
    return this.state.endpoint;
  }

  get kind(): UpdateKind {
    return this.state.kind;
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
    // An operation without a package (uninstall, activate, deactivate) may have lost its execute, or
    // only its answer: the device's state decides whether it is done, else it is checked and sent again.
    if (!this.target.delivers) return this.check(this.state.step !== 'check');
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
        if (reregistered && this.target.redeliverOnReregister) {
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

  /** Cancels the job: resets the device's state machine as the target says (object 5: an empty Package URI, or Package for push-only devices). */
  cancel(): Promise<{ code: string; error?: string }> {
    this.generation++;
    const device = this.device();
    const finish = (code: string, error?: string) => {
      this.publish({ state: 'cancelled', code, error });
      this.end();
      return { code, error };
    };
    if (!device) return Promise.resolve(finish('2.04', `the device is not registered: its object ${this.target.path} was not reset`));
    const step = this.state.step;
    const reset = this.target.cancelOperation(step === 'update' || step === 'updating', this.state.method === 'push', this.known);
    if (!reset) return Promise.resolve(finish('2.04'));
    return new Promise((resolve) => {
      this.send(device, reset.op, (o) => {
        if (o.kind === 'response') resolve(finish(o.response.code, isSuccess(o.response.code) ? undefined : `the device answered ${o.response.code} to the reset of ${reset.what}`));
        else resolve(finish(outcomeCode(o), `the reset of ${reset.what} got no answer (${o.kind})`));
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

  /** Reads the target instance and starts the job from it; `resumed`: an execute may have been sent already (no package jobs). */
  private check(resumed = false): void {
    const device = this.device();
    if (!device) return;
    const path = this.target.path;
    this.send(device, { type: 'read', path: this.target.instance, query: [] }, (o) => {
      if (o.kind !== 'response') return this.lost(o, `the read of ${path}`, () => this.check(resumed));
      const res = o.response;
      if (!isSuccess(res.code)) return this.fail(`the device answered ${res.code} to a read of ${path}: it has no usable ${this.target.kind === 'firmware' ? 'Firmware Update object' : 'Software Management instance there'}`, res.code);
      const r = this.target.resources(res.content ?? []);
      this.known = r;
      if (resumed) {
        const verdict = this.target.afterExecute(r, true);
        if (verdict === 'succeeded') return this.succeed();
        if (typeof verdict === 'object') return this.failWithResult(verdict.failed);
      }
      const problem = this.mismatch(r) ?? this.target.startProblem(r);
      if (problem) return this.fail(problem);
      const now = this.device();
      if (!now) return; // its next registration resumes the job from here
      if (!this.target.delivers) {
        this.state.step = 'update';
        this.host.persist(this);
        if (!resumed) this.publish({ state: this.target.stateNames.executing });
        this.observe(now);
        return this.execute();
      }
      this.state.step = 'deliver';
      this.host.persist(this);
      this.publish({ state: 'downloading', progress: this.state.method === 'push' ? 0 : undefined });
      this.observe(now);
      this.deliver(now);
    });
  }

  /** Why the device cannot take this job's package (delivery method, protocol: object 5 says), or undefined. */
  private mismatch(r: TargetResources): string | undefined {
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

  /** Observes the target instance (State and Result notifications); polls instead when it cannot. */
  private observe(device: Device<C>): void {
    // Someone else's observation of the instance would be replaced by ours: poll instead.
    if (device.observation(this.target.path)) return;
    const request = this.send(device, { type: 'observe', path: this.target.instance, query: [] }, (o) => {
      if (o.kind === 'response' && isSuccess(o.response.code) && o.response.observe !== undefined) {
        this.observing = true;
        this.stopPolling();
        this.took(this.target.resources(o.response.content ?? []));
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
    const resourceId = this.target.packageUriResource;
    const node = { kind: 'single' as const, id: resourceId, type: 'string' as const, value: uri };
    this.send(device, { type: 'write', path: { ...this.target.instance, resourceId }, query: [], replace: true, node, format: ContentFormat.TEXT }, (o) => {
      if (o.kind !== 'response') return this.lost(o, 'the write of Package URI', () => this.resume(false));
      if (!isSuccess(o.response.code)) return this.fail(`the device answered ${o.response.code} to the write of Package URI ${this.target.path}/${resourceId}`, o.response.code);
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
    const op: Lwm2mOperation = { type: 'write-block', path: { ...this.target.instance, resourceId: this.target.packageResource }, query: [], format: ContentFormat.OPAQUE, payload, num, szx, more, size: bytes.length };
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
        this.host.log('info', { ep: this.endpoint, jobId: this.id, block: num }, `${this.kind} push: the device lost the body (4.08); sending it again from the start`);
        this.startOver();
        return this.resumeBlocks();
      }
      if (code === '4.13') return this.fail('the device refused the image as too large (4.13 Request Entity Too Large)', code);
      if (code !== '2.31' && !isSuccess(code)) return this.fail(`the device answered ${code} to block ${num} of Package ${this.target.path}/${this.target.packageResource}`, code);
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
    const { resourceId, name, args } = this.target.execute;
    this.send(device, { type: 'execute', path: { ...this.target.instance, resourceId }, query: [], args }, (o) => {
      if (o.kind === 'response' && o.response.code === '4.05' && this.target.delivers) {
        // Not (or no longer) ready: what the device says next decides.
        this.state.step = 'download';
        return this.poll(true);
      }
      if (o.kind === 'response' && !isSuccess(o.response.code)) return this.fail(`the device answered ${o.response.code} to ${name}`, o.response.code);
      if (o.kind === 'deregistered' || o.kind === 'expired' || o.kind === 'failed' || o.kind === 'reset') {
        if (o.kind === 'failed') return this.fail(`${name} failed: ${o.error}`, o.code);
        if (o.kind === 'reset') return this.fail(`the device answered ${name} with RST`);
        return;
      }
      // 2.04, or no answer: a device may reboot into the new firmware before it answers.
      this.state.step = 'updating';
      this.host.persist(this);
      if (this.target.delivers) this.publish({ state: this.target.stateNames.executing });
      this.poll(true);
    });
  }

  private succeed(): void {
    const device = this.device();
    const finish = (entries: readonly Entry[]) => {
      this.publish({ state: 'succeeded', ...this.target.successFields(entries, this.known) });
      this.end();
    };
    this.stopPolling();
    this.state.step = 'updating';
    if (!device) return finish([]);
    this.generation++;
    this.send(device, this.target.finalRead.op, (o) => {
      finish(o.kind === 'response' && isSuccess(o.response.code) ? (o.response.content ?? []) : []);
    });
  }

  // ---- what the device says --------------------------------------------------------------

  /** Values of the target instance from a read or a notification. */
  private took(r: TargetResources): void {
    if (this.over) return;
    this.known = { ...this.known, ...r };
    const step = this.state.step;
    if (step === 'download') {
      const verdict = this.target.whileDownloading(r);
      if (typeof verdict === 'object') return this.failWithResult(verdict.failed);
      if (verdict === 'ready') {
        this.publish({ state: this.target.stateNames.downloaded });
        this.state.step = 'update';
        this.host.persist(this);
        this.stopPolling();
        return this.execute();
      }
    } else if (step === 'update' || step === 'updating') {
      const verdict = this.target.afterExecute(r, step === 'updating');
      if (verdict === 'succeeded') return this.succeed();
      if (typeof verdict === 'object') return this.failWithResult(verdict.failed);
    }
  }

  private failWithResult(result: number): void {
    this.fail(`the device reported Update Result ${result} (${this.target.resultName(result)})`, undefined, result);
  }

  /** A request got no response: wait for the device (deregistered), retry, or fail. */
  private lost(o: RequestOutcome, what: string, retry: () => void): void {
    switch (o.kind) {
      case 'deregistered':
      case 'expired':
        return; // the device's next registration, or the deadline, decides
      case 'timeout':
        this.host.log('info', { ep: this.endpoint, jobId: this.id, step: this.state.step }, `${this.kind} job: no answer to ${what}; trying again`);
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
    this.send(device, { type: 'read', path: this.target.instance, query: [] }, (o) => {
      this.pollInFlight = false;
      if (o.kind === 'response' && isSuccess(o.response.code)) this.took(this.target.resources(o.response.content ?? []));
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
    this.publish({ state: 'failed', error, code, updateResult, result: updateResult === undefined ? undefined : this.target.resultName(updateResult) });
    this.end();
  }

  private end(): void {
    if (this.over) return;
    this.over = true;
    this.generation++;
    this.clearTimers();
    const device = this.device();
    if (this.observing && device) {
      this.send(device, { type: 'cancel-observe', path: this.target.instance, query: [] }, () => undefined);
    }
    this.host.ended(this);
  }

  private clearTimers(): void {
    clearTimeout(this.deadlineTimer);
    this.stopPolling();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private publish(fields: Omit<UpdateEventData, 'jobId' | 'method' | 'reqID' | 'image' | 'uri' | 'operation' | 'instance' | 'forUpdate'>): void {
    const s = this.state;
    const event: Record<string, unknown> = { jobId: s.id, ...this.target.eventFields };
    if (s.method !== undefined) event.method = s.method;
    if (s.image) event.image = s.image.name;
    if (s.uri !== undefined) event.uri = s.uri;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) event[k] = v;
    if (s.reqID !== undefined) event.reqID = s.reqID;
    this.host.publish(this, event as unknown as UpdateEventData);
  }

  // ---- requests ----------------------------------------------------------------------------

  private device(): Device<C> | undefined {
    const device = this.host.engine.device(this.endpoint);
    return device && !device.closed ? device : undefined;
  }

  /** Queues a request on the device; `on` hears its outcome unless the job moved on meanwhile. */
  private send(device: Device<C>, op: Lwm2mOperation, on: (outcome: RequestOutcome) => void): DeviceRequest<C> {
    const ttl = Math.max(1, Math.ceil((this.state.deadline - Date.now()) / 1000));
    const request: DeviceRequest<C> = { op, ttl, transient: true, context: this.requestContext, handler: this };
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
    this.took(this.target.resources(response.content ?? []));
  }

  /** @internal RequestHandler */
  failed(_device: Device<C>, _request: DeviceRequest<C>, err: unknown): void {
    this.host.log('warn', { ep: this.endpoint, jobId: this.id, err: err instanceof Error ? err.message : String(err) }, `${this.kind} job: handling an answer failed`);
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
