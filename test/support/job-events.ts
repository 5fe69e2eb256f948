import type { MqttProbe } from './mqtt-probe';
import { TestDevice, type TestDeviceOptions } from './test-device';

/** What every event of an update job carries (up/firmware, up/software). */
export interface JobEvent {
  jobId: string;
  state: string;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** The `data` of every message on a job topic so far, e.g. `lwm2m/<ep>/up/software`. */
export function jobEvents<E extends JobEvent>(probe: MqttProbe, topic: string): E[] {
  return probe.on(topic).map((m) => (m.json as { data: E }).data);
}

/** The final event (succeeded, failed, cancelled) of job `jobId`, or of the first job to end. */
export async function finalJobEvent<E extends JobEvent>(probe: MqttProbe, topic: string, jobId?: string, timeoutMs = 30_000): Promise<E> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = jobEvents<E>(probe, topic).find((e) => (jobId === undefined || e.jobId === jobId) && FINAL.has(e.state));
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`no final event on ${topic}: ${JSON.stringify(jobEvents(probe, topic))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until `condition` holds, polling every 10 ms. */
export async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts a test device on the gateway's UDP listener, registers it and waits for its up/register. */
export async function registeredDevice(probe: MqttProbe, port: number, options: Omit<TestDeviceOptions, 'gateway'>): Promise<TestDevice> {
  const d = await TestDevice.start({ ...options, gateway: { host: '127.0.0.1', port } });
  try {
    await d.register();
    await probe.waitOn(`lwm2m/${options.endpoint}/up/register`);
  } catch (err) {
    await d.close(); // the caller never gets it to close
    throw err;
  }
  return d;
}
