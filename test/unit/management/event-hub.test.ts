/**
 * The event streams' hub (src/management/event-hub.ts) over real HTTP streams, fed by a stand-in for
 * the gateway (its messages and its server's refusals): subscription only while a stream is open,
 * one text per event, the endpoint filter, keep-alive comments, closing every stream.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { GatewayMessage } from '../../../src/gateway/gateway';
import { SseStream } from '../../../src/http/sse-stream';
import { EventHub, type EventSource } from '../../../src/management/event-hub';

/** The gateway as the hub sees it: listeners it can count, messages and refusals the test emits. */
class FakeGateway implements EventSource {
  readonly listeners: ((message: GatewayMessage) => void)[] = [];
  readonly engine = { server: new EventEmitter() };
  subscriptions = 0;

  onMessage(listener: (message: GatewayMessage) => void): () => void {
    this.subscriptions++;
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  publish(endpoint: string | undefined, kind: GatewayMessage['kind'], payload: object): void {
    const prefix = `lwm2m/${endpoint ?? 'x'}/`;
    const message = { endpoint, prefix, kind, topic: `${prefix}up/${kind}`, payload: JSON.stringify(payload) } as GatewayMessage;
    for (const l of this.listeners) l(message);
  }
}

describe('EventHub', () => {
  let server: http.Server;
  let port: number;
  let gateway: FakeGateway;
  let hub: EventHub;
  const sent = new Map<SseStream, (Buffer | string)[]>();
  const clients: http.ClientRequest[] = [];

  beforeEach(async () => {
    gateway = new FakeGateway();
    hub = new EventHub(gateway, pino({ level: 'silent' }), 40);
    server = http.createServer((req, res) => {
      const endpoint = new URL(req.url ?? '/', 'http://x').searchParams.get('ep') ?? undefined;
      const stream = SseStream.open(res, { maxBuffered: 1 << 20, onDrop: () => undefined });
      if (!stream) return;
      // Records what the hub hands each stream (the same Buffer object for every stream of an event).
      const writes: (Buffer | string)[] = [];
      sent.set(stream, writes);
      const send = stream.send.bind(stream);
      stream.send = (event) => {
        writes.push(event);
        return send(event);
      };
      hub.add(stream, endpoint);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    hub.closeAll();
    for (const c of clients.splice(0)) c.destroy();
    sent.clear();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Opens a stream and collects its text. */
  function open(query = ''): Promise<{ text: () => string; ended: Promise<void> }> {
    const before = hub.size;
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/${query}`, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        const ended = new Promise<void>((done) => res.on('close', () => done()));
        const wait = () => (hub.size > before ? resolve({ text: () => text, ended }) : setTimeout(wait, 5));
        wait();
      });
      req.on('error', reject);
      clients.push(req);
    });
  }

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  };

  it('listens to the gateway only while a stream is open, once for all of them', async () => {
    expect(gateway.listeners).toHaveLength(0);
    expect(gateway.engine.server.listenerCount('refused')).toBe(0);
    await open();
    await open();
    expect(gateway.subscriptions).toBe(1);
    expect(gateway.listeners).toHaveLength(1);
    expect(gateway.engine.server.listenerCount('refused')).toBe(1);
    for (const c of clients) c.destroy();
    await until(() => hub.size === 0);
    expect(gateway.listeners).toHaveLength(0);
    expect(gateway.engine.server.listenerCount('refused')).toBe(0);
  });

  it('builds each event once and writes it to every stream its filter matches', async () => {
    const all = await open();
    const ep1 = await open('?ep=ep1');
    gateway.publish('ep1', 'register', { msgType: 'register' });
    gateway.publish('ep2', 'register', { msgType: 'register' });
    gateway.engine.server.emit('refused', { endpoint: 'ep1', peer: { address: '::1', port: 5683 }, query: {}, scheme: 'coap' }, '4.03', 'no');
    const expected =
      'id: 1\nevent: register\ndata: {"endpoint_name":"ep1","topic":"lwm2m/ep1/up/register","message":{"msgType":"register"}}\n\n' +
      'id: 3\nevent: refused\ndata: {"endpoint_name":"ep1","peer":"[::1]:5683","code":"4.03","reason":"no"}\n\n';
    await until(() => ep1.text() === expected);
    await until(() => all.text().includes('event: refused'));
    expect(all.text()).toContain('id: 2\nevent: register\ndata: {"endpoint_name":"ep2"');
    const [toAll, toEp1] = [...sent.values()];
    expect(toAll).toHaveLength(3);
    expect(toEp1).toHaveLength(2);
    expect(toEp1[0]).toBe(toAll[0]); // the same Buffer, not a copy
    expect(toEp1[1]).toBe(toAll[2]);
  });

  it('sends a keep-alive comment to every stream while they are open', async () => {
    const a = await open();
    const b = await open('?ep=nobody');
    await until(() => a.text().includes(': keep-alive\n\n') && b.text().includes(': keep-alive\n\n'));
  });

  it('closeAll ends every stream (for the server to close)', async () => {
    const a = await open();
    const b = await open();
    hub.closeAll();
    await Promise.all([a.ended, b.ended]);
    expect(hub.size).toBe(0);
    expect(gateway.listeners).toHaveLength(0);
  });
});
