/**
 * First in, first out, in a ring that grows by doubling; a taken slot is cleared at once.
 * The gateway's command inbox: under sustained load it is seldom empty, and an array reset only
 * when empty would keep every handled topic and payload (and the TCP chunk each payload is a view
 * of) alive for as long as the load lasts.
 */
export class RingQueue<T> {
  private slots: (T | undefined)[] = new Array<T | undefined>(64);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item;
    this.count++;
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
    return item;
  }

  private grow(): void {
    const old = this.slots;
    const slots = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) slots[i] = old[(this.head + i) & (old.length - 1)];
    this.slots = slots;
    this.head = 0;
  }
}
