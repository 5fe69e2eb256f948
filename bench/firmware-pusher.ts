/**
 * The firmware part's baseline (bench/firmware-push.ts), run as a child process so that its CPU is
 * its own: a bare CoAP client (src/coap CoapEndpoint on one UDP socket, as the gateway has one)
 * that PUTs the whole image to Package /5/0/0 of every device at once, the endpoint cutting it into
 * Block1 blocks of 1 KiB, one in flight per device. No LwM2M, no MQTT, no job.
 *
 * IPC with the parent (fork with an IPC channel):
 *   child → parent  `{ type: 'ready' }` once bound; `{ type: 'failed', error }` if it could not start
 *   parent → child  `{ type: 'push', id, ports }`: push to 127.0.0.1:<port> for each port
 *   child → parent  `{ type: 'pushed', id, elapsedMs, perDeviceMs, failures, cpuMicros }`
 *   parent → child  `{ type: 'close' }`: the child closes and exits
 * The image: the file named by BENCH_FIRMWARE_IMAGE.
 */
import fs from 'node:fs';
import { CoapEndpoint } from '../src/coap';
import { UdpTransport } from '../src/transport/udp-transport';

const FORMAT_OPAQUE = 42;
/** Bound on the devices of one push (the part's --firmware-devices is far below it). */
export const MAX_PUSH_PEERS = 20_000;

export interface PushRequest {
  type: 'push';
  id: number;
  ports: number[];
}

/** One push: wall time, each device's time to its final answer (NaN: none), and the child's CPU. */
export interface PushReply {
  type: 'pushed';
  id: number;
  elapsedMs: number;
  perDeviceMs: number[];
  /** "port: what went wrong", for the devices that did not answer 2.04 / 2.01. */
  failures: string[];
  /** process.cpuUsage() user + system over the push, microseconds. */
  cpuMicros: number;
}

function isPushRequest(m: unknown): m is PushRequest {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Partial<PushRequest>;
  return r.type === 'push' && typeof r.id === 'number' && Array.isArray(r.ports) && r.ports.length <= MAX_PUSH_PEERS && r.ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536);
}

function push(coap: CoapEndpoint, image: Buffer, request: PushRequest): Promise<PushReply> {
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const perDeviceMs = new Array<number>(request.ports.length).fill(NaN);
  const failures: string[] = [];
  let open = request.ports.length;
  return new Promise((resolve) => {
    const finish = () => {
      const cpu = process.cpuUsage(cpu0);
      resolve({ type: 'pushed', id: request.id, elapsedMs: performance.now() - started, perDeviceMs, failures, cpuMicros: cpu.user + cpu.system });
    };
    if (open === 0) return finish();
    request.ports.forEach((port, i) => {
      const done = (problem?: string) => {
        if (problem) failures.push(`${port}: ${problem}`);
        else perDeviceMs[i] = performance.now() - started;
        if (--open === 0) finish();
      };
      coap.request({ address: '127.0.0.1', port }, { method: 'PUT', uriPath: ['5', '0', '0'], contentFormat: FORMAT_OPAQUE, payload: image }, {
        onResponse: (res) => done(res.code === '2.04' || res.code === '2.01' ? undefined : `answered ${res.code}`),
        onReset: () => done('RST'),
        onTimeout: () => done('timeout'),
        onError: (err) => done(err.message),
      });
    });
  });
}

async function main(): Promise<void> {
  const file = process.env.BENCH_FIRMWARE_IMAGE;
  if (!file) throw new Error('BENCH_FIRMWARE_IMAGE is not set');
  const image = fs.readFileSync(file);
  const transport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
  const coap = new CoapEndpoint(transport, { blockwise: { maxBlockSize: 1024, maxBodySize: Math.max(4 * 1024 * 1024, image.length) } });
  coap.on('error', () => undefined);
  transport.on('error', () => undefined);
  process.on('message', (raw: unknown) => {
    if (isPushRequest(raw)) {
      void push(coap, image, raw).then((reply) => process.send?.(reply));
    } else if ((raw as { type?: unknown } | null)?.type === 'close') {
      void coap
        .close()
        .then(() => transport.close())
        .finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready' });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.send?.({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    setTimeout(() => process.exit(1), 50);
  });
}
