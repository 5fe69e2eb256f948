import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * The IPC protocol between the benchmark and its child processes (gateway, baseline forwarder):
 * the child sends `{ type: 'ready', udpPort, dtlsPort? }` once listening, then answers each
 * `{ id, type }` request with `{ id, ...reply }`.
 */
export type ChildRequestType = 'usage' | 'cpu' | 'close';

export interface ChildUsage {
  /** process.memoryUsage() after a forced GC (when the child runs with --expose-gc). */
  memory: NodeJS.MemoryUsage;
  /** process.cpuUsage() since the child started, microseconds. */
  cpu: NodeJS.CpuUsage;
  /** Registrations held (gateway only). */
  registrations?: number;
  /** Observations the gateway's devices hold (gateway only). */
  observations?: number;
  /** Established DTLS sessions held and handshakes completed / failed so far (gateway with a DTLS listener). */
  dtlsSessions?: number;
  dtlsHandshakes?: number;
  dtlsHandshakeFailures?: number;
}

export interface ReadyMessage {
  type: 'ready';
  udpPort: number;
  /** The DTLS listener's port (gateway with `listeners.dtls` on). */
  dtlsPort?: number;
}

export interface ChildHandle {
  readonly pid: number;
  readonly udpPort: number;
  readonly dtlsPort?: number;
  /** Memory after a forced GC, CPU so far. */
  usage(): Promise<ChildUsage>;
  /** CPU so far (no GC), microseconds. */
  cpu(): Promise<NodeJS.CpuUsage>;
  close(): Promise<void>;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Forks `dist/bench/<script>.js` with an IPC channel and waits for its ready message. With
 * `onStderrLine`, the child's stderr is read line by line by the caller instead of passed through.
 */
export function startChild(script: string, env: Record<string, string>, execArgv: string[] = [], startTimeoutMs = 20_000, onStderrLine?: (line: string) => void): Promise<ChildHandle> {
  const file = path.join(__dirname, `${script}.js`);
  const child: ChildProcess = fork(file, [], {
    env: { ...process.env, ...env },
    execArgv: process.env.BENCH_TRACE_GC ? [...execArgv, '--trace-gc'] : execArgv,
    stdio: ['ignore', 'inherit', onStderrLine ? 'pipe' : 'inherit', 'ipc'],
  });
  if (onStderrLine && child.stderr) {
    let rest = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line !== '') onStderrLine(line);
    });
  }
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${script} exited (code ${code}, signal ${signal})`));
      }
      pending.clear();
      resolve();
    }),
  );

  const request = <T>(type: ChildRequestType, timeoutMs = 30_000): Promise<T> => {
    if (exited) return Promise.reject(new Error(`${script} has exited`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${script}: no answer to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      child.send({ id, type });
    });
  };

  return new Promise<ChildHandle>((resolve, reject) => {
    const startTimer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not become ready within ${startTimeoutMs} ms`));
    }, startTimeoutMs);
    child.once('exit', (code) => {
      clearTimeout(startTimer);
      reject(new Error(`${script} exited during start-up (code ${code})`));
    });
    child.on('message', (raw: unknown) => {
      const message = raw as { type?: string; id?: number; error?: string; udpPort?: number; dtlsPort?: number };
      if (message.type === 'ready') {
        clearTimeout(startTimer);
        resolve({
          pid: child.pid ?? -1,
          udpPort: message.udpPort as number,
          dtlsPort: message.dtlsPort,
          usage: () => request<ChildUsage>('usage'),
          cpu: () => request<{ cpu: NodeJS.CpuUsage }>('cpu').then((reply) => reply.cpu),
          close: async () => {
            if (exited) return;
            const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            try {
              await request('close', 10_000);
            } catch {
              child.kill('SIGKILL');
            }
            await exitPromise;
            clearTimeout(killTimer);
          },
        });
        return;
      }
      if (message.type === 'failed') {
        clearTimeout(startTimer);
        reject(new Error(`${script} failed to start: ${message.error}`));
        return;
      }
      if (typeof message.id === 'number') {
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        clearTimeout(p.timer);
        if (message.error) p.reject(new Error(message.error));
        else p.resolve(message);
      }
    });
  });
}

/**
 * The child side: answers usage/close requests. `close` runs the child's own shutdown, then exits.
 * Must be called after `process.send` exists (i.e. in a forked child).
 */
export function serveParent(ready: ReadyMessage, extra: () => Partial<ChildUsage>, shutdown: () => Promise<void>): void {
  const send = (message: object) => process.send?.(message);
  process.on('message', (raw: unknown) => {
    const message = raw as { id: number; type: ChildRequestType };
    if (message.type === 'usage') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) {
        gc();
        gc();
      }
      send({ id: message.id, memory: process.memoryUsage(), cpu: process.cpuUsage(), ...extra() });
    } else if (message.type === 'cpu') {
      send({ id: message.id, cpu: process.cpuUsage() });
    } else if (message.type === 'close') {
      shutdown()
        .catch(() => undefined)
        .finally(() => {
          send({ id: message.id });
          // Leave time for the IPC message to flush, then go.
          setTimeout(() => process.exit(0), 50);
        });
    }
  });
  // The parent died: do not linger.
  process.on('disconnect', () => process.exit(0));
  send(ready);
}
