/**
 * The soak's legitimate side: devices on 127.0.0.1 (one UDP socket each, as bench/load-generator.ts)
 * that register (paced, within the default per-source rate), are observed by the gateway
 * (`auto_observe: true` observes /3303/0) and keep notifying; one DTLS device `secure-1` (PSK);
 * and an MQTT application reading them at a steady rate, every read expected to be answered 2.05.
 */
import dgram from 'node:dgram';
import type { MqttClient } from 'mqtt';
import { DtlsClientContext, type DtlsClient } from './dtls-client';
import { connectMqtt } from './mqtt-clients';
import { CoapPeer, GATEWAY_ADDRESS, Tally } from './soak-peer';
import { type LatencySummary, summarize } from './stats';
import type { NativeDtls } from '../src/transport/dtls/native-binding';

export const LEGIT_ADDRESS = '127.0.0.1';
export const SECURE_ENDPOINT = 'secure-1';
const READ_PATH = '/3303/0/5700';
const LINKS = '</3/0>,</3303/0>';

export function legitName(i: number): string {
  return `d${i}`;
}

/** Runs `fn` at `rate` per second (evenly, catching up after a late timer) until stopped. */
export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private done = 0;
  /** How late ticks ran, ms (send lag of the load generator itself). */
  readonly lag: number[] = [];

  constructor(
    private readonly rate: number,
    private readonly fn: (i: number, dueAt: number) => void,
    private readonly keepLag = false,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    const interval = 1000 / this.rate;
    const tick = () => {
      const now = performance.now();
      while (this.startedAt + this.done * interval <= now) {
        const due = this.startedAt + this.done * interval;
        if (this.keepLag) this.lag.push(now - due);
        this.fn(this.done, due);
        this.done++;
      }
      this.timer = setTimeout(tick, Math.max(1, Math.floor(this.startedAt + this.done * interval - performance.now())));
    };
    this.timer = setTimeout(tick, 1);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get count(): number {
    return this.done;
  }
}

export interface ReadStats {
  sent: number;
  answered: number;
  /** Answers other than 2.05, by code. */
  errors: Tally;
  missing: number;
  latency: LatencySummary;
  sendLagP99: number;
}

/** Counters of one kind of legitimate read: the UDP devices' or secure-1's. */
interface ReadCounts {
  sent: number;
  answered: number;
  /** Answers other than 2.05, by code. */
  readonly errors: Tally;
  /** Of the 2.05 answers, ms (the UDP devices': under attack only). */
  readonly latencies: number[];
}

function noReads(): ReadCounts {
  return { sent: 0, answered: 0, errors: new Tally(), latencies: [] };
}

function statsOf(reads: ReadCounts, sendLagP99: number): ReadStats {
  return {
    sent: reads.sent,
    answered: reads.answered,
    errors: reads.errors,
    missing: reads.sent - reads.answered - reads.errors.total,
    latency: summarize(reads.latencies),
    sendLagP99,
  };
}

export class LegitSide {
  readonly devices: CoapPeer[] = [];
  secure: CoapPeer | undefined;
  private secureDtls: DtlsClient | undefined;
  private secureSocket: dgram.Socket | undefined;
  readonly registerOutcomes = new Tally();
  registerRetries = 0;
  /** Outcome of secure-1's DTLS handshake and register. */
  secureOutcome = 'not tried';
  private pub: MqttClient | undefined;
  private sub: MqttClient | undefined;
  mqttDrops = 0;
  private closing = false;
  // reads
  private nextReqId = 1;
  private readonly sentAt = new Map<number, { due: number; target: 'udp' | 'secure'; quiet: boolean }>();
  /** 'quiet': legit load alone (the baseline); 'attack': every attack running too. */
  private phase: 'quiet' | 'attack' = 'quiet';
  private readonly quietLatencies: number[] = [];
  private readonly udpReads = noReads();
  /** When each read of `udpReads.latencies` was due (performance.now()), to relate slow reads to the attacks. */
  private readonly latencyDue: number[] = [];
  private readonly secureReads = noReads();
  private readTicker: Ticker | undefined;
  private secureTicker: Ticker | undefined;
  // notifications
  notificationsSent = 0;
  notificationsReceived = 0;
  private notifyTicker: Ticker | undefined;
  /** Registrations of secure-1 published after its own (someone else took the name) and its deregisters. */
  secureReRegisters = 0;
  secureDeregisters: string[] = [];

  constructor(
    private readonly udpPort: number,
    private readonly dtlsPort: number | undefined,
  ) {}

  /** Opens `count` device sockets on 127.0.0.1, 200 at a time. */
  async open(count: number): Promise<void> {
    for (let start = 0; start < count; start += 200) {
      const chunk: Promise<CoapPeer>[] = [];
      for (let i = start; i < Math.min(count, start + 200); i++) chunk.push(CoapPeer.open(this.udpPort, { answers: true, address: LEGIT_ADDRESS, recvBufferSize: 128 * 1024 }));
      this.devices.push(...(await Promise.all(chunk)));
    }
  }

