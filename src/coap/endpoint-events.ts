import type { EventEmitter } from 'node:events';
import type { Peer } from '../transport/transport';

export type ObserveCancelReason = 'reset' | 'timeout';

/** Which limit refused a request ('limit' event): the pending Block1 bytes of a source, or of everyone. */
export type CoapLimit = 'block1_pending_per_source' | 'block1_pending_total';

/**
 * How the parts of a CoapEndpoint raise its events. 'error', 'malformed' and 'limit' are emitted
 * only when listened to, and never let a throwing listener break the datagram path.
 */
export class EndpointEvents {
  constructor(private readonly emitter: EventEmitter) {}

  error(err: unknown): void {
    if (this.emitter.listenerCount('error') === 0) return; // an unheard 'error' event would throw
    try {
      this.emitter.emit('error', err instanceof Error ? err : new Error(String(err)));
    } catch {
      // a throwing listener must not break the datagram path
    }
  }

  malformed(peer: Peer, reason: string): void {
    if (this.emitter.listenerCount('malformed') > 0) this.emitter.emit('malformed', peer, reason);
  }

  limit(peer: Peer, limit: CoapLimit, code: string, detail: string): void {
    if (this.emitter.listenerCount('limit') === 0) return;
    try {
      this.emitter.emit('limit', peer, limit, code, detail);
    } catch (err) {
      this.error(err); // a throwing listener must not break the datagram path
    }
  }

  observeCancelled(peer: Peer, token: Buffer, reason: ObserveCancelReason): void {
    this.emitter.emit('observeCancelled', peer, token, reason);
  }
}
