/**
 * The management plane's defences, attacked over real HTTP(S) against the whole gateway: API keys,
 * the open health and metrics paths, the limit on failed authentications, the body limit, loopback
 * only without keys, and TLS.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startHarness, type Harness } from '../../support/harness';

const KEYS = 'http:\n  api_keys:\n    - key: admin\n      secret: "s3cret-pass"';
const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const ADMIN = { authorization: basic('admin', 's3cret-pass') };

describe('management plane security', () => {
  let h: Harness | undefined;
  const logLines: string[] = [];

  afterEach(async () => {
    if (h) await h.close();
    h = undefined;
    logLines.length = 0;
  });

  const url = (p: string) => `http://127.0.0.1:${h!.gw.httpPort}${p}`;
  const logged = (msg: string) => logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);

  describe('with API keys', () => {
    beforeEach(async () => {
      h = await startHarness(KEYS, undefined, undefined, logLines);
    });

    it('no credentials and wrong ones: 401 with WWW-Authenticate; the right key: 200', async () => {
      const none = await fetch(url('/api/v5/gateways/lwm2m/clients'));
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Basic realm="lwm2m-gateway", charset="UTF-8"');
      expect(await none.json()).toEqual({ code: 'UNAUTHORIZED', message: expect.stringContaining('no credentials') });

      for (const authorization of [basic('admin', 'wrong-pass'), basic('nobody', 's3cret-pass'), 'Bearer s3cret-pass', 'Basic !!!', basic('admin', '')]) {
        const res = await fetch(url('/api/v5/gateways/lwm2m/clients'), { headers: { authorization } });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Basic');
        expect(await res.json()).toEqual({ code: 'UNAUTHORIZED', message: expect.stringContaining('wrong credentials') });
      }

      const ok = await fetch(url('/api/v5/gateways/lwm2m/clients'), { headers: ADMIN });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ data: [], meta: { count: 0 } });

      // The event stream is behind the key too.
      expect((await fetch(url('/api/v5/gateways/lwm2m/events'))).status).toBe(401);
      // node:http on its own connection: fetch keeps a spare idle one open, which would hold the server's shutdown.
      const events = await new Promise<number | undefined>((resolve) => {
        const req = http.get(url('/api/v5/gateways/lwm2m/events'), { headers: ADMIN, agent: false }, (res) => {
          req.destroy();
          resolve(res.statusCode);
        });
      });
      expect(events).toBe(200);

      const failures = logged('HTTP API authentication failed');
      expect(failures[0]).toMatchObject({ level: 40, source: '127.0.0.1', method: 'GET', path: '/api/v5/gateways/lwm2m/clients', reason: 'no credentials' });
      // No log line carries a secret.
      expect(logLines.join('\n')).not.toContain('s3cret-pass');
      expect(logLines.join('\n')).not.toContain('wrong-pass');
    });

    it('/health/live, /health/ready and /metrics answer without a key', async () => {
      expect(await (await fetch(url('/health/live'))).json()).toMatchObject({ status: 'live' });
      const ready = await fetch(url('/health/ready'));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
      const metrics = await fetch(url('/metrics'));
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      // An open prefix opens nothing beside it.
      expect((await fetch(url('/healthz'))).status).toBe(401);
      expect((await fetch(url('/metrics/../api/v5/gateways/lwm2m/clients'))).status).toBe(401);
    });

    it('a body over http.max_body_size: 413', async () => {
      const d = await h!.device({ endpoint: 'ep1' });
      expect((await d.register()).code).toBe('2.01');
      const big = JSON.stringify({ data: { path: '/3/0/0', pad: 'x'.repeat(70_000) } });
      const res = await fetch(url('/api/v5/gateways/lwm2m/clients/ep1/read'), { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: big });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) });
      // Not even parsed without a key: 401 first.
      const anonymous = await fetch(url('/api/v5/gateways/lwm2m/clients/ep1/read'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      expect(anonymous.status).toBe(401);
    });
  });

  it('failed authentications beyond http.auth_failures_per_minute: 429 with retry-after, even with the right key, and logged', async () => {
    h = await startHarness(`${KEYS}\n  auth_failures_per_minute: 3`, undefined, undefined, logLines);
    const wrong = { authorization: basic('admin', 'guess-0000') };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(url('/api/v5/gateways/lwm2m/clients'), { headers: wrong })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const blocked = await fetch(url('/api/v5/gateways/lwm2m/clients'), { headers: ADMIN });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await blocked.json()).toEqual({ code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('too many failed authentications') });
    expect(logged('HTTP API authentication failed')[0]).toMatchObject({ level: 40, source: '127.0.0.1', reason: 'wrong credentials' });
    // Health probes are never blocked.
    expect((await fetch(url('/health/live'))).status).toBe(200);
  });

  it('metrics_auth: true puts /metrics behind the key', async () => {
    h = await startHarness(`${KEYS}\n  metrics_auth: true`);
    expect((await fetch(url('/metrics'))).status).toBe(401);
    expect((await fetch(url('/metrics'), { headers: ADMIN })).status).toBe(200);
    expect((await fetch(url('/health/live'))).status).toBe(200);
  });

  it('without API keys, http.bind 0.0.0.0 serves on loopback only, and says so', async () => {
    h = await startHarness('http:\n  bind: "0.0.0.0:0"', undefined, undefined, logLines);
    const port = h.gw.httpPort!;
    expect((await fetch(`http://127.0.0.1:${port}/api/v5/gateways/lwm2m/clients`)).status).toBe(200);
    expect(logged('http.api_keys is empty: the management API binds to loopback only (set http.api_keys to serve it on other interfaces)')).toEqual([
      expect.objectContaining({ level: 40, configured: '0.0.0.0:0', bind: '127.0.0.1:0' }),
    ]);
    expect(logged('management plane listening (API, events, metrics, health, console)')[0]).toMatchObject({ bind: `127.0.0.1:${port}` });
    // Not on the machine's other addresses (when it has one).
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
    if (external) {
      const refused = await new Promise<string>((resolve) => {
        const socket = net.connect(port, external.address);
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    }
  });

  it('/health/ready: 503 naming the broker when the broker connection is down, open all the same', async () => {
    const brokerHost = await startHarness();
    try {
      h = await startHarness(`${KEYS}\nmqtt:\n  url: mqtt://127.0.0.1:${brokerHost.gw.brokerPort}`);
      const ready = await fetch(url('/health/ready'));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', checks: { broker: { ok: true } } });
    } finally {
      await brokerHost.close();
    }
    let last: { status: number; body: unknown } = { status: 0, body: undefined };
    for (let i = 0; i < 100 && last.status !== 503; i++) {
      const res = await fetch(url('/health/ready'));
      last = { status: res.status, body: await res.json() };
      if (last.status !== 503) await new Promise((r) => setTimeout(r, 50));
    }
    expect(last).toEqual({
      status: 503,
      body: { status: 'not_ready', checks: expect.objectContaining({ broker: { ok: false, detail: 'the MQTT broker connection is down' }, listeners: expect.objectContaining({ ok: true }) }) },
    });
    expect((await fetch(url('/health/live'))).status).toBe(200);
  });

  describe('TLS (http.certfile, http.keyfile)', () => {
    let dir: string;
    let cert: Buffer;

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-https-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** GET over HTTPS trusting `ca`: the status and body, or the TLS error's code. */
    function httpsGet(port: number, p: string, ca: Buffer | undefined, headers: Record<string, string> = {}): Promise<{ status?: number; body?: string; error?: string }> {
      return new Promise((resolve) => {
        const req = https.request({ host: '127.0.0.1', port, path: p, ca, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
        req.end();
      });
    }

    it('serves HTTPS with the certificate: the API with the key, the events stream; plain HTTP is not answered', async () => {
      h = await startHarness(`${KEYS}\n  certfile: "${path.join(dir, 'cert.pem')}"\n  keyfile: "${path.join(dir, 'key.pem')}"`, undefined, undefined, logLines);
      const port = h.gw.httpPort!;
      expect(logged('management plane listening (API, events, metrics, health, console)')[0]).toMatchObject({ tls: true });

      const live = await httpsGet(port, '/health/live', cert);
      expect(live.status).toBe(200);
      expect(JSON.parse(live.body!)).toMatchObject({ status: 'live' });
      expect((await httpsGet(port, '/api/v5/gateways/lwm2m/clients', cert)).status).toBe(401);
      expect((await httpsGet(port, '/api/v5/gateways/lwm2m/clients', cert, ADMIN)).status).toBe(200);
      // A client that does not trust the certificate does not get through.
      expect((await httpsGet(port, '/health/live', undefined)).error).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');

      // Events over TLS: the stream head and a register event.
      const streamed = new Promise<string>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port, path: '/api/v5/gateways/lwm2m/events', ca: cert, headers: ADMIN }, (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (text.includes('\n\n')) {
              req.destroy();
              resolve(text);
            }
          });
          void h!.device({ endpoint: 'tls-ep' }).then((d) => d.register());
        });
        req.on('error', reject);
        req.end();
      });
      expect(await streamed).toMatch(/^id: \d+\nevent: register\ndata: \{"endpoint_name":"tls-ep","topic":"lwm2m\/tls-ep\/up\/register","message":\{/);

      // Plain HTTP to the HTTPS port gets no HTTP answer.
      const plain = await fetch(`http://127.0.0.1:${port}/health/live`).then(
        (res) => res.status,
        () => 'failed',
      );
      expect(plain).not.toBe(200);
    });
  });
});
