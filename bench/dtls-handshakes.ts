/**
 * (e) DTLS handshakes per second against the gateway's DTLS listener, and OpenSSL's own speed.
 *
 * Gateway: `total` full handshakes (cookie exchange included), at most `concurrency` in flight,
 * each from a fresh socket (opened before timing) so that every one is a new peer to the gateway.
 * PSK: one client context per identity (made before timing) and identities all distinct, so the
 * gateway's one-session-per-identity rule closes nothing; the sessions stay up until the run
 * ends. ECDHE-ECDSA: every client presents the one test client certificate (CN dev-cert-1), so
 * each new session makes the gateway close the previous one of that identity (close_notify).
 * A handshake is complete when the client has the server's Finished.
 *
 * OpenSSL alone: the same addon, a server and a client context in this process, datagrams handed
 * over in memory (no sockets, no JavaScript transport, no timers); only the time spent inside the
 * server's calls (listen, receive) is counted (CPU time of the loop, shared out between server and
 * client calls in the proportions of their wall time). That is what one core spends per handshake if the
 * gateway did nothing but OpenSSL's server side: the floor of the gateway's CPU per handshake.
 */
import dgram from 'node:dgram';
import { type DtlsClient, type DtlsClientContext } from './dtls-client';
import { type CpuSpent, startProcessCpuMeter } from './context';
import type { ChildHandle } from './child';
import { LOOPBACK } from './load-generator';
import { RECEIVE_FAILED, RECEIVE_HANDSHAKE_DONE, type DtlsContextOptions, type DtlsSession, type NativeDtls } from '../src/transport/dtls/native-binding';

export type HandshakeKind = 'psk' | 'ecdhe';

export interface HandshakeResult {
  kind: HandshakeKind;
  total: number;
  concurrency: number;
  completed: number;
  failed: number;
  /** Failure reasons and how often each was seen. */
  errors: Map<string, number>;
  elapsedMs: number;
  perSecond: number;
  cpu: CpuSpent;
  /** Established sessions the gateway holds right after the run (before the clients close them). */
  sessionsAfter: number;
}

export interface OpensslAloneResult {
  kind: HandshakeKind;
  handshakes: number;
  /** CPU time inside the server's calls per handshake, µs. */
  serverUs: number;
  /** CPU time inside the client's calls per handshake, µs. */
  clientUs: number;
}


/** Opens `count` UDP sockets on 127.0.0.1 (ephemeral ports), 500 at a time. */
export async function openSockets(count: number, recvBufferSize = 64 * 1024): Promise<dgram.Socket[]> {
  const sockets: dgram.Socket[] = [];
  const open = () =>
    new Promise<dgram.Socket>((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize, sendBufferSize: 64 * 1024 });
      socket.once('error', reject);
      socket.bind(0, LOOPBACK, () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  try {
    for (let start = 0; start < count; start += 500) {
      const chunk: Promise<dgram.Socket>[] = [];
      for (let i = start; i < Math.min(count, start + 500); i++) chunk.push(open());
      sockets.push(...(await Promise.all(chunk)));
    }
  } catch (err) {
    await closeSockets(sockets);
    throw err;
  }
  return sockets;
}

export async function closeSockets(sockets: dgram.Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          try {
            socket.close(() => resolve());
          } catch {
            resolve();
          }
        }),
    ),
  );
}

export interface HandshakeDriveResult {
  completed: number;
  failed: number;
  errors: Map<string, number>;
  startedAt: number;
  lastCompletionAt: number;
  /** The established clients, in completion order (the caller closes them). */
  clients: DtlsClient[];
}

/**
 * Runs handshake i over sockets[i] with context contextOf(i), `concurrency` at a time; resolves
 * when every one has completed or failed (each bounded by `timeoutMs`).
 */
export function driveHandshakes(
  sockets: dgram.Socket[],
  contextOf: (i: number) => DtlsClientContext,
  gatewayPort: number,
  concurrency: number,
  timeoutMs: number,
  onProgress?: (done: number) => void,
  /** Called as each session is up, before the next handshake starts (e.g. to send its first message). */
  onEstablished?: (client: DtlsClient, index: number) => void,
): Promise<HandshakeDriveResult> {
  const total = sockets.length;
  const gateway = { address: LOOPBACK, port: gatewayPort };
  const result: HandshakeDriveResult = { completed: 0, failed: 0, errors: new Map(), startedAt: performance.now(), lastCompletionAt: performance.now(), clients: [] };
  if (total === 0) return Promise.resolve(result);
  let next = 0;
  let inFlight = 0;
  return new Promise((resolve) => {
    const finished = () => {
      inFlight--;
      const done = result.completed + result.failed;
      onProgress?.(done);
      if (done === total) resolve(result);
      else launch();
    };
    const launch = () => {
      while (inFlight < concurrency && next < total) {
        const i = next++;
        inFlight++;
        contextOf(i)
          .connect(sockets[i], gateway, timeoutMs)
          .then(
            (client) => {
              result.completed++;
              result.lastCompletionAt = performance.now();
              result.clients.push(client);
              onEstablished?.(client, i);
            },
            (err: Error) => {
              result.failed++;
              result.errors.set(err.message, (result.errors.get(err.message) ?? 0) + 1);
            },
          )
          .finally(finished);
      }
    };
    launch();
  });
}

