import type { Harness } from './harness';
import type { TestDevice } from './test-device';

let nextReqId = 9_000_000;

/**
 * Legitimate devices beside an attack: registered through the harness, each must keep answering
 * reads through MQTT while the attack runs and after it (the hardening tests' "other devices
 * keep working").
 */
export class Bystanders {
  private readonly failures: string[] = [];
  private answered = 0;

  private constructor(
    private readonly h: Harness,
    readonly devices: TestDevice[],
  ) {}

  /** Registers `count` devices named `${prefix}-${i}` and waits for their register messages. */
  static async start(h: Harness, count = 50, prefix = 'bystander'): Promise<Bystanders> {
    const devices: TestDevice[] = [];
    for (let i = 0; i < count; i++) {
      const endpoint = `${prefix}-${i}`;
      const from = h.probe.mark();
      const d = await h.device({ endpoint });
      const res = await d.register();
      if (res.code !== '2.01') throw new Error(`bystander ${endpoint} could not register: ${res.code}`);
      await h.probe.waitOn(`lwm2m/${endpoint}/up/register`, {}, 5000, from);
      devices.push(d);
    }
    return new Bystanders(h, devices);
  }

  /** Reads /3/0/0 of every device at once through MQTT; resolves with the endpoints that got no 2.05. */
  async readAll(timeoutMs = 10_000): Promise<string[]> {
    const from = this.h.probe.mark();
    const results = await Promise.all(
      this.devices.map(async (d) => {
        const endpoint = d.options.endpoint;
        const reqID = nextReqId++;
        await this.h.probe.publish(`lwm2m/${endpoint}/dn`, { reqID, msgType: 'read', data: { path: '/3/0/0' } }, 0);
        try {
          const m = await this.h.probe.waitOn(`lwm2m/${endpoint}/up/resp`, { reqID }, timeoutMs, from);
          const code = (m.json.data as { code?: string } | undefined)?.code;
          return code === '2.05' ? undefined : `${endpoint} (${code})`;
        } catch {
          return `${endpoint} (no answer)`;
        }
      }),
    );
    const failed = results.filter((r): r is string => r !== undefined);
    this.answered += this.devices.length - failed.length;
    this.failures.push(...failed);
    return failed;
  }

  /** Fails (throws) unless every device answers a read. */
  async expectAllAnswer(timeoutMs = 10_000): Promise<void> {
    const failed = await this.readAll(timeoutMs);
    if (failed.length > 0) throw new Error(`${failed.length} of ${this.devices.length} bystanders did not answer: ${failed.slice(0, 10).join(', ')}`);
  }

  /**
   * Reads every device in rounds until `stop()` is called (while an attack runs); `stop()` resolves
   * with the rounds made and every failure seen.
   */
  keepReading(pauseMs = 100, timeoutMs = 10_000): { stop(): Promise<{ rounds: number; answered: number; failures: string[] }> } {
    let running = true;
    let rounds = 0;
    const loop = (async () => {
      while (running) {
        await this.readAll(timeoutMs);
        rounds++;
        if (running) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return { rounds, answered: this.answered, failures: [...this.failures] };
      },
    };
  }
}
