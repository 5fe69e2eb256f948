/**
 * The gateway's command path with a fake LwM2M server and MQTT link: the queue bound and its
 * throttled log, the auto-observe bound, and "a command that fails anywhere is answered once and
 * frees the device's slot" for failures the integration tests cannot provoke.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import type { CoapResponse, ExchangeListener } from '../../../src/coap';
import type { DownlinkCommand } from '../../../src/gateway/command-parser';
import { DeviceManager } from '../../../src/lwm2m/device/device-manager';
import { DecodingListener, type Lwm2mExchange, type Lwm2mExchangeListener } from '../../../src/lwm2m/exchange';
import { Lwm2mMqttGateway, type GatewayOptions, type MqttLink, type Qos } from '../../../src/gateway/gateway';
import * as uplink from '../../../src/gateway/uplink-messages';
import type { Lwm2mServer } from '../../../src/lwm2m/lwm2m-server';
import type { ModelLookup } from '../../../src/lwm2m/model/types';
import type { Lwm2mOperation } from '../../../src/lwm2m/operation';
import type { Registration } from '../../../src/lwm2m/registration/registration';

interface SentRequest {
  op: Lwm2mOperation;
  listener: ExchangeListener;
}

class FakeServer extends EventEmitter {
  readonly registrations = { setNameCheck: (): void => undefined };
  readonly sent: SentRequest[] = [];
  /** Replaces the normal send (which records the request) when set. */
  failSend: ((op: Lwm2mOperation) => void) | undefined;

  constructor(private readonly model: () => ModelLookup) {
    super();
  }

  /** Records the request; the test answers it in CoAP terms, decoded as the real server does. */
  send(_reg: Registration, op: Lwm2mOperation, listener: Lwm2mExchangeListener): Lwm2mExchange {
    this.failSend?.(op);
    this.sent.push({ op, listener: new DecodingListener(op, this.model(), listener) });
    return { token: Buffer.from([this.sent.length]), cancel: () => undefined };
  }
}

class FakeMqtt implements MqttLink {
  readonly published: { topic: string; json: Record<string, unknown> }[] = [];
  handler: ((topic: string, payload: Buffer) => void) | undefined;
  publish(topic: string, payload: string, _qos: Qos): void {
    this.published.push({ topic, json: JSON.parse(payload) as Record<string, unknown> });
  }
  subscribe(): Promise<void> {
    return Promise.resolve();
  }
  onMessage(handler: (topic: string, payload: Buffer) => void): void {
    this.handler = handler;
  }
}

function options(overrides: Partial<GatewayOptions> = {}): GatewayOptions {
  const t = (topic: string) => ({ topic, qos: 0 as Qos });
  return {
    mountpoint: 'lwm2m/${endpoint_name}/',
    translators: {
      command: t('dn/#'),
      response: t('up/resp'),
      notify: t('up/notify'),
      register: t('up/register'),
      update: t('up/update'),
      deregister: t('up/deregister'),
      send: t('up/send'),
      bootstrap: t('up/bootstrap'),
      firmware: t('up/firmware'),
      software: t('up/software'),
    },
    autoObserve: false,
    updateMsgPublishCondition: 'always',
    keys: {},
    maxQueuedCommands: 100,
    maxCommandSize: 1 << 20,
    secretQueryKeys: [],
    ...overrides,
  };
}

function registration(endpoint: string, queueMode: boolean, objectList: string[] = ['/3/0']): Registration {
  const now = Date.now();
  return {
    id: `id-${endpoint}`,
    endpoint,
    lifetime: 3600,
    lwm2mVersion: '1.0',
    binding: queueMode ? 'UQ' : 'U',
    queueMode,
    query: {},
    alternatePath: '/',
    objectList,
    contentFormats: [],
    peer: { address: '127.0.0.1', port: 5683 },
    registeredAt: now,
    lastUpdate: now,
  };
}

const TEXT_2_05 = (text: string): CoapResponse => ({ code: '2.05', contentFormat: 0, payload: Buffer.from(text) }) as CoapResponse;

