/**
 * A lean LwM2M device for the firmware part (bench/firmware-push.ts): one UDP socket and one CoAP
 * endpoint (src/coap), which reassembles the Block1 body of Package /5/0/0, and a Firmware Update
 * object (OMA object 5) reduced to what a push needs. A hundred of them cost little; unlike
 * test/support/test-device.ts there is no value map and no codec: /5/0 is always answered in SenML
 * JSON, /3/0/3 in text.
 *
 * Object 5 as simulated: a Package write moves Idle → Downloaded (Update Result 0) when the body is
 * the expected image, else Idle with Update Result 5 (integrity failure); Update /5/0/2 moves
 * Downloaded → Updating → Idle with Update Result 1 at once. Every change is notified (CON, so a lost
 * datagram cannot stall a job) to the observer of /5/0.
 */
import { EventEmitter } from 'node:events';
import { CoapEndpoint, type CoapResponse, type InboundRequest } from '../src/coap';
import type { Peer, Transport } from '../src/transport/transport';
import { UdpTransport } from '../src/transport/udp-transport';

const STATE_IDLE = 0;
const STATE_DOWNLOADED = 2;
const STATE_UPDATING = 3;
const RESULT_INITIAL = 0;
const RESULT_SUCCESS = 1;
const RESULT_INTEGRITY_FAILURE = 5;
const FORMAT_TEXT = 0;
const FORMAT_LINK = 40;
const FORMAT_OPAQUE = 42;
const FORMAT_SENML_JSON = 110;
const EMPTY = Buffer.alloc(0);
const REGISTER_LINKS = Buffer.from('</1/0>,</3/0>,</5/0>');
const NEW_VERSION = Buffer.from('2.0.0');
/** Kernel buffers per device socket: one block in flight each way needs little. */
const SOCKET_BUFFER_BYTES = 256 * 1024;

/** Datagrams and bytes a device exchanged (with anyone: the gateway or the baseline pusher). */
export interface DatagramCounts {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
}

export function zeroCounts(): DatagramCounts {
  return { datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0 };
}

export function addCounts(a: DatagramCounts, b: DatagramCounts): DatagramCounts {
  return { datagramsIn: a.datagramsIn + b.datagramsIn, datagramsOut: a.datagramsOut + b.datagramsOut, bytesIn: a.bytesIn + b.bytesIn, bytesOut: a.bytesOut + b.bytesOut };
}

/** A UDP transport that counts what passes, for the datagrams-per-KB figures. */
class CountingTransport extends EventEmitter implements Transport {
  readonly scheme = 'coap';
  counts = zeroCounts();

  constructor(private readonly inner: UdpTransport) {
    super();
    inner.on('datagram', (bytes: Buffer, peer: Peer) => {
      this.counts.datagramsIn++;
      this.counts.bytesIn += bytes.length;
      this.emit('datagram', bytes, peer);
    });
    inner.on('error', (err: Error) => this.emit('error', err));
  }

  get port(): number {
    return this.inner.address().port;
  }

