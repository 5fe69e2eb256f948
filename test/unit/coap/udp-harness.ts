import dgram from 'node:dgram';
import { CoapEndpoint, type CoapConfigInput, type CoapEndpointOptions, type CoapResponse, type ExchangeListener } from '../../../src/coap';
import type { Peer } from '../../../src/transport/transport';
import { UdpTransport } from '../../../src/transport/udp-transport';

/** Test harness: real UDP sockets on 127.0.0.1 (no mocks). */

export async function bindUdp(): Promise<UdpTransport> {
  return UdpTransport.bind({ host: '127.0.0.1', port: 0, recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 1024 * 1024 });
}

export function peerOf(transport: UdpTransport): Peer {
  const a = transport.address();
  return { address: a.address, port: a.port };
}

export interface EndpointUnderTest {
  endpoint: CoapEndpoint;
  transport: UdpTransport;
  peer: Peer;
  close(): Promise<void>;
}

export async function startEndpoint(config?: CoapConfigInput, options?: CoapEndpointOptions): Promise<EndpointUnderTest> {
  const transport = await bindUdp();
  const endpoint = new CoapEndpoint(transport, config, options);
  return {
    endpoint,
    transport,
    peer: peerOf(transport),
    close: async () => {
      await endpoint.close();
      await transport.close();
    },
  };
}

/** A plain dgram socket for crafted datagrams; records everything it receives. */
export class RawSocket {
  readonly received: { bytes: Buffer; peer: Peer }[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (bytes, rinfo) => {
      this.received.push({ bytes, peer: { address: rinfo.address, port: rinfo.port } });
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }

  static async open(): Promise<RawSocket> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RawSocket(socket);
  }

  get peer(): Peer {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  send(to: Peer, bytes: Buffer): void {
    this.socket.send(bytes, to.port, to.address);
  }

  /** Waits until at least `count` datagrams have been received in total. */
  async waitForCount(count: number, timeoutMs = 3000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} datagrams, got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received.map((r) => r.bytes);
  }

  /** The next datagram after those already received. */
  async next(timeoutMs = 3000): Promise<Buffer> {
    const all = await this.waitForCount(this.received.length + 1, timeoutMs);
    return all[all.length - 1];
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An ExchangeListener that records every callback in order. */
export class RecordingListener implements ExchangeListener {
  readonly events: string[] = [];
  readonly responses: CoapResponse[] = [];
  readonly notifications: CoapResponse[] = [];
  readonly errors: Error[] = [];
  private waiters: (() => void)[] = [];

  onAck(): void {
    this.record('ack');
  }
  onResponse(res: CoapResponse): void {
    this.responses.push(res);
    this.record('response');
  }
  onNotification(res: CoapResponse): void {
    this.notifications.push(res);
    this.record('notification');
  }
  onReset(): void {
    this.record('reset');
  }
  onTimeout(): void {
    this.record('timeout');
  }
  onError(err: Error): void {
    this.errors.push(err);
    this.record('error');
  }

  private record(event: string): void {
    this.events.push(event);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once `predicate` holds over the recorded events. */
  async until(predicate: (l: RecordingListener) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`listener condition not met; events: ${this.events.join(',')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  untilEvent(event: string, timeoutMs?: number): Promise<void> {
    return this.until((l) => l.events.includes(event), timeoutMs);
  }
}
