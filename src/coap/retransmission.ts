import type { Peer } from '../transport/transport';
import { ChurnTable } from './churn-table';
import { CoapCounters } from './coap-counters';

export interface RetransmissionPolicy {
  ackTimeoutMs: number;
  ackRandomFactor: number;
  maxRetransmit: number;
}

/** One CON message awaiting its ACK/RST; `context` says what it belongs to. */
export class Transmission<C> {
  timer: NodeJS.Timeout | undefined;
  retransmissions = 0;
  timeoutMs = 0;

  constructor(
    /** peer + message id, as produced by DedupCache.key: ACK/RST are matched on it. */
    readonly key: string,
    readonly peer: Peer,
    readonly bytes: Buffer,
    readonly context: C,
  ) {}
}

/**
 * CON retransmission (RFC 7252 §4.2): the initial timeout is random in
 * [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR] and doubles after each of at most MAX_RETRANSMIT
 * retransmissions; then the transmission is given up. One timer per message in flight, always cleared.
 */
export class Retransmitter<C> {
  private readonly inFlight = new ChurnTable<Transmission<C>>();

  constructor(
    private readonly policy: RetransmissionPolicy,
    private readonly send: (peer: Peer, bytes: Buffer) => void,
    private readonly onGiveUp: (t: Transmission<C>) => void,
    private readonly counters: CoapCounters = new CoapCounters(),
  ) {}

  get size(): number {
    return this.inFlight.size;
  }

  /** Sends the message now and schedules its retransmissions. A previous transmission under the same key is superseded. */
  start(t: Transmission<C>): void {
    const previous = this.inFlight.get(t.key);
    if (previous) this.cancel(previous);
    const { ackTimeoutMs, ackRandomFactor } = this.policy;
    // Whole milliseconds: Node keeps one timer list per distinct duration.
    t.timeoutMs = Math.round(ackTimeoutMs * (1 + Math.random() * (ackRandomFactor - 1)));
    this.inFlight.set(t.key, t);
    this.send(t.peer, t.bytes);
    t.timer = setTimeout(onRetransmitTimer, t.timeoutMs, this, t);
  }

  get(key: string): Transmission<C> | undefined {
    return this.inFlight.get(key);
  }

  /** Stops retransmitting (ACK/RST received, or no longer wanted). */
  cancel(t: Transmission<unknown>): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    if (this.inFlight.get(t.key) === t) this.inFlight.delete(t.key);
  }

  clear(): void {
    for (const t of this.inFlight.values()) if (t.timer) clearTimeout(t.timer);
    this.inFlight.clear();
  }

  /** @internal */
  fire(t: Transmission<C>): void {
    t.timer = undefined;
    if (this.inFlight.get(t.key) !== t) return;
    if (t.retransmissions >= this.policy.maxRetransmit) {
      this.inFlight.delete(t.key);
      this.counters.timeouts++;
      this.onGiveUp(t);
      return;
    }
    t.retransmissions++;
    this.counters.retransmissions++;
    t.timeoutMs *= 2;
    this.send(t.peer, t.bytes);
    t.timer = setTimeout(onRetransmitTimer, t.timeoutMs, this, t);
  }
}

// A module-level callback with arguments: no closure allocated per message.
function onRetransmitTimer<C>(retransmitter: Retransmitter<C>, t: Transmission<C>): void {
  retransmitter.fire(t);
}
