import { defineMqttContractSuite } from '../integration/suites/mqtt-contract.suite';

// The same MQTT-level suite as `npm test`, against Mosquitto run as a separate process.
defineMqttContractSuite('mosquitto');
