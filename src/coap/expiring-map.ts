/** An entry that knows when it expires (milliseconds, same clock as the `now` arguments). */
export interface Expiring {
  expiresAt: number;
}

/**
 * A Map whose entries all live for the same duration, so insertion order is expiry order: expired
 * entries are swept from the front, on every insertion and on demand, with no timer per entry.
 * `capacity` bounds memory under floods: the oldest entry makes room for a new one.
 */
export class ExpiringMap<V extends Expiring> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt > now) return entry;
    this.entries.delete(key);
    return undefined;
  }

  /** Inserts at the back (re-inserting moves an existing key there, keeping the order by expiry). */
  set(key: string, value: V, now: number): void {
    this.sweep(now);
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
