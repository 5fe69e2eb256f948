import { findMosquitto } from '../../bench/mosquitto';
import { REDIS_SERVER_MISSING, redisServerAvailable } from '../support/redis-server';
import { defineMqttContractSuite } from '../integration/suites/mqtt-contract.suite';

it('Mosquitto and redis-server are installed (Debian packages "mosquitto", "redis-server")', () => {
  expect(findMosquitto()).toBeDefined();
  if (!redisServerAvailable()) throw new Error(REDIS_SERVER_MISSING);
});

// Several gateway instances share state through Redis: the contract over Mosquitto with that store.
defineMqttContractSuite('mosquitto', 'udp', 'redis');
