import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { registerAuthMetrics } from '../../../src/app/metrics/auth-metrics';
import { createHttpAuthAdmission, type HttpAuthOptions } from '../../../src/auth/http-auth-hook';
import type { RegistrationCandidate } from '../../../src/lwm2m/registration/admission';

/** An auth service answering by endpoint: allow, deny, HTTP 500, or never (held until closed). */
async function startAuthService(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const ep = (JSON.parse(body) as { endpoint_name: string }).endpoint_name;
      if (ep === 'silent') return; // never answered
      if (ep === 'broken') {
        res.statusCode = 500;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ result: ep === 'denied' ? 'deny' : 'allow' }));
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/auth`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function candidate(endpoint: string, address = '127.0.0.1'): RegistrationCandidate {
  return { endpoint, peer: { address, port: 5000 }, query: { ep: endpoint }, scheme: 'coap' };
}

describe('auth hook metrics', () => {
  let service: Awaited<ReturnType<typeof startAuthService>>;
  beforeAll(async () => {
    service = await startAuthService();
  });
  afterAll(async () => {
    await service.close();
  });

  it('count each request by how it ended and time those that were asked', async () => {
    const options: HttpAuthOptions = { url: service.url, method: 'post', headers: {}, body: { endpoint_name: '${endpoint_name}' }, timeoutSeconds: 0.3, maxInFlight: 100, maxInFlightPerSource: 1 };
    const hook = createHttpAuthAdmission(options, { udp: true, dtls: true }, pino({ level: 'silent' }));
    const registry = new Registry();
    registerAuthMetrics(registry, hook);

    expect(await hook(candidate('ok', '10.0.0.1'))).toEqual({ allowed: true });
    expect(await hook(candidate('denied', '10.0.0.2'))).toMatchObject({ allowed: false, code: '4.01' });
    expect(await hook(candidate('broken', '10.0.0.3'))).toMatchObject({ allowed: false, code: '4.01' });
    const silent = hook(candidate('silent', '10.0.0.4'));
    // A second register from the same source while the first waits: refused at once, never asked.
    expect(await hook(candidate('ok', '10.0.0.4'))).toMatchObject({ allowed: false, code: '5.03' });
    expect(await silent).toMatchObject({ allowed: false, code: '4.01' });

    const json = await registry.getMetricsAsJSON();
    const requests = json.find((m) => m.name === 'lwm2m_auth_requests_total')!.values.map((v) => [v.labels.result, v.value]);
    expect(Object.fromEntries(requests)).toEqual({ allow: 1, deny: 1, error: 1, timeout: 1, busy: 1 });
    // Four requests were asked (busy was not): each is in the +Inf bucket.
    const duration = json.find((m) => m.name === 'lwm2m_auth_request_duration_seconds')!.values;
    expect(duration.find((v) => v.labels.le === '+Inf')?.value).toBe(4);
  });
});
