import type { EventEmitter } from 'node:events';

/** The remote end of a datagram: its address and, over DTLS, the authenticated identity. */
export interface Peer {
  address: string;
  port: number;
  /** PSK identity or certificate subject; absent on plain UDP. */
  identity?: string;
}

/** Key identifying a peer's transport address in maps ("address:port"). */
export function peerKey(peer: Peer): string {
  return `${peer.address}:${peer.port}`;
}

/**
 * What every transport (UDP, DTLS) offers the CoAP layer: datagrams in, datagrams out.
 * Emits `datagram` (bytes: Buffer, peer: Peer) and `error` (err: Error).
 */
export interface Transport extends EventEmitter {
  /** Scheme used in logs and the registration (`coap` or `coaps`). */
  readonly scheme: string;
  send(peer: Peer, bytes: Buffer): void;
  close(): Promise<void>;
}
