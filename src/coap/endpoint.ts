import { EventEmitter } from 'node:events';
import type { Peer, Transport } from '../transport/transport';
import { BlockwiseServer } from './block-wise-server';
import { ClientExchanges } from './client-exchanges';
import { CoapCounters } from './coap-counters';
import { type CoapConfig, type CoapConfigInput, resolveCoapConfig } from './config';
import { EndpointEvents } from './endpoint-events';
import { MessageLayer } from './message-layer';
import { ObserveServer } from './observe-server';
import { EMPTY_ACK_DELAY_MS, ServerTransactions } from './server-transactions';
import type { CoapRequest, CoapResponse, ExchangeListener, OutgoingExchange, RequestHandler } from './types';

export { EMPTY_ACK_DELAY_MS } from './server-transactions';
export type { CoapLimit, ObserveCancelReason } from './endpoint-events';

/** Bound on remembered message ids, partial bodies and sent NON notifications, each. */
export const DEFAULT_CACHE_CAPACITY = 500_000;
const HOUSEKEEPING_INTERVAL_MS = 5000;

/** Tuning that is not part of the CoAP configuration (tests shorten the empty-ACK delay). */
export interface CoapEndpointOptions {
  emptyAckDelayMs?: number;
  cacheCapacity?: number;
}

/** The endpoint's table sizes (stats()). */
export interface CoapEndpointStats {
  exchanges: number;
  inFlight: number;
  dedup: number;
  partialBodies: number;
  /** Bytes charged to unfinished Block1 bodies (payload plus bookkeeping), all sources together. */
  pendingBytes: number;
  pendingReplies: number;
}

/**
 * A CoAP endpoint (RFC 7252 messaging, RFC 7641 observe, RFC 7959 block-wise) over any Transport,
 * acting as server (setRequestHandler) and client (request) at once. It composes the roles, after
 * Californium's stack: the message layer (message-layer.ts) under the client exchanges
 * (client-exchanges.ts), the server transactions (server-transactions.ts), the block-wise server
 * (block-wise-server.ts) and the observe server (observe-server.ts).
 *
 * Events: 'error' (Error) for internal problems and handler failures (emitted only when listened to);
 * 'malformed' (peer: Peer, reason: string) for datagrams that were rejected or ignored;
 * 'observeCancelled' (peer: Peer, token: Buffer, reason: 'reset' | 'timeout') when a notification
 * sent with notify() was answered by RST or never ACKed: the observer is gone (RFC 7641 §3.6, §4.5);
 * 'limit' (peer: Peer, limit: CoapLimit, code: string, detail: string) when a request was refused
 * because a memory budget is spent (emitted only when listened to).
 *
 * The endpoint does not own the transport: close() stops it listening but leaves the transport open.
 */
export class CoapEndpoint extends EventEmitter {
  readonly config: CoapConfig;
  private readonly messages: MessageLayer;
  private readonly clients: ClientExchanges;
  private readonly server: ServerTransactions;
  private readonly blockwise: BlockwiseServer;
  private readonly observe: ObserveServer;
  private readonly housekeeping: NodeJS.Timeout;
  private readonly counters = new CoapCounters();

  constructor(
    readonly transport: Transport,
    config?: CoapConfigInput,
    options: CoapEndpointOptions = {},
  ) {
    super();
    this.config = resolveCoapConfig(config);
    const lifetimeMs = this.config.blockwise.exchangeLifetime * 1000;
    const capacity = options.cacheCapacity ?? DEFAULT_CACHE_CAPACITY;
    const events = new EndpointEvents(this);
    this.messages = new MessageLayer(transport, this.config, lifetimeMs, capacity, events, this.counters);
    this.clients = new ClientExchanges(this.config, this.messages, this.counters);
    this.blockwise = new BlockwiseServer(this.config, lifetimeMs, capacity, events, this.counters);
    this.server = new ServerTransactions(this.config, this.messages, this.blockwise, events, options.emptyAckDelayMs ?? EMPTY_ACK_DELAY_MS);
    this.observe = new ObserveServer(this.messages, this.blockwise, events, lifetimeMs, capacity);
    this.housekeeping = setInterval(onHousekeeping, HOUSEKEEPING_INTERVAL_MS, this);
    this.housekeeping.unref();
    this.messages.bind({ clients: this.clients, server: this.server, observe: this.observe });
  }

  setRequestHandler(handler: RequestHandler): void {
    this.server.handler = handler;
  }

  /**
   * Sends a request. The listener is never called before this returns; failures to send
   * (closed endpoint, unencodable request) arrive through onError.
   * The exchange keeps `peer` by reference.
   */
  request(peer: Peer, req: CoapRequest, listener: ExchangeListener): OutgoingExchange {
    const ex = this.clients.createExchange(peer, req, listener);
    if (this.messages.isClosed) {
      this.clients.unbind(ex);
      queueMicrotask(() => listener.onError?.(new Error('CoAP endpoint is closed')));
      return ex;
    }
    ex.start();
    return ex;
  }

  /**
   * Listens again to an observation this endpoint made before a restart, under its old token:
   * nothing is sent; the peer's next notification reaches `listener.onNotification` instead of an
   * RST. Undefined when the token is in use or the endpoint is closed.
   */
  resumeObservation(peer: Peer, req: CoapRequest & { token: Buffer }, listener: ExchangeListener): OutgoingExchange | undefined {
    if (this.messages.isClosed) return undefined;
    return this.clients.resumeObservation(peer, req, listener);
  }

  /**
   * Sends a notification (or any response-like message) for an observation this endpoint serves,
   * with a fresh message id. A CON one is retransmitted until ACKed; an RST to it, or no ACK at all,
   * emits 'observeCancelled'. A body larger than the block size goes out as Block2 block 0 (the
   * observer fetches the rest with GET, answered by the request handler). Throws if it cannot be encoded.
   */
  notify(peer: Peer, token: Buffer, res: CoapResponse, confirmable: boolean): void {
    if (this.messages.isClosed) return;
    this.observe.notify(peer, token, res, confirmable);
  }

  /**
   * Stops listening to the transport and clears every timer and table. Open exchanges end without
   * any callback; replies of handlers still running are dropped. The transport is NOT closed.
   */
  close(): Promise<void> {
    if (this.messages.isClosed) return Promise.resolve();
    this.messages.close();
    clearInterval(this.housekeeping);
    this.clients.clear();
    this.messages.clear();
    this.server.clear();
    this.blockwise.clear();
    this.observe.clear();
    return Promise.resolve();
  }

  /** Sizes of the internal tables, for metrics and leak tests. */
  stats(): CoapEndpointStats {
    return {
      exchanges: this.clients.size,
      inFlight: this.messages.inFlight,
      dedup: this.messages.dedup.size,
      partialBodies: this.blockwise.size,
      pendingBytes: this.blockwise.pendingBytes,
      pendingReplies: this.server.pendingReplies,
    };
  }

  /** What the endpoint counted since start (retransmissions, timeouts, notifications, block-wise transfers), for metrics. */
  get counts(): Readonly<CoapCounters> {
    return this.counters;
  }

  /** @internal periodic sweep so that memory is released when traffic stops. */
  sweep(): void {
    const now = Date.now();
    this.messages.dedup.sweep(now);
    this.messages.messageIds.sweep(now);
    this.blockwise.sweep(now);
    this.observe.sweep(now);
  }
}

function onHousekeeping(endpoint: CoapEndpoint): void {
  endpoint.sweep();
}
