/**
 * Counts requests in flight to a slow service (the auth and bootstrap hooks), in total and per source
 * address, so that one source's devices cannot take every slot from the others. The per-source table
 * holds only sources with a request in flight, so it is bounded by `maxTotal`.
 */
export class InFlightLimit {
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    readonly maxTotal: number,
    readonly maxPerSource: number,
  ) {}

  get inFlight(): number {
    return this.total;
  }

  /** Takes a slot for `source`; which bound is reached when none is left (nothing is taken then). */
  enter(source: string): 'total' | 'source' | undefined {
    if (this.total >= this.maxTotal) return 'total';
    const fromSource = this.bySource.get(source) ?? 0;
    if (fromSource >= this.maxPerSource) return 'source';
    this.total++;
    this.bySource.set(source, fromSource + 1);
    return undefined;
  }

  /** Gives back a slot `enter` took. */
  leave(source: string): void {
    this.total--;
    const left = (this.bySource.get(source) ?? 1) - 1;
    if (left > 0) this.bySource.set(source, left);
    else this.bySource.delete(source);
  }
}
