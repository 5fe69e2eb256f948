/**
 * A string-keyed table for entries that come and go by the thousand per second (open exchanges,
 * CON messages awaiting their ACK), over a dictionary-mode object rather than a Map.
 *
 * Why: when a V8 Map rehashes, its old backing table keeps its entries and a link to the new table
 * (for live iterators). Once one table is in the old generation, every later table and every value
 * the tables held are kept alive by dead old-generation tables across scavenges and get promoted
 * ("nepotism"); with a few entries open and thousands passing through per second, each scavenge
 * promoted every request's whole state. Measured in the bench at 5k reads/s: 0.9 MB promoted per
 * scavenge, 3-4 ms scavenges, a mark-compact every few seconds; with this table the promoted
 * bytes are those of the requests actually open. Dictionary objects rehash without such links.
 */
export class ChurnTable<V> {
  private entries: Record<string, V> = Object.create(null) as Record<string, V>;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return this.entries[key];
  }

  has(key: string): boolean {
    return this.entries[key] !== undefined;
  }

  set(key: string, value: V): void {
    if (this.entries[key] === undefined) this.count++;
    this.entries[key] = value;
  }

  delete(key: string): void {
    if (this.entries[key] === undefined) return;
    delete this.entries[key];
    this.count--;
  }

  values(): V[] {
    const out: V[] = [];
    for (const key in this.entries) out.push(this.entries[key]);
    return out;
  }

  clear(): void {
    this.entries = Object.create(null) as Record<string, V>;
    this.count = 0;
  }
}
