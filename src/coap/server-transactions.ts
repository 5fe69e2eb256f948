import type { Peer } from '../transport/transport';
import type { BlockwiseServer } from './block-wise-server';
import { ResponseCode, methodFromCode } from './codes';
import type { CoapConfig } from './config';
import { DedupCache, type DedupEntry } from './dedup-cache';
import type { EndpointEvents } from './endpoint-events';
import { type CoapMessage, encodeEmpty, encodeMessage } from './message';
import { inboundRequestFromMessage } from './message-mapping';
import type { MessageLayer, TransmissionContext } from './message-layer';
import { type BlockValue, OptionNumber, decodeBlock, isCriticalOption } from './options';
import { Transmission } from './retransmission';
import { ServerTransaction } from './server-transaction';
import type { CoapResponse, InboundRequest, RequestHandler } from './types';

/** How long a request handler may run before the request is ACKed empty and answered separately (§5.2.2). */
export const EMPTY_ACK_DELAY_MS = 1000;

const EMPTY = Buffer.alloc(0);

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
 * The server role: checks each new request, runs the request handler on it and answers, piggybacked
 * in the ACK, as a NON, or, when the handler is slow, as a separate CON after an empty ACK (§5.2.2).
 */
export class ServerTransactions {
  handler: RequestHandler | undefined;
  /** Requests whose asynchronous handler still runs. */
  private readonly pending = new Set<ServerTransaction>();

  constructor(
    private readonly config: CoapConfig,
    private readonly messages: MessageLayer,
    private readonly blockwise: BlockwiseServer,
    private readonly events: EndpointEvents,
    private readonly emptyAckDelayMs: number,
  ) {}

  get pendingReplies(): number {
    return this.pending.size;
  }

  /** A request that is not a duplicate; `dedupEntry` records the reply for duplicates to come. */
  receive(message: CoapMessage, peer: Peer, dedupEntry: DedupEntry, now: number): void {
    const tx = new ServerTransaction(peer, message.messageId, message.token, message.type === 'CON', dedupEntry);
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
    if (tx.block2 !== undefined && tx.block2.num > 0) req.block2Num = tx.block2.num;
    if (block1) {
      const answer = this.blockwise.receiveBlock1(message, req, block1, tx, now);
      if (answer) return this.reply(tx, answer);
    }
    this.invokeHandler(tx, req);
  }

  /** @internal the handler is slow: ACK now, answer later in a separate CON. */
  sendEmptyAck(tx: ServerTransaction): void {
    tx.timer = undefined;
    if (!this.pending.has(tx)) return;
    tx.separate = true;
    const ack = encodeEmpty('ACK', tx.messageId);
    this.messages.transport.send(tx.peer, ack);
    tx.dedupEntry.reply = ack;
  }

  /** Drops the replies of handlers still running. */
  clear(): void {
    for (const tx of this.pending) if (tx.timer) clearTimeout(tx.timer);
    this.pending.clear();
  }

  private invokeHandler(tx: ServerTransaction, req: InboundRequest): void {
    const handler = this.handler;
    if (!handler) return this.reply(tx, { code: ResponseCode.NotImplemented, payload: EMPTY });
    let result: CoapResponse | Promise<CoapResponse>;
    try {
      result = handler(req);
    } catch (err) {
      this.events.error(err);
      return this.reply(tx, INTERNAL_SERVER_ERROR);
    }
    if (!isPromiseLike(result)) return this.reply(tx, result);
    this.pending.add(tx);
    if (tx.confirmable) tx.timer = setTimeout(onEmptyAckDue, this.emptyAckDelayMs, this, tx);
    result.then(
      (res) => this.settle(tx, res),
      (err: unknown) => {
        this.events.error(err);
        this.settle(tx, INTERNAL_SERVER_ERROR);
      },
    );
  }

  private settle(tx: ServerTransaction, res: CoapResponse): void {
    if (!this.pending.delete(tx)) return; // endpoint closed meanwhile
    if (tx.timer) clearTimeout(tx.timer);
    tx.timer = undefined;
    this.reply(tx, res);
  }

  /** Answers a request: piggybacked in the ACK, as a NON, or as a separate CON after an empty ACK. */
  private reply(tx: ServerTransaction, res: CoapResponse): void {
    let bytes: Buffer;
    const separate = tx.separate;
    const messageId = separate || !tx.confirmable ? this.messages.nextMessageId(tx.peer) : tx.messageId;
    const type = separate ? 'CON' : tx.confirmable ? 'ACK' : 'NON';
    try {
      const { options, payload } = this.blockwise.responseContent(res, tx.block1Echo, tx.block2);
      bytes = encodeMessage({ type, code: options === null ? ResponseCode.BadOption : res.code, messageId, token: tx.token, options: options ?? [], payload });
    } catch (err) {
      this.events.error(err);
      bytes = encodeMessage({ type, code: ResponseCode.InternalServerError, messageId, token: tx.token, options: [], payload: EMPTY });
    }
    if (separate) {
      this.messages.startTransmission(new Transmission<TransmissionContext>(DedupCache.key(tx.peer, messageId), tx.peer, bytes, null));
      return;
    }
    this.messages.transport.send(tx.peer, bytes);
    if (tx.confirmable) tx.dedupEntry.reply = bytes;
  }
}

function diagnostic(code: string, text: string): CoapResponse {
  return { code, payload: Buffer.from(text, 'utf8') };
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

// A module-level callback with arguments: no closure allocated per request.
function onEmptyAckDue(server: ServerTransactions, tx: ServerTransaction): void {
  server.sendEmptyAck(tx);
}
