import type { Registry } from 'prom-client';
import type { CoapEndpoint } from '../../coap';
import { counterReadAtScrape, gaugeReadAtScrape } from './read-at-scrape';

/** The CoAP endpoint of each listener that runs. */
export interface CoapListeners {
  readonly udp?: CoapEndpoint;
  readonly dtls?: CoapEndpoint;
}

/** The message layer of each listener, read from its counters and tables at scrape time. */
export function registerCoapMetrics(registry: Registry, listeners: CoapListeners): void {
  const running = (['udp', 'dtls'] as const).flatMap((listener) => {
    const endpoint = listeners[listener];
    return endpoint ? [{ listener, endpoint }] : [];
  });
  counterReadAtScrape({
    registry,
    name: 'lwm2m_coap_retransmissions_total',
    help: 'Confirmable messages sent again for want of an ACK, by listener',
    labelNames: ['listener'],
    read: (sink) => running.forEach(({ listener, endpoint }) => sink({ listener }, endpoint.counts.retransmissions)),
  });
  counterReadAtScrape({
    registry,
    name: 'lwm2m_coap_timeouts_total',
    help: 'Exchanges that ended unanswered (a confirmable message given up after max_retransmit, or no response within the exchange lifetime), by listener',
    labelNames: ['listener'],
    read: (sink) => running.forEach(({ listener, endpoint }) => sink({ listener }, endpoint.counts.timeouts)),
  });
  counterReadAtScrape({
    registry,
    name: 'lwm2m_coap_blockwise_transfers_total',
    help: 'Bodies carried in blocks (RFC 7959), by listener and direction: received (reassembled) or sent (begun)',
    labelNames: ['listener', 'direction'],
    read(sink) {
      for (const { listener, endpoint } of running) {
        sink({ listener, direction: 'received' }, endpoint.counts.blockwiseReceived);
        sink({ listener, direction: 'sent' }, endpoint.counts.blockwiseSent);
      }
    },
  });
  counterReadAtScrape({
    registry,
    name: 'lwm2m_notifications_received_total',
    help: 'Notifications received from devices for an open observation (fresh by RFC 7641 ordering), by listener',
    labelNames: ['listener'],
    read: (sink) => running.forEach(({ listener, endpoint }) => sink({ listener }, endpoint.counts.notifications)),
  });
  gaugeReadAtScrape({
    registry,
    name: 'lwm2m_coap_exchanges_open',
    help: 'Requests to devices waiting for their response, and observations, by listener',
    labelNames: ['listener'],
    read: (sink) => running.forEach(({ listener, endpoint }) => sink({ listener }, endpoint.stats().exchanges)),
  });
}
