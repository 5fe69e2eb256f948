import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';

/**
 * Connects an MQTT.js client and turns Nagle off on its socket: MQTT.js leaves it on, which adds
 * up to 40 ms (delayed ACK) to small publishes and caps throughput.
 */
export async function connectMqtt(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, clean: true, reconnectPeriod: 0, keepalive: 60, connectTimeout: 10_000 });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      client.off('connect', onConnect);
      client.end(true);
      reject(err);
    };
    const onConnect = () => {
      client.off('error', onError);
      resolve();
    };
    client.once('error', onError);
    client.once('connect', onConnect);
  });
  const stream = client.stream as unknown as Partial<net.Socket>;
  stream.setNoDelay?.(true);
  client.on('error', () => undefined);
  return client;
}

const QOS0 = Object.freeze({ qos: 0 as const });

export type MessageHandler = (topic: string, payload: Buffer) => void;

/**
 * The benchmark's MQTT side: one subscriber (every uplink topic of both targets, dispatched to the
 * handler of the scenario running) and one publisher (commands).
 */
export class MqttProbe {
  private handler: MessageHandler = () => undefined;

  private constructor(
    readonly subscriber: MqttClient,
    readonly publisher: MqttClient,
  ) {
    subscriber.on('message', (topic, payload) => this.handler(topic, payload));
  }

  static async connect(url: string, filters: string[]): Promise<MqttProbe> {
    const subscriber = await connectMqtt(url, `bench-sub-${process.pid}`);
    const publisher = await connectMqtt(url, `bench-pub-${process.pid}`);
    await subscriber.subscribeAsync(filters, { qos: 0 });
    return new MqttProbe(subscriber, publisher);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  clearHandler(): void {
    this.handler = () => undefined;
  }

  publish(topic: string, payload: string | Buffer): void {
    this.publisher.publish(topic, payload, QOS0);
  }

  async close(): Promise<void> {
    await Promise.all([this.subscriber.endAsync(true), this.publisher.endAsync(true)]);
  }
}
