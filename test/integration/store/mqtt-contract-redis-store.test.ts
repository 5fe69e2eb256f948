import { REDIS_SERVER_MISSING, redisServerAvailable } from '../../support/redis-server';
import { defineMqttContractSuite } from '../suites/mqtt-contract.suite';

// The MQTT contract, unchanged, with the Redis store (a redis-server per harness); test:interop
// runs it against Mosquitto and requires redis-server.
if (redisServerAvailable()) defineMqttContractSuite('aedes', 'udp', 'redis');
else {
  console.warn(`${REDIS_SERVER_MISSING}: the MQTT contract suite with the Redis store is NOT RUN`);
  it('MQTT contract with the Redis store: NOT RUN, redis-server not found; install the Debian package redis-server', () => {
    expect(redisServerAvailable()).toBe(false);
  });
}
