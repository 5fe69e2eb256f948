import { Counter, Histogram, type Registry } from 'prom-client';
import type { CommandQueueStore, CredentialStore, GatewayStore, JobStore, ObservationStore, RegistrationRecordStore, SharedClaims } from '../../lwm2m/store';

const DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * The store's latency by operation: a proxy around the opened store times each call (one promise
 * callback per store write, which happen per registration change, observation and waiting command,
 * never per notification). `all()` (restore's one pass) and `problem()`/`close()` are not timed.
 */
export class StoreTiming {
  private readonly duration = new Histogram({
    name: 'lwm2m_store_operation_duration_seconds',
    help: 'Store operations by operation (registrations_add, observations_put, commands_append, ...): time until the backend answered',
    labelNames: ['operation'],
    buckets: DURATION_BUCKETS,
    registers: [],
  });
  private readonly errors = new Counter({ name: 'lwm2m_store_operation_errors_total', help: 'Store operations that failed, by operation', labelNames: ['operation'], registers: [] });

  /** Makes the series part of `registry` (the gateway's metrics). */
  register(registry: Registry): void {
    registry.registerMetric(this.duration);
    registry.registerMetric(this.errors);
  }

  /** The store with every operation timed; undefined stays undefined (store.type memory opens none). */
  wrap(store: GatewayStore | undefined): GatewayStore | undefined {
    if (!store) return undefined;
    const r = store.registrations;
    const o = store.observations;
    const c = store.commands;
    const registrations: RegistrationRecordStore = {
      get: this.timed('registrations_get', r.get.bind(r)),
      byEndpoint: this.timed('registrations_by_endpoint', r.byEndpoint.bind(r)),
      all: () => r.all(),
      add: this.timed('registrations_add', r.add.bind(r)),
      update: this.timed('registrations_update', r.update.bind(r)),
      remove: this.timed('registrations_remove', r.remove.bind(r)),
    };
    const observations: ObservationStore = {
      get: this.timed('observations_get', o.get.bind(o)),
      byRegistration: this.timed('observations_by_registration', o.byRegistration.bind(o)),
      all: () => o.all(),
      put: this.timed('observations_put', o.put.bind(o)),
      remove: this.timed('observations_remove', o.remove.bind(o)),
      removeByRegistration: this.timed('observations_remove_by_registration', o.removeByRegistration.bind(o)),
    };
    const commands: CommandQueueStore = {
      append: this.timed('commands_append', c.append.bind(c)),
      list: this.timed('commands_list', c.list.bind(c)),
      all: () => c.all(),
      remove: this.timed('commands_remove', c.remove.bind(c)),
      removeAll: this.timed('commands_remove_all', c.removeAll.bind(c)),
    };
    const k = store.credentials;
    const credentials: CredentialStore = {
      put: this.timed('credentials_put', k.put.bind(k)),
      remove: this.timed('credentials_remove', k.remove.bind(k)),
      all: () => k.all(),
    };
    const j = store.jobs;
    const jobs: JobStore = {
      put: this.timed('jobs_put', j.put.bind(j)),
      remove: this.timed('jobs_remove', j.remove.bind(j)),
      all: () => j.all(),
    };
    const s = store.shared;
    const shared: SharedClaims | undefined = s && {
      hold: this.timed('claims_hold', s.hold.bind(s)),
      release: this.timed('claims_release', s.release.bind(s)),
      holder: this.timed('claims_holder', s.holder.bind(s)),
      once: this.timed('claims_once', s.once.bind(s)),
    };
    return { registrations, observations, commands, credentials, jobs, shared, problem: () => store.problem(), close: () => store.close() };
  }

  /** `call`, timed under `operation`; a synchronous throw stays one (and counts as an error). */
  private timed<A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    const duration = this.duration.labels(operation);
    const errors = this.errors.labels(operation);
    return (...args: A): Promise<R> => {
      const started = performance.now();
      let pending: Promise<R>;
      try {
        pending = call(...args);
      } catch (err) {
        errors.inc();
        throw err;
      }
      return pending.then(
        (value) => {
          duration.observe((performance.now() - started) / 1000);
          return value;
        },
        (err: unknown) => {
          duration.observe((performance.now() - started) / 1000);
          errors.inc();
          throw err;
        },
      );
    };
  }
}
