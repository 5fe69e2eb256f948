import type { JsonValue } from './json';

/** A downlink command waiting for its (queue-mode) device to wake up. */
export interface QueuedCommandRecord {
  /** Unique across endpoints. */
  readonly id: string;
  readonly endpoint: string;
  /** When it was queued (ms since epoch). */
  readonly enqueuedAt: number;
  /** Seconds it may wait (mheaders.ttl). */
  readonly ttl: number;
  /** Opaque to the stores: the command as the northbound wants it back. */
  readonly payload: JsonValue;
}

/** Commands per endpoint, in the order appended. Records are immutable as in `RegistrationRecordStore`. */
export interface CommandQueueStore {
  /** Appends at the end of the endpoint's queue; an id already queued is refused (throws). */
  append(record: QueuedCommandRecord): Promise<void>;
  /** The endpoint's queue, oldest first. */
  list(endpoint: string): Promise<readonly QueuedCommandRecord[]>;
  remove(id: string): Promise<QueuedCommandRecord | undefined>;
  /** Empties the endpoint's queue; returns how many commands it held. */
  removeAll(endpoint: string): Promise<number>;
}
