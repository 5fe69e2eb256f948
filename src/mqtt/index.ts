export { BrokerClient, type BrokerClientEvents, type BrokerClientOptions, type MessageHandler, type QoS } from './broker-client';
export { EmbeddedBroker } from './embedded-broker';
