import type { Lwm2mOperation } from '../operation';
import type { Lwm2mResponse } from '../response';
import type { Device } from './device';

/**
 * An operation a northbound (MQTT, HTTP, a job) asks the engine to carry out on a device, with the
 * northbound's own data (`context`, opaque to the engine) and who hears how it ends.
 */
export interface DeviceRequest<C> {
  readonly op: Lwm2mOperation;
  /**
   * Seconds the request may wait in the device's queue before it is answered `expired`;
   * `Infinity` waits as long as the registration lasts; 0 goes out at once, past the queue
   * (and does not hold the device's in-flight slot).
   */
  readonly ttl: number;
  /** Made by the engine's user on the device's behalf (auto-observe): not carried over to a new registration, dropped silently. */
  readonly auto?: boolean;
  /**
   * Made by a job of the engine (a firmware update), which re-issues it from its own stored state:
   * never written to the store, and answered `deregistered` rather than carried over when the
   * device registers anew.
   */
  readonly transient?: boolean;
  readonly context: C;
  readonly handler: RequestHandler<C>;
}

/** How a request ended; every request gets exactly one. */
export type RequestOutcome =
  /** The device's answer, decoded. */
  | { readonly kind: 'response'; readonly response: Lwm2mResponse }
  /** A non-confirmable operation's empty ACK: the device took it, no response will follow. */
  | { readonly kind: 'ack' }
  | { readonly kind: 'reset' }
  /** No answer: `acknowledged` when an empty ACK came but no separate response after it. */
  | { readonly kind: 'timeout'; readonly acknowledged: boolean }
  /** The engine's own failure (cannot encode: 4.00; transfer failure: 5.00). */
  | { readonly kind: 'failed'; readonly code: string; readonly error: string }
  /** It waited in the queue longer than its ttl. */
  | { readonly kind: 'expired' }
  /** The registration ended while it waited. */
  | { readonly kind: 'deregistered'; readonly reason: string };

/** A request the engine refuses at once, with the CoAP code the northbound answers. */
export interface RequestRefusal {
  readonly code: string;
  readonly error: string;
}

/** Where a request's outcome (and, for an observation, its notifications) go. */
export interface RequestHandler<C> {
  answered(device: Device<C>, request: DeviceRequest<C>, outcome: RequestOutcome, rttMs: number): void;
  /** A notification of the observation `request` made. */
  notified(device: Device<C>, request: DeviceRequest<C>, response: Lwm2mResponse): void;
  /** Handling an outcome or a notification threw: the handler answers it as best it can (must not throw). */
  failed(device: Device<C>, request: DeviceRequest<C>, err: unknown, notification: boolean): void;
}
