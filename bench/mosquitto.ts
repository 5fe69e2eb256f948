import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A Mosquitto broker run as a child process for the benchmark. */
export interface MosquittoBroker {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** Synchronous SIGKILL, for process exit paths. */
  killNow(): void;
}

const MOSQUITTO_CANDIDATES = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto'];

export function findMosquitto(): string | undefined {
  return MOSQUITTO_CANDIDATES.find((file) => fs.existsSync(file));
}

export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function waitForListener(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (exited()) reject(new Error('mosquitto exited'));
        else if (Date.now() > deadline) reject(new Error(`mosquitto is not listening on ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts Mosquitto on a free 127.0.0.1 port with a throw-away configuration: one listener,
 * anonymous clients, no persistence. Retries once if another process takes the port meanwhile.
 */
export async function startMosquitto(extraConfig: string[] = []): Promise<MosquittoBroker> {
  const bin = findMosquitto();
  if (!bin) throw new Error(`mosquitto not found (looked at ${MOSQUITTO_CANDIDATES.join(', ')}); install the Debian package "mosquitto"`);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeTcpPort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mosquitto-'));
    const conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', ...extraConfig, ''].join('\n'));
    const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let hasExited = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        hasExited = true;
        resolve();
      }),
    );
    try {
      await waitForListener(port, 5000, () => hasExited);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      lastError = new Error(`${(err as Error).message}: ${stderr.trim()}`);
      continue;
    }
    return {
      port,
      url: `mqtt://127.0.0.1:${port}`,
      pid: child.pid ?? -1,
      killNow() {
        if (!hasExited) child.kill('SIGKILL');
      },
      async stop() {
        if (!hasExited) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw lastError ?? new Error('mosquitto did not start');
}

/** CPU seconds (user + system) a process has used, from /proc; NaN where /proc is unavailable. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}
