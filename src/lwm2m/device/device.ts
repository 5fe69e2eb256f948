import type { Lwm2mExchange } from '../exchange';
import type { Registration } from '../registration/registration';
import type { DeviceRequest } from './device-request';
import { RingQueue } from './ring-queue';

/** An observation the engine holds open on a device. */
export interface ActiveObservation<C> {
  /** The observed path, or `composite:` + the sorted paths of a composite observation. */
  readonly key: string;
  /** The paths of a composite observation (as given, normalised). */
  readonly paths?: readonly string[];
  readonly exchange: Lwm2mExchange;
  /** The observe request that made it: its context and handler receive the notifications. */
  readonly request: DeviceRequest<C>;
}

/** What the engine keeps per registered device: its request queue, in-flight state and observations. */
export class Device<C> {
  /** Requests waiting to be sent, oldest first, with when each was queued; bounded by the engine. */
  readonly queue = new RingQueue<QueuedRequest<C>>(8);
  /** Created with the first observation: most devices are never observed, and memory per idle device counts. */
  private observationMap: Map<string, ActiveObservation<C>> | undefined;
  inFlight = false;
  /** `ttl: 0` requests sent past the queue and not yet settled: bounded like the queue. */
  directInFlight = 0;
  /** The engine is sending from the queue: a request released meanwhile does not start another pass. */
  dispatching = false;
  /** Just registered: nothing is sent until the registration's answer has gone out. */
  held = true;
  closed = false;
  lastSeen = Date.now();

  constructor(public reg: Registration) {}

  get endpoint(): string {
    return this.reg.endpoint;
  }

  observation(key: string): ActiveObservation<C> | undefined {
    return this.observationMap?.get(key);
  }

  setObservation(o: ActiveObservation<C>): void {
    (this.observationMap ??= new Map()).set(o.key, o);
  }

  /** Removes an observation (when it is still the one given, if given); returns it. */
  takeObservation(key: string, only?: Lwm2mExchange): ActiveObservation<C> | undefined {
    const o = this.observationMap?.get(key);
    if (!o || (only !== undefined && o.exchange !== only)) return undefined;
    this.observationMap?.delete(key);
    return o;
  }

  /** The active observations, in the order they were made. */
  observations(): ActiveObservation<C>[] {
    return this.observationMap ? [...this.observationMap.values()] : [];
  }

  /** Forgets every observation locally (the next notification of each is answered by RST); returns them. */
  cancelObservations(): ActiveObservation<C>[] {
    if (!this.observationMap) return [];
    const all = [...this.observationMap.values()];
    for (const o of all) o.exchange.cancel();
    this.observationMap = undefined;
    return all;
  }

  /** Any message from the device: it is awake (queue mode) for the window that follows. */
  touch(now = Date.now()): void {
    this.lastSeen = now;
  }

  isAwake(now: number, windowSeconds: number): boolean {
    return !this.reg.queueMode || now - this.lastSeen <= windowSeconds * 1000;
  }

  /** After a lost exchange a queue-mode device is taken to be asleep until it speaks again. */
  markAsleep(): void {
    this.lastSeen = 0;
  }
}

export interface QueuedRequest<C> {
  readonly request: DeviceRequest<C>;
  readonly enqueuedAt: number;
  /** Its record in the store, while it waits there (persistent stores only). */
  storeId?: string;
  /** It has left the queue (sent, expired or answered). */
  gone?: boolean;
}
