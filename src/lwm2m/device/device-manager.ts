import { EventEmitter } from 'node:events';
import { CodecError } from '../codec/codec-error';
import { compositeObservationKey } from '../composite';
import type { Lwm2mExchange } from '../exchange';
import type { Lwm2mServer } from '../lwm2m-server';
import type { Entry } from '../node';
import type { Lwm2mOperation } from '../operation';
import { formatPath } from '../path';
import type { Registration } from '../registration/registration';
import { fromRegistrationRecord } from '../registration/registration-record';
import { isSuccess, type Lwm2mResponse } from '../response';
import type { GatewayStore, ObservationRecord, QueuedCommandRecord, RegistrationRecord, SharedClaims } from '../store';
import { Device, type ActiveObservation, type QueuedRequest } from './device';
import { DevicePersistence, type ContextCodec, type StoreFailure } from './device-persistence';
import type { DeviceRequest, RequestOutcome, RequestRefusal } from './device-request';
import { RequestExchange, ResumedObservation, type RequestExchangeHost } from './request-exchange';

export interface DeviceManagerOptions {
  /** Seconds a queue-mode device counts as awake after its last message (qmode_time_window). */
  qmodeTimeWindow: number;
  /** Requests waiting per device (and `ttl: 0` requests in flight); more are refused 5.03. */
  maxQueuedRequests: number;
  /** How often queued requests are checked for their ttl, ms. */
  expirySweepMs?: number;
  /**
   * Where registrations, observations and waiting requests are written so that a restarted
   * gateway takes its devices back (`restore`); none: state lives in memory only (store.type memory).
   */
  store?: GatewayStore;
  /** A store write failed (the engine goes on from memory). */
  onStoreError?: StoreFailure;
  /**
   * This instance's name among those sharing the store (store.instance): its registrations carry
   * it, and at restart it takes back only its own. Unused with a store of its own (embedded).
   */
  instance?: string;
}

/** How instances sharing a store (Redis) coordinate: this one's name and the store's claims. */
export interface Sharing {
  readonly instance: string;
  readonly claims: SharedClaims;
}

/** What `restore` took back from the store. */
export interface RestoreSummary {
  registrations: number;
  observations: number;
  commands: number;
  /** Observations and commands the northbound no longer accepts (dropped from the store). */
  dropped: number;
}

/** Devices `restore` builds between two yields to the event loop (so that a large restore never blocks it for long). */
const RESTORE_YIELD_EVERY = 1000;

const EXPIRED: RequestOutcome = Object.freeze({ kind: 'expired' });
const REPLACED: RequestOutcome = Object.freeze({ kind: 'deregistered', reason: 'replaced' });

