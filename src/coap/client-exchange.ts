import type { Peer } from '../transport/transport';
import { BlockAssembler } from './block-assembler';
import type { CoapCounters } from './coap-counters';
import { ResponseCode, isSuccessCode } from './codes';
import type { CoapConfig } from './config';
import { type CoapMessage, findOption } from './message';
import { requestOptions, responseFromMessage } from './message-mapping';
import { isFreshNotification } from './observe-order';
import { type BlockValue, type CoapOption, OptionNumber, blockSize, decodeBlock, decodeUint, encodeBlock, encodeUint, szxForSize } from './options';
import type { Transmission } from './retransmission';
import type { CoapRequest, CoapResponse, ExchangeListener, OutgoingExchange } from './types';

/** What a client exchange needs from its endpoint. */
export interface ExchangeHost {
  readonly config: CoapConfig;
  /** The endpoint's counters (notifications, block-wise transfers, timeouts). */
  readonly counters: CoapCounters;
  /** Encodes and sends one request message of the exchange under a fresh message id; CON ones are retransmitted. Throws if it cannot be encoded. */
  sendRequest(ex: ClientExchange, options: CoapOption[], payload: Buffer): void;
  stopTransmission(ex: ClientExchange): void;
  /** Forgets the exchange's token: later messages with it are unknown. */
  unbind(ex: ClientExchange): void;
  /** A new exchange under a fresh token (bound, not started). */
  createExchange(peer: Peer, req: CoapRequest, listener: ExchangeListener): ClientExchange;
}

type ExchangeState =
  | 'active' // request message in flight, or sent NON
  | 'separate' // empty ACK received, waiting for the separate response
  | 'observing' // observation registered: messages with the token are notifications
  | 'fetching' // first response came block-wise: a child exchange fetches the remaining blocks
  | 'done';

/** Outbound request body sent with Block1 (RFC 7959 §2.5). */
interface Upload {
  body: Buffer;
  num: number;
  szx: number;
}

/** Remaining blocks of a response fetched with Block2 (RFC 7959 §2.4); `head` is the message carrying block 0. */
interface Download {
  head: CoapMessage;
  assembler: BlockAssembler;
  etag: Buffer | undefined;
  szx: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * One outbound request and everything that answers it: ACK, piggybacked or separate response,
 * Block1 upload, Block2 download (through a child exchange), notifications of an observation.
 */
export class ClientExchange implements OutgoingExchange {
  /** Set by the host while a CON of this exchange awaits its ACK. */
  transmission: Transmission<unknown> | undefined;
  private state: ExchangeState = 'active';
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private delivered = false;
  private upload: Upload | undefined;
  private download: Download | undefined;
  private child: ClientExchange | undefined;
  private observeSeq = 0;
  private observeTime = 0;

  constructor(
    private readonly host: ExchangeHost,
    /** Kept by reference: matching reads its current address and port. */
    readonly peer: Peer,
    readonly request: CoapRequest,
    private readonly listener: ExchangeListener,
    /**
     * The token as the exchange table's key (one byte per char): kept instead of a Buffer, which
     * costs ~200-360 bytes per long-lived observation (measured at 50k tokens: a Buffer copied from
     * Node's pool keeps 8 KB slabs alive; even an unpooled one is ~200 B of heap).
     */
    readonly key: string,
  ) {}

