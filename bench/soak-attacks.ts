/**
 * The soak's attacks, each its own loop at a bounded rate, all from 127.0.0.2 (so per-source limits
 * hit them and not the legitimate devices on 127.0.0.1). Each reports what it sent, what came back,
 * what the gateway is expected to answer, and whether that held. The MQTT side is AttackMonitor;
 * what an attack is, and the shapes most of them share, is bench/soak-attack.ts.
 */
import dgram from 'node:dgram';
import type { NamedOption } from 'coap-packet';
import { DtlsClientContext } from './dtls-client';
import { type AttackContext, type AttackRegistration, type AttackReport, RegisteringAttack, TickingAttack } from './soak-attack';
import { ATTACKER_ADDRESS, CoapPeer, GATEWAY_ADDRESS, Tally } from './soak-peer';
import { SECURE_ENDPOINT } from './soak-legit';

// ---- 1. command flood -----------------------------------------------------------------------

/**
 * Bursts of read commands for one attacker-registered online device (`flood-1`, answers) and one
 * sleeping queue-mode device (`sleepy-1`, `b=UQ`, never answers), alternately. Beyond
 * max_queued_commands waiting per device the gateway must answer 5.03 at once.
 */
export class CommandFlood extends TickingAttack {
  readonly name = '1 command flood';
  private online: CoapPeer | undefined;
  private sleepy: CoapPeer | undefined;
  private readonly sent = { 'flood-1': 0, 'sleepy-1': 0 };
  private readonly got = { 'flood-1': new Tally(), 'sleepy-1': new Tally() };
  private readonly setupCodes: string[] = [];
  private reqId = 100_000_000;
  /** When each burst was published (performance.now()). */
  readonly burstTimes: number[] = [];

  constructor(
    ctx: AttackContext,
    private readonly burst: number,
    private readonly everyS: number,
  ) {
    super(ctx, 1 / everyS);
  }

  async setup(): Promise<void> {
    this.online = await CoapPeer.open(this.ctx.udpPort, { answers: true });
    this.sleepy = await CoapPeer.open(this.ctx.udpPort, { answers: false });
    this.setupCodes.push(`flood-1 ${await this.online.register('flood-1', ['lt=86400'], '</3/0>')}`);
    this.setupCodes.push(`sleepy-1 ${await this.sleepy.register('sleepy-1', ['lt=86400', 'b=UQ'], '</3/0>')}`);
    for (const ep of ['flood-1', 'sleepy-1'] as const) {
      this.ctx.monitor.onResp(ep, (msg) => {
        if (typeof msg.reqID === 'number' && msg.reqID >= 100_000_000) this.got[ep].add(String(msg.data?.code));
      });
    }
  }

  protected tick(i: number): void {
    const ep = i % 2 === 0 ? 'flood-1' : 'sleepy-1';
    this.burstTimes.push(performance.now());
    for (let n = 0; n < this.burst; n++) {
      this.ctx.monitor.publish(`lwm2m/${ep}/dn`, `{"reqID":${this.reqId++},"msgType":"read","data":{"path":"/3/0/0"}}`);
    }
    this.sent[ep] += this.burst;
  }

  async close(): Promise<void> {
    await this.online?.close();
    await this.sleepy?.close();
  }

  report(): AttackReport {
    const line = (ep: 'flood-1' | 'sleepy-1') => {
      const t = this.got[ep];
      return `${ep}: ${t.total}/${this.sent[ep]} answered: ${t.format()}`;
    };
    const refused = this.got['flood-1'].get('5.03') + this.got['sleepy-1'].get('5.03');
    const sent = this.sent['flood-1'] + this.sent['sleepy-1'];
    const unanswered = sent - this.got['flood-1'].total - this.got['sleepy-1'].total;
    return {
      name: this.name,
      rate: `bursts of ${this.burst} reads every ${this.everyS} s, alternately to flood-1 and sleepy-1 (avg ${Math.round(this.burst / this.everyS)}/s)`,
      sent: `${sent} commands (setup: ${this.setupCodes.join(', ')})`,
      got: [line('flood-1'), line('sleepy-1')],
      expected: `5.03 beyond ${this.ctx.limits.maxQueuedCommands} queued per device; the rest answered`,
      held: sent === 0 ? undefined : refused > 0,
      evidence: `${refused} answered 5.03; ${unanswered} unanswered at the end (sleepy-1 keeps up to ${this.ctx.limits.maxQueuedCommands} queued + 1 in flight by design)`,
    };
  }
}

