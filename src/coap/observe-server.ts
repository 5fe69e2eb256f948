import type { Peer } from '../transport/transport';
import type { BlockwiseServer } from './block-wise-server';
import { DedupCache } from './dedup-cache';
import type { EndpointEvents } from './endpoint-events';
import { type Expiring, ExpiringMap } from './expiring-map';
import { encodeMessage } from './message';
import type { MessageLayer, TransmissionContext } from './message-layer';
import { Transmission } from './retransmission';
import type { CoapResponse } from './types';

/** A notification this endpoint sent (as observed server): an RST to it cancels the observation (RFC 7641 §3.6). */
export class SentNotification implements Expiring {
  constructor(
    readonly token: Buffer,
    public expiresAt: number,
  ) {}
}

/**
 * The observed-server role (RFC 7641): sends notifications and tells when an observer is gone, by
 * an RST to a notification (CON ones are matched while in flight, NON ones are remembered for the
 * exchange lifetime) or by a CON notification never ACKed.
 */
export class ObserveServer {
  private readonly sentNotifications: ExpiringMap<SentNotification>;

  constructor(
    private readonly messages: MessageLayer,
    private readonly blockwise: BlockwiseServer,
    private readonly events: EndpointEvents,
    private readonly lifetimeMs: number,
    capacity: number,
  ) {
    this.sentNotifications = new ExpiringMap<SentNotification>(capacity);
  }

  /** See CoapEndpoint.notify. */
  notify(peer: Peer, token: Buffer, res: CoapResponse, confirmable: boolean): void {
    const messageId = this.messages.nextMessageId(peer);
    const { options, payload } = this.blockwise.responseContent(res, undefined, undefined);
    const bytes = encodeMessage({ type: confirmable ? 'CON' : 'NON', code: res.code, messageId, token, options: options ?? [], payload });
    const key = DedupCache.key(peer, messageId);
    const now = Date.now();
    if (confirmable) {
      this.messages.startTransmission(new Transmission<TransmissionContext>(key, peer, bytes, new SentNotification(token, now + this.lifetimeMs)));
    } else {
      this.sentNotifications.set(key, new SentNotification(token, now + this.lifetimeMs), now);
      this.messages.transport.send(peer, bytes);
    }
  }

  /** An RST matching no CON in flight: it may answer a NON notification (`key` = peer + message id). */
  receiveReset(key: string, peer: Peer): void {
    const sent = this.sentNotifications.get(key, Date.now());
    if (sent) {
      this.sentNotifications.delete(key);
      this.events.observeCancelled(peer, sent.token, 'reset');
    }
  }

  sweep(now: number): void {
    this.sentNotifications.sweep(now);
  }

  clear(): void {
    this.sentNotifications.clear();
  }
}
