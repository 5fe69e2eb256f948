/**
 * (g) Memory per established DTLS session. A fresh gateway child (--expose-gc) is measured after a
 * forced GC, then after `sessions` PSK handshakes (distinct identities, one socket each, nothing
 * registered: the session alone), then once more after the clients closed them (close_notify).
 * Each client sends one CoAP ping after its handshake, as an LwM2M client sends its Register: the
 * addon compacts a server session (frees OpenSSL's SSL) at its first application data, and a
 * session that never carried any is not what an idle registered device costs.
 * OpenSSL's per-session state (SSL, keys, record layer) is malloc'd, outside the V8 heap, so the
 * RSS delta is the figure that counts; heap + external is the JavaScript side (session maps,
 * timers, napi handles). The gateway's own session count shows how many were held.
 */
import type { ChildHandle, ChildUsage } from './child';
import type { DtlsClient, DtlsClientContext } from './dtls-client';
import { closeClientsAndSockets, driveHandshakes, openSockets } from './dtls-handshakes';
import { sleep } from './stats';

/** CoAP ping: an empty confirmable message (RFC 7252 §4.3); the gateway answers RST. */
function coapPing(messageId: number): Buffer {
  return Buffer.from([0x40, 0x00, (messageId >> 8) & 0xff, messageId & 0xff]);
}

/** Right after its handshake, as an LwM2M client sends its Register. */
function ping(client: DtlsClient, index: number): void {
  client.send({ address: '', port: 0 }, coapPing(index & 0xffff));
}

export interface DtlsMemoryResult {
  sessions: number;
  established: number;
  failed: number;
  /** dtlsSessions as the gateway reports them, before / with the sessions up / after closing them. */
  heldBefore: number;
  held: number;
  heldAfterClose: number;
  rssPerSession: number;
  /** RSS growth from the first half of the sessions to all of them, per session of the second half. */
  rssPerSessionMarginal: number;
  heapPerSession: number;
  /** RSS delta less the V8 heap's committed delta (heapTotal), per session: memory outside V8, i.e. OpenSSL's and the addon's. */
  outsideV8PerSession: number;
  /** RSS still above the start once every session is closed, per session (memory kept by malloc or leaked). */
  rssPerSessionAfterClose: number;
  rssBefore: number;
  handshakeMs: number;
}

function heapBytes(u: ChildUsage): number {
  return u.memory.heapUsed + u.memory.external;
}

export async function measureDtlsMemory(
  gateway: ChildHandle,
  contextOf: (i: number) => DtlsClientContext,
  sessions: number,
  warmup: number,
  concurrency: number,
  log: (message: string) => void,
): Promise<DtlsMemoryResult> {
  if (gateway.dtlsPort === undefined) throw new Error('the gateway has no DTLS listener');
  const port = gateway.dtlsPort;
  // A few sessions first (then closed), so that compiled code and one-time allocations are not counted per session.
  const warmSockets = await openSockets(warmup);
  let warmClients: DtlsClient[] = [];
  try {
    warmClients = (await driveHandshakes(warmSockets, (i) => contextOf(sessions + i), port, concurrency, 10_000, undefined, ping)).clients;
    await sleep(200);
  } finally {
    await closeClientsAndSockets(warmClients, warmSockets);
  }
  await sleep(300);
  const before = await gateway.usage();
  const sockets = await openSockets(sessions);
  let clients: DtlsClient[] = [];
  try {
    const started = performance.now();
    let lastLog = started;
    const progress = (done: number) => {
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log(`    ${done} handshakes`);
      }
    };
    // Two halves: the second half's growth is the marginal cost of a session, free of the start-up
    // effects (malloc reusing what the warm-up freed, V8 shrinking its heap after the forced GC).
    const half = Math.floor(sessions / 2);
    const first = await driveHandshakes(sockets.slice(0, half), contextOf, port, concurrency, 15_000, progress, ping);
    await sleep(1000);
    const middle = await gateway.usage();
    const second = await driveHandshakes(sockets.slice(half), (i) => contextOf(half + i), port, concurrency, 15_000, progress, (c, i) => ping(c, half + i));
    const run = {
      completed: first.completed + second.completed,
      failed: first.failed + second.failed,
      errors: new Map([...first.errors, ...second.errors]),
      clients: [...first.clients, ...second.clients],
    };
    const handshakeMs = performance.now() - started;
    if (run.failed > 0) log(`    ${run.failed} handshakes failed: ${[...run.errors].map(([e, n]) => `${n} x ${e}`).join('; ')}`);
    await sleep(1000);
    const after = await gateway.usage();
    clients = run.clients;
    await Promise.all(clients.map((c) => c.close()));
    // The close_notify datagrams reach the gateway asynchronously: wait until it has ended them all.
    let closed = after;
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      closed = await gateway.usage();
      if ((closed.dtlsSessions ?? 0) <= (before.dtlsSessions ?? 0)) break;
    }
    const n = run.completed;
    return {
      sessions,
      established: run.completed,
      failed: run.failed,
      heldBefore: before.dtlsSessions ?? NaN,
      held: after.dtlsSessions ?? NaN,
      heldAfterClose: closed.dtlsSessions ?? NaN,
      rssPerSession: (after.memory.rss - before.memory.rss) / n,
      rssPerSessionMarginal: (after.memory.rss - middle.memory.rss) / Math.max(1, second.completed),
      heapPerSession: (heapBytes(after) - heapBytes(before)) / n,
      outsideV8PerSession: (after.memory.rss - before.memory.rss - (after.memory.heapTotal - before.memory.heapTotal)) / n,
      rssPerSessionAfterClose: (closed.memory.rss - before.memory.rss) / n,
      rssBefore: before.memory.rss,
      handshakeMs,
    };
  } finally {
    await closeClientsAndSockets(clients, sockets);
  }
}
