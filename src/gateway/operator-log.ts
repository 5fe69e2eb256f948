import type { Logger } from 'pino';
import type { RequestOutcome } from '../lwm2m/device/device-request';
import type { RegistrationCandidate } from '../lwm2m/registration/admission';
import type { Lwm2mResponse } from '../lwm2m/response';
import { LogThrottle } from '../limits/log-throttle';
import type { DownlinkCommand } from './command-parser';

const OUTCOME_NAMES: Record<RequestOutcome['kind'], string> = {
  response: 'response',
  ack: 'ack',
  reset: 'coap_reset',
  timeout: 'coap_timeout',
  failed: 'error',
  expired: 'expired',
  deregistered: 'deregistered',
};

/**
 * The translator's lines for operators: refused registrations and devices that do not answer, each
 * throttled (a refused source or a vanished device may repeat itself thousands of times a second:
 * one line per source and outcome every 10 s, with the count of those left out), and a debug line
 * per answered command.
 */
export class OperatorLog {
  private readonly registrationRefusals = new LogThrottle(10_000);
  private readonly timeouts = new LogThrottle(10_000);

  constructor(
    private readonly log: Logger,
    /** CoAP retransmissions before a coap_timeout, for its line. */
    private readonly maxRetransmit: number | undefined,
  ) {}

  readonly refused = (c: RegistrationCandidate, code: string, reason: string): void => {
    const admitted = this.registrationRefusals.admit(`${c.peer.address} ${code}`);
    if (!admitted) return;
    const fields = { ep: c.endpoint, peer: `${c.peer.address}:${c.peer.port}`, scheme: c.scheme, code, reason, suppressed: admitted.suppressed || undefined };
    if (code === '4.04') this.log.info(fields, 'request for an unknown registration');
    else this.log.warn(fields, 'registration refused');
  };

  /** The device did not answer: no ACK after the retransmissions, or no separate response after its empty ACK. */
  timedOut(endpoint: string, cmd: DownlinkCommand, acknowledged: boolean): void {
    const admitted = this.timeouts.admit(endpoint);
    if (!admitted) return;
    this.log.warn(
      {
        ep: endpoint,
        msgType: cmd.msgType,
        path: cmd.reqPath,
        waitedFor: acknowledged ? 'separate response' : 'ack',
        retransmissions: acknowledged ? undefined : this.maxRetransmit,
        suppressed: admitted.suppressed || undefined,
      },
      'coap_timeout: the device did not answer',
    );
  }

  /** A device answer the engine could not decode (answered 5.02 with the payload kept). */
  undecodable(endpoint: string, cmd: DownlinkCommand, res: Lwm2mResponse): void {
    if (res.undecodable) this.log.warn({ ep: endpoint, path: cmd.reqPath, code: res.code, err: res.undecodable.message }, 'undecodable payload');
  }

  /** The debug line of an answer: never the command's values (they may be secrets), nothing built unless debug is on. */
  answered(endpoint: string, cmd: DownlinkCommand, outcome: RequestOutcome, rttMs: number): void {
    if (!this.log.isLevelEnabled('debug')) return;
    const code = outcome.kind === 'response' ? outcome.response.code : outcome.kind === 'failed' ? outcome.code : undefined;
    this.log.debug({ ep: endpoint, msgType: cmd.msgType, path: cmd.reqPath, outcome: OUTCOME_NAMES[outcome.kind], code, rttMs }, 'command answered');
  }
}