  /** The token's bytes (a new Buffer each time). */
  get token(): Buffer {
    return Buffer.from(this.key, 'latin1');
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  get confirmable(): boolean {
    return this.request.confirmable !== false;
  }

  /** Sends the first message. Failures are reported asynchronously, after request() has returned. */
  start(): void {
    const { blockwise } = this.host.config;
    const body = this.request.payload;
    if (blockwise.enable && body && body.length > blockwise.maxBlockSize) {
      this.upload = { body, num: 0, szx: szxForSize(blockwise.maxBlockSize) };
      this.host.counters.blockwiseSent++;
    }
    try {
      this.sendCurrent();
    } catch (err) {
      this.finish();
      queueMicrotask(() => this.listener.onError?.(err as Error));
    }
  }

  /**
   * Takes up an observation made before (by an earlier process: its token was kept): nothing is
   * sent, messages with the token are notifications, and the first one is fresh whatever its
   * sequence number (RFC 7641 §3.4 allows that after 128 s; the last number seen is not known).
   */
  resumeObserving(): void {
    this.state = 'observing';
    this.delivered = true;
    this.observeSeq = 0;
    this.observeTime = 0;
  }

  /** Starts a child exchange's download: it asks for the block after what `head` carried. */
  startDownload(download: Download): void {
    this.download = download;
    this.sendOrFail();
  }

  cancel(): void {
    if (this.child) this.child.cancel();
    this.child = undefined;
    this.finish();
  }

  // --- events from the endpoint -------------------------------------------------------------

  handleEmptyAck(): void {
    if (this.state !== 'active') return;
    this.state = 'separate';
    this.startLifetimeTimer();
    this.listener.onAck?.();
  }

  handleReset(): void {
    if (this.state === 'done') return;
    this.finish();
    this.listener.onReset?.();
  }

  /** No response within the exchange lifetime (a NON request, or a separate response after an empty ACK). */
  lifetimeExpired(): void {
    if (this.state !== 'done') this.host.counters.timeouts++;
    this.handleTimeout();
  }

  handleTimeout(): void {
    if (this.state === 'done') return;
    this.finish();
    this.listener.onTimeout?.();
  }

  /** A response (piggybacked, separate, or a notification) with this exchange's token from its peer. */
  handleResponse(message: CoapMessage, now: number): void {
    if (this.state === 'observing') return this.handleNotification(message, now);
    if (this.state === 'done' || this.state === 'fetching') return;
    // A separate response also acknowledges the request (its ACK may have been lost).
    this.host.stopTransmission(this);
    this.clearLifetimeTimer();
    if (this.upload) {
      if (message.code === ResponseCode.Continue) return this.continueUpload(message);
      this.upload = undefined; // any other code is the final response (e.g. 2.04, 4.08, 4.13 with Size1)
    }
    if (this.download) return this.continueDownload(message);
    this.handleFirstResponse(message, now);
  }

  // --- internals ---------------------------------------------------------------------------

  private handleFirstResponse(message: CoapMessage, now: number): void {
    const blockwise = this.host.config.blockwise.enable;
    const observeValue = findOption(message.options, OptionNumber.Observe);
    if (this.request.observe === 0 && observeValue !== undefined && isSuccessCode(message.code)) {
      // The first response counts as the first notification for ordering (RFC 7641 §3.4).
      this.state = 'observing';
      this.observeSeq = decodeUint(observeValue);
      this.observeTime = now;
    }
    if (blockwise) {
      const block = this.block2Of(message);
      if (block === null) return;
      if (block?.more) return this.fetchRest(message, block);
    }
    if (this.state !== 'observing') this.finish();
    // A request that carries its own Block1 (the caller sends a body block by block, e.g. a firmware
    // push that reports progress and resumes after a loss) hears the peer's Block1 answer.
    this.deliver(responseFromMessage(message, blockwise && !this.request.options?.some((o) => o.number === OptionNumber.Block1)));
  }

  private handleNotification(message: CoapMessage, now: number): void {
    const blockwise = this.host.config.blockwise.enable;
    const observeValue = findOption(message.options, OptionNumber.Observe);
    if (observeValue === undefined || !isSuccessCode(message.code)) {
      // The server ended the observation (RFC 7641 §3.2, §4.2).
      this.cancel();
      this.deliver(responseFromMessage(message, blockwise));
      return;
    }
    const seq = decodeUint(observeValue);
    if (!isFreshNotification(this.observeSeq, this.observeTime, seq, now)) return;
    this.observeSeq = seq;
    this.observeTime = now;
    // A fresher notification supersedes one whose blocks are still being fetched.
    if (this.child) this.child.cancel();
    this.child = undefined;
    if (blockwise) {
      const block = this.block2Of(message);
      if (block === null) return;
      if (block?.more) return this.fetchRest(message, block);
    }
    this.deliver(responseFromMessage(message, blockwise));
  }

  /** The Block2 option of a response; null (after reporting) if invalid or not a first block. */
  private block2Of(message: CoapMessage): BlockValue | undefined | null {
    const raw = findOption(message.options, OptionNumber.Block2);
    if (raw === undefined) return undefined;
    const block = decodeBlock(raw);
    if (block && block.num === 0) return block;
    this.reject(new Error(`unexpected Block2 option in response ${message.code}`));
    return null;
  }

  /** The first response or a notification was block 0 of a larger body: fetch the rest (RFC 7959 §2.4, §2.6). */
  private fetchRest(head: CoapMessage, block: BlockValue): void {
    const { maxBodySize } = this.host.config.blockwise;
    const size2 = findOption(head.options, OptionNumber.Size2);
    if (size2 !== undefined && decodeUint(size2) > maxBodySize) {
      return this.reject(new Error(`response body of ${decodeUint(size2)} bytes exceeds maxBodySize ${maxBodySize}`));
    }
    const assembler = new BlockAssembler(maxBodySize);
    if (assembler.append(0, head.payload) !== 'ok' || head.payload.length !== blockSize(block.szx)) {
      return this.reject(new Error('malformed first block of a block-wise response'));
    }
    const observing = this.state === 'observing';
    if (!observing) {
      // The request is answered; the token is no longer needed.
      this.state = 'fetching';
      this.host.unbind(this);
    }
    const req = this.request;
    // Later blocks of a notification are fetched with a plain GET (no Observe); of a POST/PUT
    // response, with the same method and no body; FETCH needs its body to identify the resource.
    const method = req.method === 'FETCH' ? 'FETCH' : observing ? 'GET' : req.method;
    const fetchRequest: CoapRequest = {
      method,
      uriPath: req.uriPath,
      uriQuery: req.uriQuery,
      accept: req.accept,
      contentFormat: method === 'FETCH' ? req.contentFormat : undefined,
      payload: method === 'FETCH' ? req.payload : undefined,
      confirmable: req.confirmable,
    };
    const relay = new BlockFetchListener(this);
    const child = this.host.createExchange(this.peer, fetchRequest, relay);
    relay.child = child;
    this.child = child;
    child.startDownload({ head, assembler, etag: findOption(head.options, OptionNumber.ETag), szx: block.szx });
  }

  private continueDownload(message: CoapMessage): void {
    const download = this.download as Download;
    if (!isSuccessCode(message.code)) return this.fail(new Error(`block-wise transfer failed with ${message.code}`));
    const raw = findOption(message.options, OptionNumber.Block2);
    const block = raw === undefined ? undefined : decodeBlock(raw);
    if (!block) return this.fail(new Error('block-wise transfer: response without a valid Block2 option'));
    const etag = findOption(message.options, OptionNumber.ETag);
    if (download.etag !== undefined && (etag === undefined || !etag.equals(download.etag))) return this.fail(new Error('block-wise transfer: ETag changed'));
    const result = download.assembler.append(block.num * blockSize(block.szx), message.payload);
    if (result === 'too-large') {
      const max = this.host.config.blockwise.maxBodySize;
      return this.fail(new Error(`response body exceeds maxBodySize ${max}`));
    }
    if (result === 'out-of-order') return this.fail(new Error('block-wise transfer: block out of order'));
    if (block.more) {
      if (message.payload.length !== blockSize(block.szx)) return this.fail(new Error('block-wise transfer: short intermediate block'));
      download.szx = block.szx;
      this.state = 'active';
      return this.sendOrFail();
    }
    this.finish();
    this.host.counters.blockwiseReceived++;
    this.listener.onResponse(responseFromMessage(download.head, true, download.assembler.body()));
  }

  private continueUpload(message: CoapMessage): void {
    const upload = this.upload as Upload;
    const raw = findOption(message.options, OptionNumber.Block1);
    const block = raw === undefined ? undefined : decodeBlock(raw);
    const nextOffset = (upload.num + 1) * blockSize(upload.szx);
    if (!block || nextOffset >= upload.body.length) return this.fail(new Error('block-wise upload: unexpected 2.31 Continue'));
    // The server may ask for smaller blocks: continue at the same offset in its unit (RFC 7959 §2.5).
    upload.szx = Math.min(block.szx, upload.szx);
    upload.num = nextOffset / blockSize(upload.szx);
    this.state = 'active';
    this.sendOrFail();
  }

  /** Called by the child exchange fetching the remaining blocks. */
  onFetched(child: ClientExchange, res: CoapResponse): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (this.state === 'fetching') this.finish();
    this.deliver(res);
  }

