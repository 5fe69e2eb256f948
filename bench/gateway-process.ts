/**
 * Child process running the gateway under test (own event loop, own heap), started by the
 * benchmark with `--expose-gc` so that its memory can be read after a forced GC.
 * Configuration: YAML text in BENCH_GATEWAY_CONFIG (with `listeners.dtls` on, the ready message
 * carries the DTLS port and usage() the DTLS session count). Talks to the parent over IPC (bench/child.ts).
 * Logs nothing, unless BENCH_GATEWAY_LOG names a pino level: then JSON lines on stderr at that level
 * (bench/scale.ts reads the "state restored from the store" line of a restart that way).
 */
import path from 'node:path';
import v8 from 'node:v8';
import pino from 'pino';
import { startGateway } from '../src/app/app';
import { parseConfig } from '../src/app/config';
import { type ChildUsage, type ReadyMessage, serveParent } from './child';
import type { Lwm2mServer } from '../src/lwm2m/lwm2m-server';

/**
 * stats() of the CoAP endpoints (UDP, DTLS) that registrations live on. RunningGateway does not
 * expose its endpoints, so they are found through the server's private channel map (a bench-only
 * peek, plus each scheme's default endpoint, which has no entries there).
 */
function coapStats(server: Lwm2mServer): object[] {
  type Endpoint = { transport: { scheme: string }; stats(): object };
  const { channels, byScheme } = server as unknown as { channels?: Map<string, Endpoint>; byScheme?: Map<string, Endpoint> };
  if (!(channels instanceof Map)) return [];
  // A registration on its scheme's default endpoint has no channel entry: byScheme lists those.
  const endpoints = new Set([...(byScheme instanceof Map ? byScheme.values() : []), ...channels.values()]);
  return [...endpoints].map((e) => ({ scheme: e.transport.scheme, ...e.stats() }));
}

function observationCount(devices: Iterable<{ observations(): unknown[] }>): number {
  let n = 0;
  for (const d of devices) n += d.observations().length;
  return n;
}

async function main(): Promise<void> {
  const yaml = process.env.BENCH_GATEWAY_CONFIG;
  if (!yaml) throw new Error('BENCH_GATEWAY_CONFIG is not set');
  const config = parseConfig(yaml, 'BENCH_GATEWAY_CONFIG');
  const level = process.env.BENCH_GATEWAY_LOG;
  const running = await startGateway(config, level ? pino({ level }, pino.destination(2)) : pino({ level: 'silent' }));
  // brokerPort: the embedded broker's port (no mqtt.url), for bench/soak-child.ts.
  const ready: ReadyMessage & { brokerPort?: number } = { type: 'ready', udpPort: running.udpPort, dtlsPort: running.dtlsPort, brokerPort: running.brokerPort };
  const counters = () => {
    const dtls = running.dtls?.stats();
    // The soak's counters (bench/soak.ts): the whole DTLS stats and each CoAP endpoint's table sizes.
    const extra: Partial<ChildUsage> & { dtls?: object; coap?: object[] } = {
      registrations: running.server.store.size,
      observations: observationCount(running.gateway.engine.all()),
      dtlsSessions: dtls?.sessions,
      dtlsHandshakes: dtls?.handshakes,
      dtlsHandshakeFailures: dtls?.handshakeFailures,
      dtls,
      coap: coapStats(running.server),
    };
    return extra;
  };
  // `{ id, type: 'stats' }` (bench/soak-child.ts): the counters alone, without usage()'s forced GC.
  process.on('message', (raw: unknown) => {
    const m = raw as { id?: unknown; type?: unknown };
    if (m.type === 'stats' && typeof m.id === 'number') process.send?.({ id: m.id, ...counters() });
  });
  serveParent(
    ready,
    counters,
    () => running.close(),
  );
  // BENCH_HEAP_SNAPSHOT_DIR: a heap snapshot after each usage() (after serveParent's forced GC and
  // answer), for diffing object counts by constructor (memory work, issue 11).
  const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  if (snapshotDir) {
    let n = 0;
    process.on('message', (raw: unknown) => {
      if ((raw as { type?: unknown }).type !== 'usage') return;
      n += 1;
      v8.writeHeapSnapshot(path.join(snapshotDir, `gateway-${process.pid}-${n}.heapsnapshot`));
    });
  }
}

main().catch((err: unknown) => {
  process.send?.({ type: 'failed', error: err instanceof Error ? err.stack ?? err.message : String(err) });
  setTimeout(() => process.exit(1), 50);
});
