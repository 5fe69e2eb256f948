import { randomFillSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Peer, Transport } from '../transport/transport';
import { Block1Receiver } from './block1-receiver';
import { sliceBlock2 } from './block2-slicer';
import { ClientExchange, type ExchangeHost } from './client-exchange';
import { EMPTY_CODE, METHOD_CODES, ResponseCode, codeClass, isSuccessCode, methodFromCode } from './codes';
import { type CoapConfig, type CoapConfigInput, maxTransmitWaitMs, resolveCoapConfig } from './config';
import { ChurnTable } from './churn-table';
import { DedupCache } from './dedup-cache';
import { type Expiring, ExpiringMap } from './expiring-map';
import { type CoapMessage, decodeMessage, encodeEmpty, encodeMessage, findOption, isConfirmableHeader } from './message';
import { inboundRequestFromMessage, responseOptions } from './message-mapping';
import {
  type BlockValue,
  type CoapOption,
  OptionNumber,
  blockSize,
  decodeBlock,
  decodeUint,
  encodeBlock,
  encodeUint,
  isCriticalOption,
  szxForSize,
} from './options';
import { Retransmitter, Transmission } from './retransmission';
import { ServerTransaction } from './server-transaction';
import type { CoapRequest, CoapResponse, ExchangeListener, InboundRequest, OutgoingExchange, RequestHandler } from './types';

/** How long a request handler may run before the request is ACKed empty and answered separately (§5.2.2). */
export const EMPTY_ACK_DELAY_MS = 1000;
/** Bound on remembered message ids, partial bodies and sent NON notifications, each. */
export const DEFAULT_CACHE_CAPACITY = 500_000;
const TOKEN_LENGTH = 8;
const HOUSEKEEPING_INTERVAL_MS = 5000;
const EMPTY = Buffer.alloc(0);

/** Tuning that is not part of the CoAP configuration (tests shorten the empty-ACK delay). */
export interface CoapEndpointOptions {
  emptyAckDelayMs?: number;
  cacheCapacity?: number;
}

export type ObserveCancelReason = 'reset' | 'timeout';

/** Which limit refused a request ('limit' event): the pending Block1 bytes of a source, or of everyone. */
export type CoapLimit = 'block1_pending_per_source' | 'block1_pending_total';

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

/** A notification this endpoint sent (as observed server): an RST to it cancels the observation (RFC 7641 §3.6). */
class SentNotification implements Expiring {
  constructor(
    readonly token: Buffer,
    public expiresAt: number,
  ) {}
}

/** What a CON in flight belongs to: an outbound request, a notification, or (null) a separate response. */
type TransmissionContext = ClientExchange | SentNotification | null;

/** Options this layer understands in requests; any other critical one gets 4.02 (§5.4.1). */
const KNOWN_CRITICAL_REQUEST_OPTIONS: ReadonlySet<number> = new Set([
  OptionNumber.UriHost,
  OptionNumber.UriPort,
  OptionNumber.UriPath,
  OptionNumber.UriQuery,
  OptionNumber.Accept,
]);

const INTERNAL_SERVER_ERROR: CoapResponse = { code: ResponseCode.InternalServerError, payload: EMPTY };

