import { randomFillSync } from 'node:crypto';
import type { Peer } from '../transport/transport';
import { ChurnTable } from './churn-table';
import type { CoapCounters } from './coap-counters';
import { ClientExchange, type ExchangeHost } from './client-exchange';
import { METHOD_CODES } from './codes';
import type { CoapConfig } from './config';
import { DedupCache } from './dedup-cache';
import { encodeMessage } from './message';
import type { MessageLayer, TransmissionContext } from './message-layer';
import type { CoapOption } from './options';
import { Transmission } from './retransmission';
import type { CoapRequest, ExchangeListener } from './types';

const TOKEN_LENGTH = 8;

/**
 * The client role: open exchanges by token, fresh tokens, and the request messages the exchanges
 * send (the ExchangeHost they run on). Responses are matched to an exchange by token and peer.
 */
export class ClientExchanges implements ExchangeHost {
  private readonly exchanges = new ChurnTable<ClientExchange>();
  private readonly tokenPool = Buffer.allocUnsafe(TOKEN_LENGTH * 256);
  private tokenPoolPos = this.tokenPool.length; // filled on first use

  constructor(
    readonly config: CoapConfig,
    private readonly messages: MessageLayer,
    readonly counters: CoapCounters,
  ) {}

  get size(): number {
    return this.exchanges.size;
  }

  /** The open exchange a response belongs to: same token, from the peer the request went to. */
  match(token: Buffer, peer: Peer): ClientExchange | undefined {
    const ex = this.exchanges.get(tokenKey(token));
    if (ex === undefined || ex.peer.port !== peer.port || ex.peer.address !== peer.address) return undefined;
    return ex;
  }

  createExchange(peer: Peer, req: CoapRequest, listener: ExchangeListener): ClientExchange {
    const wanted = req.token;
    const key = wanted && wanted.length > 0 && wanted.length <= 8 && !this.exchanges.has(tokenKey(wanted)) ? tokenKey(wanted) : this.newToken();
    const ex = new ClientExchange(this, peer, req, listener, key);
    this.exchanges.set(key, ex);
    return ex;
  }

  /** An observation taken up under its old token; undefined when an open exchange already has that token. */
  resumeObservation(peer: Peer, req: CoapRequest & { token: Buffer }, listener: ExchangeListener): ClientExchange | undefined {
    const key = tokenKey(req.token);
    if (req.token.length === 0 || req.token.length > 8 || this.exchanges.has(key)) return undefined;
    const ex = new ClientExchange(this, peer, req, listener, key);
    this.exchanges.set(key, ex);
    ex.resumeObserving();
    return ex;
  }

  sendRequest(ex: ClientExchange, options: CoapOption[], payload: Buffer): void {
    const messageId = this.messages.nextMessageId(ex.peer);
    const confirmable = ex.confirmable;
    const bytes = encodeMessage({
      type: confirmable ? 'CON' : 'NON',
      code: METHOD_CODES[ex.request.method],
      messageId,
      token: ex.token,
      options,
      payload,
    });
    if (ex.transmission) this.messages.stopTransmission(ex.transmission);
    ex.transmission = undefined;
    if (confirmable) {
      const t = new Transmission<TransmissionContext>(DedupCache.key(ex.peer, messageId), ex.peer, bytes, ex);
      ex.transmission = t;
      this.messages.startTransmission(t);
    } else {
      this.messages.transport.send(ex.peer, bytes);
    }
  }

  stopTransmission(ex: ClientExchange): void {
    if (ex.transmission) this.messages.stopTransmission(ex.transmission);
    ex.transmission = undefined;
  }

  unbind(ex: ClientExchange): void {
    const key = ex.key;
    if (this.exchanges.get(key) === ex) this.exchanges.delete(key);
  }

  /** Ends every open exchange without any callback. */
  clear(): void {
    for (const ex of this.exchanges.values()) ex.cancel();
    this.exchanges.clear();
  }

  /** 8 random bytes, unique among open exchanges (random tokens resist off-path spoofing, §5.3.1), as a key. */
  private newToken(): string {
    for (;;) {
      if (this.tokenPoolPos + TOKEN_LENGTH > this.tokenPool.length) {
        randomFillSync(this.tokenPool);
        this.tokenPoolPos = 0;
      }
      const key = tokenKey(this.tokenPool.subarray(this.tokenPoolPos, this.tokenPoolPos + TOKEN_LENGTH));
      this.tokenPoolPos += TOKEN_LENGTH;
      if (!this.exchanges.has(key)) return key;
    }
  }
}

/** The token as a string key; the usual 8-byte token without Buffer#toString's native call (~4x faster). */
function tokenKey(token: Buffer): string {
  if (token.length === 8) return String.fromCharCode(token[0], token[1], token[2], token[3], token[4], token[5], token[6], token[7]);
  return token.toString('latin1');
}
