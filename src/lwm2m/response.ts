import type { Link } from './codec/link-format';
import type { Entry } from './node';

/**
 * A device's answer to an LwM2M operation, decoded (Leshan's typed responses, in one shape):
 * `content` for read, observe, notifications and the composite reads; `links` for discover;
 * `undecodable` when the device's payload could not be decoded (the payload is kept: never lose data).
 */
export interface Lwm2mResponse {
  /** The device's response code, e.g. "2.05". */
  readonly code: string;
  readonly content?: readonly Entry[];
  readonly links?: readonly Link[];
  readonly undecodable?: Undecodable;
  /** The Observe sequence number of an accepted observation or a notification. */
  readonly observe?: number;
  /** The device's Block1 answer to a `write-block` (the block it took, and the size it wants next). */
  readonly block1?: { readonly num: number; readonly szx: number; readonly more: boolean };
}

export interface Undecodable {
  /** The format as named to users, e.g. "SenML CBOR (112)" or "link format (40)". */
  readonly format: string;
  readonly message: string;
  readonly payload: Buffer;
}

/** A 2.xx code: the operation succeeded (the CoAP layer's test, for layers above that do not import it). */
export { isSuccessCode as isSuccess } from '../coap';