  /** Registers every device at `rate`/s (a retry after 4.29, 5.03 or silence, up to 3), then waits for the gateway's observations. */
  async registerAll(rate: number, observeWaitMs = 30_000): Promise<number> {
    let observed = 0;
    for (const dev of this.devices) dev.onObserved = () => observed++;
    const one = async (i: number) => {
      for (let attempt = 0; attempt < 4; attempt++) {
        const code = await this.devices[i].register(legitName(i), ['lt=86400'], LINKS, 8000);
        this.registerOutcomes.add(code);
        if (code === '2.01') return;
        this.registerRetries++;
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    const all: Promise<void>[] = [];
    await new Promise<void>((resolve) => {
      const ticker = new Ticker(rate, (i) => {
        if (i < this.devices.length) all.push(one(i));
        if (i >= this.devices.length - 1) {
          ticker.stop();
          resolve();
        }
      });
      ticker.start();
    });
    await Promise.all(all);
    const deadline = performance.now() + observeWaitMs;
    while (observed < this.devices.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return this.devices.filter((d) => d.observation !== undefined).length;
  }

  /** secure-1 over DTLS (PSK), registered as `secure-1`. */
  async connectSecure(native: NativeDtls, identity: string, key: Buffer): Promise<boolean> {
    if (this.dtlsPort === undefined) {
      this.secureOutcome = 'no DTLS listener';
      return false;
    }
    const context = new DtlsClientContext(native, { ciphers: 'PSK-AES128-CCM8', psk: { identity, key } });
    const socket = dgram.createSocket({ type: 'udp4' });
    await new Promise<void>((resolve) => socket.bind(0, LEGIT_ADDRESS, () => resolve()));
    socket.on('error', () => undefined);
    this.secureSocket = socket;
    try {
      this.secureDtls = await context.connect(socket, { address: GATEWAY_ADDRESS, port: this.dtlsPort }, 10_000);
    } catch (err) {
      this.secureOutcome = `handshake failed: ${(err as Error).message}`;
      return false;
    }
    this.secure = CoapPeer.overDtls(this.secureDtls, socket, this.dtlsPort, { answers: true });
    const code = await this.secure.register(SECURE_ENDPOINT, ['lt=86400'], LINKS, 8000);
    this.secureOutcome = `handshake ok, register ${code}`;
    return code === '2.01';
  }

  /** The legitimate MQTT application: one publisher, one subscriber (answers and notifications). */
  async connectMqtt(url: string): Promise<void> {
    this.pub = await connectMqtt(url, 'soak-legit-pub');
    this.sub = await connectMqtt(url, 'soak-legit-sub');
    for (const c of [this.pub, this.sub]) {
      c.on('close', () => {
        if (!this.closing) this.mqttDrops++;
      });
    }
    this.sub.on('message', (topic, payload) => this.onMessage(topic, payload));
    await this.sub.subscribeAsync(['lwm2m/+/up/resp', 'lwm2m/+/up/notify', `lwm2m/${SECURE_ENDPOINT}/up/#`], { qos: 0 });
  }

  private isLegitTopic(topic: string): boolean {
    // lwm2m/d<digits>/... or lwm2m/secure-1/...
    if (topic.startsWith(`lwm2m/${SECURE_ENDPOINT}/`)) return true;
    if (topic.charCodeAt(6) !== 100) return false;
    const end = topic.indexOf('/', 7);
    return end > 7 && /^\d+$/.test(topic.slice(7, end));
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (!this.isLegitTopic(topic)) return;
    if (topic.endsWith('/up/notify')) {
      if (!topic.startsWith(`lwm2m/${SECURE_ENDPOINT}/`)) this.notificationsReceived++;
      return;
    }
    if (topic === `lwm2m/${SECURE_ENDPOINT}/up/register`) {
      this.secureReRegisters++;
      return;
    }
    if (topic === `lwm2m/${SECURE_ENDPOINT}/up/deregister`) {
      this.secureDeregisters.push(payload.toString().slice(0, 200));
      return;
    }
    if (!topic.endsWith('/up/resp')) return;
    let msg: { reqID?: unknown; msgType?: unknown; data?: { code?: unknown } };
    try {
      msg = JSON.parse(payload.toString('utf8')) as typeof msg;
    } catch {
      return;
    }
    if (msg.msgType !== 'read' || typeof msg.reqID !== 'number') return;
    const sent = this.sentAt.get(msg.reqID);
    if (!sent) return;
    this.sentAt.delete(msg.reqID);
    const code = String(msg.data?.code);
    const secure = sent.target === 'secure';
    const reads = secure ? this.secureReads : this.udpReads;
    if (code === '2.05') {
      (!secure && sent.quiet ? this.quietLatencies : reads.latencies).push(performance.now() - sent.due);
      if (!secure && !sent.quiet) this.latencyDue.push(sent.due);
      reads.answered++;
    } else {
      reads.errors.add(code);
    }
  }

  private read(endpoint: string, target: 'udp' | 'secure', due: number): void {
    const reqId = this.nextReqId++;
    this.sentAt.set(reqId, { due, target, quiet: this.phase === 'quiet' });
    this.pub?.publish(`lwm2m/${endpoint}/dn`, `{"reqID":${reqId},"msgType":"read","data":{"path":"${READ_PATH}"}}`, { qos: 0 });
  }

  /** Starts the steady load: reads at `readRate`/s round robin, `secureRate`/s to secure-1, notifications at `notifyRate`/s round robin. */
  startLoad(readRate: number, secureRate: number, notifyRate: number): void {
    const observed = this.devices.filter((d) => d.observation !== undefined);
    this.readTicker = new Ticker(
      readRate,
      (i, due) => {
        this.udpReads.sent++;
        this.read(legitName(i % this.devices.length), 'udp', due);
      },
      true,
    );
    if (this.secure && secureRate > 0) {
      this.secureTicker = new Ticker(secureRate, (_i, due) => {
        this.secureReads.sent++;
        this.read(SECURE_ENDPOINT, 'secure', due);
      });
    }
    if (observed.length > 0 && notifyRate > 0) {
      this.notifyTicker = new Ticker(notifyRate, (i) => {
        if (observed[i % observed.length].notify()) this.notificationsSent++;
      });
    }
    this.readTicker.start();
    this.secureTicker?.start();
    this.notifyTicker?.start();
  }

  /** From now on the attacks run: latencies count apart from the quiet baseline; secure-1's own register is behind us. */
  beginAttackPhase(): void {
    this.phase = 'attack';
    this.secureReRegisters = 0;
    this.secureDeregisters = [];
  }

  /**
   * A legitimate device arriving during the soak: `late-N` registers from 127.0.0.1 at `rate`/s.
   * Not a pass criterion; shows whether the attacks keep new legitimate devices out.
   */
  async startLateRegistrations(rate: number): Promise<void> {
    this.late = await CoapPeer.open(this.udpPort, { answers: true, address: LEGIT_ADDRESS });
    this.lateTicker = new Ticker(rate, (i) => {
      void this.late?.register(`late-${i}`, ['lt=86400'], '</3/0>', 15_000).then((code) => this.lateOutcomes.add(code));
    });
    this.lateTicker.start();
  }

  private late: CoapPeer | undefined;
  private lateTicker: Ticker | undefined;
  readonly lateOutcomes = new Tally();

  stopSending(): void {
    this.readTicker?.stop();
    this.secureTicker?.stop();
    this.notifyTicker?.stop();
    this.lateTicker?.stop();
  }

  /** Latencies under attack split by whether the read was due within `windowMs` after one of `times`. */
  latencyAround(times: number[], windowMs: number): { near: LatencySummary; away: LatencySummary } {
    const sorted = [...times].sort((a, b) => a - b);
    const near: number[] = [];
    const away: number[] = [];
    const latencies = this.udpReads.latencies;
    for (let i = 0; i < latencies.length; i++) {
      const due = this.latencyDue[i];
      // the last event at or before `due`
      let lo = 0;
      let hi = sorted.length - 1;
      let last = -Infinity;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid] <= due) {
          last = sorted[mid];
          lo = mid + 1;
        } else hi = mid - 1;
      }
      (due - last < windowMs ? near : away).push(latencies[i]);
    }
    return { near: summarize(near), away: summarize(away) };
  }

  /** Latency of the reads of the quiet phase (no attack running), ms. */
  quietLatency(): LatencySummary {
    return summarize(this.quietLatencies);
  }

  get outstanding(): number {
    return this.sentAt.size;
  }

  /** The UDP devices' reads; latency: of the reads sent while the attacks ran. */
  readStats(): ReadStats {
    return statsOf(this.udpReads, summarize(this.readTicker?.lag ?? []).p99);
  }

  /** secure-1's reads (no send lag: its ticker does not keep it). */
  secureStats(): ReadStats {
    return statsOf(this.secureReads, NaN);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopSending();
    await Promise.all([this.pub?.endAsync(true), this.sub?.endAsync(true)].filter((p) => p !== undefined));
    if (this.secureDtls) await this.secureDtls.close();
    await this.secure?.close();
    await this.late?.close();
    await Promise.all(this.devices.map((d) => d.close()));
    if (this.secureSocket) {
      try {
        this.secureSocket.close();
      } catch {
        // already closed by the peer
      }
    }
  }
}
