import type { EventEmitter } from 'node:events';

/** The remote end of a datagram: its address and, over DTLS, the authenticated identity. */
export interface Peer {
  address: string;
  port: number;
  /** Who the DTLS handshake authenticated; absent on plain UDP. */
  identity?: PeerIdentity;
}

/** A credential checked by the transport (DTLS PSK or certificate; raw public keys later). */
export interface PeerIdentity {
  kind: 'psk' | 'x509';
  /** The PSK identity, or the certificate subject's CN. */
  name: string;
  /**
   * Endpoint names this credential may register: the PSK entry's endpoint (by default the identity
   * itself), or the certificate's CN and SAN URIs.
   */
  endpoints: readonly string[];
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
