import { loadNativeDtls } from '../../../src/transport/dtls/native-binding';
import { Bystanders } from '../../support/bystanders';
import { closeSockets, openHalfOpenHandshakes } from '../../support/half-open-dtls';
import { startHarness, type Harness } from '../../support/harness';

const loaded = loadNativeDtls();
if (!loaded.ok) throw new Error(`the DTLS addon must be built by npm ci: ${loaded.reason}`);
const native = loaded.binding;

const BYSTANDERS = 50;
const ATTACK = 1000;
const PER_SOURCE = 100; // listeners.dtls.max_handshakes_per_source default

/**
 * Issue 9 finding 5c: DTLS handshakes that pass the cookie exchange and stop hold ~50 KB each until
 * the handshake timeout. An attacker on 127.0.0.2 opens 1,000 of them; the gateway keeps at most
 * max_handshakes_per_source, while 50 DTLS devices on 127.0.0.1 keep answering reads and a fresh
 * device handshakes and registers during and after the attack.
 */
describe('attack: half-open DTLS handshakes', () => {
  let h: Harness;
  /** The bystanders' read loop, stopped before the harness closes even when an assertion failed. */
  let reading: ReturnType<Bystanders['keepReading']> | undefined;
  afterEach(async () => {
    await reading?.stop();
    reading = undefined;
    await h?.close();
  });

  it('holds at most max_handshakes_per_source from the attacker; devices keep working', async () => {
    h = await startHarness('', undefined, 'dtls');
    const dtls = h.gw.dtls!;
    const bystanders = await Bystanders.start(h, BYSTANDERS);
    expect(dtls.stats().sessions).toBe(BYSTANDERS);

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    reading = bystanders.keepReading();
    const attack = await openHalfOpenHandshakes(native, { address: '127.0.0.1', port: h.gw.dtlsPort! }, ATTACK, '127.0.0.2', 20_000);
    try {
      expect(attack.cookieAnswered).toBe(ATTACK);
      // Wait until the gateway has taken in every ClientHello with a cookie.
      const deadline = Date.now() + 5000;
      while (dtls.stats().handshakeFailures < ATTACK - PER_SOURCE && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      global.gc?.();
      const rssAfter = process.memoryUsage().rss;
      const stats = dtls.stats();
      console.log(`dtls half-open: sessions ${stats.sessions}, half-open ${stats.halfOpen}, refused ${stats.handshakeFailures}, RSS +${((rssAfter - rssBefore) / 1e6).toFixed(1)} MB`);
      // Before the limit: 1,000 half-open sessions (~50 MB); now the attacker's 100 and the devices'.
      expect(stats.sessions).toBeLessThanOrEqual(BYSTANDERS + PER_SOURCE);
      expect(stats.halfOpen).toBe(PER_SOURCE);
      // Refused before any handshake work: only the admitted ones got a server flight.
      expect(attack.serverFlights()).toBeLessThanOrEqual(PER_SOURCE);

      // A device that was not there before handshakes (from 127.0.0.1) and registers during the attack.
      const during = await h.device({ endpoint: 'fresh-during' });
      expect((await during.register()).code).toBe('2.01');
    } finally {
      await closeSockets(attack.sockets);
    }
    const seen = await reading.stop();
    expect(seen.failures).toEqual([]);
    expect(seen.rounds).toBeGreaterThan(0);

    await bystanders.expectAllAnswer();
    const after = await h.device({ endpoint: 'fresh-after' });
    expect((await after.register()).code).toBe('2.01');
  }, 60_000);
});
