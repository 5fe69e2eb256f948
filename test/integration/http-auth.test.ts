/**
 * The HTTP auth hook through the whole gateway: test devices over UDP, a real auth server
 * (node:http) in the test, the broker and an MQTT probe.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EMPTY_ACK_DELAY_MS } from '../../src/coap/endpoint';
import { brokerKind, startHarness, type Harness } from '../support/harness';
import { freeTcpPort } from '../support/ports';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = { status: number; body?: unknown; delayMs?: number };

/** The auth service: records every request and answers with `reply`. */
class AuthServer {
  readonly seen: Seen[] = [];
  reply: Reply = { status: 200, body: { result: 'allow' } };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const { status, body, delayMs = 0 } = this.reply;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? '' : JSON.stringify(body));
      }, delayMs);
      this.timers.add(timer);
    });
  });

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function authYaml(port: number, extra = ''): string {
  return `lwm2m:
  mountpoint: "lwm2m/\${client_attrs.tenant}/\${endpoint_name}/"
auth:
  http:
    url: http://127.0.0.1:${port}/auth
    method: post
    headers: { X-Device: "\${endpoint_name}", X-Static: "yes" }
    body:
      ep: "\${endpoint_name}"
      peer: "\${peerhost}"
      user: "\${username}"
      pass: "\${password}"
      identity: "\${identity}"
      meta: { tags: ["\${endpoint_name}-tag"] }
    timeout: 0.5
${extra}`;
}

