import type { Peer, Transport } from '../transport/transport';
import type { ClientExchanges } from './client-exchanges';
import { ClientExchange } from './client-exchange';
import { EMPTY_CODE, codeClass } from './codes';
import type { CoapConfig } from './config';
import type { CoapCounters } from './coap-counters';
import { DedupCache } from './dedup-cache';
import { MessageIds } from './message-ids';
import type { EndpointEvents } from './endpoint-events';
import { type CoapMessage, decodeMessage, encodeEmpty, findOption, isConfirmableHeader } from './message';
import { SentNotification, type ObserveServer } from './observe-server';
import { OptionNumber } from './options';
import { Retransmitter, type Transmission } from './retransmission';
import type { ServerTransactions } from './server-transactions';

/** What a CON in flight belongs to: an outbound request, a notification, or (null) a separate response. */
export type TransmissionContext = ClientExchange | SentNotification | null;

/** The roles above the message layer that inbound messages are dispatched to. */
export interface MessageLayerUpper {
  readonly clients: ClientExchanges;
  readonly server: ServerTransactions;
  readonly observe: ObserveServer;
}

/**
 * The CoAP message layer (RFC 7252 §4): decodes datagrams, de-duplicates them, answers pings and
 * malformed CONs, matches ACK/RST to CONs in flight and retransmits those, and allocates message ids.
 * New requests go to the server transactions, responses to the client exchange their token names.
 * Dispatch is by direct calls on the roles (bound once, see bind()): the datagram path stays closure-free.
 */
export class MessageLayer {
  readonly dedup: DedupCache;
  readonly messageIds: MessageIds;
  private readonly retransmitter: Retransmitter<TransmissionContext>;
  private clients!: ClientExchanges;
  private server!: ServerTransactions;
  private observe!: ObserveServer;
  private closed = false;

  constructor(
    readonly transport: Transport,
    config: CoapConfig,
    lifetimeMs: number,
    capacity: number,
    private readonly events: EndpointEvents,
    counters: CoapCounters,
  ) {
    this.dedup = new DedupCache(lifetimeMs, capacity);
    this.messageIds = new MessageIds(lifetimeMs, capacity);
    this.retransmitter = new Retransmitter<TransmissionContext>(
      { ackTimeoutMs: config.ackTimeout * 1000, ackRandomFactor: config.ackRandomFactor, maxRetransmit: config.maxRetransmit },
      (peer, bytes) => this.transport.send(peer, bytes),
      (t) => this.onTransmissionGivenUp(t),
      counters,
    );
  }

