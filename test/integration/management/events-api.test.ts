/**
 * Live events (Server-Sent Events) through the whole gateway: real HTTP consumers of the management
 * plane, test devices over UDP, the embedded broker and an MQTT probe.
 */
import http from 'node:http';
import net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { startHarness, type Harness } from '../../support/harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/**
 * A consumer of the event stream over node:http (its own connection: fetch keeps a spare idle one
 * open, which would hold the server's shutdown): parses every event as it arrives.
 */
class SseConsumer {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private buffer = '';
  private waiters: (() => void)[] = [];

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    private readonly request: http.ClientRequest,
  ) {}

  static open(port: number, query = ''): Promise<SseConsumer> {
    return new Promise((resolve, reject) => {
      const request = http.get({ host: '127.0.0.1', port, path: `/api/v5/gateways/lwm2m/events${query}`, agent: false }, (res) => {
        const consumer = new SseConsumer(res.statusCode ?? 0, res.headers, request);
        res.setEncoding('utf8');
        res.on('data', (text: string) => consumer.receive(text));
        res.on('error', () => undefined);
        resolve(consumer);
      });
      request.on('error', reject);
    });
  }

  private receive(text: string): void {
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      this.parse(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end + 2);
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private parse(block: string): void {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(': ');
      fields[line.slice(0, colon)] = (fields[line.slice(0, colon)] === undefined ? '' : `${fields[line.slice(0, colon)]}\n`) + line.slice(colon + 2);
    }
    if (fields.event !== undefined) this.events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) as Record<string, unknown> });
  }

  /** Resolves when an event matching `pred` has arrived. */
  async waitFor(pred: (e: SseEvent) => boolean, what: string, timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} event within ${timeoutMs} ms; got ${this.events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  kinds(): string[] {
    return this.events.map((e) => e.event);
  }

  close(): void {
    this.request.destroy();
  }
}

/** Polls `check` until it holds (the server notices a closed stream when its socket closes). */
async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}