describe('gateway command path', () => {
  let server: FakeServer;
  let mqtt: FakeMqtt;
  let logLines: Record<string, unknown>[];
  let gateway: Lwm2mMqttGateway;
  let model: ModelLookup;

  function start(overrides: Partial<GatewayOptions> = {}): void {
    server = new FakeServer(() => model);
    mqtt = new FakeMqtt();
    logLines = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
    model = { resourceDefinition: () => undefined };
    const opts = options(overrides);
    const engine = new DeviceManager<DownlinkCommand>(server as unknown as Lwm2mServer, { qmodeTimeWindow: 22, maxQueuedRequests: opts.maxQueuedCommands });
    gateway = new Lwm2mMqttGateway(engine, mqtt, opts, { resourceDefinition: (o, r) => model.resourceDefinition(o, r) }, log);
  }

  afterEach(() => {
    gateway.close();
    jest.restoreAllMocks();
  });

  async function register(reg: Registration): Promise<void> {
    server.emit('registered', reg);
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Delivers commands as the broker would and lets the gateway handle them all. */
  function command(endpoint: string, commands: readonly (Record<string, unknown> | string)[]): void {
    for (const c of commands) mqtt.handler?.(`lwm2m/${endpoint}/dn`, Buffer.from(typeof c === 'string' ? c : JSON.stringify(c)));
    while ((gateway as unknown as { intake: { size: number } }).intake.size > 0) gateway.drainInbox();
  }

  function answers(endpoint: string): Record<string, unknown>[] {
    return mqtt.published.filter((p) => p.topic === `lwm2m/${endpoint}/up/resp`).map((p) => p.json);
  }

  const read = (reqID: number, path = '/3/0/0') => ({ reqID, msgType: 'read', data: { path } });

  it('refuses commands beyond max_queued_commands with 5.03, echoing them, and logs one line per 10 s', async () => {
    start({ maxQueuedCommands: 5 });
    const reg = registration('sleepy', true);
    await register(reg);
    gateway.engine.device('sleepy')?.markAsleep();
    command('sleepy', Array.from({ length: 1000 }, (_, i) => ({ ...read(i), tag: 'x' })));
    const refused = answers('sleepy');
    expect(refused).toHaveLength(995);
    expect(refused[0]).toEqual({
      reqID: 5,
      tag: 'x',
      msgType: 'read',
      data: { reqPath: '/3/0/0', code: '5.03', codeMsg: 'service_unavailable', error: 'endpoint sleepy has a full command queue (lwm2m.max_queued_commands: 5)' },
    });
    const warnings = logLines.filter((l) => String(l.msg).startsWith('command refused'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, source: 'sleepy', code: '5.03', suppressed: 0 });
    expect(gateway.engine.device('sleepy')?.queue.size).toBe(5);
  });

  it('bounds mheaders.ttl 0 commands in flight the same way', async () => {
    start({ maxQueuedCommands: 3 });
    await register(registration('direct', false));
    command('direct', Array.from({ length: 5 }, (_, i) => ({ ...read(i), mheaders: { ttl: 0 } })));
    expect(server.sent).toHaveLength(3);
    expect(answers('direct').map((a) => (a.data as { code: string }).code)).toEqual(['5.03', '5.03']);
    server.sent[0].listener.onResponse(TEXT_2_05('x'));
    command('direct', [{ ...read(9), mheaders: { ttl: 0 } }]);
    expect(server.sent).toHaveLength(4);
  });

  it('queues auto-observe commands up to the bound and drops the rest with one log line', async () => {
    start({ maxQueuedCommands: 10, autoObserve: true });
    const links = Array.from({ length: 50_000 }, (_, i) => `/${10_000 + i}/0`);
    await register(registration('linky', false, links));
    // One observe in flight, nine waiting.
    expect(server.sent).toHaveLength(1);
    expect(gateway.engine.device('linky')?.queue.size).toBe(9);
    const lines = logLines.filter((l) => String(l.msg).includes('auto-observe'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ ep: 'linky', dropped: 49_990, limit: 10 });
  });

  it('a decoding failure that is not a CodecError answers 5.00 and the next command goes', async () => {
    start();
    await register(registration('dev', false));
    command('dev', [read(1, '/3/0/9'), read(2)]);
    expect(server.sent).toHaveLength(1);
    model.resourceDefinition = () => {
      throw new TypeError('model exploded');
    };
    server.sent[0].listener.onResponse(TEXT_2_05('100'));
    model.resourceDefinition = () => undefined;
    expect(answers('dev')).toEqual([{ reqID: 1, msgType: 'read', data: { reqPath: '/3/0/9', code: '5.00', codeMsg: 'internal_server_error', error: 'command handling failed: model exploded' } }]);
    expect(server.sent).toHaveLength(2);
    server.sent[1].listener.onResponse(TEXT_2_05('OMA'));
    expect(answers('dev')[1]).toMatchObject({ reqID: 2, data: { code: '2.05' } });
  });

  it('an answer that cannot be serialised is replaced by a 5.00 echoing scalar fields, and the slot is freed', async () => {
    start();
    await register(registration('dev', false));
    command('dev', [{ ...read(1), extra: [1, 2] }, read(2)]);
    jest.spyOn(uplink, 'commandAnswer').mockImplementationOnce(() => {
      throw new RangeError('Maximum call stack size exceeded');
    });
    server.sent[0].listener.onResponse(TEXT_2_05('OMA'));
    expect(answers('dev')).toEqual([
      { reqID: 1, msgType: 'read', data: { reqPath: '/3/0/0', code: '5.00', codeMsg: 'internal_server_error', error: 'answer cannot be serialised: Maximum call stack size exceeded' } },
    ]);
    expect(server.sent).toHaveLength(2);
  });

  it('a send that throws answers the command and the queue goes on, without recursion, over 20k commands', async () => {
    start({ maxQueuedCommands: 20_000 });
    const reg = registration('brick', true);
    await register(reg);
    gateway.engine.device('brick')?.markAsleep();
    command('brick', Array.from({ length: 20_000 }, (_, i) => read(i)));
    expect(gateway.engine.device('brick')?.queue.size).toBe(20_000);
    server.failSend = () => {
      throw new Error('no channel');
    };
    server.emit('updated', reg, false);
    await new Promise((resolve) => setImmediate(resolve));
    const all = answers('brick');
    expect(all).toHaveLength(20_000);
    expect(all.every((a) => (a.data as { code: string; error: string }).error === 'no channel')).toBe(true);
    expect(gateway.engine.device('brick')?.queue.size).toBe(0);
    expect(gateway.engine.device('brick')?.inFlight).toBe(false);
  });

  it('an unexpected failure while handling a command (a throwing local command) answers 5.00 once', async () => {
    start();
    await register(registration('dev', false));
    const session = gateway.engine.device('dev');
    jest.spyOn(session!, 'observations').mockImplementation(() => {
      throw new Error('boom');
    });
    command('dev', [{ reqID: 7, msgType: 'observe-read-all', data: {} }]);
    expect(answers('dev')).toEqual([{ reqID: 7, msgType: 'observe-read-all', data: { reqPath: null, code: '5.00', codeMsg: 'internal_server_error', error: 'command handling failed: boom' } }]);
  });

  it('hands 150k waiting commands to the registration that replaces the old one, without spreading them', async () => {
    start({ maxQueuedCommands: 200_000 });
    const old = registration('reboot', true);
    await register(old);
    gateway.engine.device('reboot')?.markAsleep();
    command('reboot', Array.from({ length: 150_000 }, (_, i) => read(i)));
    server.emit('deregistered', old, 'replaced');
    const next = { ...registration('reboot', true), id: 'id-reboot-2', lastUpdate: 0 };
    server.emit('registered', next, old);
    expect(gateway.engine.device('reboot')?.reg).toBe(next);
    expect(gateway.engine.device('reboot')?.queue.size).toBe(150_000);
  });

  it('expires queued commands without touching the others, for any queue length', async () => {
    start({ maxQueuedCommands: 200_000 });
    const reg = registration('slow', true);
    await register(reg);
    gateway.engine.device('slow')?.markAsleep();
    command('slow', Array.from({ length: 150_000 }, (_, i) => (i % 2 === 0 ? { ...read(i), mheaders: { ttl: 1 } } : read(i))));
    gateway.engine.expireQueued(Date.now() + 5000);
    expect(answers('slow')).toHaveLength(75_000);
    expect(answers('slow').every((a) => (a.data as { code: string }).code === '5.04')).toBe(true);
    expect(gateway.engine.device('slow')?.queue.size).toBe(75_000);
  });
});
