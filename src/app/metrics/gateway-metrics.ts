import { Registry, collectDefaultMetrics } from 'prom-client';

/** What the metrics are read from (being built: the layers' counters). */
export interface MetricsSources {
  readonly prefix?: string;
}

/** The gateway's Prometheus metrics: one prom-client registry, read at scrape time. */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  text(): Promise<string>;
}

export function createGatewayMetrics(_sources: MetricsSources): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { registry, contentType: registry.contentType, text: () => registry.metrics() };
}
