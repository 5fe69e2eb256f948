/**
 * (f) Uplink notifications over DTLS as a ratio of the same load over UDP, against one gateway
 * with both listeners. The devices are the same code over two links: a plain UDP socket, or a
 * DTLS session (PSK, TLS_PSK_WITH_AES_128_CCM_8, identity = endpoint name) of the addon in client
 * mode (bench/dtls-client.ts) over its own socket. Each device registers (CON POST /rd), answers the
 * gateway's observe of /3303/0/5700 (sent by an MQTT `observe` command) and then sends NON 2.05
 * notifications with that token and increasing Observe values; the MQTT probe counts
 * `lwm2m/NAME/up/notify`. Closed loop as in bench/notifications.ts (at most `window` notifications
 * not yet seen by the subscriber), so nothing overflows a socket buffer.
 */
import type dgram from 'node:dgram';
import { generate, parse, type ParsedPacket } from 'coap-packet';
import type { ChildHandle } from './child';
import { type CpuSpent, startProcessCpuMeter } from './context';
import { runNotificationRound } from './notifications';
import { type DtlsClient, type DtlsClientContext } from './dtls-client';
import { type DeviceObservation, FIRST_OBSERVE, LOOPBACK, READ_PATH, observationFor } from './load-generator';
import type { MqttProbe } from './mqtt-clients';
import { runWindowed } from './pacing';

export type LinkKind = 'udp' | 'dtls';

const READ_VALUE = Buffer.from('21.5');
const REGISTER_LINKS = Buffer.from('</3/0>,</3303/0>');
const EMPTY = Buffer.alloc(0);

/** One simulated device: CoAP over whatever `send` goes through; `receive` gets the plaintext datagrams. */
export class LinkDevice {
  observation?: DeviceObservation;
  registered = false;
  private mid: number;
  private readonly regMid: number;
  /** The session of a DTLS device (the caller closes it). */
  dtls?: DtlsClient;

  constructor(
    readonly kind: LinkKind,
    readonly index: number,
    readonly name: string,
    readonly socket: dgram.Socket,
    private readonly gatewayPort: number,
  ) {
    this.regMid = index & 0xffff;
    this.mid = (index + 1) & 0xffff;
  }

  /** Connects the link: for UDP the socket's listener, for DTLS the handshake. */
  async connect(context?: DtlsClientContext): Promise<void> {
    if (this.kind === 'udp') {
      this.socket.on('message', (bytes, rinfo) => {
        if (rinfo.port === this.gatewayPort) this.receive(bytes);
      });
      return;
    }
    if (!context) throw new Error('a DTLS device needs a client context');
    this.dtls = await context.connect(this.socket, { address: LOOPBACK, port: this.gatewayPort }, 10_000);
    this.dtls.on('datagram', (bytes: Buffer) => this.receive(bytes));
  }

  send(bytes: Buffer): void {
    if (this.dtls) this.dtls.send({ address: LOOPBACK, port: this.gatewayPort }, bytes);
    else this.socket.send(bytes, this.gatewayPort, LOOPBACK);
  }

  private nextMid(): number {
    this.mid = (this.mid + 1) & 0xffff;
    if (this.mid === this.regMid) this.mid = (this.mid + 1) & 0xffff;
    return this.mid;
  }

