import { szxForSize } from './options';

export interface BlockwiseConfig {
  enable: boolean;
  /** 16..1024, a power of two. */
  maxBlockSize: number;
  /** Largest body reassembled from blocks, in bytes. */
  maxBodySize: number;
  /** Seconds; also the deduplication window and the wait for a separate response. */
  exchangeLifetime: number;
  /**
   * Bytes held in unfinished request bodies (Block1), all peers together (beyond: 5.03 with Max-Age)
   * and per source address (beyond: 4.13). Charged as payload plus a per-block bookkeeping cost.
   */
  maxPendingBytes: number;
  maxPendingBytesPerSource: number;
}

export interface CoapConfig {
  /** Seconds. */
  ackTimeout: number;
  ackRandomFactor: number;
  maxRetransmit: number;
  blockwise: BlockwiseConfig;
}

/** Partial<CoapConfig>, with blockwise settings that may also be partial. */
export type CoapConfigInput = Partial<Omit<CoapConfig, 'blockwise'>> & { blockwise?: Partial<BlockwiseConfig> };

export const DEFAULT_COAP_CONFIG: CoapConfig = Object.freeze({
  ackTimeout: 2,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  blockwise: Object.freeze({
    enable: true,
    maxBlockSize: 1024,
    maxBodySize: 4 * 1024 * 1024,
    exchangeLifetime: 247,
    maxPendingBytes: 64 * 1024 * 1024,
    maxPendingBytesPerSource: 8 * 1024 * 1024,
  }),
});

/** Merges with the defaults and validates; throws RangeError on nonsense values. */
export function resolveCoapConfig(input: CoapConfigInput = {}): CoapConfig {
  const config: CoapConfig = {
    ackTimeout: input.ackTimeout ?? DEFAULT_COAP_CONFIG.ackTimeout,
    ackRandomFactor: input.ackRandomFactor ?? DEFAULT_COAP_CONFIG.ackRandomFactor,
    maxRetransmit: input.maxRetransmit ?? DEFAULT_COAP_CONFIG.maxRetransmit,
    blockwise: { ...DEFAULT_COAP_CONFIG.blockwise, ...input.blockwise },
  };
  if (!(config.ackTimeout > 0)) throw new RangeError('ackTimeout must be > 0');
  if (!(config.ackRandomFactor >= 1)) throw new RangeError('ackRandomFactor must be >= 1');
  if (!Number.isInteger(config.maxRetransmit) || config.maxRetransmit < 0) throw new RangeError('maxRetransmit must be an integer >= 0');
  szxForSize(config.blockwise.maxBlockSize);
  if (!(config.blockwise.maxBodySize > 0)) throw new RangeError('blockwise.maxBodySize must be > 0');
  if (!(config.blockwise.exchangeLifetime > 0)) throw new RangeError('blockwise.exchangeLifetime must be > 0');
  if (!(config.blockwise.maxPendingBytes > 0)) throw new RangeError('blockwise.maxPendingBytes must be > 0');
  if (!(config.blockwise.maxPendingBytesPerSource > 0)) throw new RangeError('blockwise.maxPendingBytesPerSource must be > 0');
  if (config.blockwise.maxPendingBytesPerSource > config.blockwise.maxPendingBytes) {
    throw new RangeError('blockwise.maxPendingBytesPerSource must be <= blockwise.maxPendingBytes');
  }
  return config;
}

/**
 * MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2) in ms: the longest a client retransmits one request before
 * giving up. A Block1 body with no block for this long has been abandoned.
 */
export function maxTransmitWaitMs(config: CoapConfig): number {
  return config.ackTimeout * 1000 * (2 ** (config.maxRetransmit + 1) - 1) * config.ackRandomFactor;
}
