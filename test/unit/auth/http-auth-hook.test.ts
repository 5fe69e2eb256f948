import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import pino from 'pino';
import {
  authVars,
  buildAuthRequest,
  createHttpAuthAdmission,
  parseAuthAnswer,
  renderBody,
  renderTemplate,
  type AuthVars,
  type HttpAuthOptions,
} from '../../../src/auth/http-auth-hook';
import type { RegistrationCandidate } from '../../../src/lwm2m/registration/admission';

const vars: AuthVars = { endpoint_name: 'ep1', clientid: 'c1', username: '123', password: 's3cret', peerhost: '10.0.0.1', identity: 'psk-1' };

function candidate(over: Partial<RegistrationCandidate> = {}): RegistrationCandidate {
  return { endpoint: 'ep1', peer: { address: '127.0.0.1', port: 5000 }, query: { ep: 'ep1', imei: '123', password: 's3cret' }, scheme: 'coap', ...over };
}

function config(over: Partial<HttpAuthOptions> = {}): HttpAuthOptions {
  return { url: 'http://127.0.0.1:1/auth', method: 'post', headers: {}, body: {}, timeoutSeconds: 2, maxInFlight: 100, maxInFlightPerSource: 100, ...over };
}

describe('templates', () => {
  it('renders every placeholder and leaves unknown ones as text', () => {
    expect(renderTemplate('${endpoint_name}|${clientid}|${username}|${password}|${peerhost}|${identity}|${other}|$endpoint_name', vars)).toBe(
      'ep1|c1|123|s3cret|10.0.0.1|psk-1|${other}|$endpoint_name',
    );
    expect(renderTemplate('${toString}${__proto__}', vars)).toBe('${toString}${__proto__}');
  });

  it('renders strings nested in objects and arrays, keeps other values', () => {
    const body = { a: '${endpoint_name}', n: 5, b: true, z: null, nested: { list: ['${username}', 1, { deep: 'x-${peerhost}' }] } };
    expect(renderBody(body, vars)).toEqual({ a: 'ep1', n: 5, b: true, z: null, nested: { list: ['123', 1, { deep: 'x-10.0.0.1' }] } });
    expect(body.a).toBe('${endpoint_name}'); // the configured template is not modified
  });

  it('takes the variables from the register: imei/device_id else the endpoint, identity only over DTLS', () => {
    expect(authVars(candidate())).toEqual({ endpoint_name: 'ep1', clientid: 'ep1', username: '123', password: 's3cret', peerhost: '127.0.0.1', identity: '' });
    const dtls = candidate({
      query: { ep: 'ep1', device_id: 'd9' },
      peer: { address: '::1', port: 1, identity: { kind: 'psk', name: 'id-7', endpoints: ['ep1'] } },
      scheme: 'coaps',
    });
    expect(authVars(dtls)).toEqual({ endpoint_name: 'ep1', clientid: 'd9', username: 'ep1', password: '', peerhost: '::1', identity: 'id-7' });
  });
});

describe('request building', () => {
  it('POST: a JSON body, Content-Type application/json, rendered headers', () => {
    const req = buildAuthRequest(config({ headers: { 'X-Ep': '${endpoint_name}' }, body: { u: '${username}', p: '${password}', o: { i: '${identity}' } } }), vars);
    expect(req).toEqual({
      url: 'http://127.0.0.1:1/auth',
      method: 'POST',
      headers: { 'x-ep': 'ep1', 'content-type': 'application/json' },
      body: JSON.stringify({ u: '123', p: 's3cret', o: { i: 'psk-1' } }),
    });
  });

  it('POST with a form Content-Type: a form body', () => {
    const req = buildAuthRequest(config({ headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: { u: '${username}', n: 2 } }), vars);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.body).toBe('u=123&n=2');
  });

  it('GET: the body fields join the URL query string, no body; nested values as JSON', () => {
    const req = buildAuthRequest(config({ method: 'get', url: 'http://h:8/a?k=1', body: { ep: '${endpoint_name}', sp: 'a b&c', o: { x: '${peerhost}' } } }), vars);
    expect(req.method).toBe('GET');
    expect(req.body).toBeUndefined();
    expect(req.headers).toEqual({});
    const url = new URL(req.url);
    expect(url.pathname).toBe('/a');
    expect([...url.searchParams]).toEqual([
      ['k', '1'],
      ['ep', 'ep1'],
      ['sp', 'a b&c'],
      ['o', '{"x":"10.0.0.1"}'],
    ]);
  });
});

