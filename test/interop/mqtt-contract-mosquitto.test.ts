import { findMosquitto } from '../../bench/mosquitto';
import { defineMqttContractSuite } from '../integration/suites/mqtt-contract.suite';

it('Mosquitto is installed (Debian package "mosquitto")', () => {
  expect(findMosquitto()).toBeDefined();
});

// The same MQTT-level suite as `npm test`, against Mosquitto run as a separate process.
defineMqttContractSuite('mosquitto');
