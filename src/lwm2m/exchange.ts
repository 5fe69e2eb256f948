import type { CoapResponse, ExchangeListener } from '../coap';
import type { ModelLookup } from './model/types';
import type { Lwm2mOperation } from './operation';
import { decodeResponse } from './response-decoder';
import type { Lwm2mResponse } from './response';

/** What happens to an operation sent to a device, in LwM2M terms (the CoAP exchange's events, decoded). */
export interface Lwm2mExchangeListener {
  /** Empty ACK: a separate response will follow. */
  onAck?(): void;
  /** The (first) response; for an accepted observation (`observe` set) the exchange stays open. */
  onResponse(res: Lwm2mResponse): void;
  /** The response could not be handled (a decoding failure that is not the codec's: a bug); the exchange is over. */
  onResponseFailed(err: Error): void;
  /** Later notifications of an observation, in order. */
  onNotification?(res: Lwm2mResponse): void;
  /** A notification could not be handled (a failure that is not the codec's); the observation stays. */
  onNotificationFailed?(err: Error): void;
  /** The device answered RST. */
  onReset?(): void;
  /** No answer: retransmissions exhausted, or no separate response within the exchange lifetime. */
  onTimeout?(): void;
  /** A transfer failure (block-wise), or a failure to decode that is not the codec's (a bug). */
  onError?(err: Error): void;
}

/** An operation on its way: its token, and a way to forget it (ends an observation locally). */
export interface Lwm2mExchange {
  readonly token: Buffer;
  cancel(): void;
}

/** Decodes a CoAP exchange's responses for an LwM2M listener. One object per operation, no closures. */
export class DecodingListener implements ExchangeListener {
  constructor(
    private readonly op: Lwm2mOperation,
    private readonly model: ModelLookup,
    private readonly listener: Lwm2mExchangeListener,
  ) {}

  onAck(): void {
    this.listener.onAck?.();
  }

  onResponse(res: CoapResponse): void {
    let decoded: Lwm2mResponse;
    try {
      decoded = decodeResponse(this.op, res, this.model);
    } catch (err) {
      this.listener.onResponseFailed(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.listener.onResponse(decoded);
  }

  onNotification(res: CoapResponse): void {
    let decoded: Lwm2mResponse;
    try {
      decoded = decodeResponse(this.op, res, this.model);
    } catch (err) {
      this.listener.onNotificationFailed?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.listener.onNotification?.(decoded);
  }

  onReset(): void {
    this.listener.onReset?.();
  }

  onTimeout(): void {
    this.listener.onTimeout?.();
  }

  onError(err: Error): void {
    this.listener.onError?.(err);
  }
}
