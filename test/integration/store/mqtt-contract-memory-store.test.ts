import { defineMqttContractSuite } from '../suites/mqtt-contract.suite';

// The MQTT contract, unchanged, with store.type memory (state in the engine's maps, nothing written).
defineMqttContractSuite('aedes', 'udp', 'memory');
