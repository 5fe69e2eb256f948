import { startHarness } from '../../support/harness';
import { defineMqttContractSuite } from '../suites/mqtt-contract.suite';

it('the harness gives the gateway store.type memory when asked: its start-up summary says so', async () => {
  const lines: string[] = [];
  const h = await startHarness('', 'aedes', 'udp', lines, 'info', 'memory');
  try {
    const summary = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'lwm2m-gateway ready');
    expect(summary?.store).toBe('memory (state is lost at restart)');
  } finally {
    await h.close();
  }
});

// The MQTT contract, unchanged, with store.type memory (state in the engine's maps, nothing written).
defineMqttContractSuite('aedes', 'udp', 'memory');