/** The key of the observation an observe-type operation makes or ends; undefined for other operations. */
export function observationKey(op: Lwm2mOperation): string | undefined {
  switch (op.type) {
    case 'observe':
    case 'cancel-observe':
      return formatPath(op.path);
    case 'observe-composite':
    case 'cancel-observe-composite':
      return compositeObservationKey(op.paths);
    default:
      return undefined;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function dispatchLater<C>(manager: DeviceManager<C>, device: Device<C>): void {
  manager.dispatch(device);
}

/**
 * The device-management engine every northbound uses (MQTT today, HTTP and jobs next): per-device
 * request queues (one request in flight, queue mode, time-to-live, a bound), observations matched
 * to the request that made them, and the registration events. Northbounds submit typed requests
 * and hear typed outcomes (`RequestHandler`); they never see CoAP.
 *
 * Emits `registered` (device, replaced?: Registration), `updated` (device, carriedLinks),
 * `deregistered` (reg, reason, device?) before the requests that waited are answered,
 * and `send` (device, entries) for an LwM2M Send.
 */
export class DeviceManager<C> extends EventEmitter implements RequestExchangeHost<C> {
  private readonly devices = new Map<string, Device<C>>();
  /** The device of a registration just replaced: its waiting requests pass to the new one. */
  private handover: Device<C> | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  private persistence: DevicePersistence<C> | undefined;
  /** Notifications handed to their request's handler since start (metrics: the northbound publishes each). */
  notificationsForwarded = 0;

  constructor(
    readonly server: Lwm2mServer,
    readonly options: DeviceManagerOptions,
  ) {
    super();
    server.on('registered', (reg: Registration, replaced?: Registration) => this.onRegistered(reg, replaced));
    server.on('updated', (reg: Registration, carriedLinks: boolean) => this.onUpdated(reg, carriedLinks));
    server.on('deregistered', (reg: Registration, reason: string) => this.onDeregistered(reg, reason));
    server.on('send', (reg: Registration, entries: Entry[]) => this.onSend(reg, entries));
    this.sweepTimer = setInterval(() => this.expireQueued(Date.now()), options.expirySweepMs ?? 1000);
    this.sweepTimer.unref();
  }

  device(endpoint: string): Device<C> | undefined {
    return this.devices.get(endpoint);
  }

  get size(): number {
    return this.devices.size;
  }

  all(): IterableIterator<Device<C>> {
    return this.devices.values();
  }

  /**
   * Makes the engine's state persistent (with `options.store`): the northbound says how its request
   * data is stored and who hears restored requests. Call before `restore` and before devices speak.
   */
  useContextCodec(codec: ContextCodec<C>): void {
    const store = this.options.store;
    if (store) this.persistence = new DevicePersistence(store, codec, this.options.onStoreError ?? (() => undefined), this.options.instance);
  }

  /** Set when several instances share the store: northbounds use it to answer only for their devices. */
  get sharing(): Sharing | undefined {
    const claims = this.options.store?.shared;
    return claims ? { instance: this.options.instance ?? 'gateway', claims } : undefined;
  }

  /** Ends every device's exchanges locally; what the store holds stays for the next start. */
  close(): void {
    clearInterval(this.sweepTimer);
    for (const device of this.devices.values()) this.closeDevice(device);
  }

  /**
   * Takes back the registrations, observations and waiting requests a previous process stored:
   * devices' Updates find their registration, notifications of their observations are taken (not
   * answered by RST) and reach the restored request's handler, and waiting requests go when their
   * device speaks. No events for the registrations themselves (nothing changed for the device);
   * `restored` (device) tells northbounds of each. The LwM2M server holds requests meanwhile.
   */
  async restore(): Promise<RestoreSummary> {
    const summary: RestoreSummary = { registrations: 0, observations: 0, commands: 0, dropped: 0 };
    const p = this.persistence;
    if (!p) return summary;
    const work = (async () => {
      const store = p.store;
      // Each collection is read once, in one pass (not one or two reads per registration).
      // With a shared store, other instances' devices are theirs: only this instance's come back.
      const mine = (record: RegistrationRecord) => !store.shared || record.owner === this.options.instance;
      const registrations: RegistrationRecord[] = [];
      const observations = new Map<string, ObservationRecord[]>();
      for await (const record of store.registrations.all()) {
        if (!mine(record)) continue;
        registrations.push(record);
        observations.set(record.id, []);
      }
      const orphans: string[] = [];
      for await (const o of store.observations.all()) {
        const list = observations.get(o.registrationId);
        if (list) list.push(o);
        // Another instance's (shared store) or of no registration at all: only the latter goes, and
        // only from a store of this process's own (a shared one may be mid-change by another instance).
        else if (!store.shared) orphans.push(o.token);
      }
      const endpoints = new Set(registrations.map((r) => r.endpoint));
      const commands = new Map<string, QueuedCommandRecord[]>();
      for await (const c of store.commands.all()) {
        // Each endpoint's come in queue order. Those of endpoints not restored here stay in the store.
        if (!endpoints.has(c.endpoint)) continue;
        const list = commands.get(c.endpoint);
        if (list) list.push(c);
        else commands.set(c.endpoint, [c]);
      }
      for (const token of orphans) store.observations.remove(token).catch(() => undefined);
      for (let i = 0; i < registrations.length; i++) {
        if (i > 0 && i % RESTORE_YIELD_EVERY === 0) await new Promise(setImmediate);
        const record = registrations[i];
        this.restoreOne(p, record, observations.get(record.id) ?? [], commands.get(record.endpoint) ?? [], summary);
      }
    })();
    this.server.holdUntil(work);
    await work;
    return summary;
  }

  /** Builds the device of a stored registration with its observations (any order) and commands (queue order). */
  private restoreOne(p: DevicePersistence<C>, record: RegistrationRecord, stored: ObservationRecord[], commands: readonly QueuedCommandRecord[], summary: RestoreSummary): void {
    // Oldest first, as they were made (a later observation of the same key replaces an earlier one).
    const observations = stored.length > 1 ? stored.sort((a, b) => a.createdAt - b.createdAt) : stored;
    const reg = fromRegistrationRecord(record);
    this.server.restoreRegistration(reg);
    const device = new Device<C>(reg);
    device.held = false;
    // A queue-mode device counts as awake as long after its last Update as after any message; a
    // DTLS device must first handshake again and speak.
    if (reg.peer.identity) device.waitForDevice();
    else device.lastSeen = reg.lastUpdate;
    this.devices.set(reg.endpoint, device);
    summary.registrations++;
    for (const o of observations) {
      const revived = p.codec.revive(o.context, reg);
      const key = revived && observationKey(revived.op);
      const request: DeviceRequest<C> | undefined = revived && { op: revived.op, ttl: revived.ttl, auto: revived.auto, context: revived.context, handler: p.codec.handler };
      const exchange = request && key !== undefined ? this.server.resumeObservation(reg, request.op, Buffer.from(o.token, 'hex'), new ResumedObservation(this, device, request)) : undefined;
      if (!request || key === undefined || !exchange) {
        summary.dropped++;
        p.store.observations.remove(o.token).catch(() => undefined);
        continue;
      }
      device.setObservation({ key, paths: o.composite ? o.paths : undefined, exchange, request });
      summary.observations++;
    }
    for (const c of commands) {
      const revived = p.codec.revive(c.payload, reg);
      if (!revived) {
        summary.dropped++;
        p.store.commands.remove(c.id).catch(() => undefined);
        continue;
      }
      const request: DeviceRequest<C> = { op: revived.op, ttl: c.ttl < 0 ? Number.POSITIVE_INFINITY : c.ttl, auto: revived.auto, context: revived.context, handler: p.codec.handler };
      device.queue.push({ request, enqueuedAt: c.enqueuedAt, storeId: c.id });
      summary.commands++;
    }
    this.emit('restored', device);
    if (device.queue.size > 0) setImmediate(dispatchLater, this, device);
  }

  // ---- registration events --------------------------------------------------------------

  private onRegistered(reg: Registration, replaced?: Registration): void {
    const device = new Device<C>(reg);
    const old = replaced && this.handover?.reg === replaced ? this.handover : undefined;
    this.handover = undefined;
    if (old) {
      // The device rebooted: its waiting requests go on to the new registration (auto requests are
      // the northbound's to make anew; a job's are answered, and the job starts over).
      for (let q = old.queue.shift(); q !== undefined; q = old.queue.shift()) {
        if (q.request.transient) this.answer(old, q.request, REPLACED);
        else if (!q.request.auto) device.queue.push(q);
      }
    }
    this.devices.set(reg.endpoint, device);
    this.persistence?.registered(reg);
    this.emit('registered', device, replaced);
    // Requests go out after the 2.01 has been sent.
    setImmediate(() => {
      device.held = false;
      this.dispatch(device);
    });
  }

  private current(reg: Registration): Device<C> | undefined {
    const device = this.devices.get(reg.endpoint);
    return device && device.reg === reg ? device : undefined;
  }

  private onUpdated(reg: Registration, carriedLinks: boolean): void {
    const device = this.current(reg);
    if (!device) return;
    device.touch();
    this.persistence?.updated(reg);
    this.emit('updated', device, carriedLinks);
    setImmediate(dispatchLater, this, device);
  }

  /** LwM2M Send: the device is awake, so its queue may go. */
  private onSend(reg: Registration, entries: Entry[]): void {
    const device = this.current(reg);
    if (!device) return;
    device.touch();
    this.emit('send', device, entries);
    setImmediate(dispatchLater, this, device);
  }

  private onDeregistered(reg: Registration, reason: string): void {
    const device = this.current(reg);
    this.persistence?.deregistered(reg);
    this.emit('deregistered', reg, reason, device);
    if (!device) return;
    this.devices.delete(reg.endpoint);
    if (reason === 'replaced') this.handover = device;
    else {
      const outcome: RequestOutcome = { kind: 'deregistered', reason };
      for (let q = device.queue.shift(); q !== undefined; q = device.queue.shift()) {
        this.leave(q);
        if (!q.request.auto) this.answer(device, q.request, outcome);
      }
    }
    this.closeDevice(device);
  }

  private closeDevice(device: Device<C>): void {
    device.closed = true;
    device.cancelObservations();
  }

  // ---- requests --------------------------------------------------------------------------

  /** How many more requests the device's queue takes. */
  room(device: Device<C>): number {
    return Math.max(0, this.options.maxQueuedRequests - device.queue.size);
  }

  /**
   * Queues a request (or, with `ttl: 0`, sends it at once past the queue). A request beyond the
   * bounds is refused here (5.03) and never answered through its handler.
   */
  submit(device: Device<C>, request: DeviceRequest<C>): RequestRefusal | undefined {
    const max = this.options.maxQueuedRequests;
    if (request.ttl === 0) {
      if (device.directInFlight >= max) return { code: '5.03', error: `endpoint ${device.endpoint} has too many mheaders.ttl 0 commands in flight (lwm2m.max_queued_commands: ${max})` };
      this.send(device, request, false);
      return undefined;
    }
    if (device.queue.size >= max) return { code: '5.03', error: `endpoint ${device.endpoint} has a full command queue (lwm2m.max_queued_commands: ${max})` };
    const q: QueuedRequest<C> = { request, enqueuedAt: Date.now() };
    device.queue.push(q);
    this.dispatch(device);
    // Only a request that waits is written down: one sent at once costs the store nothing.
    if (!q.gone && this.persistence) this.persistence.waiting(device.endpoint, q);
    return undefined;
  }

  /** Ends every observation of the device locally (reactive cancellation, RFC 7641 §3.6); returns how many. */
  cancelObservations(device: Device<C>): number {
    const ended = device.cancelObservations();
    for (const o of ended) this.persistence?.unobserved(o);
    return ended.length;
  }

  private unobserved(o: ActiveObservation<C> | undefined): void {
    if (o) this.persistence?.unobserved(o);
  }

  /** A queued request leaves its queue (sent, expired, answered). */
  private leave(q: QueuedRequest<C>): void {
    q.gone = true;
    this.persistence?.left(q);
  }

  private isExpired(q: QueuedRequest<C>, now: number): boolean {
    return now - q.enqueuedAt > q.request.ttl * 1000;
  }

  /** Answers `expired` every queued request past its ttl. @internal (tests call it with a later `now`) */
  expireQueued(now: number): void {
    for (const device of this.devices.values()) {
      if (device.queue.size === 0) continue;
      // Taken out first and answered after, so that the queue is consistent whatever an answer does.
      let expired: QueuedRequest<C>[] | undefined;
      device.queue.removeWhere((q) => {
        if (!this.isExpired(q, now)) return false;
        (expired ??= []).push(q);
        return true;
      });
      if (expired) {
        for (const q of expired) {
          this.leave(q);
          this.answer(device, q.request, EXPIRED);
        }
      }
    }
  }

  /** Answers a request that never reached the device; a handler that throws gets `failed`. */
  private answer(device: Device<C>, request: DeviceRequest<C>, outcome: RequestOutcome): void {
    try {
      request.handler.answered(device, request, outcome, 0);
    } catch (err) {
      request.handler.failed(device, request, err, false);
    }
  }

  /**
   * Sends the next queued request when nothing is in flight and the device is awake. A loop, not
   * recursion: a request that fails at once releases its slot inside send(), and the loop goes on.
   * @internal
   */
  dispatch(device: Device<C>): void {
    if (device.dispatching || device.held) return;
    device.dispatching = true;
    try {
      const now = Date.now();
      while (!device.inFlight && !device.closed) {
        const head = device.queue.peek();
        if (head === undefined) return;
        if (this.isExpired(head, now)) {
          device.queue.shift();
          this.leave(head);
          this.answer(device, head.request, EXPIRED);
          continue;
        }
        if (!device.isAwake(now, this.options.qmodeTimeWindow)) return;
        device.queue.shift();
        this.leave(head);
        this.send(device, head.request, true);
      }
    } finally {
      device.dispatching = false;
    }
  }

  /** Starts the request's exchange; a failure to start answers it and frees its slot (never throws). */
  private send(device: Device<C>, request: DeviceRequest<C>, counted: boolean): void {
    const listener = new RequestExchange(this, device, request, counted);
    try {
      let op = request.op;
      if (op.type === 'cancel-observe' || op.type === 'cancel-observe-composite') {
        // RFC 7641 §3.6: the deregistering GET (FETCH for a composite) carries the observation's token.
        // The local exchange is forgotten first so that the token is free; a notification in between
        // is answered by RST.
        const observation = device.takeObservation(observationKey(op) as string);
        if (observation) {
          observation.exchange.cancel();
          this.unobserved(observation);
          op = { ...op, token: observation.exchange.token };
        }
      }
      listener.exchange = this.server.send(device.reg, op, listener);
    } catch (err) {
      listener.fail('4.00', err instanceof CodecError ? `cannot encode: ${err.message}` : messageOf(err));
    }
  }

  // ---- RequestExchangeHost -----------------------------------------------------------------

  /** @internal */
  released(device: Device<C>): void {
    this.dispatch(device);
  }

  /** @internal */
  observed(device: Device<C>, listener: RequestExchange<C>): void {
    const exchange = listener.exchange as Lwm2mExchange;
    const op = listener.request.op;
    const key = observationKey(op) as string;
    const previous = device.observation(key);
    if (previous && previous.exchange !== exchange) {
      previous.exchange.cancel();
      this.unobserved(previous);
    }
    const paths = op.type === 'observe-composite' ? op.paths.map(formatPath) : undefined;
    const observation = listener.asObservation(key, paths);
    device.setObservation(observation);
    this.persistence?.observed(device.reg, observation);
  }

  /** @internal */
  notification(device: Device<C>, request: DeviceRequest<C>, res: Lwm2mResponse): void {
    if (device.closed) return;
    this.notificationsForwarded++;
    request.handler.notified(device, request, res);
    // By the device's code: a notification that could not be decoded keeps the observation.
    if (!isSuccess(res.code) || res.observe === undefined) {
      const key = observationKey(request.op);
      if (key !== undefined) this.unobserved(device.takeObservation(key));
    }
  }

  /** @internal */
  forgetObservation(device: Device<C>, request: DeviceRequest<C>, exchange: Lwm2mExchange | undefined): void {
    if (request.op.type !== 'observe' && request.op.type !== 'observe-composite') return;
    if (exchange === undefined) return;
    this.unobserved(device.takeObservation(observationKey(request.op) as string, exchange));
  }
}
