import { startHarness } from '../support/harness';
import { defineMqttContractSuite } from './suites/mqtt-contract.suite';

it('the devices of the DTLS run really register over DTLS, with their PSK identity', async () => {
  const h = await startHarness('', 'aedes', 'dtls');
  try {
    const d = await h.device({ endpoint: 'over-dtls' });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/over-dtls/up/register');
    expect(h.gw.dtls?.stats().sessions).toBe(1);
    expect(h.gw.server.store.byEndpoint('over-dtls')?.peer.identity).toEqual({ kind: 'psk', name: 'over-dtls', endpoints: ['over-dtls'] });
  } finally {
    await h.close();
  }
});

// The whole MQTT-level suite with every test device on DTLS (PSK, node-dtls-client), against aedes:
// every command behaves as over plain UDP.
defineMqttContractSuite('aedes', 'dtls');