// ---- 2. identity hijack ----------------------------------------------------------------------

/** Registers `ep=secure-1` over plain UDP while the real secure-1 is registered over DTLS: must be 4.03. */
export class IdentityHijack extends RegisteringAttack {
  readonly name = '2 identity hijack';

  // The peer is silent: if the hijack worked, reads for secure-1 would come here and go unanswered.
  protected registration(): AttackRegistration {
    return { endpoint: SECURE_ENDPOINT, links: '</3/0>,</3303/0>' };
  }

  report(): AttackReport {
    const s = this.ctx.secureReads();
    const took = this.got.get('2.01');
    return {
      name: this.name,
      rate: `${this.rate}/s`,
      sent: `${this.sent} UDP registers of ep=${SECURE_ENDPOINT}`,
      got: [this.got.format()],
      expected: '4.03; secure-1 stays registered over DTLS and its reads keep working',
      held: this.sent === 0 ? undefined : took === 0 && s.answered === s.sent && s.reRegisters === 0 && s.deregisters === 0,
      evidence: `secure-1 reads ${s.answered}/${s.sent} answered 2.05; secure-1 register messages after its own: ${s.reRegisters}; deregisters: ${s.deregisters}`,
    };
  }
}

// ---- 3. topic injection ----------------------------------------------------------------------

/** Endpoint names that are MQTT wildcards, a NUL byte, or 60 KB long: must be 4.00, the broker link must stay. */
export class TopicInjection extends RegisteringAttack {
  readonly name = '3 topic injection';
  private readonly names: { label: string; ep: string }[] = [
    { label: '#', ep: '#' },
    { label: 'a+b', ep: 'a+b' },
    { label: 'x%00y', ep: 'x\u0000y' },
    { label: '60 KB', ep: 'A'.repeat(60 * 1024) },
  ];
  /** The answers by name (`got`: all of them). */
  private readonly gotByName = new Map<string, Tally>();

  constructor(ctx: AttackContext, rate: number) {
    super(ctx, rate);
    for (const n of this.names) this.gotByName.set(n.label, new Tally());
  }

  private nameOf(i: number): { label: string; ep: string } {
    return this.names[i % this.names.length];
  }

  protected registration(i: number): AttackRegistration {
    return { endpoint: this.nameOf(i).ep };
  }

  protected answered(code: string, i: number): void {
    super.answered(code, i);
    this.gotByName.get(this.nameOf(i).label)?.add(code);
  }

  report(): AttackReport {
    const m = this.ctx.monitor;
    const accepted = this.got.get('2.01');
    return {
      name: this.name,
      rate: `${this.rate}/s, cycling ${this.names.map((n) => n.label).join(', ')}`,
      sent: `${this.sent} registers`,
      got: [...this.gotByName].map(([label, t]) => `ep=${label}: ${t.format()}`),
      expected: '4.00; the gateway stays connected to the broker',
      held: this.sent === 0 ? undefined : accepted === 0 && m.gatewayDisconnects === 0,
      evidence: `gateway broker connection: ${m.gatewayDisconnects} disconnects / ${m.gatewayConnects} reconnects seen on $SYS; soak's own MQTT clients dropped ${m.ownDrops} times`,
    };
  }
}

// ---- 4. poisoned commands --------------------------------------------------------------------

/**
 * Commands nested 5,000 deep and `data.key` naming Object.prototype members, to an
 * attacker-registered device (`poison-1`, answers reads); each must get an error answer, and a
 * plain read sent after every round must still be answered 2.05.
 */
export class PoisonedCommands extends TickingAttack {
  readonly name = '4 poisoned commands';
  private peer: CoapPeer | undefined;
  private reqId = 200_000_000;
  private readonly kinds = new Map<number, string>();
  private readonly got = new Map<string, Tally>();
  private readonly sentByKind = new Map<string, number>();
  private setupCode = '';
  private readonly poisons: { label: string; make: (id: number) => string }[];