  send(peer: Peer, bytes: Buffer): void {
    this.counts.datagramsOut++;
    this.counts.bytesOut += bytes.length;
    this.inner.send(peer, bytes);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Observer {
  peer: Peer;
  token: Buffer;
  seq: number;
}

export class FirmwareBenchDevice {
  private state = STATE_IDLE;
  private result = RESULT_INITIAL;
  private observer: Observer | undefined;
  /** Package writes taken whole, and those whose bytes were not the image. */
  packagesTaken = 0;
  packagesCorrupt = 0;

  private constructor(
    readonly name: string,
    private readonly transport: CountingTransport,
    private readonly coap: CoapEndpoint,
    private readonly image: Buffer,
  ) {
    coap.setRequestHandler((req) => this.handle(req));
    coap.on('observeCancelled', (_peer: Peer, token: Buffer) => {
      if (this.observer?.token.equals(token)) this.observer = undefined;
    });
    coap.on('error', () => undefined);
    transport.on('error', () => undefined);
  }

  /** Binds a device socket on 127.0.0.1; `image` is what a Package write must carry. */
  static async open(name: string, image: Buffer): Promise<FirmwareBenchDevice> {
    const udp = await UdpTransport.bind({ host: '127.0.0.1', port: 0, recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES });
    const transport = new CountingTransport(udp);
    // The body must fit whatever --firmware-kb asks for; the ACK timeout is the CoAP default.
    const coap = new CoapEndpoint(transport, { blockwise: { maxBodySize: Math.max(4 * 1024 * 1024, image.length), maxPendingBytesPerSource: Math.max(8 * 1024 * 1024, image.length + 64 * 1024), maxPendingBytes: Math.max(64 * 1024 * 1024, image.length + 64 * 1024) } });
    return new FirmwareBenchDevice(name, transport, coap, image);
  }

  get port(): number {
    return this.transport.port;
  }

  get counts(): DatagramCounts {
    return this.transport.counts;
  }

  resetCounts(): void {
    this.transport.counts = zeroCounts();
  }

  /** Back to Idle, Update Result 0, silently (between pushes; the gateway observes nothing then). */
  resetFirmware(): void {
    this.state = STATE_IDLE;
    this.result = RESULT_INITIAL;
  }

  /** Registers with the gateway at 127.0.0.1:`gatewayPort`; resolves with the answer's code. */
  register(gatewayPort: number): Promise<string> {
    return new Promise((resolve) => {
      this.coap.request(
        { address: '127.0.0.1', port: gatewayPort },
        { method: 'POST', uriPath: ['rd'], uriQuery: [`ep=${this.name}`, 'lt=3600', 'lwm2m=1.1', 'b=U'], contentFormat: FORMAT_LINK, payload: REGISTER_LINKS },
        {
          onResponse: (res) => resolve(res.code),
          onReset: () => resolve('reset'),
          onTimeout: () => resolve('timeout'),
          onError: (err) => resolve(`error: ${err.message}`),
        },
      );
    });
  }

  async close(): Promise<void> {
    await this.coap.close();
    await this.transport.close();
  }

  private handle(req: InboundRequest): CoapResponse {
    const path = req.uriPath.join('/');
    if (path === '5/0') return req.method === 'GET' ? this.readInstance(req) : answer('4.05');
    if (path === '5/0/0') return req.method === 'PUT' || req.method === 'POST' ? this.writePackage(req) : answer('4.05');
    if (path === '5/0/2') return req.method === 'POST' ? this.executeUpdate() : answer('4.05');
    if (path === '3/0/3') return req.method === 'GET' ? { code: '2.05', contentFormat: FORMAT_TEXT, payload: NEW_VERSION } : answer('4.05');
    return answer('4.04');
  }

  /** Read and Observe of /5/0 (RFC 7641: Observe 0 registers, Observe 1 with the same token deregisters). */
  private readInstance(req: InboundRequest): CoapResponse {
    const res: CoapResponse = { code: '2.05', contentFormat: FORMAT_SENML_JSON, payload: this.instanceJson() };
    if (req.observe === 0) {
      this.observer = { peer: req.peer, token: req.token, seq: 1 };
      return { ...res, observe: 1 };
    }
    if (req.observe === 1 && this.observer?.token.equals(req.token)) this.observer = undefined;
    return res;
  }

  private writePackage(req: InboundRequest): CoapResponse {
    if (req.contentFormat !== undefined && req.contentFormat !== FORMAT_OPAQUE) return answer('4.15');
    if (req.payload.length === 0) {
      this.change(STATE_IDLE, RESULT_INITIAL);
      return answer('2.04');
    }
    if (this.state !== STATE_IDLE) return answer('4.05');
    this.packagesTaken++;
    if (!req.payload.equals(this.image)) {
      this.packagesCorrupt++;
      this.change(STATE_IDLE, RESULT_INTEGRITY_FAILURE);
      return answer('2.04');
    }
    this.change(STATE_DOWNLOADED, RESULT_INITIAL);
    return answer('2.04');
  }

  private executeUpdate(): CoapResponse {
    if (this.state !== STATE_DOWNLOADED) return answer('4.05');
    this.change(STATE_UPDATING, this.result);
    // After the 2.04 has gone: the update "completes" on the next turn of the loop.
    setImmediate(() => this.change(STATE_IDLE, RESULT_SUCCESS));
    return answer('2.04');
  }

  private change(state: number, result: number): void {
    if (state === this.state && result === this.result) return;
    this.state = state;
    this.result = result;
    const o = this.observer;
    if (!o) return;
    o.seq++;
    this.coap.notify(o.peer, o.token, { code: '2.05', contentFormat: FORMAT_SENML_JSON, observe: o.seq, payload: this.instanceJson() }, true);
  }

  /** State, Update Result, Protocol Support [CoAP, CoAPS], Delivery Method both. */
  private instanceJson(): Buffer {
    return Buffer.from(`[{"bn":"/5/0/","n":"3","v":${this.state}},{"n":"5","v":${this.result}},{"n":"8/0","v":0},{"n":"8/1","v":1},{"n":"9","v":2}]`);
  }
}

function answer(code: string): CoapResponse {
  return { code, payload: EMPTY };
}
