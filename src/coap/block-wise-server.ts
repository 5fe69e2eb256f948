import type { Peer } from '../transport/transport';
import { type Block1Outcome, Block1Receiver } from './block1-receiver';
import { sliceBlock2 } from './block2-slicer';
import type { CoapCounters } from './coap-counters';
import { ResponseCode, isSuccessCode } from './codes';
import { type CoapConfig, maxTransmitWaitMs } from './config';
import type { EndpointEvents } from './endpoint-events';
import { type CoapMessage, findOption } from './message';
import { responseOptions } from './message-mapping';
import { type BlockValue, type CoapOption, OptionNumber, blockSize, decodeUint, encodeBlock, encodeUint, szxForSize } from './options';
import type { ServerTransaction } from './server-transaction';
import type { CoapResponse, InboundRequest } from './types';

const EMPTY = Buffer.alloc(0);

/**
 * The server side of block-wise transfers (RFC 7959): reassembles request bodies sent with Block1
 * within the pending-bytes budgets, and cuts responses larger than our block size (or a block the
 * client asked for) into Block2 slices.
 */
export class BlockwiseServer {
  private readonly block1: Block1Receiver;
  private readonly maxSzx: number;

  constructor(
    private readonly config: CoapConfig,
    lifetimeMs: number,
    capacity: number,
    private readonly events: EndpointEvents,
    private readonly counters: CoapCounters,
  ) {
    const { blockwise } = config;
    this.maxSzx = szxForSize(blockwise.maxBlockSize);
    // An abandoned body is dropped once its client would have given up retransmitting a block.
    const block1IdleMs = Math.min(lifetimeMs, maxTransmitWaitMs(config));
    this.block1 = new Block1Receiver(blockwise.maxBodySize, this.maxSzx, block1IdleMs, capacity, {
      total: blockwise.maxPendingBytes,
      perSource: blockwise.maxPendingBytesPerSource,
    });
  }

  /** Unfinished bodies. */
  get size(): number {
    return this.block1.size;
  }

  /** Bytes charged to unfinished bodies, all sources together. */
  get pendingBytes(): number {
    return this.block1.pendingBytes;
  }

  /**
   * Takes one Block1 block of a request. Returns the answer to send now (2.31 Continue or a refusal),
   * or undefined when the body is complete: then `req.payload` is the whole body and `tx` echoes the block.
   */
  receiveBlock1(message: CoapMessage, req: InboundRequest, block1: BlockValue, tx: ServerTransaction, now: number): CoapResponse | undefined {
    const peer = req.peer;
    const size1 = findOption(message.options, OptionNumber.Size1);
    const bodyKey = `${peer.address}:${peer.port} ${req.method} ${req.uriPath.join('/')}`;
    const outcome = this.block1.receive(bodyKey, block1, message.payload, size1 === undefined ? undefined : decodeUint(size1), now, peer.address);
    switch (outcome.kind) {
      case 'continue':
        return { code: ResponseCode.Continue, payload: EMPTY, options: [blockOption(OptionNumber.Block1, outcome.echo)] };
      case 'reject':
        return outcome.code === ResponseCode.RequestEntityTooLarge ? this.tooLarge() : { code: outcome.code, payload: EMPTY };
      case 'over-budget':
        return this.overBudget(peer, outcome);
      case 'complete':
        this.counters.blockwiseReceived++;
        req.payload = outcome.body;
        tx.block1Echo = outcome.echo;
        return undefined;
    }
  }

  /**
   * Options and payload of a response we send, with the Block1 echo and, if the body is larger than
   * our block size or a block was asked for, the Block2 slice. options null: the asked block does not exist (4.02).
   */
  responseContent(res: CoapResponse, block1Echo: BlockValue | undefined, block2: BlockValue | undefined): { options: CoapOption[] | null; payload: Buffer } {
    const options = responseOptions(res);
    let payload = res.payload;
    if (block1Echo) options.push(blockOption(OptionNumber.Block1, block1Echo));
    if (this.config.blockwise.enable && (payload.length > blockSize(this.maxSzx) || (block2 && isSuccessCode(res.code)))) {
      const slice = sliceBlock2(payload, block2, this.maxSzx);
      if (slice === 'out-of-range') return { options: null, payload: EMPTY };
      if (slice) {
        options.push(blockOption(OptionNumber.Block2, slice.block));
        if (slice.block.num === 0 && slice.block.more) {
          options.push({ number: OptionNumber.Size2, value: encodeUint(payload.length) });
          this.counters.blockwiseSent++;
        }
        payload = slice.data;
      }
    }
    return { options, payload };
  }

  sweep(now: number): void {
    this.block1.sweep(now);
  }

  clear(): void {
    this.block1.clear();
  }

  /** A budget is spent: 4.13 for a greedy source, 5.03 with Max-Age (retry after) when everyone's is. */
  private overBudget(peer: Peer, outcome: Extract<Block1Outcome, { kind: 'over-budget' }>): CoapResponse {
    if (outcome.scope === 'source') {
      this.events.limit(peer, 'block1_pending_per_source', outcome.code, `max_pending_bytes_per_source (${outcome.limit}) reached for ${peer.address}`);
      return this.tooLarge();
    }
    this.events.limit(peer, 'block1_pending_total', outcome.code, `max_pending_bytes (${outcome.limit}) reached; retry after ${outcome.retryAfterS} s`);
    return { code: outcome.code, payload: EMPTY, options: [{ number: OptionNumber.MaxAge, value: encodeUint(outcome.retryAfterS) }] };
  }

  /** 4.13 with Size1 = the largest body we take (RFC 7959 §2.9.3). */
  private tooLarge(): CoapResponse {
    return { code: ResponseCode.RequestEntityTooLarge, payload: EMPTY, options: [{ number: OptionNumber.Size1, value: encodeUint(this.config.blockwise.maxBodySize) }] };
  }
}

function blockOption(number: number, block: BlockValue): CoapOption {
  return { number, value: encodeBlock(block) };
}
