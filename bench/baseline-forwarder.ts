/**
 * The cost floor ("baseline"): a bare Node program doing the least a UDP ⇄ MQTT gateway must do.
 * Each datagram received from address:port is published as-is (QoS 0) on `fwd/<address>:<port>/up`;
 * each MQTT message on `fwd/<address>:<port>/dn` is sent as-is as one datagram to that address.
 * No CoAP parsing, no state, no JSON. Run as a child process (bench/child.ts protocol);
 * BENCH_MQTT_URL names the broker.
 */
import dgram from 'node:dgram';
import mqtt from 'mqtt';
import { serveParent } from './child';
import { connectMqtt } from './mqtt-clients';

export const FORWARDER_UP_FILTER = 'fwd/+/up';

export function forwarderUpTopic(address: string, port: number): string {
  return `fwd/${address}:${port}/up`;
}

export function forwarderDownTopic(address: string, port: number): string {
  return `fwd/${address}:${port}/dn`;
}

/** `fwd/127.0.0.1:40000/up` -> 40000 (NaN if the topic is not one of ours). */
export function portOfForwarderTopic(topic: string): number {
  const colon = topic.lastIndexOf(':');
  const slash = topic.indexOf('/', colon);
  return colon < 0 || slash < 0 ? NaN : Number(topic.slice(colon + 1, slash));
}

const QOS0: mqtt.IClientPublishOptions = Object.freeze({ qos: 0 });

async function main(): Promise<void> {
  const url = process.env.BENCH_MQTT_URL;
  if (!url) throw new Error('BENCH_MQTT_URL is not set');
  const recvBufferSize = Number(process.env.BENCH_RECBUF ?? 8 * 1024 * 1024);
  const client = await connectMqtt(url, `bench-forwarder-${process.pid}`);
  await client.subscribeAsync('fwd/+/dn', { qos: 0 });

  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize, sendBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  socket.on('message', (datagram, rinfo) => {
    client.publish(`fwd/${rinfo.address}:${rinfo.port}/up`, datagram, QOS0);
  });
  client.on('message', (topic, payload) => {
    // fwd/<address>:<port>/dn
    const colon = topic.lastIndexOf(':');
    const slash = topic.indexOf('/', colon);
    if (colon < 4 || slash < 0) return;
    socket.send(payload, Number(topic.slice(colon + 1, slash)), topic.slice(4, colon));
  });

  serveParent({ type: 'ready', udpPort: socket.address().port }, () => ({}), async () => {
    socket.close();
    await client.endAsync();
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.send?.({ type: 'failed', error: err instanceof Error ? err.stack ?? err.message : String(err) });
    setTimeout(() => process.exit(1), 50);
  });
}
