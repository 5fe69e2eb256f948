import { Registry, collectDefaultMetrics } from 'prom-client';
import { isHttpAuthAdmission } from '../../auth/http-auth-hook';
import type { DownlinkCommand } from '../../gateway/command-parser';
import type { Lwm2mMqttGateway } from '../../gateway/gateway';
import type { UpdateJobs } from '../../lwm2m/firmware/update-jobs';
import type { BrokerClient } from '../../mqtt/broker-client';
import type { DtlsTransport } from '../../transport/dtls-transport';
import { registerAuthMetrics } from './auth-metrics';
import { type BootstrapMetricsSource, registerBootstrapMetrics } from './bootstrap-metrics';
import { registerCoapMetrics, type CoapListeners } from './coap-metrics';
import { registerCommandMetrics } from './command-metrics';
import { registerDtlsMetrics } from './dtls-metrics';
import { registerFirmwareMetrics } from './firmware-metrics';
import { registerMqttMetrics } from './mqtt-metrics';
import { registerRegistrationMetrics } from './registration-metrics';
import type { StoreTiming } from './store-timing';

/** What the metrics are read from: the running parts of the gateway (each optional: absent, its series are). */
export interface MetricsSources {
  /** The MQTT translator: commands, and through its engine the devices and registrations (and the HTTP auth hook). */
  readonly gateway?: Lwm2mMqttGateway;
  /** The CoAP endpoint of each listener. */
  readonly coap?: CoapListeners;
  readonly dtls?: DtlsTransport;
  readonly mqtt?: BrokerClient;
  /** The timing proxy the store was opened through. */
  readonly storeTiming?: StoreTiming;
  /** The bootstrap server, when one runs. */
  readonly bootstrap?: BootstrapMetricsSource;
  /** The firmware update jobs. */
  readonly firmware?: UpdateJobs<DownlinkCommand>;
}

/** The gateway's Prometheus metrics: one prom-client registry, read at scrape time. */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  text(): Promise<string>;
}

/**
 * The registry of the gateway's metrics (`lwm2m_*`, README "Metrics") and Node's default ones
 * (`process_*`, `nodejs_*`, among them nodejs_eventloop_lag_seconds). Most series are read from
 * the counters the layers keep when scraped; only commands, registration events and auth requests
 * are counted as they happen (none of them on the notification path).
 */
export function createGatewayMetrics(sources: MetricsSources): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { gateway } = sources;
  if (gateway) {
    registerRegistrationMetrics(registry, gateway.engine);
    registerCommandMetrics(registry, gateway);
    const admission = gateway.engine.server.registrations.admissionStep;
    if (isHttpAuthAdmission(admission)) registerAuthMetrics(registry, admission);
  }
  if (sources.coap) registerCoapMetrics(registry, sources.coap);
  if (sources.dtls) registerDtlsMetrics(registry, sources.dtls);
  if (sources.mqtt) registerMqttMetrics(registry, sources.mqtt);
  sources.storeTiming?.register(registry);
  if (sources.bootstrap) registerBootstrapMetrics(registry, sources.bootstrap);
  if (sources.firmware) registerFirmwareMetrics(registry, sources.firmware);
  return { registry, contentType: registry.contentType, text: () => registry.metrics() };
}
