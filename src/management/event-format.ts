import type { GatewayMessage } from '../gateway/gateway';
import type { RegistrationCandidate } from '../lwm2m/registration/admission';

/** The kinds of event a stream carries: what the gateway publishes, and refused registrations. */
export type EventKind = GatewayMessage['kind'] | 'refused';

/** One event as the streams send it: built once, whoever receives it. */
export interface GatewayEvent {
  readonly kind: EventKind;
  /** The endpoint it concerns (the streams' filter); undefined when no registered device. */
  readonly endpoint: string | undefined;
  /** The `data:` field's JSON text. */
  readonly data: string;
}

/**
 * A message the gateway published, as an event: `{endpoint_name, topic, message}`, the message being
 * the JSON published, inserted as text (it is JSON already: not parsed again per event).
 */
export function messageEvent(message: GatewayMessage): GatewayEvent {
  const head = `{"endpoint_name":${JSON.stringify(message.endpoint ?? null)},"topic":${JSON.stringify(message.topic)},"message":`;
  return { kind: message.kind, endpoint: message.endpoint, data: `${head}${message.payload}}` };
}

/** A refused registration (nothing is published on MQTT for it): who, from where, the CoAP code and why. */
export function refusedEvent(candidate: RegistrationCandidate, code: string, reason: string): GatewayEvent {
  const address = candidate.peer.address;
  const peer = `${address.includes(':') ? `[${address}]` : address}:${candidate.peer.port}`;
  const data = JSON.stringify({ endpoint_name: candidate.endpoint, peer, code, reason });
  return { kind: 'refused', endpoint: candidate.endpoint, data };
}
