/**
 * First in, first out, in a ring that grows by doubling; a taken slot is cleared at once.
 * The command inbox's per-device backlogs and its round-robin turns (FairInbox): under sustained
 * load they are seldom empty, and an array reset only when empty would keep every handled topic
 * and payload (and the TCP chunk each payload is a view of) alive for as long as the load lasts.
 * Also each device's command queue: the ring is allocated on the first push, since most devices
 * never have a command waiting.
 */
/** The slots of every queue never pushed to: shared, and frozen since nothing may be written to it. */
const NO_SLOTS: readonly undefined[] = Object.freeze([]);

export class RingQueue<T> {
  private slots: (T | undefined)[] = NO_SLOTS as (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(
    private readonly initialCapacity = 64,
    /** Give the slots back when the queue empties (a device's command queue: most of the time empty, and memory per device counts). */
    private readonly releaseWhenEmpty = false,
  ) {
    if (!Number.isInteger(Math.log2(initialCapacity))) throw new RangeError('initialCapacity must be a power of two');
  }

  get size(): number {
    return this.count;
  }

  /** Slots allocated: 0 until the first push, then the initial capacity doubled as often as it had to grow. */
  get capacity(): number {
    return this.slots.length;
  }

  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item;
    this.count++;
  }

  /** The oldest item, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
    if (this.count === 0 && this.releaseWhenEmpty) this.release();
    return item;
  }

  private release(): void {
    this.slots = NO_SLOTS as (T | undefined)[];
    this.head = 0;
  }

  /** Whether an item satisfies `test` (oldest first; stops at the first). */
  some(test: (item: T) => boolean): boolean {
    const mask = this.slots.length - 1;
    for (let i = 0; i < this.count; i++) if (test(this.slots[(this.head + i) & mask] as T)) return true;
    return false;
  }

  /**
   * Removes, in place and in order, every item for which `remove` is true; `remove` sees each item
   * once, oldest first, and must not change the queue.
   */
  removeWhere(remove: (item: T) => boolean): void {
    const mask = this.slots.length - 1;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const item = this.slots[(this.head + i) & mask] as T;
      if (!remove(item)) this.slots[(this.head + kept++) & mask] = item;
    }
    for (let i = kept; i < this.count; i++) this.slots[(this.head + i) & mask] = undefined;
    this.count = kept;
    if (kept === 0 && this.releaseWhenEmpty) this.release();
  }

  private grow(): void {
    const old = this.slots;
    const slots = new Array<T | undefined>(Math.max(this.initialCapacity, old.length * 2));
    for (let i = 0; i < this.count; i++) slots[i] = old[(this.head + i) & (old.length - 1)];
    this.slots = slots;
    this.head = 0;
  }
}