describe('HTTP auth hook', () => {
  let h: Harness | undefined;
  let auth: AuthServer;
  let authPort: number;

  beforeEach(async () => {
    auth = new AuthServer();
    authPort = await auth.start();
  });
  afterEach(async () => {
    if (h) await h.close();
    h = undefined;
    await auth.close();
  });

  /** Registers a fresh device and returns its CoAP answer code. */
  async function register(ep: string, query: string[] = []): Promise<string> {
    const d = await h!.device({ endpoint: ep, query });
    return (await d.register()).code;
  }

  /** Nothing about `ep` reached MQTT (given time for a stray publish to arrive). */
  async function expectNothingPublishedFor(ep: string): Promise<void> {
    await sleep(200);
    expect(h!.probe.messages.filter((m) => m.topic.includes(`/${ep}/`) || m.payload.toString().includes(ep))).toEqual([]);
  }

  describe('with the hook on every listener', () => {
    beforeEach(async () => {
      h = await startHarness(authYaml(authPort));
    });

    it('allow with client_attrs: the request carries the rendered templates, the mountpoint uses the attributes', async () => {
      auth.reply = { status: 200, body: { result: 'allow', client_attrs: { tenant: 'acme', level: 3 } } };
      expect(await register('dev-ok', ['imei=4711', 'password=hunter2'])).toBe('2.01');
      const m = await h!.probe.waitOn('lwm2m/acme/dev-ok/up/register');
      expect(m.json).toMatchObject({ msgType: 'register', data: { ep: 'dev-ok', imei: '4711' } });
      expect(m.payload.toString()).not.toContain('hunter2');

      expect(auth.seen).toHaveLength(1);
      const seen = auth.seen[0];
      expect(seen.method).toBe('POST');
      expect(seen.url).toBe('/auth');
      expect(seen.headers['content-type']).toBe('application/json');
      expect(seen.headers['x-device']).toBe('dev-ok');
      expect(seen.headers['x-static']).toBe('yes');
      expect(JSON.parse(seen.body)).toEqual({
        ep: 'dev-ok',
        peer: '127.0.0.1',
        user: '4711',
        pass: 'hunter2',
        identity: '',
        meta: { tags: ['dev-ok-tag'] },
      });

      // Commands find the device under the same attribute-based mountpoint.
      await h!.probe.publish('lwm2m/acme/dev-ok/dn', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
      const r = await h!.probe.waitOn('lwm2m/acme/dev-ok/up/resp', { reqID: 1 });
      expect(r.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] });
    });

    it('deny: 4.01 to the device and nothing on MQTT', async () => {
      auth.reply = { status: 200, body: { result: 'deny' } };
      expect(await register('dev-deny', ['password=nope'])).toBe('4.01');
      await expectNothingPublishedFor('dev-deny');
      expect(h!.gw.server.registrations.store.size).toBe(0);
    });

    it('ignore: 4.01, as EMQX refuses when its chain ends without a decision', async () => {
      auth.reply = { status: 200, body: { result: 'ignore' } };
      expect(await register('dev-ignore')).toBe('4.01');
      await expectNothingPublishedFor('dev-ignore');
    });

    it.each([
      ['HTTP 500', { status: 500, body: { result: 'allow' } }],
      ['HTTP 403', { status: 403 }],
      ['a body that is not JSON', { status: 200, body: undefined }],
      ['an answer after the timeout', { status: 200, body: { result: 'allow' }, delayMs: 1500 }],
    ] as const)('%s: 4.01 (fail closed)', async (_name, reply) => {
      auth.reply = reply;
      expect(await register('dev-fail')).toBe('4.01');
      await expectNothingPublishedFor('dev-fail');
    });

    it('a slow allow (300 ms, past the first retransmission timeout of the device) still registers', async () => {
      auth.reply = { status: 200, body: { result: 'allow', client_attrs: { tenant: 'slow' } }, delayMs: 300 };
      expect(await register('dev-slow')).toBe('2.01');
      await h!.probe.waitOn('lwm2m/slow/dev-slow/up/register');
      expect(auth.seen).toHaveLength(1); // the retransmitted register was not processed again
    });
  });

  it('an allow slower than the empty-ACK delay registers through an empty ACK and a separate response', async () => {
    h = await startHarness(authYaml(authPort).replace('timeout: 0.5', 'timeout: 5'));
    auth.reply = { status: 200, body: { result: 'allow', client_attrs: { tenant: 'late' } }, delayMs: EMPTY_ACK_DELAY_MS + 300 };
    const started = Date.now();
    expect(await register('dev-late')).toBe('2.01');
    expect(Date.now() - started).toBeGreaterThanOrEqual(EMPTY_ACK_DELAY_MS);
    await h.probe.waitOn('lwm2m/late/dev-late/up/register');
  });

  it('the auth server down: 4.01', async () => {
    h = await startHarness(authYaml(await freeTcpPort()));
    expect(await register('dev-down')).toBe('4.01');
    await expectNothingPublishedFor('dev-down');
  });

  it('enable_authn false on the UDP listener: registered without asking the server', async () => {
    h = await startHarness(authYaml(authPort, 'listeners:\n  udp:\n    enable_authn: false\n'));
    auth.reply = { status: 200, body: { result: 'deny' } };
    expect(await register('dev-open')).toBe('2.01');
    // No attributes: the placeholder stays as text (contract A).
    await h.probe.waitOn('lwm2m/${client_attrs.tenant}/dev-open/up/register');
    expect(auth.seen).toHaveLength(0);
  });

  it('over DTLS: ${identity} is the PSK identity; enable_authn false on dtls skips only that listener', async () => {
    h = await startHarness(authYaml(authPort), brokerKind(), 'dtls');
    expect(h.gw.dtlsPort).toBeGreaterThan(0); // the DTLS addon is built and loaded
    auth.reply = { status: 200, body: { result: 'allow', client_attrs: { tenant: 'psk' } } };
    expect(await register('dev-psk')).toBe('2.01');
    await h.probe.waitOn('lwm2m/psk/dev-psk/up/register');
    expect(JSON.parse(auth.seen[0].body)).toMatchObject({ ep: 'dev-psk', identity: 'dev-psk', peer: '127.0.0.1' });
    await h.close();

    h = await startHarness(authYaml(authPort, 'listeners:\n  dtls:\n    enable_authn: false\n'), brokerKind(), 'dtls');
    auth.reply = { status: 200, body: { result: 'deny' } };
    expect(await register('dev-psk2')).toBe('2.01');
    expect(auth.seen).toHaveLength(1);
  });

  it('GET: the body templates go into the query string', async () => {
    h = await startHarness(authYaml(authPort).replace('method: post', 'method: get'));
    auth.reply = { status: 200, body: { result: 'allow', client_attrs: { tenant: 'g' } } };
    expect(await register('dev-get', ['imei=99', 'password=pw'])).toBe('2.01');
    await h.probe.waitOn('lwm2m/g/dev-get/up/register');
    const seen = auth.seen[0];
    expect(seen.method).toBe('GET');
    expect(seen.body).toBe('');
    const q = new URL(seen.url, 'http://x').searchParams;
    expect(Object.fromEntries(q)).toEqual({ ep: 'dev-get', peer: '127.0.0.1', user: '99', pass: 'pw', identity: '', meta: '{"tags":["dev-get-tag"]}' });
  });
});
