import dgram from 'node:dgram';
import { generate, parse, type Packet, type ParsedPacket } from 'coap-packet';

/**
 * A bare UDP socket speaking hand-made CoAP, for behaviour the real stack would not show:
 * answering RST, never answering, counting retransmissions.
 */
export class RawDevice {
  readonly received: ParsedPacket[] = [];
  private listeners: ((p: ParsedPacket) => void)[] = [];
  private mid = 1000;

  private constructor(
    readonly socket: dgram.Socket,
    readonly gatewayPort: number,
  ) {
    socket.on('message', (buf) => {
      let p: ParsedPacket;
      try {
        p = parse(buf);
      } catch {
        return;
      }
      this.received.push(p);
      for (const l of this.listeners) l(p);
    });
  }

  /** `address`: the local address to send from, e.g. 127.0.0.2 for an attacker apart from devices on 127.0.0.1. */
  static async start(gatewayPort: number, address = '127.0.0.1'): Promise<RawDevice> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
    return new RawDevice(socket, gatewayPort);
  }

  onPacket(listener: (p: ParsedPacket) => void): void {
    this.listeners.push(listener);
  }

  sendRaw(buf: Buffer): void {
    this.socket.send(buf, this.gatewayPort, '127.0.0.1');
  }

  send(packet: Parameters<typeof generate>[0]): void {
    this.sendRaw(generate(packet, 65_000)); // up to a whole UDP datagram: attacks send oversized names
  }

  nextMid(): number {
    return ++this.mid;
  }

  /** Waits for the next packet matching `pred` (including ones already received after `from`). */
  waitFor(pred: (p: ParsedPacket) => boolean, timeoutMs = 3000, from = 0): Promise<ParsedPacket> {
    for (let i = from; i < this.received.length; i++) if (pred(this.received[i])) return Promise.resolve(this.received[i]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw device: no matching packet')), timeoutMs);
      const l = (p: ParsedPacket) => {
        if (!pred(p)) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((x) => x !== l);
        resolve(p);
      };
      this.listeners.push(l);
    });
  }

  /** Registers `ep` with a CON POST /rd and returns the gateway's answer. */
  register(ep: string, query: string[] = [], links = '</3/0>'): Promise<ParsedPacket> {
    return this.request('POST', ['rd'], [`ep=${ep}`, ...query], {
      token: Buffer.from([1, 2, 3, 4]),
      options: [{ name: 'Content-Format', value: Buffer.from([40]) }],
      payload: Buffer.from(links),
    });
  }

  /** Sends a CON request (Uri-Path segments, then Uri-Query items, then `options`) and returns the piggybacked answer. */
  async request(
    code: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string[],
    query: string[] = [],
    extra: { token?: Buffer; options?: Packet['options']; payload?: Buffer } = {},
  ): Promise<ParsedPacket> {
    const messageId = this.nextMid();
    const from = this.received.length;
    this.send({
      confirmable: true,
      code,
      messageId,
      token: extra.token ?? Buffer.from([9]),
      options: [
        ...path.map((s) => ({ name: 'Uri-Path' as const, value: Buffer.from(s) })),
        ...query.map((q) => ({ name: 'Uri-Query' as const, value: Buffer.from(q) })),
        ...(extra.options ?? []),
      ],
      payload: extra.payload,
    });
    return this.waitFor((p) => p.ack && p.messageId === messageId, 3000, from);
  }

  /** Answers a request with RST. */
  reset(p: ParsedPacket): void {
    this.send({ reset: true, messageId: p.messageId, code: '0.00' });
  }

  /** Answers a request with a piggybacked response. */
  reply(p: ParsedPacket, code: string, payload = Buffer.alloc(0), contentFormat?: number): void {
    const options = contentFormat === undefined ? [] : [{ name: 'Content-Format' as const, value: contentFormat === 0 ? Buffer.alloc(0) : Buffer.from([contentFormat]) }];
    this.send({ ack: true, messageId: p.messageId, token: p.token, code, options, payload });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
