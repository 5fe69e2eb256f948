/**
 * Issue 11 §5: two gateway instances on one Mosquitto and one Redis. Each answers the commands of
 * the devices it holds, a command for a device no instance holds gets one 4.04 (not one per
 * instance), and an instance restarted takes back its own devices, not the other's.
 */
import pino from 'pino';
import { startGateway, type RunningGateway } from '../../src/app/app';
import { parseConfig } from '../../src/app/config';
import { MqttProbe } from '../support/mqtt-probe';
import { startMosquitto, type Mosquitto } from '../support/mosquitto';
import { freeUdpPort } from '../support/ports';
import { REDIS_SERVER_MISSING, redisServerAvailable, startRedisServer, type RedisServer } from '../support/redis-server';
import { TestDevice } from '../support/test-device';

jest.setTimeout(60_000);

const settle = (ms = 800) => new Promise((r) => setTimeout(r, ms));

describe('two gateway instances sharing Mosquitto and Redis', () => {
  let mosquitto: Mosquitto;
  let redis: RedisServer;
  let probe: MqttProbe;
  const gateways = new Map<string, { gw: RunningGateway; udpPort: number; lines: string[] }>();
  const devices: TestDevice[] = [];

  async function startInstance(name: string, udpPort?: number): Promise<{ gw: RunningGateway; udpPort: number; lines: string[] }> {
    const port = udpPort ?? (await freeUdpPort());
    const lines: string[] = [];
    const config = parseConfig(
      [
        `mqtt:\n  url: mqtt://127.0.0.1:${mosquitto.port}\n  client_id: gw-${name}`,
        `listeners:\n  udp:\n    bind: "127.0.0.1:${port}"`,
        `store:\n  type: redis\n  url: ${redis.url}\n  instance: ${name}`,
        'log:\n  level: info',
        'http:\n  bind: "127.0.0.1:0"',
      ].join('\n'),
    );
    const gw = await startGateway(config, pino({ level: 'info' }, { write: (line: string) => lines.push(line) }));
    const instance = { gw, udpPort: port, lines };
    gateways.set(name, instance);
    return instance;
  }

  async function device(endpoint: string, udpPort: number): Promise<TestDevice> {
    const d = await TestDevice.start({ endpoint, gateway: { host: '127.0.0.1', port: udpPort } });
    devices.push(d);
    expect((await d.register()).code).toBe('2.01');
    return d;
  }

  beforeAll(async () => {
    if (!redisServerAvailable()) throw new Error(REDIS_SERVER_MISSING);
    mosquitto = await startMosquitto();
    redis = await startRedisServer();
    probe = await MqttProbe.connect(`mqtt://127.0.0.1:${mosquitto.port}`, 'lwm2m/#');
  });

  afterAll(async () => {
    for (const d of devices) await d.close();
    await probe?.close();
    for (const { gw } of gateways.values()) await gw.close();
    await redis?.stop();
    await mosquitto?.stop();
  });

  const answersTo = (endpoint: string, reqID: number) => probe.on(`lwm2m/${endpoint}/up/resp`).filter((m) => m.json.reqID === reqID);

  it('each instance answers the commands of its own devices, once', async () => {
    const a = await startInstance('gw-a');
    const b = await startInstance('gw-b');
    await device('dev-on-a', a.udpPort);
    await device('dev-on-b', b.udpPort);
    await probe.waitOn('lwm2m/dev-on-a/up/register');
    await probe.waitOn('lwm2m/dev-on-b/up/register');
    await settle(300); // the claims reach Redis
    await probe.publish('lwm2m/dev-on-a/dn', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
    await probe.publish('lwm2m/dev-on-b/dn', { reqID: 2, msgType: 'read', data: { path: '/3/0/1' } });
    await probe.waitOn('lwm2m/dev-on-a/up/resp', { reqID: 1 });
    await probe.waitOn('lwm2m/dev-on-b/up/resp', { reqID: 2 });
    await settle();
    expect(answersTo('dev-on-a', 1).map((m) => (m.json.data as { code: string }).code)).toEqual(['2.05']);
    expect(answersTo('dev-on-b', 2).map((m) => (m.json.data as { code: string }).code)).toEqual(['2.05']);
  });

  it('a command for a device no instance holds gets one 4.04, not one per instance', async () => {
    await probe.publish('lwm2m/dev-nowhere/dn', { reqID: 3, msgType: 'read', data: { path: '/3/0/0' } });
    await probe.waitOn('lwm2m/dev-nowhere/up/resp', { reqID: 3 });
    await settle();
    expect(answersTo('dev-nowhere', 3).map((m) => (m.json.data as { code: string }).code)).toEqual(['4.04']);
  });

  it('a restarted instance takes back its own devices only; the other goes on', async () => {
    const a = gateways.get('gw-a')!;
    await a.gw.close();
    const again = await startInstance('gw-a', a.udpPort);
    const restored = again.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'state restored from the store')
      .pop();
    expect(restored).toMatchObject({ registrations: 1 });
    expect((await devices[0].update()).code).toBe('2.04');
    await probe.publish('lwm2m/dev-on-a/dn', { reqID: 4, msgType: 'read', data: { path: '/3/0/0' } });
    await probe.publish('lwm2m/dev-on-b/dn', { reqID: 5, msgType: 'read', data: { path: '/3/0/0' } });
    await probe.waitOn('lwm2m/dev-on-a/up/resp', { reqID: 4 });
    await probe.waitOn('lwm2m/dev-on-b/up/resp', { reqID: 5 });
    await settle();
    expect(answersTo('dev-on-a', 4).map((m) => (m.json.data as { code: string }).code)).toEqual(['2.05']);
    expect(answersTo('dev-on-b', 5).map((m) => (m.json.data as { code: string }).code)).toEqual(['2.05']);
    expect(probe.on('lwm2m/dev-on-b/up/deregister')).toHaveLength(0);
  });
});
