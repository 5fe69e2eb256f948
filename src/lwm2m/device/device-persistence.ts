import { randomBytes } from 'node:crypto';
import type { Lwm2mOperation } from '../operation';
import type { Registration } from '../registration/registration';
import { toRegistrationRecord } from '../registration/registration-record';
import type { GatewayStore, JsonValue, ObservationRecord, RegistrationRecord } from '../store';
import type { ActiveObservation, QueuedRequest } from './device';
import type { RequestHandler } from './device-request';

/** A request as the northbound wants it back after a restart. */
export interface RevivedRequest<C> {
  readonly op: Lwm2mOperation;
  readonly ttl: number;
  readonly context: C;
  readonly auto?: boolean;
}

/**
 * How a northbound's request data is stored and brought back: the engine stores `toJson(context)`
 * with each waiting request and observation and, after a restart, asks `revive` for the request
 * (undefined: it no longer stands, e.g. the model changed; it is dropped with a log line).
 * Restored requests report to `handler`.
 */
export interface ContextCodec<C> {
  toJson(context: C): JsonValue;
  revive(json: JsonValue, reg: Registration): RevivedRequest<C> | undefined;
  readonly handler: RequestHandler<C>;
}

/** Where the engine reports a store failure (the engine goes on from memory). */
export type StoreFailure = (what: string, err: unknown) => void;

/**
 * Writes the engine's state through to a GatewayStore as it changes: registrations, observations
 * (by token) and the requests that wait in a queue. Writes are not awaited: the store runs them in
 * order (each backend serialises its changes), and nothing on the notification path writes at all.
 */
export class DevicePersistence<C> {
  private idPrefix = randomBytes(6).toString('hex');
  private idCounter = 0;

  constructor(
    readonly store: GatewayStore,
    readonly codec: ContextCodec<C>,
    private readonly failed: StoreFailure,
    /** Written into each registration record (owner) when given. */
    private readonly instance?: string,
  ) {}

  private record(reg: Registration): RegistrationRecord {
    const record = toRegistrationRecord(reg);
    return this.instance === undefined ? record : { ...record, owner: this.instance };
  }

  private run(what: string, change: Promise<unknown>): void {
    change.catch((err: unknown) => this.failed(what, err));
  }

  registered(reg: Registration): void {
    this.run('registration add', this.store.registrations.add(this.record(reg)));
  }

  updated(reg: Registration): void {
    this.run('registration update', this.store.registrations.update(this.record(reg)));
  }

  /**
   * The registration ended: its record and observations go. Its waiting commands go one by one as
   * the engine answers them (`left`), or pass to the replacing registration (same endpoint); never
   * all of the endpoint's at once, which with a shared store could be another instance's.
   */
  deregistered(reg: Registration): void {
    this.run('registration remove', this.store.registrations.remove(reg.id));
    this.run('observation remove', this.store.observations.removeByRegistration(reg.id));
  }

  observed(reg: Registration, o: ActiveObservation<C>): void {
    if (o.request.transient) return;
    const op = o.request.op;
    const record: ObservationRecord = {
      token: o.exchange.token.toString('hex'),
      registrationId: reg.id,
      endpoint: reg.endpoint,
      paths: o.paths ?? [o.key],
      composite: o.paths !== undefined,
      ...('accept' in op && op.accept !== undefined ? { contentFormat: op.accept } : {}),
      context: this.codec.toJson(o.request.context),
      createdAt: Date.now(),
    };
    this.run('observation put', this.store.observations.put(record));
  }

  unobserved(o: ActiveObservation<C>): void {
    this.run('observation remove', this.store.observations.remove(o.exchange.token.toString('hex')));
  }

  /** A request that stays in the queue (its device sleeps, or another is in flight) is written down. */
  waiting(endpoint: string, q: QueuedRequest<C>): void {
    if (q.storeId !== undefined || q.request.transient) return;
    q.storeId = `${this.idPrefix}-${(this.idCounter++).toString(36)}`;
    this.run(
      'command append',
      this.store.commands.append({ id: q.storeId, endpoint, enqueuedAt: q.enqueuedAt, ttl: Number.isFinite(q.request.ttl) ? q.request.ttl : -1, payload: this.codec.toJson(q.request.context) }),
    );
  }

  /** A request left the queue (sent, expired, answered): its record goes. */
  left(q: QueuedRequest<C>): void {
    if (q.storeId === undefined) return;
    this.run('command remove', this.store.commands.remove(q.storeId));
    q.storeId = undefined;
  }
}
