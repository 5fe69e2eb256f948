import { Counter, Gauge, type Registry } from 'prom-client';

/** Hands one series' current value to the metric being scraped. */
export type SeriesSink<L extends string> = (labels: Partial<Record<L, string>>, value: number) => void;

interface ReadAtScrape<L extends string> {
  readonly registry: Registry;
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
  /** Called at each scrape: reports every series from the counters a layer keeps. */
  readonly read: (sink: SeriesSink<L>) => void;
}

/** The options both kinds share: name, help, labels, registry. */
function baseOptions<L extends string>(spec: ReadAtScrape<L>): { name: string; help: string; labelNames: readonly L[]; registers: Registry[] } {
  return { name: spec.name, help: spec.help, labelNames: spec.labelNames ?? [], registers: [spec.registry] };
}

/**
 * A counter whose value is a layer's own integer, read at scrape time (prom-client `collect`): the
 * datagram path bumps a plain field and pays nothing more for the metric.
 */
export function counterReadAtScrape<L extends string>(spec: ReadAtScrape<L>): Counter<L> {
  return new Counter<L>({
    ...baseOptions(spec),
    collect() {
      this.reset();
      spec.read((labels, value) => this.inc(labels, value));
    },
  });
}

/** A gauge read at scrape time, like counterReadAtScrape (series that are gone disappear). */
export function gaugeReadAtScrape<L extends string>(spec: ReadAtScrape<L>): Gauge<L> {
  return new Gauge<L>({
    ...baseOptions(spec),
    collect() {
      this.reset();
      spec.read((labels, value) => this.set(labels, value));
    },
  });
}
