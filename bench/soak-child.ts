/**
 * The soak's gateway child: dist/bench/gateway-process.js forked with an IPC channel, as
 * bench/child.ts does, but watched for its exit: a gateway that exits before the soak asks it to is
 * a crash, counted and reported (nothing is restarted). Also samples the child's memory from
 * /proc/<pid>/status (VmRSS over time, VmHWM = the kernel's own peak RSS).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildUsage } from './child';

export interface SoakUsage extends ChildUsage {
  /** DtlsTransport.stats() as the gateway has it (sessions, halfOpen, handshakes, ...). */
  dtls?: Record<string, number>;
  /** CoapEndpoint.stats() of each endpoint (exchanges, inFlight, dedup, partialBodies, pendingBytes, ...). */
  coap?: ({ scheme: string } & Record<string, number>)[];
}

/** Peaks of the gateway's counters over the soak, sampled every few seconds. */
export class CounterPeaks {
  readonly peaks = new Map<string, number>();
  samples = 0;
  failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly gateway: SoakGateway) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  async sample(): Promise<void> {
    if (this.busy || !this.gateway.alive) return;
    this.busy = true;
    try {
      const s = await this.gateway.stats();
      this.samples++;
      const note = (key: string, v: unknown) => {
        if (typeof v === 'number' && Number.isFinite(v)) this.peaks.set(key, Math.max(this.peaks.get(key) ?? -Infinity, v));
      };
      note('registrations', s.registrations);
      for (const [k, v] of Object.entries(s.dtls ?? {})) note(`dtls.${k}`, v);
      for (const c of s.coap ?? []) for (const [k, v] of Object.entries(c)) if (k !== 'scheme') note(`${c.scheme}.${k}`, v);
    } catch {
      this.failures++;
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get(key: string): number | undefined {
    return this.peaks.get(key);
  }
}

export interface Crash {
  /** Seconds since the gateway was ready. */
  atS: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcMemory {
  rss: number;
  hwm: number;
}

/** VmRSS and VmHWM of a process in bytes; undefined once it is gone. */
export function procMemory(pid: number): ProcMemory | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

export class SoakGateway {
  /** Set when the child exited without being asked to. */
  crash: Crash | undefined;
  private stopping = false;
  private exited = false;
  private readonly exitPromise: Promise<void>;
  private readyAt = performance.now();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly crashListeners: ((crash: Crash) => void)[] = [];
  udpPort = 0;
  dtlsPort: number | undefined;
  brokerPort: number | undefined;

  private constructor(private readonly child: ChildProcess) {
    this.exitPromise = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exited = true;
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`gateway exited (code ${code}, signal ${signal})`));
        }
        this.pending.clear();
        if (!this.stopping) {
          this.crash = { atS: (performance.now() - this.readyAt) / 1000, code, signal };
          for (const listener of this.crashListeners) listener(this.crash);
        }
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return !this.exited;
  }

  onCrash(listener: (crash: Crash) => void): void {
    this.crashListeners.push(listener);
  }

  /** Forks the gateway with this configuration and waits for it to listen. */
  static start(yaml: string, execArgv: string[] = [], timeoutMs = 20_000): Promise<SoakGateway> {
    const child = fork(path.join(__dirname, 'gateway-process.js'), [], {
      env: { ...process.env, BENCH_GATEWAY_CONFIG: yaml },
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const gw = new SoakGateway(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`gateway not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onEarlyExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited during start-up (code ${code})`));
      };
      child.once('exit', onEarlyExit);
      child.on('message', (raw: unknown) => {
        const m = raw as { type?: string; id?: number; error?: string; udpPort?: number; dtlsPort?: number; brokerPort?: number };
        if (m.type === 'ready') {
          clearTimeout(timer);
          child.off('exit', onEarlyExit);
          gw.udpPort = m.udpPort ?? 0;
          gw.dtlsPort = m.dtlsPort;
          gw.brokerPort = m.brokerPort;
          gw.readyAt = performance.now();
          resolve(gw);
        } else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`gateway failed to start: ${m.error}`));
        } else if (typeof m.id === 'number') {
          const p = gw.pending.get(m.id);
          if (!p) return;
          gw.pending.delete(m.id);
          clearTimeout(p.timer);
          if (m.error) p.reject(new Error(m.error));
          else p.resolve(m);
        }
      });
    });
  }

  private request<T>(type: 'usage' | 'close' | 'stats', timeoutMs: number): Promise<T> {
    if (this.exited) return Promise.reject(new Error('gateway has exited'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`gateway: no answer to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, type });
    });
  }

  /** Memory (after a forced GC when the child has --expose-gc), CPU and the gateway's counters. */
  usage(timeoutMs = 15_000): Promise<SoakUsage> {
    return this.request<SoakUsage>('usage', timeoutMs);
  }

  /** The gateway's counters without a forced GC (cheap enough to sample during the soak). */
  stats(timeoutMs = 5_000): Promise<Omit<SoakUsage, 'memory' | 'cpu'>> {
    return this.request('stats', timeoutMs);
  }

  /** Asks the child to shut down, kills it if it does not within 10 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    try {
      await this.request('close', 10_000);
    } catch {
      this.child.kill('SIGKILL');
    }
    await this.exitPromise;
    clearTimeout(kill);
  }

  /** Last resort on the way out (signals, watchdog): no waiting. */
  killNow(): void {
    this.stopping = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** RSS of a process sampled every `intervalMs`: peak, and one value per `everyS` seconds for the timeline. */
export class RssSampler {
  peak = 0;
  hwm = 0;
  readonly timeline: { atS: number; rss: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = performance.now();
  private lastTimelineAt = -Infinity;

  constructor(
    private readonly pid: number,
    intervalMs = 500,
    private readonly everyS = 10,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): ProcMemory | undefined {
    const m = procMemory(this.pid);
    if (!m) return undefined;
    if (m.rss > this.peak) this.peak = m.rss;
    if (m.hwm > this.hwm) this.hwm = m.hwm;
    const atS = (performance.now() - this.startedAt) / 1000;
    if (atS - this.lastTimelineAt >= this.everyS - 0.25) {
      this.lastTimelineAt = atS;
      this.timeline.push({ atS, rss: m.rss });
    }
    return m;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