  /** CON POST /rd?ep=NAME&lt=86400, Content-Format 40, `</3/0>,</3303/0>` (as load-generator.ts). */
  registerPacket(): Buffer {
    const i = this.index;
    return generate({
      confirmable: true,
      code: 'POST',
      messageId: this.regMid,
      token: Buffer.from([(i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]),
      options: [
        { name: 'Uri-Path', value: Buffer.from('rd') },
        { name: 'Content-Format', value: Buffer.from([40]) },
        { name: 'Uri-Query', value: Buffer.from(`ep=${this.name}`) },
        { name: 'Uri-Query', value: Buffer.from('lt=86400') },
      ],
      payload: REGISTER_LINKS,
    });
  }

  /** The next NON notification of the device's observation (fresh message id, Observe + 1). */
  notificationPacket(): Buffer {
    const obs = this.observation;
    if (!obs) throw new Error(`${this.name} is not observed`);
    obs.seq = (obs.seq + 1) & 0xffffff;
    const bytes = Buffer.from(obs.template);
    bytes.writeUInt16BE(this.nextMid(), 2);
    bytes[obs.observeOffset] = (obs.seq >>> 16) & 0xff;
    bytes[obs.observeOffset + 1] = (obs.seq >>> 8) & 0xff;
    bytes[obs.observeOffset + 2] = obs.seq & 0xff;
    return bytes;
  }

  /** The device side of CoAP, as load-generator.ts: register ACKs; GET (Observe 0 starts an observation) answered 2.05. */
  private receive(bytes: Buffer): void {
    let packet: ParsedPacket;
    try {
      packet = parse(bytes);
    } catch {
      return;
    }
    if (packet.reset) return;
    if (packet.ack) {
      if (packet.code === '2.01') this.registered = true;
      return;
    }
    if (packet.code !== '0.01') return;
    const observe = packet.options.find((o) => o.name === 'Observe');
    const starts = observe !== undefined && (observe.value.length === 0 || (observe.value.length === 1 && observe.value[0] === 0));
    if (starts) this.observation = observationFor(packet.token, FIRST_OBSERVE);
    const options: { name: 'Observe' | 'Content-Format'; value: Buffer }[] = [{ name: 'Content-Format', value: EMPTY }];
    if (starts) options.unshift({ name: 'Observe', value: Buffer.from([(FIRST_OBSERVE >>> 16) & 0xff, (FIRST_OBSERVE >>> 8) & 0xff, FIRST_OBSERVE & 0xff]) });
    this.send(
      generate({
        confirmable: false,
        ack: packet.confirmable,
        code: '2.05',
        messageId: packet.confirmable ? packet.messageId : this.nextMid(),
        token: packet.token,
        options,
        payload: READ_VALUE,
      }),
    );
  }
}

/** Registers the devices (windowed, up to 3 passes; a retransmission keeps its message id); returns how many are registered. */
export async function registerLinkDevices(devices: LinkDevice[]): Promise<number> {
  for (let pass = 0; pass < 3; pass++) {
    const pending = devices.filter((d) => !d.registered);
    if (pending.length === 0) break;
    const run = runWindowed({
      total: pending.length,
      window: 100,
      send: (i) => pending[i].send(pending[i].registerPacket()),
      completed: () => pending.filter((d) => d.registered).length,
      stallMs: 1000,
      drainMs: 1500,
      deadlineMs: 30_000,
    });
    await run.done;
  }
  return devices.filter((d) => d.registered).length;
}

/** `lwm2m/NAME/up/...` -> NAME. */
function nameOfTopic(topic: string): string {
  const start = topic.indexOf('/') + 1;
  return topic.slice(start, topic.indexOf('/', start));
}

/** An MQTT `observe` command to every device; resolves with the number observed (2.05 on up/resp and the device holds the token). */
export async function observeLinkDevices(probe: MqttProbe, devices: LinkDevice[]): Promise<number> {
  const names = new Set(devices.map((d) => d.name));
  const answered = new Set<string>();
  let kick = () => {};
  probe.onMessage((topic, payload) => {
    if (!topic.endsWith('/up/resp')) return;
    const name = nameOfTopic(topic);
    if (!names.has(name)) return;
    const msg = JSON.parse(payload.toString()) as { msgType?: string; data?: { code?: string } };
    if (msg.msgType === 'observe' && msg.data?.code === '2.05') {
      answered.add(name);
      kick();
    }
  });
  for (const d of devices) d.observation = undefined;
  const run = runWindowed({
    total: devices.length,
    window: 100,
    send: (i) => probe.publish(`lwm2m/${devices[i].name}/dn`, JSON.stringify({ reqID: i + 1, msgType: 'observe', data: { path: READ_PATH } })),
    completed: () => answered.size,
    stallMs: 3000,
    drainMs: 3000,
    deadlineMs: 30_000,
  });
  kick = run.kick;
  await run.done;
  probe.clearHandler();
  return devices.filter((d) => d.observation !== undefined && answered.has(d.name)).length;
}

export interface LinkNotificationResult {
  kind: LinkKind;
  devices: number;
  sent: number;
  received: number;
  lost: number;
  elapsedMs: number;
  perSecond: number;
  cpu: CpuSpent;
  sample?: string;
}

export async function measureLinkNotifications(
  kind: LinkKind,
  gateway: ChildHandle,
  brokerPid: number,
  probe: MqttProbe,
  devices: LinkDevice[],
  total: number,
  window: number,
): Promise<LinkNotificationResult> {
  const observed = devices.filter((d) => d.observation !== undefined);
  if (observed.length === 0) throw new Error(`${kind}: no observed device`);
  const prefix = `lwm2m/${kind}-`;
  const round = await runNotificationRound({
    probe,
    counts: (topic) => topic.endsWith('/up/notify') && topic.startsWith(prefix),
    sample: true,
    send: (i) => {
      const dev = observed[i % observed.length];
      dev.send(dev.notificationPacket());
    },
    total,
    window,
    meter: await startProcessCpuMeter(gateway, brokerPid),
  });
  return { kind, devices: observed.length, ...round };
}

