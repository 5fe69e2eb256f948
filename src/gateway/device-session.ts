import type { OutgoingExchange } from '../coap';
import type { Registration } from '../lwm2m/registration/registration';
import type { DownlinkCommand, JsonObject } from './command-parser';
import { RingQueue } from './ring-queue';

export interface QueuedCommand {
  cmd: DownlinkCommand;
  enqueuedAt: number;
}

export interface Observation {
  exchange: OutgoingExchange;
  /** The observe command's fields, echoed in every notification. */
  fields: JsonObject;
  reqPath: string | null;
  /** The observation's key: the observed path, or `composite:` + the sorted paths of a composite observation. */
  path: string;
  /** The paths of a composite observation (as given, normalised). */
  paths?: string[];
}

/** What the gateway keeps per registered device: its topics, command queue and observations. */
export class DeviceSession {
  /** Commands waiting to be sent, oldest first; at most `maxQueuedCommands` (the gateway refuses more). */
  readonly queue = new RingQueue<QueuedCommand>(8);
  /** Created with the first observation: most devices are never observed, and memory per idle device counts. */
  private observationMap: Map<string, Observation> | undefined;
  inFlight = false;
  /** `ttl: 0` commands sent past the queue and not yet settled: bounded like the queue. */
  directInFlight = 0;
  /** The gateway is sending from the queue: a command released meanwhile does not start another pass. */
  dispatching = false;
  closed = false;
  lastSeen = Date.now();

  constructor(
    public reg: Registration,
    /** The rendered mountpoint: every topic of this device starts with it. */
    readonly prefix: string,
  ) {}

  observation(path: string): Observation | undefined {
    return this.observationMap?.get(path);
  }

  setObservation(o: Observation): void {
    (this.observationMap ??= new Map()).set(o.path, o);
  }

  /** The active observations, in the order they were made. */
  observationList(): Observation[] {
    return this.observationMap ? [...this.observationMap.values()] : [];
  }

  deleteObservation(path: string): void {
    this.observationMap?.delete(path);
  }

  /** Forgets every observation locally (the next notification of each is answered by RST). */
  cancelObservations(): void {
    if (!this.observationMap) return;
    for (const o of this.observationMap.values()) o.exchange.cancel();
    this.observationMap = undefined;
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
