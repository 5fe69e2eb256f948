import type { Peer } from '../transport/transport';
import { ExpiringMap } from './expiring-map';

export interface DedupEntry {
  expiresAt: number;
  /** What was answered (piggybacked response, empty ACK, RST) to replay for a duplicate; undefined while none yet. */
  reply: Buffer | undefined;
}

/**
 * Message deduplication (RFC 7252 §4.5): remembers peer + message id of every inbound CON/NON for
 * EXCHANGE_LIFETIME, with the reply so that a retransmitted CON is answered identically
 * instead of being processed again.
 */
export class DedupCache {
  private readonly entries: ExpiringMap<DedupEntry>;

  constructor(
    private readonly lifetimeMs: number,
    capacity: number,
  ) {
    this.entries = new ExpiringMap<DedupEntry>(capacity);
  }

  static key(peer: Peer, messageId: number): string {
    return `${peer.address}:${peer.port}#${messageId}`;
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(key: string, now: number): DedupEntry | undefined {
    return this.entries.get(key, now);
  }

  /** Records a message as seen; the caller fills in the returned entry's reply once it has answered. */
  remember(key: string, now: number, reply?: Buffer): DedupEntry {
    const entry: DedupEntry = { expiresAt: now + this.lifetimeMs, reply };
    this.entries.set(key, entry, now);
    return entry;
  }

  sweep(now: number): void {
    this.entries.sweep(now);
  }

  clear(): void {
    this.entries.clear();
  }
}
