/**
 * A CoAP peer on its own UDP socket for the soak's attackers (bound to 127.0.0.2): sends
 * confirmable requests and resolves each with the response code it finally gets (piggybacked, or
 * separate after an empty ACK: the separate CON answer is ACKed), or 'timeout'. When the peer is a
 * device the attacker registered, the gateway's requests to it are answered (`answers: true`, a
 * 2.05 for any GET, TLV for object instances) or left unanswered (a sleeping queue-mode device).
 * No retransmission: everything is on loopback, and a lost answer is reported as a timeout.
 */
import dgram from 'node:dgram';
import { generate, parse, type NamedOption, type ParsedPacket } from 'coap-packet';
import type { DtlsClient } from './dtls-client';

export const ATTACKER_ADDRESS = '127.0.0.2';
export const GATEWAY_ADDRESS = '127.0.0.1';
const EMPTY = Buffer.alloc(0);
const TEXT_VALUE = Buffer.from('21.5');
/** /3303/0 as TLV: resource 5700 (float 21.5). */
const TLV_INSTANCE = Buffer.from([0xe4, 0x16, 0x44, 0x41, 0xac, 0x00, 0x00]);

const FIRST_OBSERVE = 0x010000;

function observeValue(seq: number): Buffer {
  return Buffer.from([(seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff]);
}

interface Pending {
  resolve: (code: string) => void;
  timer: NodeJS.Timeout;
  mid: number;
}

export interface PeerOptions {
  /** Answer the gateway's requests (GET → 2.05, others → 2.04); false: stay silent. */
  answers: boolean;
  address?: string;
  recvBufferSize?: number;
}

/** Outcome tallies: response code (or 'timeout', 'error') → count. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(outcome: string, n = 1): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + n);
  }
  get(outcome: string): number {
    return this.counts.get(outcome) ?? 0;
  }
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  /** "4.29 x 120, 2.01 x 30" (most frequent first). */
  format(): string {
    if (this.counts.size === 0) return 'nothing';
    return [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} x ${v}`)
      .join(', ');
  }
}

export class CoapPeer {
  private mid = Math.floor(Math.random() * 0xffff);
  private tokenCounter = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly byMid = new Map<number, string>();
  private closed = false;
  /** Requests from the gateway seen (observe, read, ...) and datagrams that made no sense. */
  gatewayRequests = 0;
  unmatched = 0;
  /** The gateway's latest observation of this device (token, path depth) and the last Observe value sent. */
  observation: { token: Buffer; instance: boolean; seq: number } | undefined;
  onObserved: (() => void) | undefined;

  /** Sends one CoAP message to the gateway (plain UDP, or through a DTLS session). */
  private readonly link: (bytes: Buffer) => void;

  private constructor(
    readonly socket: dgram.Socket,
    gatewayPort: number,
    private readonly options: PeerOptions,
    dtls?: DtlsClient,
  ) {
    if (dtls) {
      const gateway = { address: GATEWAY_ADDRESS, port: gatewayPort };
      this.link = (bytes) => dtls.send(gateway, bytes);
      dtls.on('datagram', (bytes: Buffer) => this.onDatagram(bytes));
    } else {
      this.link = (bytes) => socket.send(bytes, gatewayPort, GATEWAY_ADDRESS);
      socket.on('message', (bytes, rinfo) => {
        if (rinfo.port === gatewayPort) this.onDatagram(bytes);
      });
    }
  }

  /** A device over an established DTLS session (the session's socket stays the caller's to close). */
  static overDtls(dtls: DtlsClient, socket: dgram.Socket, gatewayPort: number, options: PeerOptions): CoapPeer {
    return new CoapPeer(socket, gatewayPort, options, dtls);
  }

  static open(gatewayPort: number, options: PeerOptions): Promise<CoapPeer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: options.recvBufferSize ?? 1024 * 1024, sendBufferSize: 1024 * 1024 });
      socket.once('error', reject);
      socket.bind(0, options.address ?? ATTACKER_ADDRESS, () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve(new CoapPeer(socket, gatewayPort, options));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private nextMid(): number {
    this.mid = (this.mid + 1) & 0xffff;
    return this.mid;
  }

  private nextToken(): Buffer {
    const t = Buffer.alloc(8);
    t.writeUInt32BE(process.pid & 0xffffffff, 0);
    t.writeUInt32BE(++this.tokenCounter >>> 0, 4);
    return t;
  }

  /** Sends a CON request; resolves with the final response code, 'timeout' or 'error' (not sent). */
  request(code: string, options: NamedOption[], payload: Buffer = EMPTY, timeoutMs = 10_000): Promise<string> {
    if (this.closed) return Promise.resolve('error');
    const token = this.nextToken();
    const mid = this.nextMid();
    let bytes: Buffer;
    try {
      bytes = generate({ confirmable: true, code, messageId: mid, token, options, payload }, 65_000);
    } catch {
      return Promise.resolve('error');
    }
    const key = token.toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(key, 'timeout'), timeoutMs);
      this.pending.set(key, { resolve, timer, mid });
      this.byMid.set(mid, key);
      try {
        this.link(bytes);
      } catch {
        this.settle(key, 'error');
      }
    });
  }

  /** POST /rd?ep=...&(more query) with a link-format body. */
  register(endpoint: string, extraQuery: string[] = [], links = '</3/0>', timeoutMs?: number): Promise<string> {
    return this.request(
      'POST',
      [
        { name: 'Uri-Path', value: Buffer.from('rd') },
        { name: 'Content-Format', value: Buffer.from([40]) },
        { name: 'Uri-Query', value: Buffer.from(`ep=${endpoint}`) },
        ...extraQuery.map((q) => ({ name: 'Uri-Query' as const, value: Buffer.from(q) })),
      ],
      Buffer.from(links),
      timeoutMs,
    );
  }

  private settle(key: string, code: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    if (this.byMid.get(p.mid) === key) this.byMid.delete(p.mid);
    clearTimeout(p.timer);
    p.resolve(code);
  }

  private onDatagram(bytes: Buffer): void {
    let packet: ParsedPacket;
    try {
      packet = parse(bytes);
    } catch {
      this.unmatched++;
      return;
    }
    if (packet.reset) return;
    if (packet.ack) {
      const key = this.byMid.get(packet.messageId);
      if (key === undefined) return;
      this.byMid.delete(packet.messageId);
      // Empty ACK: the answer follows as a separate message with the token.
      if (packet.code === '0.00') return;
      this.settle(key, packet.code);
      return;
    }
    const isRequest = packet.code.startsWith('0.');
    if (!isRequest) {
      // A separate response (CON or NON) carrying our token.
      if (packet.confirmable) this.sendPacket({ ack: true, code: '0.00', messageId: packet.messageId });
      const key = packet.token.toString('hex');
      if (this.pending.has(key)) this.settle(key, packet.code);
      else this.unmatched++;
      return;
    }
    this.gatewayRequests++;
    if (!this.options.answers) return;
    const isGet = packet.code === '0.01';
    const observe = packet.options.find((o) => o.name === 'Observe');
    const path = packet.options.filter((o) => o.name === 'Uri-Path').map((o) => o.value.toString());
    const instance = path.length === 2;
    const options: NamedOption[] = [];
    const starts = isGet && observe !== undefined && (observe.value.length === 0 || (observe.value.length === 1 && observe.value[0] === 0));
    if (starts) {
      this.observation = { token: packet.token, instance, seq: FIRST_OBSERVE };
      options.push({ name: 'Observe', value: observeValue(FIRST_OBSERVE) });
    }
    if (isGet) options.push({ name: 'Content-Format', value: instance ? Buffer.from([0x2d, 0x16]) : EMPTY });
    const reply: Parameters<typeof generate>[0] = {
      ack: packet.confirmable,
      confirmable: false,
      code: isGet ? '2.05' : '2.04',
      messageId: packet.confirmable ? packet.messageId : this.nextMid(),
      token: packet.token,
      options,
      payload: isGet ? (instance ? TLV_INSTANCE : TEXT_VALUE) : EMPTY,
    };
    this.sendPacket(reply);
    if (starts) this.onObserved?.();
  }

  /** The next NON notification of the gateway's observation (Observe + 1); false when not observed. */
  notify(): boolean {
    const obs = this.observation;
    if (!obs || this.closed) return false;
    obs.seq = (obs.seq + 1) & 0xffffff;
    const bytes = generate({
      confirmable: false,
      code: '2.05',
      messageId: this.nextMid(),
      token: obs.token,
      options: [
        { name: 'Observe', value: observeValue(obs.seq) },
        { name: 'Content-Format', value: obs.instance ? Buffer.from([0x2d, 0x16]) : EMPTY },
      ],
      payload: obs.instance ? TLV_INSTANCE : TEXT_VALUE,
    });
    this.link(bytes);
    return true;
  }

  private sendPacket(packet: Parameters<typeof generate>[0]): void {
    if (this.closed) return;
    try {
      this.link(generate(packet));
    } catch {
      // closed meanwhile
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const key of [...this.pending.keys()]) this.settle(key, 'closed');
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