  constructor(ctx: AttackContext, roundsPerSecond: number, depth = 5000) {
    super(ctx, roundsPerSecond);
    const arrays = '['.repeat(depth) + ']'.repeat(depth);
    const objects = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    this.poisons = [
      { label: `write value [[..]] x${depth}`, make: (id) => `{"reqID":${id},"msgType":"write","data":{"path":"/3/0/14","type":"String","value":${arrays}}}` },
      { label: `write value {"a":..} x${depth}`, make: (id) => `{"reqID":${id},"msgType":"write","data":{"path":"/3/0/14","type":"String","value":${objects}}}` },
      { label: `write content {"a":..} x${depth}`, make: (id) => `{"reqID":${id},"msgType":"write","data":{"basePath":"/3/0","content":${objects}}}` },
      { label: `read path {"a":..} x${depth}`, make: (id) => `{"reqID":${id},"msgType":"read","data":{"path":${objects}}}` },
      { label: 'data.key constructor', make: (id) => `{"reqID":${id},"msgType":"read","data":{"key":"constructor"}}` },
      { label: 'data.key __proto__', make: (id) => `{"reqID":${id},"msgType":"read","data":{"key":"__proto__"}}` },
      { label: 'data.key toString', make: (id) => `{"reqID":${id},"msgType":"read","data":{"key":"toString"}}` },
    ];
    for (const p of this.poisons) this.got.set(p.label, new Tally());
    this.got.set('follow-up read', new Tally());
  }

  async setup(): Promise<void> {
    this.peer = await CoapPeer.open(this.ctx.udpPort, { answers: true });
    this.setupCode = await this.peer.register('poison-1', ['lt=86400'], '</3/0>');
    this.ctx.monitor.onResp('poison-1', (msg) => {
      if (typeof msg.reqID !== 'number') return;
      const kind = this.kinds.get(msg.reqID);
      if (kind === undefined) return;
      this.kinds.delete(msg.reqID);
      this.got.get(kind)?.add(String(msg.data?.code));
    });
  }

  private send(label: string, payload: string, id: number): void {
    this.kinds.set(id, label);
    this.sentByKind.set(label, (this.sentByKind.get(label) ?? 0) + 1);
    this.ctx.monitor.publish('lwm2m/poison-1/dn', payload);
  }

  /** One round: every poison, then a plain read. */
  protected tick(): void {
    for (const p of this.poisons) {
      const id = this.reqId++;
      this.send(p.label, p.make(id), id);
    }
    const id = this.reqId++;
    this.send('follow-up read', `{"reqID":${id},"msgType":"read","data":{"path":"/3/0/0"}}`, id);
  }

  async close(): Promise<void> {
    await this.peer?.close();
  }

  report(): AttackReport {
    let poisonSent = 0;
    let poisonErrors = 0;
    let poisonOk = 0;
    const lines: string[] = [];
    for (const [label, t] of this.got) {
      const sent = this.sentByKind.get(label) ?? 0;
      lines.push(`${label}: ${t.total}/${sent} answered: ${t.format()}`);
      if (label === 'follow-up read') continue;
      poisonSent += sent;
      for (const [code, n] of t.counts) {
        if (code.startsWith('2.')) poisonOk += n;
        else poisonErrors += n;
      }
    }
    const follow = this.got.get('follow-up read') as Tally;
    const followSent = this.sentByKind.get('follow-up read') ?? 0;
    const unanswered = poisonSent - poisonErrors - poisonOk;
    return {
      name: this.name,
      rate: `${this.rate} rounds/s of ${this.poisons.length} poisoned commands + 1 plain read (poison-1 registered: ${this.setupCode})`,
      sent: `${poisonSent} poisoned, ${followSent} follow-up reads`,
      got: lines,
      expected: 'an error answer (4.xx) for every poisoned command; every follow-up read 2.05',
      held: poisonSent === 0 ? undefined : poisonErrors === poisonSent && follow.get('2.05') === followSent,
      evidence: `${poisonErrors}/${poisonSent} poisoned commands got an error answer, ${poisonOk} a success, ${unanswered} none; follow-up reads ${follow.get('2.05')}/${followSent} 2.05`,
    };
  }
}

// ---- 5a. registration flood -----------------------------------------------------------------

/** Distinct endpoints from one 127.0.0.2 socket, faster than the per-source rate: 4.29 beyond it. */
export class RegistrationFlood extends RegisteringAttack {
  readonly name = '5a registration flood';

  constructor(ctx: AttackContext, rate: number) {
    super(ctx, rate, 4 * 1024 * 1024);
  }

  protected registration(i: number): AttackRegistration {
    return { endpoint: `reg-${i}` };
  }