/**
 * A CoAP endpoint (RFC 7252 messaging, RFC 7641 observe, RFC 7959 block-wise) over any Transport,
 * acting as server (setRequestHandler) and client (request) at once.
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
  private handler: RequestHandler | undefined;
  private readonly exchanges = new ChurnTable<ClientExchange>();
  private readonly retransmitter: Retransmitter<TransmissionContext>;
  private readonly dedup: DedupCache;
  private readonly block1: Block1Receiver;
  private readonly sentNotifications: ExpiringMap<SentNotification>;
  private readonly pendingReplies = new Set<ServerTransaction>();
  private readonly emptyAckDelayMs: number;
  private readonly lifetimeMs: number;
  private readonly maxSzx: number;
  private readonly host: ExchangeHost;
  private readonly housekeeping: NodeJS.Timeout;
  private readonly tokenPool = Buffer.allocUnsafe(TOKEN_LENGTH * 256);
  private tokenPoolPos: number;
  private messageId: number;
  private closed = false;

  constructor(
    readonly transport: Transport,
    config?: CoapConfigInput,
    options: CoapEndpointOptions = {},
  ) {
    super();
    this.config = resolveCoapConfig(config);
    const { blockwise } = this.config;
    this.lifetimeMs = blockwise.exchangeLifetime * 1000;
    this.maxSzx = szxForSize(blockwise.maxBlockSize);
    this.emptyAckDelayMs = options.emptyAckDelayMs ?? EMPTY_ACK_DELAY_MS;
    const capacity = options.cacheCapacity ?? DEFAULT_CACHE_CAPACITY;
    this.dedup = new DedupCache(this.lifetimeMs, capacity);
    // An abandoned body is dropped once its client would have given up retransmitting a block.
    const block1IdleMs = Math.min(this.lifetimeMs, maxTransmitWaitMs(this.config));
    this.block1 = new Block1Receiver(blockwise.maxBodySize, this.maxSzx, block1IdleMs, capacity, {
      total: blockwise.maxPendingBytes,
      perSource: blockwise.maxPendingBytesPerSource,
    });
    this.sentNotifications = new ExpiringMap<SentNotification>(capacity);
    this.retransmitter = new Retransmitter<TransmissionContext>(
      { ackTimeoutMs: this.config.ackTimeout * 1000, ackRandomFactor: this.config.ackRandomFactor, maxRetransmit: this.config.maxRetransmit },
      (peer, bytes) => this.transport.send(peer, bytes),
      (t) => this.onTransmissionGivenUp(t),
    );
    this.tokenPoolPos = this.tokenPool.length; // filled on first use
    this.messageId = Math.floor(Math.random() * 0x10000);
    this.host = {
      config: this.config,
      sendRequest: (ex, opts, payload) => this.sendRequestMessage(ex, opts, payload),
      stopTransmission: (ex) => {
        if (ex.transmission) this.retransmitter.cancel(ex.transmission);
        ex.transmission = undefined;
      },
      unbind: (ex) => {
        const key = tokenKey(ex.token);
        if (this.exchanges.get(key) === ex) this.exchanges.delete(key);
      },
      createExchange: (peer, req, listener) => this.createExchange(peer, req, listener),
    };
    this.housekeeping = setInterval(onHousekeeping, HOUSEKEEPING_INTERVAL_MS, this);
    this.housekeeping.unref();
    transport.on('datagram', this.onDatagram);
  }

  setRequestHandler(handler: RequestHandler): void {
    this.handler = handler;
  }

  /**
   * Sends a request. The listener is never called before this returns; failures to send
   * (closed endpoint, unencodable request) arrive through onError.
   * The exchange keeps `peer` by reference.
   */
  request(peer: Peer, req: CoapRequest, listener: ExchangeListener): OutgoingExchange {
    const ex = this.createExchange(peer, req, listener);
    if (this.closed) {
      this.host.unbind(ex);
      queueMicrotask(() => listener.onError?.(new Error('CoAP endpoint is closed')));
      return ex;
    }
    ex.start();
    return ex;
  }

  /**
   * Sends a notification (or any response-like message) for an observation this endpoint serves,
   * with a fresh message id. A CON one is retransmitted until ACKed; an RST to it, or no ACK at all,
   * emits 'observeCancelled'. A body larger than the block size goes out as Block2 block 0 (the
   * observer fetches the rest with GET, answered by the request handler). Throws if it cannot be encoded.
   */
  notify(peer: Peer, token: Buffer, res: CoapResponse, confirmable: boolean): void {
    if (this.closed) return;
    const messageId = this.nextMessageId();
    const { options, payload } = this.responseContent(res, undefined, undefined);
    const bytes = encodeMessage({ type: confirmable ? 'CON' : 'NON', code: res.code, messageId, token, options: options ?? [], payload });
    const key = DedupCache.key(peer, messageId);
    const now = Date.now();
    if (confirmable) {
      this.retransmitter.start(new Transmission<TransmissionContext>(key, peer, bytes, new SentNotification(token, now + this.lifetimeMs)));
    } else {
      this.sentNotifications.set(key, new SentNotification(token, now + this.lifetimeMs), now);
      this.transport.send(peer, bytes);
    }
  }

  /**
   * Stops listening to the transport and clears every timer and table. Open exchanges end without
   * any callback; replies of handlers still running are dropped. The transport is NOT closed.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.transport.off('datagram', this.onDatagram);
    clearInterval(this.housekeeping);
    for (const ex of this.exchanges.values()) ex.cancel();
    this.exchanges.clear();
    this.retransmitter.clear();
    for (const tx of this.pendingReplies) if (tx.timer) clearTimeout(tx.timer);
    this.pendingReplies.clear();
    this.dedup.clear();
    this.block1.clear();
    this.sentNotifications.clear();
    return Promise.resolve();
  }

  /** Sizes of the internal tables, for metrics and leak tests. */
  stats(): CoapEndpointStats {
    return {
      exchanges: this.exchanges.size,
      inFlight: this.retransmitter.size,
      dedup: this.dedup.size,
      partialBodies: this.block1.size,
      pendingBytes: this.block1.pendingBytes,
      pendingReplies: this.pendingReplies.size,
    };
  }

  /** @internal periodic sweep so that memory is released when traffic stops. */
  sweep(): void {
    const now = Date.now();
    this.dedup.sweep(now);
    this.block1.sweep(now);
    this.sentNotifications.sweep(now);
  }

  // --- inbound -----------------------------------------------------------------------------

  private readonly onDatagram = (bytes: Buffer, peer: Peer): void => {
    if (this.closed) return;
    try {
      this.receive(bytes, peer);
    } catch (err) {
      this.reportError(err);
    }
  };

  private receive(bytes: Buffer, peer: Peer): void {
    let message: CoapMessage;
    try {
      message = decodeMessage(bytes);
    } catch (err) {
      // §4.2: a malformed CON is rejected with RST; anything else is silently ignored.
      if (isConfirmableHeader(bytes)) this.transport.send(peer, encodeEmpty('RST', bytes.readUInt16BE(2)));
      this.reportMalformed(peer, (err as Error).message);
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
      else this.reportMalformed(peer, 'empty NON message');
      return;
    }
    if (codeClass(message.code) === 0) this.receiveRequest(message, peer);
    else this.receiveResponse(message, peer);
  }

  private receiveAck(message: CoapMessage, peer: Peer): void {
    if (codeClass(message.code) === 0 && message.code !== EMPTY_CODE) return this.reportMalformed(peer, 'ACK carrying a request');
    const t = this.retransmitter.get(DedupCache.key(peer, message.messageId));
    if (!t) return; // duplicate or late ACK
    const context = t.context;
    if (context instanceof ClientExchange) {
      if (message.code !== EMPTY_CODE && !message.token.equals(context.token)) {
        return this.reportMalformed(peer, 'piggybacked response with a token that does not match the request');
      }
      this.host.stopTransmission(context);
      if (message.code === EMPTY_CODE) context.handleEmptyAck();
      else context.handleResponse(message, Date.now());
    } else {
      this.retransmitter.cancel(t);
    }
  }

  private receiveReset(message: CoapMessage, peer: Peer): void {
    if (message.code !== EMPTY_CODE) return this.reportMalformed(peer, 'RST that is not empty');
    const key = DedupCache.key(peer, message.messageId);
    const t = this.retransmitter.get(key);
    if (t) {
      this.retransmitter.cancel(t);
      const context = t.context;
      if (context instanceof ClientExchange) {
        context.transmission = undefined;
        context.handleReset();
      } else if (context instanceof SentNotification) {
        this.emit('observeCancelled', peer, context.token, 'reset' satisfies ObserveCancelReason);
      }
      return;
    }
    const sent = this.sentNotifications.get(key, Date.now());
    if (sent) {
      this.sentNotifications.delete(key);
      this.emit('observeCancelled', peer, sent.token, 'reset' satisfies ObserveCancelReason);
    }
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
    const ex = this.exchanges.get(tokenKey(message.token));
    if (ex === undefined || ex.peer.port !== peer.port || ex.peer.address !== peer.address) {
      // Unknown token: reject CONs, and NON notifications so that the server stops (RFC 7641 §3.6).
      if (confirmable || findOption(message.options, OptionNumber.Observe) !== undefined) {
        this.transport.send(peer, encodeEmpty('RST', message.messageId));
        this.reportMalformed(peer, 'response with an unknown token, answered RST');
      } else {
        this.reportMalformed(peer, 'NON response with an unknown token, ignored');
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
    const confirmable = message.type === 'CON';
    const key = DedupCache.key(peer, message.messageId);
    const seen = this.dedup.lookup(key, now);
    if (seen) {
      // A duplicate: replay the answer (or stay silent while the handler still runs); never re-process.
      if (confirmable && seen.reply) this.transport.send(peer, seen.reply);
      return;
    }
    const tx = new ServerTransaction(peer, message.messageId, message.token, confirmable, this.dedup.remember(key, now));
    const method = methodFromCode(message.code);
    if (method === undefined) return this.reply(tx, { code: ResponseCode.MethodNotAllowed, payload: EMPTY });

    const blockwise = this.config.blockwise.enable;
    let block1: BlockValue | undefined;
    for (const option of message.options) {
      const n = option.number;
      if (blockwise && (n === OptionNumber.Block1 || n === OptionNumber.Block2)) {
        const block = decodeBlock(option.value);
        if (!block) return this.reply(tx, diagnostic(ResponseCode.BadRequest, 'invalid block option'));
        if (n === OptionNumber.Block1) block1 = block;
        else tx.block2 = block;
      } else if (isCriticalOption(n) && !KNOWN_CRITICAL_REQUEST_OPTIONS.has(n)) {
        return this.reply(tx, diagnostic(ResponseCode.BadOption, `unrecognized critical option ${n}`));
      }
    }

    const req = inboundRequestFromMessage(message, method, peer);
    if (block1) {
      const size1 = findOption(message.options, OptionNumber.Size1);
      const bodyKey = `${peer.address}:${peer.port} ${method} ${req.uriPath.join('/')}`;
      const outcome = this.block1.receive(bodyKey, block1, message.payload, size1 === undefined ? undefined : decodeUint(size1), now, peer.address);
      switch (outcome.kind) {
        case 'continue':
          return this.reply(tx, { code: ResponseCode.Continue, payload: EMPTY, options: [blockOption(OptionNumber.Block1, outcome.echo)] });
        case 'reject':
          return this.reply(tx, outcome.code === ResponseCode.RequestEntityTooLarge ? this.tooLarge() : { code: outcome.code, payload: EMPTY });
        case 'over-budget':
          if (outcome.scope === 'source') {
            this.reportLimit(peer, 'block1_pending_per_source', outcome.code, `max_pending_bytes_per_source (${outcome.limit}) reached for ${peer.address}`);
            return this.reply(tx, this.tooLarge());
          }
          this.reportLimit(peer, 'block1_pending_total', outcome.code, `max_pending_bytes (${outcome.limit}) reached; retry after ${outcome.retryAfterS} s`);
          return this.reply(tx, {
            code: outcome.code,
            payload: EMPTY,
            options: [{ number: OptionNumber.MaxAge, value: encodeUint(outcome.retryAfterS) }],
          });
        case 'complete':
          req.payload = outcome.body;
          tx.block1Echo = outcome.echo;
      }
    }
    this.invokeHandler(tx, req);
  }

  /** 4.13 with Size1 = the largest body we take (RFC 7959 §2.9.3). */
  private tooLarge(): CoapResponse {
    return { code: ResponseCode.RequestEntityTooLarge, payload: EMPTY, options: [{ number: OptionNumber.Size1, value: encodeUint(this.config.blockwise.maxBodySize) }] };
  }

  private invokeHandler(tx: ServerTransaction, req: InboundRequest): void {
    const handler = this.handler;
    if (!handler) return this.reply(tx, { code: ResponseCode.NotImplemented, payload: EMPTY });
    let result: CoapResponse | Promise<CoapResponse>;
    try {
      result = handler(req);
    } catch (err) {
      this.reportError(err);
      return this.reply(tx, INTERNAL_SERVER_ERROR);
    }
    if (!isPromiseLike(result)) return this.reply(tx, result);
    this.pendingReplies.add(tx);
    if (tx.confirmable) tx.timer = setTimeout(onEmptyAckDue, this.emptyAckDelayMs, this, tx);
    result.then(
      (res) => this.settle(tx, res),
      (err: unknown) => {
        this.reportError(err);
        this.settle(tx, INTERNAL_SERVER_ERROR);
      },
    );
  }

  /** @internal the handler is slow: ACK now, answer later in a separate CON. */
  sendEmptyAck(tx: ServerTransaction): void {
    tx.timer = undefined;
    if (!this.pendingReplies.has(tx)) return;
    tx.separate = true;
    const ack = encodeEmpty('ACK', tx.messageId);
    this.transport.send(tx.peer, ack);
    tx.dedupEntry.reply = ack;
  }

  private settle(tx: ServerTransaction, res: CoapResponse): void {
    if (!this.pendingReplies.delete(tx)) return; // endpoint closed meanwhile
    if (tx.timer) clearTimeout(tx.timer);
    tx.timer = undefined;
    this.reply(tx, res);
  }

  /** Answers a request: piggybacked in the ACK, as a NON, or as a separate CON after an empty ACK. */
  private reply(tx: ServerTransaction, res: CoapResponse): void {
    let bytes: Buffer;
    const separate = tx.separate;
    const messageId = separate || !tx.confirmable ? this.nextMessageId() : tx.messageId;
    const type = separate ? 'CON' : tx.confirmable ? 'ACK' : 'NON';
    try {
      const { options, payload } = this.responseContent(res, tx.block1Echo, tx.block2);
      bytes = encodeMessage({ type, code: options === null ? ResponseCode.BadOption : res.code, messageId, token: tx.token, options: options ?? [], payload });
    } catch (err) {
      this.reportError(err);
      bytes = encodeMessage({ type, code: ResponseCode.InternalServerError, messageId, token: tx.token, options: [], payload: EMPTY });
    }
    if (separate) {
      this.retransmitter.start(new Transmission<TransmissionContext>(DedupCache.key(tx.peer, messageId), tx.peer, bytes, null));
      return;
    }
    this.transport.send(tx.peer, bytes);
    if (tx.confirmable) tx.dedupEntry.reply = bytes;
  }

  /**
   * Options and payload of a response we send, with the Block1 echo and, if the body is larger than
   * our block size or a block was asked for, the Block2 slice. options null: the asked block does not exist (4.02).
   */
  private responseContent(
    res: CoapResponse,
    block1Echo: BlockValue | undefined,
    block2: BlockValue | undefined,
  ): { options: CoapOption[] | null; payload: Buffer } {
    const options = responseOptions(res);
    let payload = res.payload;
    if (block1Echo) options.push(blockOption(OptionNumber.Block1, block1Echo));
    if (this.config.blockwise.enable && (payload.length > blockSize(this.maxSzx) || (block2 && isSuccessCode(res.code)))) {
      const slice = sliceBlock2(payload, block2, this.maxSzx);
      if (slice === 'out-of-range') return { options: null, payload: EMPTY };
      if (slice) {
        options.push(blockOption(OptionNumber.Block2, slice.block));
        if (slice.block.num === 0 && slice.block.more) options.push({ number: OptionNumber.Size2, value: encodeUint(payload.length) });
        payload = slice.data;
      }
    }
    return { options, payload };
  }

  // --- outbound ----------------------------------------------------------------------------

  private createExchange(peer: Peer, req: CoapRequest, listener: ExchangeListener): ClientExchange {
    const wanted = req.token;
    const token = wanted && wanted.length > 0 && wanted.length <= 8 && !this.exchanges.has(tokenKey(wanted)) ? wanted : this.newToken();
    const ex = new ClientExchange(this.host, peer, req, listener, token);
    this.exchanges.set(tokenKey(token), ex);
    return ex;
  }

  private sendRequestMessage(ex: ClientExchange, options: CoapOption[], payload: Buffer): void {
    const messageId = this.nextMessageId();
    const confirmable = ex.confirmable;
    const bytes = encodeMessage({
      type: confirmable ? 'CON' : 'NON',
      code: METHOD_CODES[ex.request.method],
      messageId,
      token: ex.token,
      options,
      payload,
    });
    if (ex.transmission) this.retransmitter.cancel(ex.transmission);
    ex.transmission = undefined;
    if (confirmable) {
      const t = new Transmission<TransmissionContext>(DedupCache.key(ex.peer, messageId), ex.peer, bytes, ex);
      ex.transmission = t;
      this.retransmitter.start(t);
    } else {
      this.transport.send(ex.peer, bytes);
    }
  }

  private onTransmissionGivenUp(t: Transmission<TransmissionContext>): void {
    const context = t.context;
    if (context instanceof ClientExchange) {
      if (context.transmission !== t) return;
      context.transmission = undefined;
      context.handleTimeout();
    } else if (context instanceof SentNotification) {
      this.emit('observeCancelled', t.peer, context.token, 'timeout' satisfies ObserveCancelReason);
    }
  }

  private nextMessageId(): number {
    this.messageId = (this.messageId + 1) & 0xffff;
    return this.messageId;
  }

  /** 8 random bytes, unique among open exchanges (random tokens resist off-path spoofing, §5.3.1). */
  private newToken(): Buffer {
    for (;;) {
      if (this.tokenPoolPos + TOKEN_LENGTH > this.tokenPool.length) {
        randomFillSync(this.tokenPool);
        this.tokenPoolPos = 0;
      }
      const token = Buffer.from(this.tokenPool.subarray(this.tokenPoolPos, this.tokenPoolPos + TOKEN_LENGTH));
      this.tokenPoolPos += TOKEN_LENGTH;
      if (!this.exchanges.has(tokenKey(token))) return token;
    }
  }

  private reportError(err: unknown): void {
    if (this.listenerCount('error') === 0) return; // an unheard 'error' event would throw
    try {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    } catch {
      // a throwing listener must not break the datagram path
    }
  }

  private reportMalformed(peer: Peer, reason: string): void {
    if (this.listenerCount('malformed') > 0) this.emit('malformed', peer, reason);
  }

  private reportLimit(peer: Peer, limit: CoapLimit, code: string, detail: string): void {
    if (this.listenerCount('limit') === 0) return;
    try {
      this.emit('limit', peer, limit, code, detail);
    } catch (err) {
      this.reportError(err); // a throwing listener must not break the datagram path
    }
  }
}

/** The token as a string key; the usual 8-byte token without Buffer#toString's native call (~4x faster). */
function tokenKey(token: Buffer): string {
  if (token.length === 8) return String.fromCharCode(token[0], token[1], token[2], token[3], token[4], token[5], token[6], token[7]);
  return token.toString('latin1');
}

function blockOption(number: number, block: BlockValue): CoapOption {
  return { number, value: encodeBlock(block) };
}

function diagnostic(code: string, text: string): CoapResponse {
  return { code, payload: Buffer.from(text, 'utf8') };
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function onEmptyAckDue(endpoint: CoapEndpoint, tx: ServerTransaction): void {
  endpoint.sendEmptyAck(tx);
}

function onHousekeeping(endpoint: CoapEndpoint): void {
  endpoint.sweep();
}
