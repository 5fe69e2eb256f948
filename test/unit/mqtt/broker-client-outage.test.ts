/** BrokerClient's outage events: one `disconnected`, one `reconnected` with what the outage cost; none for close(). */
import { once } from 'node:events';
import { BrokerClient, type BrokerOutage } from '../../../src/mqtt/broker-client';
import { EmbeddedBroker } from '../../../src/mqtt/embedded-broker';
import { freeTcpPort } from '../../support/ports';

describe('BrokerClient outages', () => {
  let broker: EmbeddedBroker | undefined;
  let client: BrokerClient | undefined;

  afterEach(async () => {
    await client?.close(100);
    client = undefined;
    await broker?.close();
    broker = undefined;
  });

  it('reports the loss once and the return with duration, attempts, queued QoS 1/2 and dropped QoS 0 publishes', async () => {
    const port = await freeTcpPort();
    broker = await EmbeddedBroker.start('127.0.0.1', port);
    client = await BrokerClient.connect({ url: `mqtt://127.0.0.1:${port}`, reconnectPeriod: 50 });
    const lost: (Error | undefined)[] = [];
    const back: BrokerOutage[] = [];
    client.on('disconnected', (error) => lost.push(error));
    client.on('reconnected', (outage) => back.push(outage));

    const disconnected = once(client, 'disconnected');
    await broker.close();
    await disconnected;
    client.publish('t/0', 'a', 0);
    client.publish('t/0', 'b', 0);
    client.publish('t/1', 'c', 1);
    client.publish('t/2', 'd', 2);
    await new Promise((r) => setTimeout(r, 200));

    const reconnected = once(client, 'reconnected');
    broker = await EmbeddedBroker.start('127.0.0.1', port);
    await reconnected;
    expect(lost).toHaveLength(1);
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ queued: 2, dropped: 2 });
    expect(back[0].durationMs).toBeGreaterThanOrEqual(200);
    expect(back[0].attempts).toBeGreaterThanOrEqual(1);

    // Publishes after the return are not counted against the next outage; close() is not an outage.
    client.publish('t/0', 'e', 0);
    await client.close();
    client = undefined;
    expect(lost).toHaveLength(1);
  });
});