/**
 * Sends close_notify on every client (the gateway then ends those sessions), then closes the
 * sockets, once the close_notify datagrams have left (a socket closed right after `send` drops them).
 */
export async function closeClientsAndSockets(clients: DtlsClient[], sockets: dgram.Socket[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
  if (clients.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  await closeSockets(sockets);
}

export async function measureHandshakes(
  kind: HandshakeKind,
  gateway: ChildHandle,
  brokerPid: number,
  contextOf: (i: number) => DtlsClientContext,
  total: number,
  concurrency: number,
  log: (message: string) => void,
): Promise<HandshakeResult> {
  if (gateway.dtlsPort === undefined) throw new Error('the gateway has no DTLS listener');
  const sockets = await openSockets(total);
  let clients: DtlsClient[] = [];
  try {
    const meter = await startProcessCpuMeter(gateway, brokerPid);
    const run = await driveHandshakes(sockets, contextOf, gateway.dtlsPort, concurrency, 10_000);
    const cpu = await meter.stop();
    clients = run.clients;
    const sessionsAfter = (await gateway.usage()).dtlsSessions ?? NaN;
    const elapsedMs = run.lastCompletionAt - run.startedAt;
    const errors = [...run.errors].map(([e, n]) => `${n} x ${e}`).join('; ');
    log(`    ${kind.padEnd(5)} ${run.completed}/${total} in ${(elapsedMs / 1000).toFixed(2)} s${run.failed ? `, ${run.failed} failed (${errors})` : ''}; gateway holds ${sessionsAfter} sessions`);
    return { kind, total, concurrency, completed: run.completed, failed: run.failed, errors: run.errors, elapsedMs, perSecond: (run.completed / elapsedMs) * 1000, cpu, sessionsAfter };
  } finally {
    await closeClientsAndSockets(clients, sockets);
  }
}

/** The server-side and client-side contexts of one kind of handshake, as the gateway and the devices have them. */
export interface HandshakeCredentials {
  server: Pick<DtlsContextOptions, 'ciphers' | 'cert' | 'key' | 'ca' | 'verifyPeer' | 'psk'>;
  client: Pick<DtlsContextOptions, 'ciphers' | 'cert' | 'key' | 'ca' | 'verifyPeer' | 'pskIdentity' | 'pskKey'>;
}

/** `count` handshakes of the addon with itself, in memory (after a few to warm up). */
export function measureOpensslAlone(native: NativeDtls, kind: HandshakeKind, credentials: HandshakeCredentials, count: number): OpensslAloneResult {
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  const server = native.createContext({ mode: 'server', ...credentials.server, send: (_id, d) => toClient.push(d), data: () => undefined });
  const client = native.createContext({ mode: 'client', ...credentials.client, send: (_id, d) => toServer.push(d), data: () => undefined });
  let serverMs = 0;
  let clientMs = 0;
  const one = (id: number) => {
    let t = performance.now();
    const c = native.connect(client, id);
    clientMs += performance.now() - t;
    let s: DtlsSession | undefined;
    let clientDone = false;
    for (let step = 0; step < 20 && !clientDone; step++) {
      t = performance.now();
      for (const datagram of toServer.splice(0)) {
        if (s === undefined) {
          const r = native.listen(server, datagram, '127.0.0.1:40000', id);
          if (Buffer.isBuffer(r)) toClient.push(r);
          else if (r !== null) s = r;
        } else if (native.receive(s, datagram) === RECEIVE_FAILED) {
          throw new Error(`openssl alone (${kind}): server failed: ${native.lastError(s)}`);
        }
      }
      const t2 = performance.now();
      serverMs += t2 - t;
      for (const datagram of toClient.splice(0)) {
        const status = native.receive(c, datagram);
        if (status === RECEIVE_HANDSHAKE_DONE) clientDone = true;
        else if (status === RECEIVE_FAILED) throw new Error(`openssl alone (${kind}): client failed: ${native.lastError(c)}`);
      }
      clientMs += performance.now() - t2;
    }
    if (!clientDone) throw new Error(`openssl alone (${kind}): handshake did not complete`);
    native.free(c);
    if (s) native.free(s);
  };
  const warm = Math.min(20, count);
  for (let i = 0; i < warm; i++) one(i + 1);
  serverMs = clientMs = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) one(warm + i + 1);
  const cpu = process.cpuUsage(cpu0);
  // The process's CPU time, shared out in the proportions of the timed calls: a noisy machine that
  // takes the CPU away mid-call inflates wall time, not CPU time.
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const scale = Math.min(1, cpuMs / (serverMs + clientMs));
  return { kind, handshakes: count, serverUs: (serverMs * scale * 1000) / count, clientUs: (clientMs * scale * 1000) / count };
}
