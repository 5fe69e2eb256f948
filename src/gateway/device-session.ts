import type { OutgoingExchange } from '../coap';
import type { Registration } from '../lwm2m/registration/registration';
import type { DownlinkCommand, JsonObject } from './command-parser';

export interface QueuedCommand {
  cmd: DownlinkCommand;
  enqueuedAt: number;
}

export interface Observation {
  exchange: OutgoingExchange;
  /** The observe command's fields, echoed in every notification. */
  fields: JsonObject;
  reqPath: string | null;
  path: string;
}

/** What the gateway keeps per registered device: its topics, command queue and observations. */
export class DeviceSession {
  readonly queue: QueuedCommand[] = [];
  readonly observations = new Map<string, Observation>();
  inFlight = false;
  closed = false;
  lastSeen = Date.now();

  constructor(
    public reg: Registration,
    /** The rendered mountpoint: every topic of this device starts with it. */
    readonly prefix: string,
  ) {}

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
