import type { RequestOutcome } from '../lwm2m/device/device-request';
import type { AnswerPublisher } from './answer-publisher';
import type { DownlinkCommand } from './command-parser';
import type { OperatorLog } from './operator-log';
import { responseJson } from './response-json';

/**
 * A command's outcome as its MQTT answer: the device's decoded response (an observe answer carries
 * the observation's seqNum), the command echoed as ack / coap_reset / coap_timeout, or an error of
 * the gateway's own (failed, expired in the queue, deregistered while waiting).
 */
export function answerOutcome(answers: AnswerPublisher, opLog: OperatorLog, prefix: string, endpoint: string, cmd: DownlinkCommand, outcome: RequestOutcome, rttMs: number): string {
  let text: string;
  switch (outcome.kind) {
    case 'response': {
      const res = outcome.response;
      opLog.undecodable(endpoint, cmd, res);
      const observe = cmd.op.type === 'observe' || cmd.op.type === 'observe-composite';
      const seqNum = observe && res.observe !== undefined && res.observe > 0 ? res.observe : undefined;
      text = answers.answer(prefix, 'response', cmd.fields, observe ? cmd.op.type : cmd.msgType, responseJson(cmd.reqPath, res), seqNum);
      break;
    }
    case 'ack':
      text = answers.echo(prefix, cmd.fields, cmd.reqPath, 'ack');
      break;
    case 'reset':
      text = answers.echo(prefix, cmd.fields, cmd.reqPath, 'coap_reset');
      break;
    case 'timeout':
      opLog.timedOut(endpoint, cmd, outcome.acknowledged);
      text = answers.echo(prefix, cmd.fields, cmd.reqPath, 'coap_timeout');
      break;
    case 'failed':
      text = answers.error(prefix, cmd.fields, cmd.reqPath, outcome.code, outcome.error);
      break;
    case 'expired':
      text = answers.error(prefix, cmd.fields, cmd.reqPath, '5.04', `command expired in the queue after ${cmd.ttl} s (mheaders.ttl)`);
      return text;
    case 'deregistered':
      text = answers.error(prefix, cmd.fields, cmd.reqPath, '4.04', `endpoint ${endpoint} deregistered (${outcome.reason})`);
      return text;
  }
  opLog.answered(endpoint, cmd, outcome, rttMs);
  return text;
}
