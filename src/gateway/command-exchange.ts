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
  /** The command no longer counts as in flight: the next one may go (NSTART 1). */
  released(session: DeviceSession): void;
}

/**
 * One command on its way to a device and back: the CoAP exchange's listener. One object per
 * command instead of a set of closures, since it sits on the MQTT → device → MQTT path.
 */
export class CommandExchange implements ExchangeListener {
  exchange: OutgoingExchange | undefined;
  private done = false;

  constructor(
    private readonly host: CommandExchangeHost,
    private readonly session: DeviceSession,
    private readonly cmd: DownlinkCommand,
    /** False for `ttl: 0` commands, which bypass the queue and do not hold the in-flight slot. */
    private readonly counted: boolean,
  ) {
    if (counted) session.inFlight = true;
  }

  /** Frees the device's in-flight slot once: on the ACK or the final outcome, whichever is first. */
  release(): void {
    if (this.done) return;
    this.done = true;
    if (this.counted) {
      this.session.inFlight = false;
      this.host.released(this.session);
    }
  }

  /** The command itself, with its data, reqPath added and msgType replaced (ack, coap_reset, coap_timeout). */
  private echo(msgType: string): void {
    const data = this.cmd.fields.data;
    const original = typeof data === 'object' && data !== null ? (data as JsonObject) : {};
    this.host.answer(this.session, this.cmd, msgType, { ...original, reqPath: this.cmd.reqPath });
  }

  onAck(): void {
    this.session.touch();
    this.echo('ack');
    this.release();
  }

  onResponse(res: CoapResponse): void {
    this.session.touch();
    this.host.onCommandResponse(this.session, this.cmd, res, this.exchange);
    this.release();
  }

  onNotification(res: CoapResponse): void {
    this.session.touch();
    this.host.onNotification(this.session, this.cmd, res);
  }

  onReset(): void {
    this.echo('coap_reset');
    this.host.forgetObservation(this.session, this.cmd, this.exchange);
    this.release();
  }

  onTimeout(): void {
    this.echo('coap_timeout');
    this.host.forgetObservation(this.session, this.cmd, this.exchange);
    // A queue-mode device that does not answer has gone back to sleep.
    if (this.session.reg.queueMode) this.session.markAsleep();
    this.release();
  }

  onError(err: Error): void {
    this.fail('5.00', err.message);
    this.host.forgetObservation(this.session, this.cmd, this.exchange);
  }

  /** Answers the command with an error of the gateway's own and frees the slot. */
  fail(code: string, error: string): void {
    this.host.answer(this.session, this.cmd, this.cmd.msgType, responseData(this.cmd.reqPath, code, { error }));
    this.release();
  }
}
