import type { Logger } from 'pino';
import type { CoapResponse, ExchangeListener, OutgoingExchange } from '../coap';
import type { DownlinkCommand, JsonObject } from './command-parser';
import type { DeviceSession } from './device-session';
import { responseData, type ResponseData } from './uplink-messages';

/** What a command's exchange reports back to the gateway. */
export interface CommandExchangeHost {
  answer(session: DeviceSession, cmd: DownlinkCommand, msgType: unknown, data: ResponseData | JsonObject, seqNum?: number): void;
  onCommandResponse(session: DeviceSession, cmd: DownlinkCommand, res: CoapResponse, exchange: OutgoingExchange | undefined): void;
  onNotification(session: DeviceSession, cmd: DownlinkCommand, res: CoapResponse): void;
  forgetObservation(session: DeviceSession, cmd: DownlinkCommand, exchange: OutgoingExchange | undefined): void;
  /** Handling the command's outcome (or a notification) threw: answers it 5.00. */
  failed(session: DeviceSession, cmd: DownlinkCommand, err: unknown, notification: boolean): void;
  /** The command no longer counts as in flight: the next one may go (NSTART 1). */
  released(session: DeviceSession): void;
  /**
   * The device did not answer (the command is answered coap_timeout next): no ACK after the
   * retransmissions (`acknowledged` false), or no separate response after its empty ACK.
   */
  timedOut(session: DeviceSession, cmd: DownlinkCommand, acknowledged: boolean): void;
  /** Where each answered command gets its debug line; undefined when debug is off (asked once per answer). */
  debugLog(): Logger | undefined;
}

/** How a command's exchange ended, in its debug line. */
export type CommandOutcome = 'response' | 'ack' | 'coap_reset' | 'coap_timeout' | 'error';

/**
 * One command on its way to a device and back: the CoAP exchange's listener. One object per
 * command instead of a set of closures, since it sits on the MQTT → device → MQTT path.
 * Whatever its outcome, and whatever throws while it is handled, the command gets one answer and
 * its in-flight slot is freed.
 */
export class CommandExchange implements ExchangeListener {
  exchange: OutgoingExchange | undefined;
  private done = false;
  private acknowledged = false;
  /** performance.now() when the command was handed to the CoAP layer, for the round trip. */
  private readonly sentAt = performance.now();

  constructor(
    private readonly host: CommandExchangeHost,
    private readonly session: DeviceSession,
    private readonly cmd: DownlinkCommand,
    /** False for `ttl: 0` commands, which bypass the queue and do not hold the in-flight slot. */
    private readonly counted: boolean,
  ) {
    if (counted) session.inFlight = true;
    else session.directInFlight++;
  }

  /** Frees the device's in-flight slot once: on the ACK or the final outcome, whichever is first. */
  release(): void {
    if (this.done) return;
    this.done = true;
    if (this.counted) {
      this.session.inFlight = false;
      this.host.released(this.session);
    } else {
      this.session.directInFlight--;
    }
  }

  /**
   * Publishes the command's answer for `outcome` (a response `res`, or the gateway's own error
   * `code` + `error`); if building it throws (so before publishing, as the host's publishing never
   * throws), answers 5.00 instead. Then frees the slot. A switch, not a callback: no closure per answer.
   */
  private settle(outcome: CommandOutcome, res?: CoapResponse, code?: string, error?: string): void {
    try {
      switch (outcome) {
        case 'response':
          this.host.onCommandResponse(this.session, this.cmd, res as CoapResponse, this.exchange);
          break;
        case 'coap_timeout':
          this.host.timedOut(this.session, this.cmd, this.acknowledged);
          this.echo(outcome);
          break;
        case 'error':
          this.host.answer(this.session, this.cmd, this.cmd.msgType, responseData(this.cmd.reqPath, code as string, { error }));
          break;
        default:
          this.echo(outcome);
      }
    } catch (err) {
      this.host.failed(this.session, this.cmd, err, false);
      outcome = 'error';
      code = '5.00';
    } finally {
      this.release();
    }
    this.trace(outcome, code);
  }

  /** The debug line of an answer: never the command's values (they may be secrets), and nothing built unless debug is on. */
  private trace(outcome: CommandOutcome, code: string | undefined): void {
    const log = this.host.debugLog();
    if (log === undefined) return;
    const rttMs = Math.round((performance.now() - this.sentAt) * 10) / 10;
    log.debug({ ep: this.session.reg.endpoint, msgType: this.cmd.msgType, path: this.cmd.reqPath, outcome, code, rttMs }, 'command answered');
  }

  /** The command itself, with its data, reqPath added and msgType replaced (ack, coap_reset, coap_timeout). */
  private echo(msgType: string): void {
    const data = this.cmd.fields.data;
    const original = typeof data === 'object' && data !== null ? (data as JsonObject) : {};
    this.host.answer(this.session, this.cmd, msgType, { ...original, reqPath: this.cmd.reqPath });
  }

  onAck(): void {
    this.acknowledged = true;
    this.session.touch();
    this.settle('ack');
  }

  onResponse(res: CoapResponse): void {
    this.session.touch();
    this.settle('response', res, res.code);
  }

  onNotification(res: CoapResponse): void {
    this.session.touch();
    try {
      this.host.onNotification(this.session, this.cmd, res);
    } catch (err) {
      this.host.failed(this.session, this.cmd, err, true);
    }
  }

  onReset(): void {
    this.host.forgetObservation(this.session, this.cmd, this.exchange);
    this.settle('coap_reset');
  }

  onTimeout(): void {
    this.host.forgetObservation(this.session, this.cmd, this.exchange);
    // A queue-mode device that does not answer has gone back to sleep.
    if (this.session.reg.queueMode) this.session.markAsleep();
    this.settle('coap_timeout');
  }

  onError(err: Error): void {
    this.host.forgetObservation(this.session, this.cmd, this.exchange);
    this.fail('5.00', err.message);
  }

  /** Answers the command with an error of the gateway's own and frees the slot. */
  fail(code: string, error: string): void {
    this.settle('error', undefined, code, error);
  }
}
