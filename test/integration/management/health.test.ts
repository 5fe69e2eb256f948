import { EmbeddedBroker } from '../../../src/mqtt/embedded-broker';
import { startHarness, type Harness } from '../../support/harness';
import { REDIS_SERVER_MISSING, redisServerAvailable, startRedisServer, type RedisServer } from '../../support/redis-server';

interface Ready {
  status: string;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

async function getJson(port: number, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.json() };
}

/** Polls /health/ready until it answers `status` (the broker client and Redis notice a loss within a second or two). */
async function readyBecomes(port: number, status: number, timeoutMs = 15_000): Promise<Ready> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await getJson(port, '/health/ready');
    if (res.status === status || Date.now() > deadline) {
      expect(res.status).toBe(status);
      return res.body as Ready;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('health endpoints', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('/health/live answers 200 and /health/ready 200 naming each part, with the API keys set and no credentials', async () => {
    h = await startHarness('http:\n  api_keys:\n    - key: admin\n      secret: "s3cret-pass"');
    const port = h.gw.httpPort!;
    const live = await getJson(port, '/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'live' });
    const ready = await getJson(port, '/health/ready');
    expect(ready.status).toBe(200);
    const body = ready.body as Ready;
    expect(body.status).toBe('ready');
    expect(Object.keys(body.checks).sort()).toEqual(['broker', 'listeners', 'state', 'store']);
    expect(Object.values(body.checks).every((part) => part.ok)).toBe(true);
    expect(body.checks.listeners.detail).toBe('udp');
  });

  it('/health/ready is 503 naming the broker while the broker is gone, and 200 again when it is back', async () => {
    const broker = await EmbeddedBroker.start('127.0.0.1', 0);
    const port = broker.port;
    let again: EmbeddedBroker | undefined;
    try {
      h = await startHarness(`mqtt:\n  url: mqtt://127.0.0.1:${port}\n  reconnect_period: 1`, 'aedes', 'udp', undefined, 'info', 'memory');
      const httpPort = h.gw.httpPort!;
      await readyBecomes(httpPort, 200);
      await broker.close();
      const down = await readyBecomes(httpPort, 503);
      expect(down.status).toBe('not_ready');
      expect(down.checks.broker).toEqual({ ok: false, detail: 'the MQTT broker connection is down' });
      expect(down.checks.listeners.ok).toBe(true);
      // The devices' side keeps working meanwhile: a device still registers.
      const d = await h.device({ endpoint: 'health-dev' });
      expect((await d.register()).code).toBe('2.01');
      expect(h.gw.gateway.engine.device('health-dev')).toBeDefined();
      again = await EmbeddedBroker.start('127.0.0.1', port);
      await readyBecomes(httpPort, 200);
    } finally {
      await h?.close();
      h = undefined;
      await again?.close();
      await broker.close();
    }
  });

  if (redisServerAvailable()) {
    it('/health/ready is 503 naming the store while Redis is gone', async () => {
      let redis: RedisServer | undefined = await startRedisServer();
      try {
        h = await startHarness(`store:\n  type: redis\n  url: ${redis.url}`, 'aedes', 'udp', undefined, 'info', 'memory');
        const httpPort = h.gw.httpPort!;
        expect((await readyBecomes(httpPort, 200)).checks.store).toEqual({ ok: true, detail: 'redis' });
        await redis.stop();
        redis = undefined;
        const down = await readyBecomes(httpPort, 503);
        expect(down.checks.store.ok).toBe(false);
        expect(down.checks.store.detail).toMatch(/Redis/);
        expect(down.checks.broker.ok).toBe(true);
      } finally {
        await h?.close();
        h = undefined;
        await redis?.stop();
      }
    });
  } else {
    console.warn(`${REDIS_SERVER_MISSING}: the Redis health test is NOT RUN`);
    it('store health with Redis: NOT RUN, redis-server not found; install the Debian package redis-server', () => {
      expect(redisServerAvailable()).toBe(false);
    });
  }
});
