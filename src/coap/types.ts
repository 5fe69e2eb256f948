import type { Peer } from '../transport/transport';
import type { CoapMethod } from './codes';
import type { CoapOption } from './options';

/** A request as the application sends it (outbound) or receives it (inbound). */
export interface CoapRequest {
  method: CoapMethod;
  /** Decoded segments, e.g. ['rd'] or ['3', '0', '1']. */
  uriPath: string[];
  /** e.g. ['ep=dev1', 'lt=300']. */
  uriQuery?: string[];
  contentFormat?: number;
  accept?: number;
  /** 0 register, 1 deregister (RFC 7641). */
  observe?: number;
  payload?: Buffer;
  /** Outbound only, default true. */
  confirmable?: boolean;
  /** Other options, raw: outbound they are sent as given; inbound, the elective ones this layer does not map. */
  options?: CoapOption[];
  /**
   * Outbound: the token to use instead of a fresh one, when it is not taken by an open exchange.
   * RFC 7641 §3.6 deregisters an observation with a GET (Observe 1) that carries its token.
   */
  token?: Buffer;
}

export interface InboundRequest extends CoapRequest {
  peer: Peer;
  /**
   * The block of the answer the peer asks for (RFC 7959 Block2), when it asks for one past the first:
   * the answer is cut from the handler's whole response, so a handler whose answer must not change
   * between blocks (it is built fresh each time) serves these from what it answered before.
   */
  block2Num?: number;
  /** Reassembled when it came block-wise (Block1). */
  payload: Buffer;
  confirmable: boolean;
  messageId: number;
  token: Buffer;
}

export interface CoapResponse {
  /** "2.05" */
  code: string;
  contentFormat?: number;
  observe?: number;
  locationPath?: string[];
  /** Reassembled when it came block-wise (Block2). */
  payload: Buffer;
  /** Any extra options (raw), e.g. Max-Age, Size1, ETag. */
  options?: CoapOption[];
}

export interface ExchangeListener {
  /** Empty ACK: a separate response will follow. */
  onAck?(): void;
  /** The (first) response; for an accepted observe request (response carries Observe) the exchange stays open. */
  onResponse(res: CoapResponse): void;
  /** Later notifications, in order (stale ones dropped per RFC 7641 §3.4). CON notifications are ACKed by the endpoint. */
  onNotification?(res: CoapResponse): void;
  /** The peer answered RST. */
  onReset?(): void;
  /** Retransmissions exhausted, or no (separate) response within the exchange lifetime. */
  onTimeout?(): void;
  /** e.g. a block-wise failure, or a request that could not be encoded. */
  onError?(err: Error): void;
}

export interface OutgoingExchange {
  readonly token: Buffer;
  /** Forget the token (an observation ends: its next notification is answered by RST) and stop retransmitting. No callback follows. */
  cancel(): void;
}

export type RequestHandler = (req: InboundRequest) => CoapResponse | Promise<CoapResponse>;
