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
  /**
   * Every queued command (restart: one pass instead of one `list` per endpoint). Endpoints come in
   * no particular order and may interleave, but each endpoint's commands come in queue order (oldest
   * first, as `list` gives them), so a caller may push them onto its queues as they arrive. Changes
   * made while iterating may or may not be seen; removing is safe.
   */
  all(): AsyncIterable<QueuedCommandRecord>;
  remove(id: string): Promise<QueuedCommandRecord | undefined>;
  /** Empties the endpoint's queue; returns how many commands it held. */
  removeAll(endpoint: string): Promise<number>;
}
