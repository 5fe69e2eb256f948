import { once } from 'node:events';
import net from 'node:net';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../../src/mqtt';

const HOST = '127.0.0.1';

describe('EmbeddedBroker', () => {
  it('reports the port it was given when 0 was asked, and routes messages', async () => {
    const broker = await EmbeddedBroker.start(HOST, 0);
    try {
      expect(broker.host).toBe(HOST);
      expect(broker.port).toBeGreaterThan(0);
      const client = await mqtt.connectAsync(`mqtt://${HOST}:${broker.port}`, { reconnectPeriod: 0 });
      await client.subscribeAsync('t/#', { qos: 1 });
      const message = new Promise<[string, string]>((resolve) => client.once('message', (topic, payload) => resolve([topic, payload.toString()])));
      await client.publishAsync('t/1', 'hello', { qos: 1 });
      expect(await message).toEqual(['t/1', 'hello']);
      await client.endAsync();
    } finally {
      await broker.close();
    }
  });

  it('refuses a port that is taken', async () => {
    const broker = await EmbeddedBroker.start(HOST, 0);
    try {
      await expect(EmbeddedBroker.start(HOST, broker.port)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await broker.close();
    }
  });

  it('close() disconnects its clients, frees the port and may be called twice', async () => {
    const broker = await EmbeddedBroker.start(HOST, 0);
    const client = await mqtt.connectAsync(`mqtt://${HOST}:${broker.port}`, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once('close', resolve));
    await broker.close();
    await closed;
    await broker.close();

    const again = await EmbeddedBroker.start(HOST, broker.port);
    await again.close();
    await client.endAsync(true);
  });

  it('close() also drops a connection that never sent CONNECT', async () => {
    const broker = await EmbeddedBroker.start(HOST, 0);
    const socket = net.connect(broker.port, HOST);
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    await broker.close();
    await closed;
  });
});
