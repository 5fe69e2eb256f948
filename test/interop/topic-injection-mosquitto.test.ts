/** The topic-injection attack against Mosquitto, which drops a client that publishes a wildcard topic. */
import { startHarness } from '../support/harness';
import { defineTopicInjectionSuite } from '../integration/suites/topic-injection.suite';

it('the suite below runs against a Mosquitto process, not the embedded broker', async () => {
  const h = await startHarness('', 'mosquitto');
  try {
    expect(h.gw.brokerPort).toBeUndefined();
    expect(h.gw.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
  } finally {
    await h.close();
  }
});

defineTopicInjectionSuite('mosquitto');
