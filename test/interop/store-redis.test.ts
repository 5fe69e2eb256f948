import { openRedisStore } from '../../src/lwm2m/store';
import { REDIS_SERVER_MISSING, redisServerAvailable, startRedisServer, type RedisServer } from '../support/redis-server';
import { reg, storeSuite } from '../suites/store.suite';

// Required here (npm test only warns): CI installs the Debian package redis-server.
it('redis-server is installed (Debian package "redis-server")', () => {
  if (!redisServerAvailable()) throw new Error(REDIS_SERVER_MISSING);
  expect(redisServerAvailable()).toBe(true);
});

let server: RedisServer | undefined;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server?.stop());

it('runs against the redis-server started for it: what one client writes, another client reads', async () => {
  const writer = await openRedisStore(url(), { keyPrefix: 'check:' });
  const reader = await openRedisStore(url(), { keyPrefix: 'check:' });
  try {
    await writer.registrations.add(reg('id-check', 'ep-check'));
    expect((await reader.registrations.byEndpoint('ep-check'))?.id).toBe('id-check');
  } finally {
    await writer.close();
    await reader.close();
  }
});

let n = 0;
let prefix = '';
const url = () => (server as RedisServer).url;
storeSuite('redis (redis-server)', {
  open: () => openRedisStore(url(), { keyPrefix: (prefix = `i${++n}:`) }),
  reopen: async (store) => {
    await store.close();
    return openRedisStore(url(), { keyPrefix: prefix });
  },
});
