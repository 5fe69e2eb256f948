import type { Registry } from 'prom-client';
import type { BrokerClient } from '../../mqtt/broker-client';
import { counterReadAtScrape, gaugeReadAtScrape } from './read-at-scrape';

/** The broker connection, read from the client at scrape time. */
export function registerMqttMetrics(registry: Registry, mqtt: BrokerClient): void {
  gaugeReadAtScrape({ registry, name: 'lwm2m_mqtt_connected', help: '1 while the MQTT broker connection is up, else 0', read: (sink) => sink({}, mqtt.connected ? 1 : 0) });
  gaugeReadAtScrape({ registry, name: 'lwm2m_mqtt_pending_publishes', help: 'QoS 1/2 publishes the broker has not acknowledged yet (including those kept while disconnected)', read: (sink) => sink({}, mqtt.pendingPublishes) });
  counterReadAtScrape({ registry, name: 'lwm2m_mqtt_published_total', help: 'Messages published (QoS 0 ones written to the connection, QoS 1/2 ones handed to the client)', read: (sink) => sink({}, mqtt.counts.published) });
  counterReadAtScrape({ registry, name: 'lwm2m_mqtt_dropped_total', help: 'QoS 0 messages dropped while the broker connection was down', read: (sink) => sink({}, mqtt.counts.dropped) });
}
