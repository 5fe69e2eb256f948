import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { RECEIVE_CLOSED, RECEIVE_FAILED, RECEIVE_HANDSHAKE_DONE, type DtlsContext, type DtlsSession, type NativeDtls } from '../src/transport/dtls/native-binding';
import type { Peer, Transport } from '../src/transport/transport';

export interface DtlsClientContextOptions {
  /** OpenSSL cipher list offered, e.g. 'PSK-AES128-CCM8'. */
  ciphers: string;
  psk?: { identity: string; key: Buffer };
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  /** Verify the gateway's certificate against `ca`. */
  verifyPeer?: boolean;
}

/**
 * DTLS clients on the gateway's own addon in client mode, many sessions sharing one OpenSSL context:
 * the load generator of the DTLS benchmarks and the certificate device of the tests (node-dtls-client,
 * the independent peer of the PSK tests, has no certificates).
 */
export class DtlsClientContext {
  private readonly context: DtlsContext;
  private readonly clients = new Map<number, DtlsClient>();
  private nextId = 1;

  constructor(
    readonly native: NativeDtls,
    options: DtlsClientContextOptions,
  ) {
    this.context = native.createContext({
      mode: 'client',
      ciphers: options.ciphers,
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      verifyPeer: options.verifyPeer ?? false,
      pskIdentity: options.psk?.identity,
      pskKey: options.psk?.key,
      send: (id, datagram) => this.clients.get(id)?.sendRaw(datagram),
      data: (id, plaintext) => this.clients.get(id)?.queue(plaintext),
    });
  }

  /** Handshakes over `socket` (bound by the caller) with the gateway; resolves when established. */
  connect(socket: dgram.Socket, gateway: Peer, timeoutMs = 5000): Promise<DtlsClient> {
    const id = this.nextId++;
    const client = new DtlsClient(this.native, socket, gateway, () => this.clients.delete(id));
    this.clients.set(id, client);
    let session: DtlsSession;
    try {
      session = this.native.connect(this.context, id);
    } catch (err) {
      this.clients.delete(id);
      return Promise.reject(err as Error);
    }
    return client.start(session, timeoutMs);
  }

  /** Sessions of this context not yet closed or failed. */
  get size(): number {
    return this.clients.size;
  }
}

/** One client session: a Transport for a CoAP endpoint on the device side. */
export class DtlsClient extends EventEmitter implements Transport {
  readonly scheme = 'coaps';
  private session: DtlsSession | undefined;
  private established = false;
  private readonly inbox: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private settle: ((err?: Error) => void) | undefined;
  private readonly onMessage = (bytes: Buffer, rinfo: dgram.RemoteInfo): void => {
    if (rinfo.port === this.gateway.port) this.receive(bytes);
  };
  lastError = '';

  constructor(
    private readonly native: NativeDtls,
    readonly socket: dgram.Socket,
    private readonly gateway: Peer,
    private readonly release: () => void,
  ) {
    super();
  }

  /** @internal */
  start(session: DtlsSession, timeoutMs: number): Promise<DtlsClient> {
    this.session = session;
    this.socket.on('message', this.onMessage);
    this.arm();
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => this.fail('handshake timed out'), timeoutMs);
      this.settle = (err) => {
        clearTimeout(deadline);
        this.settle = undefined;
        if (err) reject(err);
        else resolve(this);
      };
    });
  }

  get isEstablished(): boolean {
    return this.established;
  }

  address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** @internal the addon's `send` callback. */
  sendRaw(datagram: Buffer): void {
    this.socket.send(datagram, this.gateway.port, this.gateway.address);
  }

  /** @internal the addon's `data` callback: emitted after the native call returns. */
  queue(plaintext: Buffer): void {
    this.inbox.push(plaintext);
  }

  send(_peer: Peer, bytes: Buffer): void {
    if (this.session && this.established) this.native.write(this.session, bytes);
  }

  /** Sends one datagram exactly as given (for replay tests): bypasses the session. */
  sendRecord(bytes: Buffer): void {
    this.sendRaw(bytes);
  }

  private receive(bytes: Buffer): void {
    if (!this.session) return;
    const status = this.native.receive(this.session, bytes);
    if (status === RECEIVE_HANDSHAKE_DONE) {
      this.established = true;
      this.settle?.();
    }
    for (const plaintext of this.inbox.splice(0)) this.emit('datagram', plaintext, this.gateway);
    if (status === RECEIVE_CLOSED) this.end('closed by the gateway');
    else if (status === RECEIVE_FAILED) this.fail(this.native.lastError(this.session) || 'handshake failed');
    else this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.session || this.established) return;
    const ms = this.native.timeoutMs(this.session);
    if (ms < 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.session && !this.native.handleTimeout(this.session)) this.fail('retransmissions exhausted');
      else this.arm();
    }, ms);
  }

  private fail(reason: string): void {
    this.lastError = reason;
    this.settle?.(new Error(reason));
    this.end(reason);
  }

  private end(reason: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.session) this.native.free(this.session);
    this.session = undefined;
    this.established = false;
    this.socket.off('message', this.onMessage);
    this.release();
    this.emit('closed', reason);
  }

  /** Sends close_notify (when established) and frees the session; the socket stays the caller's (and is left without this client's listener). */
  close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.session) {
      this.native.close(this.session);
      this.session = undefined;
      this.established = false;
      this.socket.off('message', this.onMessage);
      this.release();
    }
    this.settle?.(new Error('closed'));
    return Promise.resolve();
  }
}
