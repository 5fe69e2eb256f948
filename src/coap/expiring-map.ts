/** An entry that knows when it expires (milliseconds, same clock as the `now` arguments). */
export interface Expiring {
  expiresAt: number;
}

/**
 * A Map whose entries all live for the same duration, so insertion order is expiry order: expired
 * entries are swept from the front, on every insertion and on demand, with no timer per entry.
 * Refreshing an entry must go through set() (which moves it to the back) with the same duration.
 * `capacity` bounds memory under floods: the oldest entry makes room for a new one.
 * `onDrop` hears of entries dropped by expiry or capacity (not by delete/clear), so an owner that
 * accounts for what entries hold can release it.
 */
export class ExpiringMap<V extends Expiring> {
  private readonly entries = new Map<string, V>();

  constructor(
    private readonly capacity: number,
    private readonly onDrop?: (key: string, value: V) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt > now) return entry;
    this.drop(key, entry);
    return undefined;
  }

  /** Inserts at the back (re-inserting moves an existing key there, keeping the order by expiry). */
  set(key: string, value: V, now: number): void {
    this.sweep(now);
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.entries().next();
      if (!oldest.done) this.drop(oldest.value[0], oldest.value[1]);
    }
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** When the oldest entry expires (undefined when empty). */
  firstExpiry(): number | undefined {
    const first = this.entries.values().next();
    return first.done ? undefined : first.value.expiresAt;
  }

  sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.drop(key, entry);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  private drop(key: string, entry: V): void {
    this.entries.delete(key);
    if (this.onDrop !== undefined) this.onDrop(key, entry);
  }
}
