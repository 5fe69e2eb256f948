/**
 * The bootstrap HTTP hook against a real HTTP service (node:http on a free loopback port): what it
 * sends, how each kind of answer maps to a lookup, and that no secret reaches a reason or the log.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createBootstrapHttpHook, type BootstrapHookOptions } from '../../../src/bootstrap-config/bootstrap-http-hook';
import type { BootstrapCandidate, BootstrapLookup } from '../../../src/lwm2m/bootstrap/bootstrap-config';

const SECRET_HEX = '00112233445566778899aabbccddeeff';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = (res: http.ServerResponse, seen: Seen) => void;

const json = (status: number, body: unknown): Reply => (res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** The bootstrap configuration service; `reply` decides each answer; `hold` keeps answers back until released. */
class HookServer {
  readonly seen: Seen[] = [];
  reply: Reply = json(200, { result: 'ignore' });
  private readonly held: (() => void)[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      this.seen.push(seen);
      this.reply(res, seen);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/bootstrap`;
  }

  /** A Reply that answers only when `release()` is called. */
  hold(then: Reply): Reply {
    return (res, seen) => this.held.push(() => then(res, seen));
  }

  /** Answers every held request. */
  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A logger keeping every line (pino writing to memory), to check that no secret is written. */
function recordingLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'trace' }, { write: (line: string) => lines.push(line) }), lines };
}

function candidate(over: Partial<BootstrapCandidate> = {}): BootstrapCandidate {
  return { endpoint: 'urn:imei:1', peer: { address: '127.0.0.1', port: 5000 }, scheme: 'coap', query: { ep: 'urn:imei:1' }, ...over };
}

const pskConfig = (over: Record<string, unknown> = {}) => ({
  servers: [{ short_server_id: 101, uri: 'coaps://gw.example.com:5684', security_mode: 'psk', psk_identity: 'gw-${endpoint}', psk_key: SECRET_HEX, ...over }],
});

describe('bootstrap HTTP hook', () => {
  let server: HookServer;
  let url: string;
  const options = (over: Partial<BootstrapHookOptions> = {}): BootstrapHookOptions => ({
    url,
    method: 'post',
    headers: {},
    body: {},
    timeoutSeconds: 2,
    maxInFlight: 100,
    maxInFlightPerSource: 100,
    ...over,
  });

  beforeEach(async () => {
    server = new HookServer();
    url = await server.start();
  });
  afterEach(() => server.close());

  it('allow: POSTs the rendered templates as JSON and resolves the config for the endpoint', async () => {
    server.reply = json(200, { result: 'allow', config: pskConfig({ psk_key: 'generate' }) });
    const { log, lines } = recordingLogger();
    const hook = createBootstrapHttpHook(
      options({
        headers: { 'X-Device': '${endpoint_name}', Authorization: 'Bearer static-token' },
        body: { ep: '${endpoint_name}', peer: '${peerhost}', id: '${identity}', via: '${scheme}', meta: { list: ['${endpoint_name}', 3] } },
      }),
      log,
    );
    const dtls = candidate({ scheme: 'coaps', peer: { address: '127.0.0.1', port: 5000, identity: { kind: 'psk', name: 'bs-id', endpoints: ['urn:imei:1'] } } });
    const answer = await hook.lookup(dtls);
    expect(answer.found).toBe(true);
    if (!answer.found) return;
    const [server101] = answer.config.servers;
    expect(server101.security.publicKeyOrIdentity.toString()).toBe('gw-urn:imei:1');
    expect(server101.security.secretKey).toHaveLength(16);
    expect(server101.provision).toEqual({ identity: 'gw-urn:imei:1', key: server101.security.secretKey, endpoint: 'urn:imei:1' });

    const [seen] = server.seen;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/bootstrap');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['x-device']).toBe('urn:imei:1');
    expect(seen.headers.authorization).toBe('Bearer static-token');
    expect(JSON.parse(seen.body)).toEqual({ ep: 'urn:imei:1', peer: '127.0.0.1', id: 'bs-id', via: 'coaps', meta: { list: ['urn:imei:1', 3] } });
    expect(lines.join('')).not.toContain(server101.security.secretKey.toString('hex'));
    expect(lines.join('')).not.toContain('static-token');
  });

  it('GET: the body joins the query string; form POST: a form body; identity is empty over UDP', async () => {
    server.reply = json(200, { result: 'allow', config: pskConfig() });
    const get = createBootstrapHttpHook(options({ url: `${url}?fixed=1`, method: 'get', body: { ep: '${endpoint_name}', id: '${identity}', n: 5 } }), pino({ level: 'silent' }));
    expect((await get.lookup(candidate())).found).toBe(true);
    expect(server.seen[0].method).toBe('GET');
    expect(server.seen[0].body).toBe('');
    const q = new URL(server.seen[0].url, 'http://x').searchParams;
    expect([q.get('fixed'), q.get('ep'), q.get('id'), q.get('n')]).toEqual(['1', 'urn:imei:1', '', '5']);

    const form = createBootstrapHttpHook(
      options({ headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: { ep: '${endpoint_name}', via: '${scheme}' } }),
      pino({ level: 'silent' }),
    );
    expect((await form.lookup(candidate())).found).toBe(true);
    expect(server.seen[1].method).toBe('POST');
    expect(Object.fromEntries(new URLSearchParams(server.seen[1].body))).toEqual({ ep: 'urn:imei:1', via: 'coap' });
  });

  it('deny → 4.03; ignore and HTTP 404 → 4.01 passed on to the next source', async () => {
    const hook = createBootstrapHttpHook(options(), pino({ level: 'silent' }));
    server.reply = json(200, { result: 'deny', config: pskConfig() });
    expect(await hook.lookup(candidate())).toEqual({ found: false, code: '4.03', reason: 'bootstrap hook denied' });
    server.reply = json(200, { result: 'ignore' });
    expect(await hook.lookup(candidate())).toEqual({ found: false, code: '4.01', reason: 'bootstrap hook answered ignore', passOn: true });
    server.reply = json(404, { error: 'unknown device' });
    expect(await hook.lookup(candidate())).toEqual({ found: false, code: '4.01', reason: 'bootstrap hook has no configuration (HTTP 404)', passOn: true });
  });

  it('fails closed with 5.03 (retry after 5 s): other statuses, not JSON, no result, allow without config', async () => {
    const hook = createBootstrapHttpHook(options(), pino({ level: 'silent' }));
    const cases: [Reply, string][] = [
      [json(500, { result: 'allow', config: pskConfig() }), 'bootstrap hook answered HTTP 500'],
      [json(204, {}), 'bootstrap hook answered HTTP 204'],
      [(res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('allow'), 'bootstrap hook answer is not JSON'],
      [json(200, ['allow']), 'bootstrap hook answer is not a JSON object'],
      [json(200, { result: 'maybe' }), 'bootstrap hook answered no result (allow, deny or ignore)'],
      [json(200, { result: 'allow' }), 'bootstrap hook answered allow without a config'],
    ];
    for (const [reply, reason] of cases) {
      server.reply = reply;
      expect(await hook.lookup(candidate())).toEqual({ found: false, code: '5.03', reason, retryAfter: 5 });
    }
  });

  it('an invalid config → 5.03 naming the first problems; logged at warn without the secrets', async () => {
    const privateKeyLine = 'MHcCAQEEIEszcyHOvGSE7Ts8oYnXdLt38tTY9OtF';
    server.reply = json(200, {
      result: 'allow',
      config: {
        ...pskConfig({ psk_key: `${SECRET_HEX}zz`, lifetime: 0 }),
        bootstrap_server: { uri: 'coaps://bs', security_mode: 'x509', private_key: `-----BEGIN EC PRIVATE KEY-----\n${privateKeyLine}\n-----END EC PRIVATE KEY-----\n` },
        discover: 'yes',
      },
    });
    const { log, lines } = recordingLogger();
    const hook = createBootstrapHttpHook(options(), log);
    const answer = await hook.lookup(candidate());
    expect(answer).toEqual({
      found: false,
      code: '5.03',
      reason:
        'bootstrap hook answered an invalid config: config.servers[0].psk_key: must be the key in hex (an even number of hex digits) or "generate"; ' +
        'config.servers[0].lifetime: must be an integer in 1..2147483647, got 0; ' +
        'config.bootstrap_server.client_certificate: missing: a PEM text (and 3 more)',
      retryAfter: 5,
    });
    const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string; problems?: unknown[] }).filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toBe('bootstrap hook answered an invalid configuration');
    expect(warnings[0].problems).toHaveLength(6);
    const logged = lines.join('') + JSON.stringify(answer);
    expect(logged).not.toContain(SECRET_HEX);
    expect(logged).not.toContain(privateKeyLine);
  });

  it('a config valid in itself but too long an identity for this endpoint → 5.03', async () => {
    server.reply = json(200, { result: 'allow', config: pskConfig({ psk_identity: '${endpoint}${endpoint}' }) });
    const hook = createBootstrapHttpHook(options(), pino({ level: 'silent' }));
    expect(await hook.lookup(candidate({ endpoint: 'e'.repeat(65) }))).toEqual({
      found: false,
      code: '5.03',
      reason: 'bootstrap hook answered an invalid config: servers[0].psk_identity: longer than 128 bytes once rendered',
      retryAfter: 5,
    });
  });

  it('a service that never answers: 5.03 after the timeout, and the slot is free again', async () => {
    server.reply = () => undefined;
    const hook = createBootstrapHttpHook(options({ timeoutSeconds: 0.2 }), pino({ level: 'silent' }));
    expect(await hook.lookup(candidate())).toEqual({ found: false, code: '5.03', reason: 'bootstrap hook did not answer within 0.2 s', retryAfter: 5 });
    expect(hook.inFlight()).toBe(0);
  });

  it('a body that trickles past the timeout fails too', async () => {
    server.reply = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"result":');
    };
    const hook = createBootstrapHttpHook(options({ timeoutSeconds: 0.2 }), pino({ level: 'silent' }));
    expect(await hook.lookup(candidate())).toMatchObject({ found: false, code: '5.03', reason: 'bootstrap hook did not answer within 0.2 s' });
  });

  it('an answer larger than 64 KiB is not read: 5.03', async () => {
    server.reply = json(200, { result: 'allow', config: pskConfig(), pad: 'x'.repeat(70_000) });
    const hook = createBootstrapHttpHook(options(), pino({ level: 'silent' }));
    expect(await hook.lookup(candidate())).toEqual({ found: false, code: '5.03', reason: 'bootstrap hook answer is larger than 65536 bytes', retryAfter: 5 });
    server.reply = json(200, { result: 'allow', config: pskConfig() });
    expect((await hook.lookup(candidate())).found).toBe(true);
  });

  it('a service that is down: 5.03 with the error code only; warned once per interval', async () => {
    await server.close();
    const { log, lines } = recordingLogger();
    const hook = createBootstrapHttpHook(options({ headers: { Authorization: 'Bearer static-token' } }), log);
    const first = await hook.lookup(candidate());
    expect(first).toEqual({ found: false, code: '5.03', reason: 'bootstrap hook request failed: ECONNREFUSED', retryAfter: 5 });
    await hook.lookup(candidate());
    const warnings = lines.filter((line) => (JSON.parse(line) as { level: number }).level === 40);
    expect(warnings).toHaveLength(1);
    expect(lines.join('')).not.toContain('static-token');
    server = new HookServer();
    await server.start();
  });

  it('a request that cannot be built (a header the endpoint name breaks): 5.03, nothing sent, nothing quoted', async () => {
    const hook = createBootstrapHttpHook(options({ headers: { 'X-Ep': 'token-abc ${endpoint_name}' } }), pino({ level: 'silent' }));
    const answer = await hook.lookup(candidate({ endpoint: 'ep\r\nX-Evil: 1' }));
    expect(answer).toMatchObject({ found: false, code: '5.03' });
    expect(JSON.stringify(answer)).not.toContain('token-abc');
    expect(server.seen).toHaveLength(0);
  });

  it('max_in_flight: beyond it 5.03 at once, without asking the service; slots free as answers come', async () => {
    server.reply = server.hold(json(200, { result: 'allow', config: pskConfig() }));
    const hook = createBootstrapHttpHook(options({ maxInFlight: 2 }), pino({ level: 'silent' }));
    const held = [hook.lookup(candidate()), hook.lookup(candidate({ peer: { address: '127.0.0.2', port: 1 } }))];
    expect(hook.inFlight()).toBe(2);
    expect(await hook.lookup(candidate({ peer: { address: '127.0.0.3', port: 1 } }))).toEqual({
      found: false,
      code: '5.03',
      reason: 'bootstrap.http.max_in_flight (2) requests to the bootstrap hook already in flight',
      retryAfter: 5,
    });
    while (server.seen.length < 2) await new Promise((r) => setImmediate(r));
    server.release();
    const answers: BootstrapLookup[] = await Promise.all(held);
    expect(answers.map((a) => a.found)).toEqual([true, true]);
    expect(server.seen).toHaveLength(2);
    expect(hook.inFlight()).toBe(0);
    server.reply = json(200, { result: 'deny' });
    expect(await hook.lookup(candidate())).toMatchObject({ code: '4.03' });
  });

  it('max_in_flight_per_source: a slow source cannot take the slots of others', async () => {
    const allow = json(200, { result: 'allow', config: pskConfig() });
    const heldReply = server.hold(allow);
    server.reply = (res, seen) => (JSON.parse(seen.body).peer === '127.0.0.2' ? heldReply(res, seen) : allow(res, seen));
    const hook = createBootstrapHttpHook(options({ body: { peer: '${peerhost}' }, maxInFlight: 10, maxInFlightPerSource: 2 }), pino({ level: 'silent' }));
    const attacker = { address: '127.0.0.2', port: 9 };
    const held = [hook.lookup(candidate({ peer: attacker })), hook.lookup(candidate({ peer: attacker }))];
    expect(await hook.lookup(candidate({ peer: attacker }))).toEqual({
      found: false,
      code: '5.03',
      reason: 'bootstrap.http.max_in_flight_per_source (2) requests for 127.0.0.2 already in flight',
      retryAfter: 5,
    });
    expect((await hook.lookup(candidate())).found).toBe(true);
    while (server.seen.length < 3) await new Promise((r) => setImmediate(r));
    server.release();
    await Promise.all(held);
    expect(hook.inFlight()).toBe(0);
    server.reply = allow;
    expect((await hook.lookup(candidate({ peer: attacker }))).found).toBe(true);
  });
});
