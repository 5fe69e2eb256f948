import { openRedisStore } from '../../src/lwm2m/store';
import { REDIS_SERVER_MISSING, redisServerAvailable, startRedisServer, type RedisServer } from '../support/redis-server';
import { storeSuite } from '../suites/store.suite';

// Required here (npm test only warns): CI installs the Debian package redis-server.
it('redis-server is installed (Debian package "redis-server")', () => {
  if (!redisServerAvailable()) throw new Error(REDIS_SERVER_MISSING);
});

let server: RedisServer | undefined;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server?.stop());

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
