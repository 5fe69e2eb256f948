import { defineMqttContractSuite } from './suites/mqtt-contract.suite';

defineMqttContractSuite('aedes');
