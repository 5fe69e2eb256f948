import type { Registry } from 'prom-client';
import type { DtlsTransport, HandshakeFailure } from '../../transport/dtls-transport';
import { counterReadAtScrape, gaugeReadAtScrape } from './read-at-scrape';

const FAILURES: readonly HandshakeFailure[] = ['failed', 'timeout', 'refused_full', 'refused_handshakes'];

/** The DTLS listener's sessions and handshakes, read from its stats at scrape time. */
export function registerDtlsMetrics(registry: Registry, dtls: DtlsTransport): void {
  gaugeReadAtScrape({ registry, name: 'lwm2m_dtls_sessions', help: 'DTLS sessions (established, or handshaking past the cookie exchange)', read: (sink) => sink({}, dtls.stats().sessions) });
  gaugeReadAtScrape({ registry, name: 'lwm2m_dtls_handshakes_in_progress', help: 'DTLS handshakes past the cookie exchange and not finished', read: (sink) => sink({}, dtls.stats().halfOpen) });
  counterReadAtScrape({
    registry,
    name: 'lwm2m_dtls_handshakes_total',
    help: 'DTLS handshakes by result: ok, failed (an error or alert), timeout, refused_full (max_sessions), refused_handshakes (max_handshakes, per source or in total)',
    labelNames: ['result'],
    read(sink) {
      const stats = dtls.stats();
      sink({ result: 'ok' }, stats.handshakes);
      for (const result of FAILURES) sink({ result }, stats.handshakeFailuresBy[result]);
    },
  });
  counterReadAtScrape({ registry, name: 'lwm2m_dtls_cookie_exchanges_total', help: 'HelloVerifyRequests sent (stateless cookie exchanges)', read: (sink) => sink({}, dtls.stats().cookieExchanges) });
  counterReadAtScrape({ registry, name: 'lwm2m_dtls_dropped_total', help: 'Datagrams dropped: records no session could take, and messages to a peer without a session', read: (sink) => sink({}, dtls.stats().dropped) });
}
