// A real redis-server as a child process, for the Redis store tests (and any benchmark).
// Plain errors, no jest globals: test/support is also compiled with the benchmarks (tsconfig.build.json).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort } from '../../bench/mosquitto';

export interface RedisServer {
  port: number;
  /** redis://[:password@]127.0.0.1:<port> */
  url: string;
  /** Where it keeps its files (dump.rdb, appendonly): the given dir, or a temporary one removed by stop(). */
  dir: string;
  pid: number;
  /** SIGTERM (SIGKILL after 3 s), waits for the exit, removes a temporary dir. */
  stop(): Promise<void>;
  /** Synchronous SIGKILL, for exit paths. */
  killNow(): void;
}

export interface RedisServerOptions {
  /** Keep the files here (persistence tests); default a fresh temporary directory, removed by stop(). */
  dir?: string;
  /** requirepass */
  password?: string;
  /** More redis-server arguments, e.g. ['--appendonly', 'yes']; they override the defaults. */
  args?: string[];
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'];
const INSTALL_HINT = 'install the Debian package redis-server (apt-get install -y redis-server)';

export function findRedisServer(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'redis-server'));
  return [...onPath, ...CANDIDATES].find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** Whether a redis-server binary is installed (on PATH or in the usual places). */
export function redisServerAvailable(): boolean {
  return findRedisServer() !== undefined;
}

export const REDIS_SERVER_MISSING = `redis-server not found (PATH, ${CANDIDATES.join(', ')}); ${INSTALL_HINT}`;

/** Servers not stopped yet: killed when the process exits, so none outlives a test run. */
const running = new Set<RedisServer>();
let exitHook = false;

/** Resolves once the server answers PING (+PONG, or -NOAUTH when it wants a password). */
function waitForPing(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      let reply = '';
      const retry = (why: string) => {
        socket.destroy();
        if (exited()) reject(new Error('redis-server exited'));
        else if (Date.now() > deadline) reject(new Error(`redis-server does not answer PING on ${port} after ${timeoutMs} ms (${why})`));
        else setTimeout(attempt, 30);
      };
      socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
      socket.on('data', (chunk: Buffer) => {
        reply += chunk.toString();
        if (!reply.includes('\r\n')) return;
        if (reply.startsWith('+PONG') || reply.startsWith('-NOAUTH')) {
          socket.destroy();
          resolve();
        } else retry(reply.trim()); // -LOADING while it reads its files
      });
      socket.once('error', (err) => retry(err.message));
    };
    attempt();
  });
}

/**
 * Starts redis-server on a free 127.0.0.1 port: no RDB snapshots, no append-only file (unless `args`
 * say otherwise), files in `dir`. Retries twice if another process takes the port meanwhile.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = findRedisServer();
  if (!bin) throw new Error(REDIS_SERVER_MISSING);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeTcpPort();
    const temporary = options.dir === undefined;
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'test-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', ''];
    if (options.password !== undefined) args.push('--requirepass', options.password);
    args.push(...(options.args ?? []));
    const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      if (output.length < 8192) output += chunk.toString();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let hasExited = false;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        hasExited = true;
        resolve();
      }),
    );
    const removeDir = () => {
      if (temporary) fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitForPing(port, 10_000, () => hasExited);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      removeDir();
      lastError = new Error(`${(err as Error).message}: ${output.trim().split('\n').slice(-5).join('\n')}`);
      continue;
    }
    const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';
    const server: RedisServer = {
      port,
      url: `redis://${auth}127.0.0.1:${port}`,
      dir,
      pid: child.pid ?? -1,
      killNow() {
        if (!hasExited) child.kill('SIGKILL');
      },
      async stop() {
        running.delete(server);
        if (!hasExited) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        removeDir();
      },
    };
    running.add(server);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const s of running) s.killNow();
      });
    }
    return server;
  }
  throw lastError ?? new Error('redis-server did not start');
}