  onFetchFailed(child: ClientExchange, kind: 'timeout' | 'reset' | 'error', err: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (this.state === 'observing' && this.delivered) {
      // The observation itself is still fine; only this notification is lost.
      this.listener.onError?.(err);
      return;
    }
    this.finish();
    if (kind === 'timeout') this.listener.onTimeout?.();
    else if (kind === 'reset') this.listener.onReset?.();
    else this.listener.onError?.(err);
  }

  private deliver(res: CoapResponse): void {
    if (!this.delivered) {
      this.delivered = true;
      this.listener.onResponse(res);
    } else {
      this.host.counters.notifications++;
      this.listener.onNotification?.(res);
    }
  }

  /** A response body we cannot take: only this notification is lost if the observation is established, else the exchange fails. */
  private reject(err: Error): void {
    if (this.state === 'observing' && this.delivered) this.listener.onError?.(err);
    else this.fail(err);
  }

  private fail(err: Error): void {
    if (this.child) this.child.cancel();
    this.child = undefined;
    this.finish();
    this.listener.onError?.(err);
  }

  private sendOrFail(): void {
    try {
      this.sendCurrent();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Sends the request message for the current step: the request, its next Block1 block, or a Block2 request. */
  private sendCurrent(): void {
    const options = requestOptions(this.request, true);
    let payload = this.request.payload ?? EMPTY;
    if (this.upload) {
      const { body, num, szx } = this.upload;
      const size = blockSize(szx);
      const start = num * size;
      const end = Math.min(start + size, body.length);
      options.push({ number: OptionNumber.Block1, value: encodeBlock({ num, more: end < body.length, szx }) });
      if (num === 0) options.push({ number: OptionNumber.Size1, value: encodeUint(body.length) });
      payload = body.subarray(start, end);
    } else if (this.download) {
      const { assembler, szx } = this.download;
      const num = Math.floor(assembler.length / blockSize(szx));
      options.push({ number: OptionNumber.Block2, value: encodeBlock({ num, more: false, szx }) });
    }
    this.host.sendRequest(this, options, payload);
    if (!this.confirmable) this.startLifetimeTimer(); // a NON request may never be answered
  }

  private startLifetimeTimer(): void {
    this.clearLifetimeTimer();
    const ms = this.host.config.blockwise.exchangeLifetime * 1000;
    this.lifetimeTimer = setTimeout(onLifetimeExpired, ms, this);
  }

  private clearLifetimeTimer(): void {
    if (this.lifetimeTimer) clearTimeout(this.lifetimeTimer);
    this.lifetimeTimer = undefined;
  }

  private finish(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.host.unbind(this);
    this.host.stopTransmission(this);
    this.clearLifetimeTimer();
  }
}

/** Relays the outcome of a child exchange that fetches remaining Block2 blocks to its parent. */
class BlockFetchListener implements ExchangeListener {
  child: ClientExchange | undefined;

  constructor(private readonly parent: ClientExchange) {}

  onResponse(res: CoapResponse): void {
    this.parent.onFetched(this.child as ClientExchange, res);
  }

  onReset(): void {
    this.parent.onFetchFailed(this.child as ClientExchange, 'reset', new Error('block-wise transfer: reset by peer'));
  }

  onTimeout(): void {
    this.parent.onFetchFailed(this.child as ClientExchange, 'timeout', new Error('block-wise transfer: timed out'));
  }

  onError(err: Error): void {
    this.parent.onFetchFailed(this.child as ClientExchange, 'error', err);
  }
}

function onLifetimeExpired(ex: ClientExchange): void {
  ex.lifetimeExpired();
}
