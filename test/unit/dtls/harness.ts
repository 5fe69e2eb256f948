import fs from 'node:fs';
import path from 'node:path';
import {
  loadNativeDtls,
  RECEIVE_HANDSHAKE_DONE,
  type DtlsContext,
  type DtlsContextOptions,
  type DtlsSession,
  type NativeDtls,
} from '../../../src/transport/dtls/native-binding';

/** The addon; npm ci builds it, so a load failure fails the tests instead of skipping them. */
export function native(): NativeDtls {
  const loaded = loadNativeDtls();
  if (!loaded.ok) throw new Error(`DTLS addon not loaded: ${loaded.reason}`);
  return loaded.binding;
}

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(__dirname, '../../fixtures/dtls', name));
}

export const PSK_IDENTITY = 'dev-psk-1';
export const PSK_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
export const PSK_SUITES = ['PSK-AES128-CCM8', 'PSK-AES128-GCM-SHA256', 'PSK-AES128-CBC-SHA256'];
export const CERT_SUITES = ['ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-AES128-GCM-SHA256'];

export type EndpointOptions = Omit<DtlsContextOptions, 'mode' | 'send' | 'data'>;

/** Server options for `ciphers`: PSK lookup of PSK_IDENTITY, certificate, client certs required. */
export function serverOptions(ciphers: string, extra: Partial<EndpointOptions> = {}): EndpointOptions {
  return {
    ciphers,
    cert: fixture('server.pem'),
    key: fixture('server.key.pem'),
    ca: fixture('ca.pem'),
    verifyPeer: true,
    cookieSecret: Buffer.alloc(32, 7),
    psk: (_id, identity) => (identity === PSK_IDENTITY ? PSK_KEY : null),
    ...extra,
  };
}

/** Client options for `ciphers`: the PSK and the dev-cert-1 certificate, server verified. */
export function clientOptions(ciphers: string, extra: Partial<EndpointOptions> = {}): EndpointOptions {
  return {
    ciphers,
    cert: fixture('client.pem'),
    key: fixture('client.key.pem'),
    ca: fixture('ca.pem'),
    verifyPeer: true,
    pskIdentity: PSK_IDENTITY,
    pskKey: PSK_KEY,
    ...extra,
  };
}

/** One context with one session: records what it sends and the plaintext it receives. */
export class Endpoint {
  readonly ctx: DtlsContext;
  session?: DtlsSession;
  outbox: Buffer[] = [];
  received: string[] = [];
  results: number[] = [];
  /** Every datagram ever sent, for size checks. */
  readonly sent: Buffer[] = [];

  constructor(dtls: NativeDtls, mode: 'server' | 'client', options: EndpointOptions) {
    this.ctx = dtls.createContext({
      mode,
      ...options,
      send: (_id, datagram) => {
        this.outbox.push(datagram);
        this.sent.push(datagram);
      },
      data: (_id, plaintext) => this.received.push(plaintext.toString()),
    });
  }

  take(): Buffer[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  get done(): boolean {
    return this.results.includes(RECEIVE_HANDSHAKE_DONE);
  }
}

/** A client and a server passing datagrams in memory; the server side goes through listen(). */
export class Link {
  readonly server: Endpoint;
  readonly client: Endpoint;
  readonly hellos: Buffer[] = [];

  constructor(
    readonly dtls: NativeDtls,
    serverOpts: EndpointOptions,
    clientOpts: EndpointOptions,
    readonly peer = '192.0.2.10:56830',
  ) {
    this.server = new Endpoint(dtls, 'server', serverOpts);
    this.client = new Endpoint(dtls, 'client', clientOpts);
  }

  connect(): void {
    this.client.session = this.dtls.connect(this.client.ctx, 2);
  }

  /** Client → server; `keep` may drop datagrams (loss). */
  toServer(keep: (d: Buffer) => boolean = () => true): void {
    for (const d of this.client.take()) {
      if (!keep(d)) continue;
      if (this.server.session === undefined) {
        const r = this.dtls.listen(this.server.ctx, d, this.peer, 1);
        if (Buffer.isBuffer(r)) {
          this.hellos.push(r);
          this.server.outbox.push(r); // the JS transport would send it
        } else if (r !== null) {
          this.server.session = r;
        }
      } else {
        this.server.results.push(this.dtls.receive(this.server.session, d));
      }
    }
  }

  /** Server → client. */
  toClient(keep: (d: Buffer) => boolean = () => true): void {
    for (const d of this.server.take()) {
      if (!keep(d) || this.client.session === undefined) continue;
      this.client.results.push(this.dtls.receive(this.client.session, d));
    }
  }

  /** Passes datagrams until none are in flight. */
  run(): void {
    for (let round = 0; round < 50 && (this.client.outbox.length > 0 || this.server.outbox.length > 0); round++) {
      this.toServer();
      this.toClient();
    }
  }

  handshake(): void {
    this.connect();
    this.run();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The addon's undocumented diagnostics (native/dtls.c), for tests. */
export interface DtlsDiagnostics {
  sessionStats(session: DtlsSession): {
    /** The session still holds its OpenSSL SSL. */
    ssl: boolean;
    /** It was compacted: SSL freed, the compact record layer carries it. */
    compacted: boolean;
    /** What the addon holds for a compacted session (0 otherwise). */
    bytes: number;
    /** Next epoch-1 sequence number to write (compacted sessions). */
    writeSeq?: number;
    /** Highest epoch-1 sequence number accepted, and the replay window (hex bitmap), once record state exists. */
    readMax?: number;
    readWindow?: string;
  };
  /** A compacted session seals and sends one record of any content type (20..24). */
  testSendRecord(session: DtlsSession, type: number, payload: Buffer): boolean;
}

export function diagnostics(dtls: NativeDtls): DtlsDiagnostics {
  return dtls as unknown as DtlsDiagnostics;
}

export interface RecordHeader {
  type: number;
  version: number;
  epoch: number;
  seq: number;
  length: number;
  /** The whole record, header included. */
  bytes: Buffer;
}

/** The DTLS records of a datagram. */
export function recordsOf(datagram: Buffer): RecordHeader[] {
  const out: RecordHeader[] = [];
  for (let off = 0; datagram.length - off >= 13; ) {
    const length = datagram.readUInt16BE(off + 11);
    if (off + 13 + length > datagram.length) break;
    out.push({
      type: datagram[off],
      version: datagram.readUInt16BE(off + 1),
      epoch: datagram.readUInt16BE(off + 3),
      seq: datagram.readUIntBE(off + 5, 6),
      length,
      bytes: datagram.subarray(off, off + 13 + length),
    });
    off += 13 + length;
  }
  return out;
}
