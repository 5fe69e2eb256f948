import type { Peer } from '../transport/transport';
import { ExpiringMap } from './expiring-map';

interface PeerCounter {
  expiresAt: number;
  last: number;
}

/**
 * Message ids of outbound messages, one 16-bit counter per peer (RFC 7252 §4.4: an id must not be
 * reused with the same endpoint within EXCHANGE_LIFETIME). One counter for all peers wraps after
 * 65,536 messages in total: a firmware push of 256 KiB to 100 devices sends 26,600 CONs, so the third
 * push within 247 s reused ids and devices that de-duplicate (Californium, our own endpoint) answered
 * new blocks with old replies and stalled (bench `--only firmware`, 75 of 100 devices). Per peer, a
 * device must receive 65,536 messages within EXCHANGE_LIFETIME for an id to come back.
 *
 * A peer's counter starts at a random id and is forgotten EXCHANGE_LIFETIME after its last use (every
 * id it handed out has then expired). Bounded by `capacity` peers: beyond it the least recently used
 * counter is dropped early, and that peer starts again at a random id (a reuse within the lifetime is
 * then possible but unlikely: 1 in 65,536 per message).
 */
export class MessageIds {
  private readonly counters: ExpiringMap<PeerCounter>;

  constructor(
    private readonly lifetimeMs: number,
    capacity: number,
  ) {
    this.counters = new ExpiringMap<PeerCounter>(capacity);
  }

  get size(): number {
    return this.counters.size;
  }

  next(peer: Peer, now: number): number {
    const key = `${peer.address}:${peer.port}`;
    const counter = this.counters.get(key, now);
    const id = counter === undefined ? Math.floor(Math.random() * 0x10000) : (counter.last + 1) & 0xffff;
    if (counter === undefined) {
      this.counters.set(key, { expiresAt: now + this.lifetimeMs, last: id }, now);
    } else {
      counter.last = id;
      counter.expiresAt = now + this.lifetimeMs;
      // set() moves it to the back: the map stays ordered by expiry.
      this.counters.set(key, counter, now);
    }
    return id;
  }

  sweep(now: number): void {
    this.counters.sweep(now);
  }

  clear(): void {
    this.counters.clear();
  }
}
