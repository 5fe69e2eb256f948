/**
 * Simulated LwM2M devices over UDP.
 *
 * The gateway tells devices apart by source address:port (its CoAP layer matches ACKs, tokens and
 * duplicates on it), so every simulated device owns one UDP socket on 127.0.0.1 with its own
 * ephemeral port. Many devices per socket would not be many devices to the gateway.
 *
 * Limits: one socket is one file descriptor. The soft and hard `ulimit -n` here are 20000, so one
 * process can hold about 19k live devices, and 127.0.0.1 has only the 28k ports of the ephemeral
 * range (32768–60999) anyway. The throughput and latency runs use 10k live devices. The memory run
 * (up to 50k devices) registers them in batches of live sockets and closes each batch afterwards:
 * an idle device receives nothing from the gateway (auto_observe is off), so the state the gateway
 * keeps is the same whether the socket still exists or not. A later batch may get a port of an
 * earlier one; every device uses a distinct registration message id, so the gateway's duplicate
 * detection (keyed on address:port + message id) never confuses two devices.
 *
 * Sockets are not connected: the same device answers whoever asks (the gateway or the baseline
 * forwarder), which lets both targets run against the very same devices, one after the other.
 */
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { generate, parse, type ParsedPacket } from 'coap-packet';

export const LOOPBACK = '127.0.0.1';
export const READ_PATH = '/3303/0/5700';
const READ_VALUE = Buffer.from('21.5');
const REGISTER_LINKS = Buffer.from('</3/0>,</3303/0>');
const EMPTY = Buffer.alloc(0);
/** First Observe value: 3-byte values throughout (0x010000 and up). */
export const FIRST_OBSERVE = 0x010000;

/** One observation as the device keeps it: the token to notify with and the last Observe value. */
export interface DeviceObservation {
  token: Buffer;
  seq: number;
  /** A NON 2.05 with this token, patched (message id, Observe) for each notification. */
  template: Buffer;
  observeOffset: number;
}

export interface SimDevice {
  readonly index: number;
  readonly name: string;
  readonly socket: dgram.Socket;
  readonly port: number;
  /** Message id of the registration, distinct for every device of a run (index & 0xffff). */
  readonly regMid: number;
  mid: number;
  observation?: DeviceObservation;
}

/** What the scenarios want to hear about. */
export interface DeviceHooks {
  /** An ACK with a 2.xx, 4.xx or 5.xx code: a Register's (2.01) or an Update's (2.04) answer. */
  onRegisterAck?(dev: SimDevice, code: string, packet: ParsedPacket): void;
  /** A separate response (CON or NON 2.xx/4.xx/5.xx after an empty ACK), e.g. an Update held while the gateway restores; a CON one is ACKed. */
  onSeparateResponse?(dev: SimDevice, code: string, packet: ParsedPacket): void;
  onReadRequest?(dev: SimDevice): void;
  onObserveRequest?(dev: SimDevice): void;
}

export interface PoolCounters {
  datagramsIn: number;
  resets: number;
  malformed: number;
  unexpected: number;
  sendErrors: number;
}

/** The soft limit on open files (`ulimit -n`), or undefined if it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const out = execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
  } catch {
    return undefined;
  }
}

export function deviceName(index: number): string {
  return `d${index}`;
}

/** `lwm2m/d123/up/resp` -> 123 (NaN when the topic does not name one of our devices). */
export function indexOfGatewayTopic(topic: string): number {
  // "lwm2m/d" is 7 characters
  const end = topic.indexOf('/', 7);
  return end < 0 || topic.charCodeAt(6) !== 100 ? NaN : Number(topic.slice(7, end));
}

