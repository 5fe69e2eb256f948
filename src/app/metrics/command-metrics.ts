import { Counter, Histogram, type Registry } from 'prom-client';
import { ResponseCode } from '../../coap';
import { COMMAND_MSG_TYPES } from '../../gateway/command-msg-types';
import type { CommandAnswered, Lwm2mMqttGateway } from '../../gateway/gateway';

/** The command msgTypes the engine answers; anything else is counted as "other" (a bounded label). */
const MSG_TYPES: ReadonlySet<string> = new Set(COMMAND_MSG_TYPES);

/** Results as the gateway names them: a known CoAP response code, or what happened instead. A device may send any code: the rest are "other". */
const RESULTS: ReadonlySet<string> = new Set([...Object.values(ResponseCode), 'ack', 'coap_reset', 'coap_timeout', 'expired', 'deregistered']);

/** Buckets of the round trip, seconds: a LAN answer in milliseconds to a queue-mode device's retransmitted request (CoAP gives up after ~93 s by default). */
const RTT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function msgTypeLabel(msgType: string): string {
  return MSG_TYPES.has(msgType) ? msgType : 'other';
}

export function resultLabel(result: string): string {
  return RESULTS.has(result) ? result : 'other';
}

/**
 * Commands the engine answered (from MQTT or the HTTP API alike), by msgType and result, and their
 * round trip. Commands refused before reaching a device (unknown endpoint, bad JSON, full queue)
 * are answered by the translator and not counted here. The gateway has one such listener: this one.
 */
export function registerCommandMetrics(registry: Registry, gateway: Lwm2mMqttGateway): void {
  const commands = new Counter({ name: 'lwm2m_commands_total', help: 'Commands ended, by msgType and result (CoAP response code, ack, coap_timeout, coap_reset, expired, deregistered; refused by the gateway: its error code)', labelNames: ['msg_type', 'result'], registers: [registry] });
  const rtt = new Histogram({ name: 'lwm2m_command_rtt_seconds', help: 'Command round trip, from sending the request to its answer, by msgType (commands never sent are not observed)', labelNames: ['msg_type'], buckets: RTT_BUCKETS, registers: [registry] });
  gateway.observeCommands((answered: CommandAnswered) => {
    const msgType = msgTypeLabel(answered.msgType);
    commands.inc({ msg_type: msgType, result: resultLabel(answered.result) });
    if (answered.rttMs !== undefined) rtt.observe({ msg_type: msgType }, answered.rttMs / 1000);
  });
}