  report(): AttackReport {
    const l = this.ctx.limits;
    return {
      name: this.name,
      rate: `${this.rate}/s offered (limit ${l.ratePerSource}/s, burst ${l.rateBurst}, shared with every other register from 127.0.0.2)`,
      sent: `${this.sent} registers, distinct endpoints`,
      got: [this.got.format()],
      expected: `4.29 beyond the rate; 5.03 at max_registrations (${l.maxRegistrations}${l.maxRegistrations > 50_000 ? `: not reachable at ${l.ratePerSource}/s in this run` : ''}) and while auth.http has ${l.authMaxInFlightPerSource} requests in flight for this source (attack 5d)`,
      held: this.sent === 0 ? undefined : this.got.get('4.29') > 0,
      evidence: `${this.got.get('2.01')} admitted, ${this.got.get('4.29')} refused 4.29, ${this.got.get('5.03')} refused 5.03; peak registrations held by the gateway: ${this.ctx.peak('registrations') ?? 'n/a'}`,
    };
  }
}

// ---- 5b. Block1 bodies never finished --------------------------------------------------------

function block1(num: number, more: boolean, szx: number): Buffer {
  const v = (num << 4) | (more ? 8 : 0) | szx;
  if (v <= 0xff) return Buffer.from([v]);
  if (v <= 0xffff) return Buffer.from([v >> 8, v & 0xff]);
  return Buffer.from([(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
}

/**
 * Register bodies sent block-wise (1 KB blocks, Block1 with M=1 throughout) to distinct paths
 * `/rd/bN`, `blocksPerTransfer` blocks each, never the last one: the gateway holds them until
 * exchange_lifetime, up to max_pending_bytes_per_source (beyond: 4.13) and max_pending_bytes (5.03).
 */
export class UnfinishedBlock1 extends TickingAttack {
  readonly name = '5b Block1 never finished';
  private peer: CoapPeer | undefined;
  private readonly got = new Tally();
  private blocks = 0;
  private transfers = 0;
  private readonly body = Buffer.alloc(1024, 0x41);

  constructor(
    ctx: AttackContext,
    transfersPerSecond: number,
    private readonly blocksPerTransfer: number,
  ) {
    super(ctx, transfersPerSecond);
  }

  async setup(): Promise<void> {
    this.peer = await CoapPeer.open(this.ctx.udpPort, { answers: false, recvBufferSize: 4 * 1024 * 1024 });
  }

  private async transfer(n: number): Promise<void> {
    for (let num = 0; num < this.blocksPerTransfer; num++) {
      const peer = this.peer;
      if (!peer) return;
      this.blocks++;
      const options: NamedOption[] = [
        { name: 'Uri-Path', value: Buffer.from('rd') },
        { name: 'Uri-Path', value: Buffer.from(`b${n}`) },
        { name: 'Content-Format', value: Buffer.from([40]) },
        { name: 'Block1', value: block1(num, true, 6) },
      ];
      const code = await peer.request('POST', options, this.body, 5000);
      this.got.add(code);
      if (code !== '2.31') return;
    }
  }

  protected tick(i: number): void {
    this.transfers++;
    void this.transfer(i);
  }

  async close(): Promise<void> {
    await this.peer?.close();
  }

  report(): AttackReport {
    const l = this.ctx.limits;
    const held = this.got.get('2.31') * 1024;
    const capped = this.got.get('4.13') + this.got.get('5.03');
    const pending = this.ctx.peak('coap.pendingBytes');
    return {
      name: this.name,
      rate: `${this.rate} transfers/s x ${this.blocksPerTransfer} blocks of 1 KB (<= ${this.rate * this.blocksPerTransfer} KB/s)`,
      sent: `${this.blocks} blocks in ${this.transfers} transfers (${(this.blocks / 1024).toFixed(1)} MiB)`,
      got: [this.got.format()],
      expected: `2.31 until ${(l.maxPendingBytesPerSource / 1048576).toFixed(0)} MiB pending from this source, then 4.13 (5.03 at ${(l.maxPendingBytes / 1048576).toFixed(0)} MiB in all)`,
      held: this.blocks === 0 ? undefined : pending !== undefined ? pending <= l.maxPendingBytesPerSource : held <= l.maxPendingBytesPerSource || capped > 0,
      evidence: `${(held / 1048576).toFixed(1)} MiB accepted (2.31) in all, ${capped} blocks refused with 4.13/5.03; peak pending bytes in the gateway (UDP endpoint): ${pending === undefined ? 'n/a' : `${(pending / 1048576).toFixed(2)} MiB`} (exchange_lifetime 247 s: nothing expires during the run)`,
    };
  }
}

// ---- 5c. DTLS handshakes abandoned after the cookie exchange ---------------------------------

const DTLS_HANDSHAKE = 22;
const DTLS_ALERT = 21;

/**
 * Each attempt: a fresh socket on 127.0.0.2, a real client handshake (the addon in client mode)
 * whose datagrams after the second (ClientHello, ClientHello with the cookie) are dropped, so it
 * stops after the cookie exchange; the gateway holds the half-open handshake until its timeout.
 * What came back is classified: HelloVerifyRequest, the server's flight (ServerHello: state held),
 * an alert (refused), or nothing after the cookie.
 */
export class AbandonedHandshakes extends TickingAttack {
  readonly name = '5c DTLS handshakes abandoned';
  private context: DtlsClientContext | undefined;
  private readonly got = new Tally();
  private attempts = 0;
  /** When the server's flight (state held by the gateway) came back, for the sliding 30 s count. */
  private readonly flights: number[] = [];
  private maxFlightsIn30s = 0;
  private readonly sockets = new Set<dgram.Socket>();

  constructor(
    ctx: AttackContext,
    rate: number,
    private readonly holdS = 30,
  ) {
    super(ctx, rate);
  }

  setup(): Promise<void> {
    if (this.ctx.native && this.ctx.dtlsPort !== undefined) {
      this.context = new DtlsClientContext(this.ctx.native, { ciphers: 'PSK-AES128-CCM8', psk: this.ctx.psk });
    }
    return Promise.resolve();
  }

  protected tick(): void {
    this.attempt();
  }

  private attempt(): void {
    const context = this.context;
    const port = this.ctx.dtlsPort;
    if (!context || port === undefined) return;
    this.attempts++;
    const socket = dgram.createSocket({ type: 'udp4' });
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    let sends = 0;
    let sawHvr = false;
    let sawFlight = false;
    let sawAlert = false;
    const send = socket.send.bind(socket) as (...args: unknown[]) => void;
    (socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
      if (++sends <= 2) send(...args);
    };
    socket.on('message', (bytes) => {
      if (bytes[0] === DTLS_ALERT) sawAlert = true;
      else if (bytes[0] === DTLS_HANDSHAKE && bytes.length > 13) {
        if (bytes[13] === 3) sawHvr = true;
        else if (bytes[13] === 2 && !sawFlight) {
          sawFlight = true;
          this.flightAt(performance.now());
        }
      }
    });
    socket.bind(0, ATTACKER_ADDRESS, () => {
      context
        .connect(socket, { address: GATEWAY_ADDRESS, port }, 2000)
        .then(
          (client) => {
            this.got.add('handshake completed (!)');
            return client.close();
          },
          () => {
            this.got.add(sawAlert ? 'alert after cookie (refused)' : sawFlight ? 'server flight (ServerHello), then timed out' : sawHvr ? 'HelloVerifyRequest only, then silence' : 'no answer');
          },
        )
        .finally(() => {
          this.sockets.delete(socket);
          try {
            socket.close();
          } catch {
            // closed
          }
        });
    });
  }

  private flightAt(now: number): void {
    this.flights.push(now);
    while (this.flights.length > 0 && this.flights[0] < now - this.holdS * 1000) this.flights.shift();
    this.maxFlightsIn30s = Math.max(this.maxFlightsIn30s, this.flights.length);
  }

  /** Without the addon or a DTLS listener there is nothing to attack. */
  start(): void {
    if (this.context) super.start();
  }

  async close(): Promise<void> {
    // Attempts end by themselves within 2 s.
    const deadline = performance.now() + 3000;
    while (this.sockets.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of this.sockets) {
      try {
        s.close();
      } catch {
        // closed
      }
    }
  }

  report(): AttackReport {
    const l = this.ctx.limits;
    const halfOpen = this.ctx.peak('dtls.halfOpen');
    if (!this.context) {
      return { name: this.name, rate: '-', sent: 'nothing (no DTLS addon or listener)', got: [], expected: '-', held: undefined, evidence: '-' };
    }
    return {
      name: this.name,
      rate: `${this.rate} handshakes/s, each from a fresh 127.0.0.2 socket`,
      sent: `${this.attempts} handshakes stopped after the cookie exchange`,
      got: [this.got.format()],
      expected: `at most ${l.maxHandshakesPerSource} half-open handshakes held for this source; more refused`,
      // +1: a handshake timing out frees its place a moment before the attacker sees its last flight.
      held: this.attempts === 0 ? undefined : (halfOpen === undefined || halfOpen <= l.maxHandshakesPerSource) && this.maxFlightsIn30s <= l.maxHandshakesPerSource + 1,
      evidence: `peak half-open handshakes in the gateway: ${halfOpen ?? 'n/a'}; server flights seen within any ${this.holdS} s (its handshake timeout): ${this.maxFlightsIn30s} (a ClientHello beyond the limit is dropped before any handshake work)`,
    };
  }
}

// ---- 5d. registrations stuck in the auth hook ------------------------------------------------

/** `slow-N` registers, which the auth service never answers: 4.01 after auth.http.timeout, 5.03 beyond max_in_flight_per_source. */
export class SlowAuth extends RegisteringAttack {
  readonly name = '5d slow auth';

  // Waits past the auth timeout for the gateway's 4.01.
  protected registration(i: number): AttackRegistration {
    return { endpoint: `slow-${i}`, timeoutMs: (this.ctx.limits.authTimeoutS + 10) * 1000 };
  }

  report(): AttackReport {
    const l = this.ctx.limits;
    const a = this.ctx.authHeld();
    return {
      name: this.name,
      rate: `${this.rate}/s offered`,
      sent: `${this.sent} registers named slow-N`,
      got: [this.got.format()],
      expected: `4.01 after ${l.authTimeoutS} s; 5.03 beyond ${l.authMaxInFlightPerSource} auth requests in flight for this source (${l.authMaxInFlight} in all)`,
      // +1: the service sees a slot freed only when the gateway's aborted connection closes, which may
      // reach it after the next request (the gateway frees the slot when it aborts).
      held: this.sent === 0 ? undefined : a.maxHeldAtOnce <= l.authMaxInFlightPerSource + 1 && this.got.get('5.03') > 0 && this.got.get('2.01') === 0,
      evidence: `auth service: at most ${a.maxHeldAtOnce} requests held at once (one more than the limit is the close of an aborted request arriving after the next one), ${a.abandonedByGateway} given up by the gateway, ${a.held} still held at the end`,
    };
  }
}

// ---- 6. secrets in the register query --------------------------------------------------------

export const SECRET_MARK = 'S3CR3T';

/** Registers carrying pwd=, apikey=, key=, Password= (values marked SECRET_MARK); no register or update message may carry a marked value. */
export class SecretQuery extends RegisteringAttack {
  readonly name = '6 secrets in the query';
  checked = 0;
  leaks = 0;
  private readonly leakSamples: string[] = [];
  /** Marked values seen in any register/update message, by query key. */
  private readonly leakedKeys = new Tally();

  async setup(): Promise<void> {
    await super.setup();
    this.ctx.monitor.onRegister((endpoint, topic, payload) => {
      const text = payload.toString('utf8');
      if (endpoint.startsWith('sec-')) this.checked++;
      if (!text.includes(SECRET_MARK)) return;
      this.leaks++;
      for (const k of ['pwd', 'apikey', 'key', 'Password']) if (text.includes(`${k}-${SECRET_MARK}`)) this.leakedKeys.add(k);
      if (this.leakSamples.length < 2) this.leakSamples.push(`${topic} ${text.slice(0, 300)}`);
    });
  }

  protected registration(i: number): AttackRegistration {
    return { endpoint: `sec-${i}`, query: ['pwd', 'apikey', 'key', 'Password'].map((k) => `${k}=${k}-${SECRET_MARK}-${i}`) };
  }

  report(): AttackReport {
    return {
      name: this.name,
      rate: `${this.rate}/s`,
      sent: `${this.sent} registers with pwd=, apikey=, key=, Password=`,
      got: [this.got.format(), `register messages on MQTT checked: ${this.checked}`, ...this.leakSamples.map((s) => `LEAK: ${s}`)],
      expected: 'no secret value in any register/update message',
      held: this.checked === 0 ? undefined : this.leaks === 0,
      evidence: `${this.leaks} messages carried a secret${this.leaks > 0 ? ` (keys: ${this.leakedKeys.format()})` : ''}`,
    };
  }
}

