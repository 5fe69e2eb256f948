/**
 * What a CoAP endpoint counted since it started, for metrics read at scrape time: plain integers
 * the message path bumps, nothing allocated to count.
 */
export class CoapCounters {
  /** CON messages sent again for want of an ACK (RFC 7252 §4.2). */
  retransmissions = 0;
  /**
   * Exchanges that ended unanswered: CONs given up after max_retransmit (requests and
   * notifications), and requests whose response never came within the exchange lifetime (a NON
   * request, or a separate response promised by an empty ACK).
   */
  timeouts = 0;
  /** Notifications taken for an open observation (fresh by RFC 7641 ordering, reassembled if block-wise). */
  notifications = 0;
  /** Bodies received in blocks and reassembled (RFC 7959): Block1 request bodies, Block2 responses fetched. */
  blockwiseReceived = 0;
  /** Bodies whose sending in blocks began: Block1 request uploads, Block2 responses cut into blocks. */
  blockwiseSent = 0;
}
