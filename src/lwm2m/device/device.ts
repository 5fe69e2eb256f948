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

/** lastSeen of a device that must speak before anything is sent to it. */
const MUST_SPEAK_FIRST = -1;

// Device.flags
const IN_FLIGHT = 1;
const DISPATCHING = 2;
const HELD = 4;
const CLOSED = 8;

/** What the engine keeps per registered device: its request queue, in-flight state and observations. */
export class Device<C> {
  /** Requests waiting to be sent, oldest first, with when each was queued; bounded by the engine. */
  readonly queue = new RingQueue<QueuedRequest<C>>(8, true);
  /**
   * The observations, in the order they were made. Most devices have none or one: the first lives
   * in a field, a Map is made only for a second (a Map for one entry costs ~210 bytes per device).
   */
  private single: ActiveObservation<C> | undefined;
  private observationMap: Map<string, ActiveObservation<C>> | undefined;
  /**
   * inFlight, dispatching, held and closed (accessors below) as bits of one number: four boolean
   * fields cost 24 B more per device (issue 11: memory per device, ~1.1 KB per idle device at 10k).
   */
  private flags = HELD;
  /** `ttl: 0` requests sent past the queue and not yet settled: bounded like the queue. */
  directInFlight = 0;
  lastSeen = Date.now();
  /**
   * The engine's user's own label for the device (the MQTT gateway: its topic prefix); the engine
   * does not read it. A field rather than a WeakMap on the user's side: an ephemeron table entry
   * cost ~30 B more per device at 10k (issue 11: memory per device), and it is read per notification.
   */
  label: string | undefined = undefined;

  constructor(public reg: Registration) {}

  /** A queued request is in flight (NSTART 1). */
  get inFlight(): boolean {
    return (this.flags & IN_FLIGHT) !== 0;
  }

  set inFlight(on: boolean) {
    this.flags = on ? this.flags | IN_FLIGHT : this.flags & ~IN_FLIGHT;
  }

  /** The engine is sending from the queue: a request released meanwhile does not start another pass. */
  get dispatching(): boolean {
    return (this.flags & DISPATCHING) !== 0;
  }

  set dispatching(on: boolean) {
    this.flags = on ? this.flags | DISPATCHING : this.flags & ~DISPATCHING;
  }

  /** Just registered: nothing is sent until the registration's answer has gone out. */
  get held(): boolean {
    return (this.flags & HELD) !== 0;
  }

  set held(on: boolean) {
    this.flags = on ? this.flags | HELD : this.flags & ~HELD;
  }

  get closed(): boolean {
    return (this.flags & CLOSED) !== 0;
  }

  set closed(on: boolean) {
    this.flags = on ? this.flags | CLOSED : this.flags & ~CLOSED;
  }

  get endpoint(): string {
    return this.reg.endpoint;
  }

  observation(key: string): ActiveObservation<C> | undefined {
    if (this.observationMap) return this.observationMap.get(key);
    return this.single?.key === key ? this.single : undefined;
  }

  /** Adds an observation, or replaces the one with the same key (in its place). */
  setObservation(o: ActiveObservation<C>): void {
    if (this.observationMap) this.observationMap.set(o.key, o);
    else if (this.single === undefined || this.single.key === o.key) this.single = o;
    else {
      this.observationMap = new Map([[this.single.key, this.single]]);
      this.observationMap.set(o.key, o);
      this.single = undefined;
    }
  }

  /** Removes an observation (when it is still the one given, if given); returns it. */
  takeObservation(key: string, only?: Lwm2mExchange): ActiveObservation<C> | undefined {
    const o = this.observation(key);
    if (!o || (only !== undefined && o.exchange !== only)) return undefined;
    if (this.observationMap) this.observationMap.delete(key);
    else this.single = undefined;
    return o;
  }

  /** The active observations, in the order they were made. */
  observations(): ActiveObservation<C>[] {
    if (this.observationMap) return [...this.observationMap.values()];
    return this.single ? [this.single] : [];
  }

  /** Forgets every observation locally (the next notification of each is answered by RST); returns them. */
  cancelObservations(): ActiveObservation<C>[] {
    // Not this.observations(): closing must not depend on a method a caller may stub (see test/unit/gateway/command-path.test.ts).
    const all = this.observationMap ? [...this.observationMap.values()] : this.single ? [this.single] : [];
    for (const o of all) o.exchange.cancel();
    this.observationMap = undefined;
    this.single = undefined;
    return all;
  }

  /** Any message from the device: it is awake (queue mode) for the window that follows. */
  touch(now = Date.now()): void {
    this.lastSeen = now;
  }

  isAwake(now: number, windowSeconds: number): boolean {
    if (this.lastSeen === MUST_SPEAK_FIRST) return false;
    return !this.reg.queueMode || now - this.lastSeen <= windowSeconds * 1000;
  }

  /**
   * Nothing is sent until the device speaks (restored over DTLS: its session died with the old
   * process, so a request now would be dropped unsent and time out; the device handshakes again
   * and its next message, an Update, opens the way).
   */
  waitForDevice(): void {
    this.lastSeen = MUST_SPEAK_FIRST;
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
