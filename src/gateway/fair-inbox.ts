import { RingQueue } from '../lwm2m/device/ring-queue';

/**
 * The gateway's command inbox, fair across devices: a FIFO per key (the device's mountpoint
 * prefix), taken round-robin, one item per key per turn, over the keys with items waiting. One
 * device's backlog delays another device's command by at most one item per other waiting key,
 * while each device's commands keep their order (the contract executes them in order).
 *
 * A single FIFO let one MQTT client's burst (soak: 2,500 reads for one device every 5 s) delay
 * every other device's commands behind the whole burst: legit read p99 112 ms under attack and
 * 275 ms within 1 s after a burst, against 6 ms without attack.
 *
 * Bounded three ways; `push` says which bound refused an item, and the caller answers it:
 * items per key, items in all, and bytes in all (as `sizeOf` counts them).
 */
export interface FairInboxLimits {
  /** Items waiting per key. */
  readonly perKey: number;
  /** Items waiting in all. */
  readonly items: number;
  /** Bytes waiting in all, as `sizeOf` counts them. */
  readonly bytes: number;
}

/** Why `push` refused an item: its key's backlog is full, or the inbox as a whole is. */
export type InboxRefusal = 'key-full' | 'inbox-full';

/** The items waiting for one key. */
interface Backlog<T> {
  key: string;
  readonly items: RingQueue<T>;
}

/**
 * Each key's ring starts this small: at 5k reads/s over thousands of devices a key seldom holds
 * more than one command, and a backlog is made (or taken from the spares) whenever one arrives.
 */
const BACKLOG_INITIAL_CAPACITY = 4;
/**
 * Emptied backlogs kept for reuse, so that a steady flow of one command per device allocates no
 * backlog per command; a ring that grew past this capacity (a burst) is left to the GC instead.
 */
const SPARE_BACKLOGS = 64;
const SPARE_MAX_CAPACITY = 64;

export class FairInbox<T> {
  /** The keys with items waiting; a key is removed as soon as its last item is taken. */
  private readonly backlogs = new Map<string, Backlog<T>>();
  /** The same backlogs in round-robin order: the head's oldest item is taken next. */
  private readonly turns = new RingQueue<Backlog<T>>();
  private readonly spares: Backlog<T>[] = [];
  private count = 0;
  private byteCount = 0;

  constructor(
    private readonly limits: FairInboxLimits,
    private readonly sizeOf: (item: T) => number,
  ) {}

  /** Items waiting in all. */
  get size(): number {
    return this.count;
  }

  /** Bytes waiting in all, as `sizeOf` counts them. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Keys with items waiting. */
  get keys(): number {
    return this.backlogs.size;
  }

  /** Appends the item to its key's FIFO; undefined when accepted, else the bound that refused it (nothing is kept). */
  push(key: string, item: T): InboxRefusal | undefined {
    const bytes = this.sizeOf(item);
    if (this.count >= this.limits.items || this.byteCount + bytes > this.limits.bytes) return 'inbox-full';
    let backlog = this.backlogs.get(key);
    if (backlog === undefined) {
      backlog = this.spares.pop() ?? { key, items: new RingQueue<T>(BACKLOG_INITIAL_CAPACITY) };
      backlog.key = key;
      this.backlogs.set(key, backlog);
      this.turns.push(backlog);
    } else if (backlog.items.size >= this.limits.perKey) {
      return 'key-full';
    }
    backlog.items.push(item);
    this.count++;
    this.byteCount += bytes;
    return undefined;
  }

  /** The oldest item of the key whose turn it is, removed; undefined when empty. */
  shift(): T | undefined {
    const backlog = this.turns.shift();
    if (backlog === undefined) return undefined;
    const item = backlog.items.shift() as T;
    this.count--;
    this.byteCount -= this.sizeOf(item);
    if (backlog.items.size > 0) {
      this.turns.push(backlog);
    } else {
      this.backlogs.delete(backlog.key);
      if (this.spares.length < SPARE_BACKLOGS && backlog.items.capacity <= SPARE_MAX_CAPACITY) {
        backlog.key = '';
        this.spares.push(backlog);
      }
    }
    return item;
  }
}
