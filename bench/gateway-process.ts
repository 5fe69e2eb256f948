/**
 * Child process running the gateway under test (own event loop, own heap), started by the
 * benchmark with `--expose-gc` so that its memory can be read after a forced GC.
 * Configuration: YAML text in BENCH_GATEWAY_CONFIG (with `listeners.dtls` on, the ready message
 * carries the DTLS port and usage() the DTLS session count). Talks to the parent over IPC (bench/child.ts).
 */
import pino from 'pino';
import { startGateway } from '../src/app/app';
import { parseConfig } from '../src/app/config';
import { serveParent } from './child';

async function main(): Promise<void> {
  const yaml = process.env.BENCH_GATEWAY_CONFIG;
  if (!yaml) throw new Error('BENCH_GATEWAY_CONFIG is not set');
  const config = parseConfig(yaml, 'BENCH_GATEWAY_CONFIG');
  const running = await startGateway(config, pino({ level: 'silent' }));
  serveParent(
    { type: 'ready', udpPort: running.udpPort, dtlsPort: running.dtlsPort },
    () => {
      const dtls = running.dtls?.stats();
      return { registrations: running.server.store.size, dtlsSessions: dtls?.sessions, dtlsHandshakes: dtls?.handshakes, dtlsHandshakeFailures: dtls?.handshakeFailures };
    },
    () => running.close(),
  );
}

main().catch((err: unknown) => {
  process.send?.({ type: 'failed', error: err instanceof Error ? err.stack ?? err.message : String(err) });
  setTimeout(() => process.exit(1), 50);
});
