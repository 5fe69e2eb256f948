import net from 'node:net';
import { once } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { BrokerClient, EmbeddedBroker, type QoS } from '../../../src/mqtt';

// Real sockets against a real in-process aedes; nothing is mocked.

const HOST = '127.0.0.1';

/** An application on the other side of the broker, with plain MQTT.js. */
async function connectApplication(port: number, clientId = `app-${Math.random().toString(16).slice(2)}`): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://${HOST}:${port}`, { clientId, reconnectPeriod: 0 });
}

/** Collects the messages a client receives and lets a test wait for a number of them. */
class Inbox {
  readonly messages: Array<{ topic: string; payload: string }> = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly add = (topic: string, payload: Buffer): void => {
    this.messages.push({ topic, payload: payload.toString() });
    this.waiters = this.waiters.filter((waiter) => {
      if (this.messages.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  };

  waitFor(count: number): Promise<void> {
    if (this.messages.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

/** Resolves when `clientId` has subscribed on `broker` (e.g. the automatic re-subscription). */
function subscribedOn(broker: EmbeddedBroker, clientId: string): Promise<string[]> {
  return new Promise((resolve) => {
    broker.aedes.on('subscribe', (subscriptions, client) => {
      if (client.id === clientId) resolve(subscriptions.map((s) => s.topic));
    });
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('BrokerClient with the EmbeddedBroker', () => {
  let broker: EmbeddedBroker;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    broker = await EmbeddedBroker.start(HOST, 0);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await broker.close();
  });

  async function gatewayClient(clientId = 'gateway', reconnectPeriod = 50): Promise<BrokerClient> {
    const client = await BrokerClient.connect({ url: `mqtt://${HOST}:${broker.port}`, clientId, reconnectPeriod });
    cleanups.push(() => client.close(100));
    return client;
  }

  async function application(): Promise<MqttClient> {
    const app = await connectApplication(broker.port);
    cleanups.push(() => app.endAsync(true));
    return app;
  }

  it.each([0, 1, 2] as QoS[])('publishes and receives with QoS %i', async (qos) => {
    const gateway = await gatewayClient();
    const app = await application();
    const gatewayInbox = new Inbox();
    const appInbox = new Inbox();
    gateway.onMessage(gatewayInbox.add);
    app.on('message', appInbox.add);

    await gateway.subscribe('dn/#', qos);
    await app.subscribeAsync('up/#', { qos });

    await app.publishAsync('dn/ep1', `command qos ${qos}`, { qos });
    gateway.publish('up/ep1', Buffer.from(`event qos ${qos}`), qos);
    gateway.publish('up/ep2', `text qos ${qos}`, qos);

    await Promise.all([gatewayInbox.waitFor(1), appInbox.waitFor(2)]);
    expect(gatewayInbox.messages).toEqual([{ topic: 'dn/ep1', payload: `command qos ${qos}` }]);
    expect(appInbox.messages).toEqual([
      { topic: 'up/ep1', payload: `event qos ${qos}` },
      { topic: 'up/ep2', payload: `text qos ${qos}` },
    ]);
  });

  it('QoS 0 publishes, framed by the client itself, arrive intact and in order at every length, beside QoS 1 ones', async () => {
    const gateway = await gatewayClient();
    const app = await application();
    const inbox = new Inbox();
    app.on('message', (topic: string, payload: Buffer) => inbox.add(topic, payload));
    await app.subscribeAsync('up/#', { qos: 1 });
    // Remaining lengths across the 1-, 2- and 3-byte varint boundaries (127/128, 16383/16384), UTF-8 topics.
    const sizes = [0, 1, 120, 121, 122, 16_370, 16_380, 16_400, 200_000];
    const sent = sizes.map((n, i) => ({ topic: `up/é✓/${i}`, payload: 'x'.repeat(n) + i }));
    const qosOf = (i: number): QoS => (i % 4 === 3 ? 1 : 0);
    sent.forEach((m, i) => gateway.publish(m.topic, i % 3 === 2 ? Buffer.from(m.payload) : m.payload, qosOf(i)));
    await inbox.waitFor(sent.length);
    // MQTT orders messages per QoS level only; MQTT.js writes a QoS 1 publish after its store took it.
    const ofQos = (qos: QoS) => (m: { topic: string }) => qosOf(Number(m.topic.split('/')[2])) === qos;
    for (const qos of [0, 1] as QoS[]) expect(inbox.messages.filter(ofQos(qos))).toEqual(sent.filter(ofQos(qos)));
    expect(inbox.messages).toHaveLength(sent.length);
  });

  it('delivers a QoS 1 publish made while the broker was down once it is back; QoS 0 is dropped', async () => {
    const port = broker.port;
    const gateway = await gatewayClient('gateway');
    const offline = once(gateway, 'offline');
    await broker.close();
    await offline;
    expect(gateway.connected).toBe(false);

    gateway.publish('up/lost', 'qos 0 while offline', 0);
    gateway.publish('up/kept', 'qos 1 while offline', 1);

    // Same port, fresh broker. Until the application has subscribed, the gateway's CONNECT is held
    // back by the authenticate hook, so the replayed publish cannot arrive before the subscription.
    broker = await EmbeddedBroker.start(HOST, port);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    broker.aedes.authenticate = (client, _username, _password, done) => {
      if (client.id === 'gateway') void gate.then(() => done(null, true));
      else done(null, true);
    };
    const reconnected = once(gateway, 'connect');

    const app = await application();
    const inbox = new Inbox();
    app.on('message', inbox.add);
    await app.subscribeAsync('up/#', { qos: 1 });
    openGate();

    await inbox.waitFor(1);
    expect(inbox.messages[0]).toEqual({ topic: 'up/kept', payload: 'qos 1 while offline' });

    // A marker sent after the reconnection follows anything MQTT.js could still have queued.
    await reconnected;
    gateway.publish('up/marker', 'after reconnect', 1);
    await inbox.waitFor(2);
    expect(inbox.messages.map((m) => m.topic)).toEqual(['up/kept', 'up/marker']);
  });

  it('renews its subscriptions after a reconnection', async () => {
    const port = broker.port;
    const gateway = await gatewayClient('gateway');
    const inbox = new Inbox();
    gateway.onMessage(inbox.add);
    await gateway.subscribe('dn/#', 1);

    const offline = once(gateway, 'offline');
    await broker.close();
    await offline;

    broker = await EmbeddedBroker.start(HOST, port);
    const resubscribed = subscribedOn(broker, 'gateway');
    expect(await resubscribed).toEqual(['dn/#']);

    const app = await application();
    await app.publishAsync('dn/ep1', 'after restart', { qos: 1 });
    await inbox.waitFor(1);
    expect(inbox.messages).toEqual([{ topic: 'dn/ep1', payload: 'after restart' }]);
  });

  it('close() waits until the broker has every QoS 1 and 2 publish', async () => {
    const gateway = await BrokerClient.connect({ url: `mqtt://${HOST}:${broker.port}`, clientId: 'flusher' });
    let received = 0;
    broker.aedes.on('publish', (_packet, client) => {
      if (client?.id === 'flusher') received++;
    });
    const count = 300;
    for (let i = 0; i < count; i++) gateway.publish('up/flush', `message ${i}`, i % 2 === 0 ? 1 : 2);

    expect(gateway.pendingPublishes).toBe(count);
    await gateway.close();
    expect(received).toBe(count);
    expect(gateway.pendingPublishes).toBe(0);
    expect(gateway.connected).toBe(false);
  });

  it('close() writes the QoS 0 publishes made just before it', async () => {
    const app = await application();
    const inbox = new Inbox();
    app.on('message', inbox.add);
    await app.subscribeAsync('up/#', { qos: 0 });

    const gateway = await BrokerClient.connect({ url: `mqtt://${HOST}:${broker.port}` });
    const count = 300;
    for (let i = 0; i < count; i++) gateway.publish('up/flush', `message ${i}`, 0);
    await gateway.close();

    await inbox.waitFor(count);
    expect(inbox.messages[count - 1].payload).toBe(`message ${count - 1}`);
  });

  it('close() while the broker is down returns at once', async () => {
    const gateway = await BrokerClient.connect({ url: `mqtt://${HOST}:${broker.port}`, reconnectPeriod: 50 });
    const offline = once(gateway, 'offline');
    await broker.close();
    await offline;
    gateway.publish('up/never', 'kept but never delivered', 1);

    const started = Date.now();
    await gateway.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('turns Nagle off on the socket of every (re)connection', async () => {
    const setNoDelay = jest.spyOn(net.Socket.prototype, 'setNoDelay');
    try {
      const port = broker.port;
      // The calls made with true on a socket that is (by now) connected to the broker.
      const noDelayToBroker = (): number =>
        setNoDelay.mock.calls.filter((args, i) => args[0] === true && (setNoDelay.mock.contexts[i] as net.Socket).remotePort === port).length;

      const gateway = await gatewayClient('gateway');
      expect(noDelayToBroker()).toBe(1);

      const offline = once(gateway, 'offline');
      await broker.close();
      await offline;
      setNoDelay.mockClear();
      broker = await EmbeddedBroker.start(HOST, port);
      await once(gateway, 'connect');
      expect(noDelayToBroker()).toBe(1);
    } finally {
      setNoDelay.mockRestore();
    }
  });
});

describe('BrokerClient.connect failures', () => {
  it('rejects after the timeout, naming the url', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(BrokerClient.connect({ url: `mqtt://${HOST}:${port}`, timeout: 300, reconnectPeriod: 50 })).rejects.toThrow(
      new RegExp(`^MQTT broker mqtt://${HOST}:${port}: no connection within 300 ms \\(.*ECONNREFUSED`),
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects at once when the broker refuses the credentials, without showing the password', async () => {
    const broker = await EmbeddedBroker.start(HOST, 0);
    try {
      broker.aedes.authenticate = (_client, _username, _password, done) => {
        const error = Object.assign(new Error('bad credentials'), { returnCode: 4 as const });
        done(error, false);
      };
      const url = `mqtt://gw:secret@${HOST}:${broker.port}`;
      const attempt = BrokerClient.connect({ url, timeout: 5000 });
      await expect(attempt).rejects.toThrow(`MQTT broker mqtt://${HOST}:${broker.port}: Connection refused: Bad username or password`);
      await attempt.catch((err: Error) => expect(err.message).not.toContain('secret'));
    } finally {
      await broker.close();
    }
  });

  it('rejects a url without a protocol', async () => {
    await expect(BrokerClient.connect({ url: 'localhost:1883' })).rejects.toThrow(/^MQTT broker localhost:1883: /);
  });
});