describe('GET /api/v5/gateways/lwm2m/events', () => {
  let h: Harness | undefined;
  const consumers: SseConsumer[] = [];
  const logLines: string[] = [];

  afterEach(async () => {
    for (const c of consumers.splice(0)) c.close();
    if (h) await h.close();
    h = undefined;
    logLines.length = 0;
  });

  async function consume(query = ''): Promise<SseConsumer> {
    const c = await SseConsumer.open(h!.gw.httpPort!, query);
    consumers.push(c);
    return c;
  }

  const logged = (msg: string) => logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);

  it('two consumers see register, update, response, notify, refused and deregister, in order, with the MQTT messages', async () => {
    h = await startHarness();
    const a = await consume();
    const b = await consume();
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(a.headers['cache-control']).toBe('no-cache');
    expect(a.headers['x-accel-buffering']).toBe('no');

    const d = await h.device({ endpoint: 'ep1' });
    expect((await d.register()).code).toBe('2.01');
    await a.waitFor((e) => e.event === 'register', 'register');
    expect((await d.update([], d.linkPayload())).code).toBe('2.04');
    await a.waitFor((e) => e.event === 'update', 'update');

    await h.probe.publish('lwm2m/ep1/dn', { reqID: 7, msgType: 'observe', data: { path: '/3/0/9' } });
    await a.waitFor((e) => e.event === 'response' && (e.data.message as { reqID?: number }).reqID === 7, 'observe answer');
    d.set('/3/0/9', 42);
    d.notify('/3/0/9');
    await a.waitFor((e) => e.event === 'notify', 'notify');

    await h.probe.publish('lwm2m/ep1/dn', { reqID: 8, msgType: 'read', data: { path: '/3/0/0' } });
    const read = await a.waitFor((e) => e.event === 'response' && (e.data.message as { reqID?: number }).reqID === 8, 'read answer');

    const bad = await h.device({ endpoint: 'bad+name' });
    expect((await bad.register()).code).not.toBe('2.01');
    const refused = await a.waitFor((e) => e.event === 'refused', 'refused');

    expect((await d.deregister()).code).toBe('2.02');
    await a.waitFor((e) => e.event === 'deregister', 'deregister');
    await b.waitFor((e) => e.event === 'deregister', 'deregister');

    const expected = ['register', 'update', 'response', 'notify', 'response', 'refused', 'deregister'];
    expect(a.kinds()).toEqual(expected);
    expect(b.kinds()).toEqual(expected);
    // One text per event, whoever receives it: same ids, same data, ids increasing.
    expect(b.events).toEqual(a.events);
    const ids = a.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);

    // Each event carries the message exactly as published on MQTT, with its topic and endpoint.
    for (const event of a.events.filter((e) => e.event !== 'refused')) {
      expect(event.data.endpoint_name).toBe('ep1');
      // The probe may get the MQTT message a little after the stream had the event.
      await h.probe.waitFor((m) => m.topic === event.data.topic && isDeepStrictEqual(m.json, event.data.message));
    }
    expect(a.events.map((e) => e.data.topic)).toEqual([
      'lwm2m/ep1/up/register',
      'lwm2m/ep1/up/update',
      'lwm2m/ep1/up/resp',
      'lwm2m/ep1/up/notify',
      'lwm2m/ep1/up/resp',
      undefined,
      'lwm2m/ep1/up/deregister',
    ]);
    expect(read.data.message).toMatchObject({ reqID: 8, msgType: 'read', data: { code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] } });
    expect(refused.data).toEqual({ endpoint_name: 'bad+name', peer: `127.0.0.1:${bad.port}`, code: '4.00', reason: expect.stringContaining('wildcard') });
  });

  it('endpoint_name: only the events of that endpoint; a bad filter is answered 400 naming the field', async () => {
    h = await startHarness();
    const only2 = await consume('?endpoint_name=ep2');
    const all = await consume();
    const d1 = await h.device({ endpoint: 'ep1' });
    const d2 = await h.device({ endpoint: 'ep2' });
    expect((await d1.register()).code).toBe('2.01');
    expect((await d2.register()).code).toBe('2.01');
    await h.probe.publish('lwm2m/ep1/dn', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
    await h.probe.publish('lwm2m/ep2/dn', { reqID: 2, msgType: 'read', data: { path: '/3/0/0' } });
    await h.probe.waitOn('lwm2m/ep1/up/resp', { reqID: 1 });
    await h.probe.waitOn('lwm2m/ep2/up/resp', { reqID: 2 });
    await d1.deregister();
    await d2.deregister();
    await all.waitFor((e) => e.event === 'deregister' && e.data.endpoint_name === 'ep2', 'deregister of ep2');
    await all.waitFor((e) => e.event === 'deregister' && e.data.endpoint_name === 'ep1', 'deregister of ep1');
    await only2.waitFor((e) => e.event === 'deregister', 'deregister of ep2');
    expect(only2.events.map((e) => e.data.endpoint_name)).toEqual(['ep2', 'ep2', 'ep2']);
    expect(only2.kinds()).toEqual(['register', 'response', 'deregister']);
    expect(all.events.filter((e) => e.data.endpoint_name === 'ep2')).toEqual(only2.events);

    const port = h.gw.httpPort!;
    for (const [query, message] of [
      ['endpoint_name=a%01b', 'querystring/endpoint_name: endpoint name contains a control character'],
      [`endpoint_name=${'x'.repeat(257)}`, 'querystring/endpoint_name must NOT have more than 256 characters'],
      ['endpoint_name=', 'querystring/endpoint_name must NOT have fewer than 1 characters'],
    ]) {
      const res = await fetch(`http://127.0.0.1:${port}/api/v5/gateways/lwm2m/events?${query}`);
      expect(res.status).toBe(400);
      // Contained, not equal: the server's error handler currently says "querystring querystring/..." (reported).
      expect(await res.json()).toEqual({ code: 'BAD_REQUEST', message: expect.stringContaining(message) });
    }
  });

  it('is in the OpenAPI document, with its filter', async () => {
    h = await startHarness();
    const doc = (await (await fetch(`http://127.0.0.1:${h.gw.httpPort}/api/v5/openapi.json`)).json()) as { paths: Record<string, { get?: { tags?: string[]; parameters?: { name: string }[]; responses?: Record<string, unknown> } }> };
    const get = doc.paths['/api/v5/gateways/lwm2m/events']?.get;
    expect(get?.tags).toEqual(['events']);
    expect(get?.parameters?.map((p) => p.name)).toEqual(['endpoint_name']);
    expect(Object.keys(get?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '503']));
  });

  it('at most http.events.max_consumers streams: more get 503; the gateway is listened to only while one is open', async () => {
    h = await startHarness('http:\n  events:\n    max_consumers: 2', undefined, undefined, logLines, 'debug');
    const a = await consume();
    await consume();
    const third = await fetch(`http://127.0.0.1:${h.gw.httpPort}/api/v5/gateways/lwm2m/events`);
    expect(third.status).toBe(503);
    expect(await third.json()).toEqual({ code: 'TOO_MANY_CONSUMERS', message: '2 event streams are open (http.events.max_consumers)' });
    expect(logged('event streams: listening to the gateway')).toHaveLength(1); // once for both streams

    a.close();
    await eventually(async () => {
      const c = await SseConsumer.open(h!.gw.httpPort!);
      consumers.push(c);
      return c.status === 200;
    }, 'a stream opens once one is closed');

    for (const c of consumers.splice(0)) c.close();
    await eventually(() => logged('event streams: no consumer, not listening to the gateway').length === 1, 'unsubscribed when the last stream closed');
    const closed = logged('event stream closed');
    expect(closed.length).toBeGreaterThanOrEqual(3);
    expect(closed[0].consumer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('a consumer that stops reading is dropped with a log line, while another consumer and the devices carry on', async () => {
    h = await startHarness('http:\n  events:\n    max_buffered: 1KB', undefined, undefined, logLines);
    const port = h.gw.httpPort!;

    // The slow consumer: asks for the stream, then never reads a byte.
    const slow = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.pause();
    slow.write('GET /api/v5/gateways/lwm2m/events HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    slow.on('error', () => undefined);
    await eventually(() => logged('event stream opened').length === 1, 'the slow stream opened');
    const healthy = await consume();

    // Notifications of 30 KB each in one datagram, until the kernel's buffers for the slow consumer are full.
    const d = await h.device({ endpoint: 'big', coap: { blockwise: { enable: false } } });
    expect((await d.register()).code).toBe('2.01');
    d.set('/3/0/0', 'x'.repeat(30_000));
    await h.probe.publish('lwm2m/big/dn', { reqID: 1, msgType: 'observe', data: { path: '/3/0/0' } });
    await h.probe.waitOn('lwm2m/big/up/resp', { reqID: 1 });
    let sent = 0;
    while (logged('event stream dropped: the consumer does not keep up').length === 0) {
      if (sent >= 1000) throw new Error(`the slow consumer was never dropped after ${sent} notifications`);
      d.notify('/3/0/0');
      sent++;
      // Paced (at most 8 in flight) so that the gateway's UDP receive buffer does not overflow; one lost would not stall the loop.
      if (sent % 4 === 0) await h.probe.waitFor((m) => m.topic === 'lwm2m/big/up/notify' && h!.probe.on('lwm2m/big/up/notify').length >= sent - 4);
    }
    const [drop] = logged('event stream dropped: the consumer does not keep up');
    expect(drop.level).toBe(40);
    expect(drop.consumer).toBe(`127.0.0.1:${slow.localPort}`);
    expect(drop.reason).toMatch(/^\d+ bytes unread, more than 1024 \(http\.events\.max_buffered\)$/);

    // The device and the other consumer carry on: a read is answered on MQTT and streamed.
    d.set('/3/0/0', 'small');
    await h.probe.publish('lwm2m/big/dn', { reqID: 2, msgType: 'read', data: { path: '/3/0/0' } });
    const answer = await h.probe.waitOn('lwm2m/big/up/resp', { reqID: 2 });
    expect(answer.json).toMatchObject({ data: { code: '2.05', content: [{ path: '/3/0/0', value: 'small' }] } });
    const streamed = await healthy.waitFor((e) => e.event === 'response' && (e.data.message as { reqID?: number }).reqID === 2, 'read answer');
    expect(streamed.data.message).toEqual(answer.json);
    await eventually(() => healthy.events.filter((e) => e.event === 'notify').length === h!.probe.on('lwm2m/big/up/notify').length, 'every notification streamed to the healthy consumer');

    // The slow consumer's connection was ended by the gateway.
    slow.resume();
    await slowClosed;
  }, 60_000);
});
