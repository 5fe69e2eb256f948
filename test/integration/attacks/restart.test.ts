/**
 * Finding 7 of the hardening issue: after a restart (registrations are not persisted yet) a
 * device's update names a registration the gateway no longer holds. It gets 4.04 and registers
 * again (LwM2M TS Core §6.2.2); nothing is published for the unknown registration, and the
 * gateway logs it (once per source per 10 s).
 */
import pino from 'pino';
import { startGateway, type RunningGateway } from '../../../src/app/app';
import { parseConfig } from '../../../src/app/config';
import { MqttProbe } from '../../support/mqtt-probe';
import { freeUdpPort } from '../../support/ports';
import { RawDevice } from '../../support/raw-device';

async function start(udpPort: number, lines: string[]): Promise<{ gw: RunningGateway; probe: MqttProbe }> {
  const config = parseConfig(`store:\n  type: memory\nhttp:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:0"\nlisteners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"\n`);
  const gw = await startGateway(config, pino({ level: 'info' }, { write: (line: string) => lines.push(line) }));
  return { gw, probe: await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#') };
}

describe('a gateway restart', () => {
  it('answers the update of a registration it lost with 4.04, publishes nothing for it, logs it, and takes the new register', async () => {
    const port = await freeUdpPort();
    const before: string[] = [];
    const first = await start(port, before);
    const device = await RawDevice.start(port, '127.0.0.2');
    try {
      const res = await device.register('survivor', ['lt=300', 'password=never-logged']);
      expect(res.code).toBe('2.01');
      const location = res.options.filter((o) => o.name === 'Location-Path').map((o) => o.value.toString());
      await first.probe.close();
      await first.gw.close();

      const lines: string[] = [];
      const second = await start(port, lines);
      try {
        for (let i = 0; i < 3; i++) {
          expect((await device.request('POST', location, [], { token: Buffer.from([i]) })).code).toBe('4.04');
        }
        const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request for an unknown registration');
        expect(logged).toHaveLength(1); // three updates, one line
        expect(logged[0]).toMatchObject({ code: '4.04', peer: expect.stringMatching(/^127\.0\.0\.2:/) });
        expect(String(logged[0].reason)).toMatch(/unknown registration .* register again/);
        expect(second.probe.messages).toEqual([]);

        expect((await device.register('survivor', ['lt=300'])).code).toBe('2.01');
        await second.probe.waitOn('lwm2m/survivor/up/register');
        expect([...before, ...lines].join('\n')).not.toContain('never-logged');
      } finally {
        await second.probe.close();
        await second.gw.close();
      }
    } finally {
      await device.close();
    }
  });
});
