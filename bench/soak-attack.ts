/**
 * What a soak attack is (bench/soak-attacks.ts has the attacks themselves): the context it runs in,
 * the report it gives, and the shapes most of them share: something done at a steady rate
 * (TickingAttack), and registers at a steady rate with their answer codes tallied (RegisteringAttack).
 */
import type { AttackMonitor } from './soak-monitor';
import { CoapPeer, Tally } from './soak-peer';
import { Ticker } from './soak-legit';
import type { NativeDtls } from '../src/transport/dtls/native-binding';

/** The gateway limits the soak runs with (gateway.yaml defaults), to judge the answers. */
export interface SoakLimits {
  maxQueuedCommands: number;
  maxEndpointLength: number;
  maxRegistrations: number;
  ratePerSource: number;
  rateBurst: number;
  maxPendingBytesPerSource: number;
  maxPendingBytes: number;
  maxHandshakesPerSource: number;
  authMaxInFlight: number;
  /** auth.http.max_in_flight_per_source: what one attacking address can hold. */
  authMaxInFlightPerSource: number;
  authTimeoutS: number;
}

export interface AttackContext {
  udpPort: number;
  dtlsPort: number | undefined;
  native: NativeDtls | undefined;
  psk: { identity: string; key: Buffer };
  monitor: AttackMonitor;
  limits: SoakLimits;
  /** The auth service's own counters (requests held open at once). */
  authHeld(): { held: number; maxHeldAtOnce: number; abandonedByGateway: number };
  /** Peak of a gateway counter sampled during the soak (`dtls.halfOpen`, `coap.pendingBytes`, ...). */
  peak(key: string): number | undefined;
  /** Whether the secure-1 reads were all answered 2.05 (hijack verdict). */
  secureReads(): { sent: number; answered: number; reRegisters: number; deregisters: number };
}

export interface AttackReport {
  name: string;
  rate: string;
  sent: string;
  got: string[];
  expected: string;
  /** undefined: not judged (e.g. nothing sent). */
  held: boolean | undefined;
  evidence: string;
}

export interface Attack {
  readonly name: string;
  /** Registers the attacker's own devices before the clock starts. */
  setup(): Promise<void>;
  start(): void;
  /** Stops sending; answers still on their way are waited for by the caller's drain. */
  stop(): void;
  close(): Promise<void>;
  report(): AttackReport;
}

/** An attack that does `tick(i)` `rate` times a second from start() to stop(). */
export abstract class TickingAttack implements Attack {
  abstract readonly name: string;
  private ticker: Ticker | undefined;

  constructor(
    protected readonly ctx: AttackContext,
    /** Ticks per second. */
    protected readonly rate: number,
  ) {}

  abstract setup(): Promise<void>;
  abstract close(): Promise<void>;
  abstract report(): AttackReport;
  /** The i-th tick (from 0). */
  protected abstract tick(i: number): void;

  start(): void {
    this.ticker = new Ticker(this.rate, (i) => this.tick(i));
    this.ticker.start();
  }

  stop(): void {
    this.ticker?.stop();
  }
}

/** One register of a RegisteringAttack: POST /rd?ep=`endpoint`&lt=86400&`query`. */
export interface AttackRegistration {
  endpoint: string;
  /** Query parameters after `lt=86400`. */
  query?: string[];
  /** Link-format body (default `</3/0>`). */
  links?: string;
  /** How long to wait for the final answer (default CoapPeer's). */
  timeoutMs?: number;
}

/**
 * Registers at `rate`/s from one silent peer on 127.0.0.2 (it never answers the gateway: a
 * registration that worked shows as unanswered reads), counting the registers sent and the answer
 * codes in `got`. An attack states what it registers (`registration`) and how it is judged (`report`).
 */
export abstract class RegisteringAttack extends TickingAttack {
  protected peer: CoapPeer | undefined;
  protected readonly got = new Tally();
  protected sent = 0;

  constructor(
    ctx: AttackContext,
    rate: number,
    /** The peer's socket receive buffer (default CoapPeer's), for floods whose answers come in bursts. */
    private readonly recvBufferSize?: number,
  ) {
    super(ctx, rate);
  }

  protected abstract registration(i: number): AttackRegistration;

  async setup(): Promise<void> {
    this.peer = await CoapPeer.open(this.ctx.udpPort, { answers: false, recvBufferSize: this.recvBufferSize });
  }

  protected tick(i: number): void {
    this.sent++;
    const r = this.registration(i);
    void this.peer?.register(r.endpoint, ['lt=86400', ...(r.query ?? [])], r.links ?? '</3/0>', r.timeoutMs).then((code) => this.answered(code, i));
  }

  /** The final answer (or 'timeout') to the i-th register. */
  protected answered(code: string, _i: number): void {
    this.got.add(code);
  }

  async close(): Promise<void> {
    await this.peer?.close();
  }
}
