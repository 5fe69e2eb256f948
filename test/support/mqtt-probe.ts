import mqtt, { type MqttClient } from 'mqtt';

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  json: Record<string, unknown>;
}

type Predicate = (m: ReceivedMessage) => boolean;

/** An MQTT application for tests: records every message under a filter and waits for matches. */
export class MqttProbe {
  readonly messages: ReceivedMessage[] = [];
  private waiters: { pred: Predicate; resolve: (m: ReceivedMessage) => void; from: number }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(payload.toString()) as Record<string, unknown>;
      } catch {
        // not JSON: keep the raw payload
      }
      const m = { topic, payload, json };
      this.messages.push(m);
      const index = this.messages.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index >= w.from && w.pred(m)) {
          w.resolve(m);
          return false;
        }
        return true;
      });
    });
  }

  static async connect(url: string, filter = '#'): Promise<MqttProbe> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200 });
    await client.subscribeAsync(filter, { qos: 1 });
    return new MqttProbe(client);
  }

  /** Resolves with the first message (already received from index `from`, or arriving) that matches. */
  waitFor(pred: Predicate, timeoutMs = 5000, from = 0): Promise<ReceivedMessage> {
    for (let i = from; i < this.messages.length; i++) if (pred(this.messages[i])) return Promise.resolve(this.messages[i]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching MQTT message within ${timeoutMs} ms; got ${this.messages.map((m) => `${m.topic} ${m.payload.toString().slice(0, 200)}`).join('\n')}`));
      }, timeoutMs);
      const done = (m: ReceivedMessage) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ pred, resolve: done, from });
    });
  }

  /** Waits for a message on `topic` (exact) whose JSON has the given top-level field values. */
  waitOn(topic: string, fields: Record<string, unknown> = {}, timeoutMs = 5000, from = 0): Promise<ReceivedMessage> {
    return this.waitFor((m) => m.topic === topic && Object.entries(fields).every(([k, v]) => m.json[k] === v), timeoutMs, from);
  }

  on(topic: string): ReceivedMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  mark(): number {
    return this.messages.length;
  }

  publish(topic: string, payload: unknown, qos: 0 | 1 | 2 = 1): Promise<unknown> {
    const text = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    return this.client.publishAsync(topic, text, { qos });
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}
