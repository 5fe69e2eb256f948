import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Peer, Transport } from './transport';

export interface UdpTransportOptions {
  host: string;
  port: number;
  /** Kernel receive buffer; the default holds only a few hundred datagrams, so bursts are lost. */
  recvBufferSize?: number;
  sendBufferSize?: number;
}

/** Plain CoAP over UDP (node:dgram). */
export class UdpTransport extends EventEmitter implements Transport {
  readonly scheme = 'coap';
  private readonly socket: dgram.Socket;

  private constructor(socket: dgram.Socket) {
    super();
    this.socket = socket;
    socket.on('message', (bytes, rinfo) => {
      const peer: Peer = { address: rinfo.address, port: rinfo.port };
      this.emit('datagram', bytes, peer);
    });
    socket.on('error', (err) => this.emit('error', err));
  }

  static bind(options: UdpTransportOptions): Promise<UdpTransport> {
    const type = options.host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({
      type,
      recvBufferSize: options.recvBufferSize ?? 8 * 1024 * 1024,
      sendBufferSize: options.sendBufferSize ?? 4 * 1024 * 1024,
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port, options.host, () => {
        socket.off('error', reject);
        resolve(new UdpTransport(socket));
      });
    });
  }

  address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  send(peer: Peer, bytes: Buffer): void {
    // No callback: a send error surfaces as the socket's 'error' event, forwarded above, and a
    // closure per datagram would cost on the hot path.
    this.socket.send(bytes, peer.port, peer.address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
