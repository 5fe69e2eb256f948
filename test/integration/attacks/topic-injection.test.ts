import { startHarness } from '../../support/harness';
import { defineTopicInjectionSuite } from '../suites/topic-injection.suite';

it('the suite below runs against the embedded aedes broker', async () => {
  const h = await startHarness('', 'aedes');
  try {
    expect(h.gw.brokerPort).toBeGreaterThan(0);
    expect(h.gw.mqttUrl).toBe(`mqtt://127.0.0.1:${h.gw.brokerPort}`);
  } finally {
    await h.close();
  }
});

defineTopicInjectionSuite('aedes');
