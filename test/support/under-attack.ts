import mqtt from 'mqtt';
import type { Bystanders } from './bystanders';

/**
 * Runs `attack` while the bystanders keep reading through MQTT, and fails unless every one of
 * their reads was answered. The reading stops whatever happens: a read loop left running past
 * the harness's close would publish on a closed client and kill the test process.
 */
export async function whileBystandersRead<T>(bystanders: Bystanders, attack: () => Promise<T>): Promise<T> {
  const reading = bystanders.keepReading(100, 20_000);
  let result: T;
  try {
    result = await attack();
  } catch (err) {
    await reading.stop().catch(() => undefined);
    throw err;
  }
  const during = await reading.stop();
  // Plain errors, not expect(): test/support is also compiled with the benchmarks, without jest's types.
  if (during.failures.length > 0) throw new Error(`bystanders unanswered during the attack: ${during.failures.slice(0, 10).join(', ')}`);
  if (during.rounds === 0) throw new Error('the bystanders made no round of reads during the attack');
  return result;
}

/** Publishes the payloads at QoS 0 from one client in a tight loop, as an attacker would; resolves once all are written. */
export async function publishFlood(url: string, topic: string, payloads: Iterable<string>): Promise<void> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  for (const payload of payloads) client.publish(topic, payload, { qos: 0 });
  await client.endAsync();
}
