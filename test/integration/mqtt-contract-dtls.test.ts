import { defineMqttContractSuite } from './suites/mqtt-contract.suite';

// The whole MQTT-level suite with every test device on DTLS (PSK, node-dtls-client), against aedes:
// every command behaves as over plain UDP.
defineMqttContractSuite('aedes', 'dtls');
