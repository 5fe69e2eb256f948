import { Counter, type Registry } from 'prom-client';
import type { BootstrapEvent, BootstrapServer } from '../../lwm2m/bootstrap/bootstrap-server';
import { gaugeReadAtScrape } from './read-at-scrape';

const STATUSES = ['started', 'finished', 'failed'] as const;
const STEPS = ['request', 'discover', 'read', 'delete', 'write', 'finish', 'pack'] as const;

/** What the bootstrap metrics read: the server, and the count of PSKs it added to the DTLS listener. */
export interface BootstrapMetricsSource {
  readonly server: BootstrapServer;
  readonly provisioned?: { readonly size: number };
}

/**
 * The bootstrap server: sessions open now, bootstraps started, finished and failed by step (from its
 * events: a few per device and bootstrap, never on the notification path), requests refused before a
 * session by CoAP code, and the PSKs it provisioned. Labels are bounded (no endpoint names).
 */
export function registerBootstrapMetrics(registry: Registry, source: BootstrapMetricsSource): void {
  const { server } = source;
  gaugeReadAtScrape({
    registry,
    name: 'lwm2m_bootstrap_sessions',
    help: 'Bootstraps running now (or waiting for their configuration)',
    read: (sink) => sink({}, server.sessions),
  });
  const bootstraps = new Counter({
    name: 'lwm2m_bootstraps_total',
    help: 'Bootstraps by status (started, finished, failed) and step (request: refused before a session; discover, read, delete, write, finish; pack: Bootstrap-Pack)',
    labelNames: ['status', 'step'],
    registers: [registry],
  });
  for (const status of STATUSES) bootstraps.inc({ status, step: status === 'finished' ? 'finish' : 'request' }, 0);
  server.on('bootstrap', (event: BootstrapEvent) => {
    const step = (STEPS as readonly string[]).includes(event.step) ? event.step : 'other';
    bootstraps.inc({ status: event.status, step });
  });
  const refused = new Counter({
    name: 'lwm2m_bootstrap_requests_refused_total',
    help: 'Bootstrap requests refused before their endpoint could be named (no ep, a name that cannot be a topic, over bootstrap.request_rate, a wrong method), by CoAP code',
    labelNames: ['code'],
    registers: [registry],
  });
  server.on('refused', (_peer: unknown, code: string) => refused.inc({ code: /^[45]\.[0-9]{2}$/.test(code) ? code : 'other' }));
  const provisioned = source.provisioned;
  if (provisioned) {
    gaugeReadAtScrape({
      registry,
      name: 'lwm2m_bootstrap_provisioned_psks',
      help: 'Endpoints with a PSK the bootstrap server added to the DTLS listener (bootstrap.max_provisioned bounds it)',
      read: (sink) => sink({}, provisioned.size),
    });
  }
}