describe('answers', () => {
  const json = 'application/json';
  it('allow, with client_attrs keeping string values only', () => {
    expect(parseAuthAnswer(200, json, '{"result":"allow"}')).toEqual({ allowed: true });
    expect(parseAuthAnswer(200, json, '{"result":"allow","client_attrs":{"tenant":"t1","n":1,"o":{},"b":true,"e":""}}')).toEqual({
      allowed: true,
      attributes: { tenant: 't1', e: '' },
    });
    expect(parseAuthAnswer(200, json, '{"result":"allow","client_attrs":["x"]}')).toEqual({ allowed: true });
    expect(parseAuthAnswer(200, 'application/json; charset=utf-8', '{"result":"allow","is_superuser":true}')).toEqual({ allowed: true });
  });

  it('204 allows without attributes (as in EMQX)', () => {
    expect(parseAuthAnswer(204, null, '')).toEqual({ allowed: true });
  });

  it('a form-encoded answer is read too (as in EMQX)', () => {
    expect(parseAuthAnswer(200, 'application/x-www-form-urlencoded', 'result=allow')).toEqual({ allowed: true });
    expect(parseAuthAnswer(200, 'application/x-www-form-urlencoded', 'result=deny').allowed).toBe(false);
  });

  it.each([
    [200, '{"result":"deny"}', /denied/],
    [200, '{"result":"ignore"}', /ignore/],
    [200, '{"result":"ALLOW"}', /no result/],
    [200, '{}', /no result/],
    [200, 'allow', /not JSON/],
    [200, '', /not JSON/],
    [200, '"allow"', /not a JSON object/],
    [200, 'null', /not a JSON object/],
    [200, '[{"result":"allow"}]', /not a JSON object/],
    [201, '{"result":"allow"}', /HTTP 201/],
    [403, '{"result":"allow"}', /HTTP 403/],
    [500, '', /HTTP 500/],
  ])('HTTP %p %p refuses with 4.01 (fail closed)', (status, body, reason) => {
    const verdict = parseAuthAnswer(status, json, body);
    expect(verdict).toMatchObject({ allowed: false, code: '4.01' });
    if (!verdict.allowed) expect(verdict.reason).toMatch(reason);
  });
});

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real auth server on a free port; `reply` decides each answer. */
class AuthServer {
  readonly seen: Seen[] = [];
  reply: (res: http.ServerResponse) => void = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"allow"}');
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      this.reply(res);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/auth`;
  }

  private readonly timers = new Set<NodeJS.Timeout>();

  /** A delayed answer, cancelled by close(). */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A logger that keeps every line, to check that no secret is written. */
function recordingLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
  return { log, lines };
}

describe('the hook against a real HTTP server', () => {
  let server: AuthServer;
  let url: string;
  beforeEach(async () => {
    server = new AuthServer();
    url = await server.start();
  });
  afterEach(() => server.close());

  const both = { udp: true, dtls: true };

  it('POST: sends the rendered request and admits with the attributes', async () => {
    server.reply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"allow","client_attrs":{"tenant":"acme","n":3}}');
    const { log, lines } = recordingLogger();
    const hook = createHttpAuthAdmission(
      config({ url, headers: { 'X-Device': '${endpoint_name}', Authorization: 'Bearer ${password}' }, body: { ep: '${endpoint_name}', user: '${username}', pass: '${password}', host: '${peerhost}' } }),
      both,
      log,
    );
    expect(await hook(candidate())).toEqual({ allowed: true, attributes: { tenant: 'acme' } });
    expect(server.seen).toHaveLength(1);
    const seen = server.seen[0];
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/auth');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['x-device']).toBe('ep1');
    expect(seen.headers.authorization).toBe('Bearer s3cret');
    expect(JSON.parse(seen.body)).toEqual({ ep: 'ep1', user: '123', pass: 's3cret', host: '127.0.0.1' });
    expect(lines.join('')).not.toContain('s3cret');
  });

  it('GET: the body goes into the query string', async () => {
    const hook = createHttpAuthAdmission(config({ url: `${url}?fixed=1`, method: 'get', body: { ep: '${endpoint_name}', password: '${password}' } }), both, pino({ level: 'silent' }));
    expect(await hook(candidate())).toEqual({ allowed: true });
    const seen = server.seen[0];
    expect(seen.method).toBe('GET');
    expect(seen.body).toBe('');
    expect(seen.headers['content-type']).toBeUndefined();
    const q = new URL(seen.url, 'http://x').searchParams;
    expect([q.get('fixed'), q.get('ep'), q.get('password')]).toEqual(['1', 'ep1', 's3cret']);
  });

  it('deny, ignore and 500 refuse with 4.01', async () => {
    const hook = createHttpAuthAdmission(config({ url }), both, pino({ level: 'silent' }));
    for (const [status, body] of [
      [200, '{"result":"deny"}'],
      [200, '{"result":"ignore"}'],
      [500, '{"result":"allow"}'],
    ] as const) {
      server.reply = (res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      expect(await hook(candidate())).toMatchObject({ allowed: false, code: '4.01' });
    }
  });

  it('an answer after the timeout refuses with 4.01', async () => {
    server.reply = (res) => server.later(600, () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"allow"}'));
    const hook = createHttpAuthAdmission(config({ url, timeoutSeconds: 0.2 }), both, pino({ level: 'silent' }));
    const started = Date.now();
    const verdict = await hook(candidate());
    expect(verdict).toEqual({ allowed: false, code: '4.01', reason: 'auth server did not answer within 0.2 s' });
    expect(Date.now() - started).toBeLessThan(550);
  });

  it('a body that trickles past the timeout refuses too', async () => {
    server.reply = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"result":');
      server.later(600, () => res.end('"allow"}'));
    };
    const hook = createHttpAuthAdmission(config({ url, timeoutSeconds: 0.2 }), both, pino({ level: 'silent' }));
    expect(await hook(candidate())).toMatchObject({ allowed: false, code: '4.01', reason: expect.stringMatching(/within 0.2 s/) });
  });

  it('an answer larger than 64 KB is not read into memory: refused with 4.01', async () => {
    server.reply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"result":"allow","pad":"${'x'.repeat(100_000)}"}`);
    const hook = createHttpAuthAdmission(config({ url }), both, pino({ level: 'silent' }));
    expect(await hook(candidate())).toEqual({ allowed: false, code: '4.01', reason: 'auth server answer is larger than 65536 bytes' });
    server.reply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"allow"}');
    expect(await hook(candidate())).toEqual({ allowed: true });
  });

  it('a server that is down refuses with 4.01, and the reason holds no secret', async () => {
    await server.close();
    const { log, lines } = recordingLogger();
    const hook = createHttpAuthAdmission(config({ url, method: 'get', body: { p: '${password}' } }), both, log);
    const verdict = await hook(candidate());
    expect(verdict).toMatchObject({ allowed: false, code: '4.01', reason: expect.stringMatching(/^auth request failed: ECONNREFUSED/) });
    expect(JSON.stringify(verdict) + lines.join('')).not.toContain('s3cret');
  });

  it('a request that cannot be built (bad header value) refuses, with the password redacted', async () => {
    const hook = createHttpAuthAdmission(config({ url, headers: { 'X-P': '${password}\r\nX: ${endpoint_name}' } }), both, pino({ level: 'silent' }));
    const verdict = await hook(candidate());
    expect(verdict).toMatchObject({ allowed: false, code: '4.01' });
    expect(JSON.stringify(verdict)).not.toContain('s3cret');
    expect(server.seen).toHaveLength(0);
  });

  it('at most max_in_flight requests at once: the next is refused with 5.03 at once; a timed-out request frees its slot and its connection', async () => {
    const carried: Socket[] = [];
    server.reply = (res) => carried.push(res.socket!); // never answers
    const hook = createHttpAuthAdmission(config({ url, timeoutSeconds: 0.3, maxInFlight: 2 }), both, pino({ level: 'silent' }));
    const held = [hook(candidate()), hook(candidate())];
    expect(hook.inFlight()).toBe(2);
    const started = Date.now();
    expect(await hook(candidate())).toEqual({ allowed: false, code: '5.03', reason: 'auth.http.max_in_flight (2) requests to the auth server already in flight', retryAfter: 5 });
    expect(Date.now() - started).toBeLessThan(50);
    expect(await Promise.all(held)).toEqual([expect.objectContaining({ code: '4.01' }), expect.objectContaining({ code: '4.01' })]);
    expect(server.seen).toHaveLength(2); // the refused one never reached the server
    expect(hook.inFlight()).toBe(0);
    // The connections of the aborted requests are closed, not left in the pool half-used.
    const deadline = Date.now() + 1000;
    while (carried.some((socket) => !socket.destroyed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(carried.map((socket) => socket.destroyed)).toEqual([true, true]);
    server.reply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"allow"}');
    expect(await Promise.all([hook(candidate()), hook(candidate())])).toEqual([{ allowed: true }, { allowed: true }]);
    expect(hook.inFlight()).toBe(0);
  });

  it('at most max_in_flight_per_source requests for one address: a slow source cannot take the slots of others', async () => {
    // The service is slow for the attacker's endpoints and answers everyone else at once.
    server.reply = (res) => {
      const slow = server.seen[server.seen.length - 1].body.includes('slow-');
      if (slow) server.later(300, () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"deny"}'));
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"allow"}');
    };
    const hook = createHttpAuthAdmission(config({ url, body: { ep: '${endpoint_name}' }, maxInFlight: 10, maxInFlightPerSource: 3 }), both, pino({ level: 'silent' }));
    const attacker = { address: '127.0.0.2', port: 9 };
    const held = [1, 2, 3].map((i) => hook(candidate({ endpoint: `slow-${i}`, peer: attacker })));
    expect(await hook(candidate({ endpoint: 'slow-4', peer: attacker }))).toEqual({
      allowed: false,
      code: '5.03',
      reason: 'auth.http.max_in_flight_per_source (3) requests for 127.0.0.2 already in flight',
      retryAfter: 5,
    });
    // Another address still gets through while the attacker's three are held.
    expect(await hook(candidate({ endpoint: 'ep1', peer: { address: '127.0.0.1', port: 5000 } }))).toEqual({ allowed: true });
    await Promise.all(held);
    expect(hook.inFlight()).toBe(0);
    expect(await hook(candidate({ endpoint: 'slow-5', peer: attacker }))).toMatchObject({ code: '4.01' }); // a slot again: the service denies
  });

  it('enable_authn false skips the listener: coap → udp, coaps → dtls', async () => {
    server.reply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"deny"}');
    const silent = pino({ level: 'silent' });
    const udpOff = createHttpAuthAdmission(config({ url }), { udp: false, dtls: true }, silent);
    expect(await udpOff(candidate({ scheme: 'coap' }))).toEqual({ allowed: true });
    expect(server.seen).toHaveLength(0);
    expect(await udpOff(candidate({ scheme: 'coaps' }))).toMatchObject({ allowed: false });
    expect(server.seen).toHaveLength(1);
    const dtlsOff = createHttpAuthAdmission(config({ url }), { udp: true, dtls: false }, silent);
    expect(await dtlsOff(candidate({ scheme: 'coaps' }))).toEqual({ allowed: true });
    expect(await dtlsOff(candidate({ scheme: 'coap' }))).toMatchObject({ allowed: false });
    expect(server.seen).toHaveLength(2);
  });
});
