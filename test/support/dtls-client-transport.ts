import { EventEmitter } from 'node:events';
import { dtls } from 'node-dtls-client';
import type { Peer, Transport } from '../../src/transport/transport';
import { freeUdpPort } from './ports';

export interface DtlsClientOptions {
  gateway: { host: string; port: number };
  identity: string;
  /** node-dtls-client takes the key as ASCII text. */
  key: string;
  ciphers?: ('TLS_PSK_WITH_AES_128_CCM_8' | 'TLS_PSK_WITH_AES_128_GCM_SHA256' | 'TLS_PSK_WITH_AES_128_CBC_SHA256')[];
  timeoutMs?: number;
}

/**
 * A device-side DTLS transport for tests, over node-dtls-client (an independent PSK client): one
 * session to the gateway, datagrams in and out like UdpTransport.
 */
export class DtlsClientTransport extends EventEmitter implements Transport {
  readonly scheme = 'coaps';
  private closed = false;

  private constructor(
    private readonly socket: dtls.Socket,
    private readonly localPort: number,
    private readonly gateway: Peer,
  ) {
    super();
    socket.on('message', (bytes: Buffer) => this.emit('datagram', bytes, this.gateway));
    socket.on('error', (err: Error) => this.emit('error', err));
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /** Resolves once the handshake finished; rejects with the alert or timeout otherwise. */
  static async connect(options: DtlsClientOptions): Promise<DtlsClientTransport> {
    // node-dtls-client binds its port on every address: a socket of another test (or of the attack
    // in an attack test) on 127.0.0.x may take it between the pick and the bind. Pick again then.
    for (let attempt = 1; ; attempt++) {
      try {
        return await DtlsClientTransport.connectFrom(options, await freeUdpPort('0.0.0.0'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
      }
    }
  }

  private static connectFrom(options: DtlsClientOptions, listenPort: number): Promise<DtlsClientTransport> {
    return new Promise((resolve, reject) => {
      const socket = dtls.createSocket({
        type: 'udp4',
        address: options.gateway.host,
        port: options.gateway.port,
        psk: { [options.identity]: options.key },
        timeout: options.timeoutMs ?? 3000,
        ciphers: options.ciphers ?? ['TLS_PSK_WITH_AES_128_CCM_8'],
        listenPort,
      });
      const fail = (err: Error) => {
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        reject(err);
      };
      socket.once('error', fail);
      socket.once('close', () => fail(new Error('closed during the handshake')));
      socket.once('connected', () => {
        socket.removeAllListeners();
        resolve(new DtlsClientTransport(socket, listenPort, { address: options.gateway.host, port: options.gateway.port }));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  address(): { address: string; port: number } {
    return { address: '127.0.0.1', port: this.localPort };
  }

  send(_peer: Peer, bytes: Buffer): void {
    if (!this.closed) this.socket.send(bytes);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
      setTimeout(resolve, 200).unref();
    });
  }
}
