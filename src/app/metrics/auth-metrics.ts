import { Counter, Histogram, type Registry } from 'prom-client';
import type { AuthResult, HttpAuthAdmission } from '../../auth/http-auth-hook';

const RESULTS: readonly AuthResult[] = ['allow', 'deny', 'error', 'timeout', 'busy'];
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The HTTP auth hook's requests: how each ended, and how long the auth service took. */
export function registerAuthMetrics(registry: Registry, hook: HttpAuthAdmission): void {
  const requests = new Counter({
    name: 'lwm2m_auth_requests_total',
    help: 'Registers checked by the HTTP auth hook, by result: allow, deny (any other answer), error (HTTP error, failed request), timeout, busy (not asked: max_in_flight reached)',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of RESULTS) requests.inc({ result }, 0);
  const duration = new Histogram({ name: 'lwm2m_auth_request_duration_seconds', help: 'Time the HTTP auth service took to answer (or to time out)', buckets: DURATION_BUCKETS, registers: [registry] });
  hook.onRequestEnd = (result, seconds) => {
    requests.inc({ result });
    if (seconds !== undefined) duration.observe(seconds);
  };
}