function observeValue(seq: number): Buffer {
  return Buffer.from([(seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff]);
}

/** The Content-Format option value (RFC 7252 §3.2: minimal unsigned integer, 0 is empty). */
function contentFormatValue(format: number): Buffer {
  if (format === 0) return EMPTY;
  return format < 256 ? Buffer.from([format]) : Buffer.from([format >> 8, format & 0xff]);
}

/**
 * A NON 2.05 notification template; Observe is the first option, 3 bytes long, right after the
 * token. By default text/plain "21.5"; `format` and `payload` give the same value in another format.
 */
export function observationFor(token: Buffer, seq: number, format = 0, payload: Buffer = READ_VALUE): DeviceObservation {
  const template = generate({
    confirmable: false,
    code: '2.05',
    messageId: 0,
    token,
    options: [
      { name: 'Observe', value: observeValue(seq) },
      { name: 'Content-Format', value: contentFormatValue(format) },
    ],
    payload,
  });
  const observeOffset = 4 + token.length + 1;
  if (template[4 + token.length] !== 0x63) throw new Error('unexpected notification layout');
  return { token, seq, template, observeOffset };
}

export class DevicePool {
  readonly devices: SimDevice[] = [];
  readonly byPort = new Map<number, SimDevice>();
  readonly counters: PoolCounters = { datagramsIn: 0, resets: 0, malformed: 0, unexpected: 0, sendErrors: 0 };
  hooks: DeviceHooks = {};
  private closed = false;

  private constructor() {}

  /**
   * Opens `count` device sockets on 127.0.0.1 (ephemeral ports), devices `firstIndex` onwards.
   * recvBufferSize: each device receives little, but bursts to one socket happen (several reads
   * queued for one device), and the default buffer holds only a few hundred datagrams.
   */
  static async create(count: number, firstIndex = 0, recvBufferSize = 256 * 1024): Promise<DevicePool> {
    const pool = new DevicePool();
    const CHUNK = 500;
    try {
      for (let start = 0; start < count; start += CHUNK) {
        const chunk: Promise<SimDevice>[] = [];
        for (let i = start; i < Math.min(count, start + CHUNK); i++) chunk.push(pool.open(firstIndex + i, recvBufferSize));
        for (const dev of await Promise.all(chunk)) {
          pool.devices.push(dev);
          pool.byPort.set(dev.port, dev);
        }
      }
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  private open(index: number, recvBufferSize: number): Promise<SimDevice> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize, sendBufferSize: 256 * 1024 });
      socket.once('error', reject);
      socket.bind(0, LOOPBACK, () => {
        socket.off('error', reject);
        socket.on('error', () => this.counters.sendErrors++);
        const dev: SimDevice = { index, name: deviceName(index), socket, port: socket.address().port, regMid: index & 0xffff, mid: (index + 1) & 0xffff };
        socket.on('message', (bytes, rinfo) => this.onDatagram(dev, bytes, rinfo));
        resolve(dev);
      });
    });
  }

  get size(): number {
    return this.devices.length;
  }

  send(dev: SimDevice, bytes: Buffer, port: number): void {
    dev.socket.send(bytes, port, LOOPBACK);
  }

  nextMid(dev: SimDevice): number {
    dev.mid = (dev.mid + 1) & 0xffff;
    if (dev.mid === dev.regMid) dev.mid = (dev.mid + 1) & 0xffff;
    return dev.mid;
  }

  /** CON POST /rd?ep=NAME&lt=86400, Content-Format 40, `</3/0>,</3303/0>`. */
  registerPacket(dev: SimDevice): Buffer {
    return generate({
      confirmable: true,
      code: 'POST',
      messageId: dev.regMid,
      token: Buffer.from([(dev.index >>> 24) & 0xff, (dev.index >>> 16) & 0xff, (dev.index >>> 8) & 0xff, dev.index & 0xff]),
      options: [
        { name: 'Uri-Path', value: Buffer.from('rd') },
        { name: 'Content-Format', value: Buffer.from([40]) },
        { name: 'Uri-Query', value: Buffer.from(`ep=${dev.name}`) },
        { name: 'Uri-Query', value: Buffer.from('lt=86400') },
      ],
      payload: REGISTER_LINKS,
    });
  }

  /** CON POST /rd/<id> (Update, no payload): `location` is the Register answer's Location-Path, e.g. ['rd', 'abc']. */
  updatePacket(dev: SimDevice, location: readonly string[], messageId: number): Buffer {
    return generate({
      confirmable: true,
      code: 'POST',
      messageId,
      token: Buffer.from([0x75, (dev.index >>> 16) & 0xff, (dev.index >>> 8) & 0xff, dev.index & 0xff]),
      options: location.map((segment) => ({ name: 'Uri-Path' as const, value: Buffer.from(segment) })),
    });
  }

  /** The next NON notification of an observation of the device (fresh message id, Observe + 1). */
  notificationPacket(dev: SimDevice, obs: DeviceObservation): Buffer {
    obs.seq = (obs.seq + 1) & 0xffffff;
    const bytes = Buffer.from(obs.template);
    bytes.writeUInt16BE(this.nextMid(dev), 2);
    bytes[obs.observeOffset] = (obs.seq >>> 16) & 0xff;
    bytes[obs.observeOffset + 1] = (obs.seq >>> 8) & 0xff;
    bytes[obs.observeOffset + 2] = obs.seq & 0xff;
    return bytes;
  }

  /**
   * The device side of CoAP: a GET is answered with a piggybacked ACK 2.05 (text/plain "21.5");
   * a GET with Observe 0 also starts an observation (answer carries Observe, the token is kept).
   */
  private onDatagram(dev: SimDevice, bytes: Buffer, rinfo: dgram.RemoteInfo): void {
    this.counters.datagramsIn++;
    let packet: ParsedPacket;
    try {
      packet = parse(bytes);
    } catch {
      this.counters.malformed++;
      return;
    }
    if (packet.reset) {
      this.counters.resets++;
      return;
    }
    if (packet.ack) {
      if (packet.code.startsWith('2.') || packet.code.startsWith('4.') || packet.code.startsWith('5.')) this.hooks.onRegisterAck?.(dev, packet.code, packet);
      return;
    }
    if (/^[245]\./.test(packet.code) && this.hooks.onSeparateResponse) {
      if (packet.confirmable) dev.socket.send(generate({ ack: true, code: '0.00', messageId: packet.messageId }), rinfo.port, rinfo.address);
      this.hooks.onSeparateResponse(dev, packet.code, packet);
      return;
    }
    if (packet.code !== '0.01') {
      this.counters.unexpected++;
      if (packet.confirmable) this.reply(dev, rinfo, packet, '4.05', [], EMPTY);
      return;
    }
    const observe = packet.options.find((o) => o.name === 'Observe');
    if (observe && (observe.value.length === 0 || (observe.value.length === 1 && observe.value[0] === 0))) {
      dev.observation = observationFor(packet.token, FIRST_OBSERVE);
      this.reply(
        dev,
        rinfo,
        packet,
        '2.05',
        [
          { name: 'Observe', value: observeValue(FIRST_OBSERVE) },
          { name: 'Content-Format', value: EMPTY },
        ],
        READ_VALUE,
      );
      this.hooks.onObserveRequest?.(dev);
      return;
    }
    this.reply(dev, rinfo, packet, '2.05', [{ name: 'Content-Format', value: EMPTY }], READ_VALUE);
    this.hooks.onReadRequest?.(dev);
  }

  private reply(dev: SimDevice, rinfo: dgram.RemoteInfo, req: ParsedPacket, code: string, options: { name: 'Observe' | 'Content-Format'; value: Buffer }[], payload: Buffer): void {
    const bytes = generate({
      confirmable: false,
      ack: req.confirmable,
      code,
      messageId: req.confirmable ? req.messageId : this.nextMid(dev),
      token: req.token,
      options,
      payload,
    });
    dev.socket.send(bytes, rinfo.port, rinfo.address);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.devices.map(
        (dev) =>
          new Promise<void>((resolve) => {
            try {
              dev.socket.close(() => resolve());
            } catch {
              resolve();
            }
          }),
      ),
    );
  }
}
