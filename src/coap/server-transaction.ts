import type { Peer } from '../transport/transport';
import type { DedupEntry } from './dedup-cache';
import type { BlockValue } from './options';

/** An inbound request being answered: what the reply needs to know about it. */
export class ServerTransaction {
  /** Pending empty-ACK timer while an asynchronous handler runs. */
  timer: NodeJS.Timeout | undefined;
  /** The request was ACKed empty: the response goes out as a separate CON (§5.2.2). */
  separate = false;
  /** Block1 to echo in the final response of a block-wise request body. */
  block1Echo: BlockValue | undefined;
  /** Block2 the client asked for. */
  block2: BlockValue | undefined;

  constructor(
    readonly peer: Peer,
    readonly messageId: number,
    readonly token: Buffer,
    readonly confirmable: boolean,
    /** Where the reply is recorded for replay to duplicates. */
    readonly dedupEntry: DedupEntry,
  ) {}
}
