import type { Lwm2mExchange, Lwm2mExchangeListener } from '../exchange';
import { isSuccess, type Lwm2mResponse } from '../response';
import type { ActiveObservation, Device } from './device';
import type { DeviceRequest, RequestOutcome } from './device-request';

/** What a request's exchange reports back to the engine. */
export interface RequestExchangeHost<C> {
  /** The request no longer counts as in flight: the next one may go (NSTART 1). */
  released(device: Device<C>): void;
  /** The device accepted the observation `listener` asked for (before the request's answer goes out); its `exchange` is set. */
  observed(device: Device<C>, listener: RequestExchange<C>): void;
  /** A notification came; the engine forwards it and ends the observation when it says so. */
  notification(device: Device<C>, request: DeviceRequest<C>, res: Lwm2mResponse): void;
  /** The observation `exchange` made (if any) is over: reset, timeout or transfer failure. */
  forgetObservation(device: Device<C>, request: DeviceRequest<C>, exchange: Lwm2mExchange | undefined): void;
}

// RequestExchange.flags
const DONE = 1;
/** The request has had its outcome: later events concern its observation only. */
const SETTLED = 2;
const ACKNOWLEDGED = 4;
const COUNTED = 8;

const ACK: RequestOutcome = Object.freeze({ kind: 'ack' });
const RESET: RequestOutcome = Object.freeze({ kind: 'reset' });

/** A notification to its observation's handler; a handler that throws gets `failed` (notification). */
function notify<C>(host: RequestExchangeHost<C>, device: Device<C>, request: DeviceRequest<C>, response: Lwm2mResponse): void {
  device.touch();
  try {
    host.notification(device, request, response);
  } catch (err) {
    request.handler.failed(device, request, err, true);
  }
}

function isObserve(request: DeviceRequest<unknown>): boolean {
  return request.op.type === 'observe' || request.op.type === 'observe-composite';
}

/**
 * One request on its way to a device and back: the LwM2M exchange's listener. One object per
 * request instead of a set of closures, since it sits on the command path. Whatever its outcome,
 * and whatever throws while it is handled, the request gets one answer and its in-flight slot is freed.
 */
export class RequestExchange<C> implements Lwm2mExchangeListener {
  exchange: Lwm2mExchange | undefined;
  /**
   * Set once the device accepted the observation: this object is then also the device's
   * ActiveObservation (asObservation()), which saves an object of its own per observation (56 B,
   * measured at 10k observed devices, issue 11: memory per observed device).
   */
  key: string | undefined = undefined;
  paths: readonly string[] | undefined = undefined;
  /** DONE | SETTLED | ACKNOWLEDGED | COUNTED in one number: four booleans cost 24 B more per request (and per observation, which keeps it). */
  private flags: number;
  /** performance.now() when the request was handed to the CoAP layer, for the round trip. */
  private readonly sentAt = performance.now();

  constructor(
    private readonly host: RequestExchangeHost<C>,
    private readonly device: Device<C>,
    readonly request: DeviceRequest<C>,
    /** False for `ttl: 0` requests, which bypass the queue and do not hold the in-flight slot. */
    counted: boolean,
  ) {
    this.flags = counted ? COUNTED : 0;
    if (counted) device.inFlight = true;
    else device.directInFlight++;
  }

  /** This exchange as the device's observation of `key` (once the device accepted it). */
  asObservation(key: string, paths: readonly string[] | undefined): ActiveObservation<C> {
    this.key = key;
    this.paths = paths;
    return this as ActiveObservation<C>;
  }

  /** Frees the device's in-flight slot once: on the ACK or the final outcome, whichever is first. */
  private release(): void {
    if ((this.flags & DONE) !== 0) return;
    this.flags |= DONE;
    if ((this.flags & COUNTED) !== 0) {
      this.device.inFlight = false;
      this.host.released(this.device);
    } else {
      this.device.directInFlight--;
    }
  }

  /** Hands the outcome to the request's handler; if that throws, the handler's `failed` answers instead. Then frees the slot. */
  private settle(outcome: RequestOutcome): void {
    const { handler } = this.request;
    this.flags |= SETTLED;
    try {
      handler.answered(this.device, this.request, outcome, Math.round((performance.now() - this.sentAt) * 10) / 10);
    } catch (err) {
      handler.failed(this.device, this.request, err, false);
    } finally {
      this.release();
    }
  }

  onAck(): void {
    this.flags |= ACKNOWLEDGED;
    this.device.touch();
    this.settle(ACK);
  }

  onResponse(response: Lwm2mResponse): void {
    this.device.touch();
    // By the device's code: an observation whose first payload could not be decoded is still made.
    if (isObserve(this.request) && response.observe !== undefined && this.exchange && isSuccess(response.code)) {
      this.host.observed(this.device, this);
    }
    this.settle({ kind: 'response', response });
  }

  onResponseFailed(err: Error): void {
    this.host.forgetObservation(this.device, this.request, this.exchange);
    try {
      this.request.handler.failed(this.device, this.request, err, false);
    } finally {
      this.release();
    }
  }

  onNotification(response: Lwm2mResponse): void {
    notify(this.host, this.device, this.request, response);
  }

  onNotificationFailed(err: Error): void {
    this.request.handler.failed(this.device, this.request, err, true);
  }

  onReset(): void {
    this.host.forgetObservation(this.device, this.request, this.exchange);
    this.settle(RESET);
  }

  onTimeout(): void {
    this.host.forgetObservation(this.device, this.request, this.exchange);
    // A queue-mode device that does not answer has gone back to sleep.
    if (this.device.reg.queueMode) this.device.markAsleep();
    this.settle({ kind: 'timeout', acknowledged: (this.flags & ACKNOWLEDGED) !== 0 });
  }

  onError(err: Error): void {
    // After an accepted observation, an error is one lost notification (a block-wise transfer that
    // failed): the observation stays, and the request, already answered, is not answered again.
    if ((this.flags & SETTLED) !== 0) {
      this.request.handler.failed(this.device, this.request, err, true);
      return;
    }
    this.host.forgetObservation(this.device, this.request, this.exchange);
    this.fail('5.00', err.message);
  }

  /** Answers the request with an error of the engine's own and frees the slot. */
  fail(code: string, error: string): void {
    this.settle({ kind: 'failed', code, error });
  }
}

/**
 * The listener of an observation taken back after a restart: its request was answered by the
 * previous process, so only notifications (and lost ones) remain; anything else ends it locally.
 */
export class ResumedObservation<C> implements Lwm2mExchangeListener {
  constructor(
    private readonly host: RequestExchangeHost<C>,
    private readonly device: Device<C>,
    private readonly request: DeviceRequest<C>,
  ) {}

  onResponse(response: Lwm2mResponse): void {
    this.onNotification(response);
  }

  onResponseFailed(err: Error): void {
    this.onNotificationFailed(err);
  }

  onNotification(response: Lwm2mResponse): void {
    notify(this.host, this.device, this.request, response);
  }

  onNotificationFailed(err: Error): void {
    this.request.handler.failed(this.device, this.request, err, true);
  }

  onError(err: Error): void {
    this.onNotificationFailed(err);
  }
}