  /** Connects the roles above (they need this layer to be built first) and starts listening. */
  bind(upper: MessageLayerUpper): void {
    this.clients = upper.clients;
    this.server = upper.server;
    this.observe = upper.observe;
    this.transport.on('datagram', this.onDatagram);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get inFlight(): number {
    return this.retransmitter.size;
  }

  /** The message id of the next message to this peer (one counter per peer, see MessageIds). */
  nextMessageId(peer: Peer): number {
    return this.messageIds.next(peer, Date.now());
  }

  /** Sends a CON now and retransmits it until ACKed, RST or given up. */
  startTransmission(t: Transmission<TransmissionContext>): void {
    this.retransmitter.start(t);
  }

  stopTransmission(t: Transmission<unknown>): void {
    this.retransmitter.cancel(t);
  }

  /** Stops listening: later datagrams are ignored, and the endpoint counts as closed. */
  close(): void {
    this.closed = true;
    this.transport.off('datagram', this.onDatagram);
  }

  /** Forgets every message in flight and every remembered message id. */
  clear(): void {
    this.retransmitter.clear();
    this.dedup.clear();
    this.messageIds.clear();
  }

  private readonly onDatagram = (bytes: Buffer, peer: Peer): void => {
    if (this.closed) return;
    try {
      this.receive(bytes, peer);
    } catch (err) {
      this.events.error(err);
    }
  };

  private receive(bytes: Buffer, peer: Peer): void {
    let message: CoapMessage;
    try {
      message = decodeMessage(bytes);
    } catch (err) {
      // §4.2: a malformed CON is rejected with RST; anything else is silently ignored.
      if (isConfirmableHeader(bytes)) this.transport.send(peer, encodeEmpty('RST', bytes.readUInt16BE(2)));
      this.events.malformed(peer, (err as Error).message);
      return;
    }
    switch (message.type) {
      case 'ACK':
        return this.receiveAck(message, peer);
      case 'RST':
        return this.receiveReset(message, peer);
    }
    if (message.code === EMPTY_CODE) {
      // CON 0.00 is a "CoAP ping" (§4.3), answered with RST; an empty NON is meaningless.
      if (message.type === 'CON') this.transport.send(peer, encodeEmpty('RST', message.messageId));
      else this.events.malformed(peer, 'empty NON message');
      return;
    }
    if (codeClass(message.code) === 0) this.receiveRequest(message, peer);
    else this.receiveResponse(message, peer);
  }

  private receiveAck(message: CoapMessage, peer: Peer): void {
    if (codeClass(message.code) === 0 && message.code !== EMPTY_CODE) return this.events.malformed(peer, 'ACK carrying a request');
    const t = this.retransmitter.get(DedupCache.key(peer, message.messageId));
    if (!t) return; // duplicate or late ACK
    const context = t.context;
    if (context instanceof ClientExchange) {
      if (message.code !== EMPTY_CODE && !message.token.equals(context.token)) {
        return this.events.malformed(peer, 'piggybacked response with a token that does not match the request');
      }
      this.clients.stopTransmission(context);
      if (message.code === EMPTY_CODE) context.handleEmptyAck();
      else context.handleResponse(message, Date.now());
    } else {
      this.retransmitter.cancel(t);
    }
  }

  private receiveReset(message: CoapMessage, peer: Peer): void {
    if (message.code !== EMPTY_CODE) return this.events.malformed(peer, 'RST that is not empty');
    const key = DedupCache.key(peer, message.messageId);
    const t = this.retransmitter.get(key);
    if (t) {
      this.retransmitter.cancel(t);
      const context = t.context;
      if (context instanceof ClientExchange) {
        context.transmission = undefined;
        context.handleReset();
      } else if (context instanceof SentNotification) {
        this.events.observeCancelled(peer, context.token, 'reset');
      }
      return;
    }
    this.observe.receiveReset(key, peer);
  }

  /** A separate response or a notification (CON/NON with a response code). */
  private receiveResponse(message: CoapMessage, peer: Peer): void {
    const now = Date.now();
    const confirmable = message.type === 'CON';
    // Only CONs need the de-duplication cache: a repeated NON notification carries a stale Observe
    // value and is dropped by the RFC 7641 ordering, and a repeated NON response finds its exchange
    // gone. Skipping it keeps a table entry per notification off the hot path.
    const key = confirmable ? DedupCache.key(peer, message.messageId) : '';
    if (confirmable) {
      const seen = this.dedup.lookup(key, now);
      if (seen) {
        if (seen.reply) this.transport.send(peer, seen.reply);
        return;
      }
    }
    const ex = this.clients.match(message.token, peer);
    if (ex === undefined) {
      // Unknown token: reject CONs, and NON notifications so that the server stops (RFC 7641 §3.6).
      if (confirmable || findOption(message.options, OptionNumber.Observe) !== undefined) {
        this.transport.send(peer, encodeEmpty('RST', message.messageId));
        this.events.malformed(peer, 'response with an unknown token, answered RST');
      } else {
        this.events.malformed(peer, 'NON response with an unknown token, ignored');
      }
      return;
    }
    if (confirmable) {
      const ack = encodeEmpty('ACK', message.messageId);
      this.transport.send(peer, ack);
      this.dedup.remember(key, now, ack);
    }
    ex.handleResponse(message, now);
  }

  private receiveRequest(message: CoapMessage, peer: Peer): void {
    const now = Date.now();
    const key = DedupCache.key(peer, message.messageId);
    const seen = this.dedup.lookup(key, now);
    if (seen) {
      // A duplicate: replay the answer (or stay silent while the handler still runs); never re-process.
      if (message.type === 'CON' && seen.reply) this.transport.send(peer, seen.reply);
      return;
    }
    this.server.receive(message, peer, this.dedup.remember(key, now), now);
  }

  private onTransmissionGivenUp(t: Transmission<TransmissionContext>): void {
    const context = t.context;
    if (context instanceof ClientExchange) {
      if (context.transmission !== t) return;
      context.transmission = undefined;
      context.handleTimeout();
    } else if (context instanceof SentNotification) {
      this.events.observeCancelled(t.peer, context.token, 'timeout');
    }
  }
}
