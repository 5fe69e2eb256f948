/**
 * Issue 11 acceptance: the gateway process (the CLI, default embedded store) is stopped between a
 * device's register + observe and its next Update and notification, by SIGTERM and by kill -9; the
 * MQTT side sees the notification and no 4.04.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliProcess } from '../../support/cli-process';
import { MqttProbe } from '../../support/mqtt-probe';
import { freeTcpPort, freeUdpPort } from '../../support/ports';
import { TestDevice } from '../../support/test-device';

jest.setTimeout(60_000);

describe('the CLI restarted with the embedded store keeps its devices', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-cli-restart-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const stop of ['SIGTERM', 'SIGKILL'] as const) {
    it(`stopped by ${stop === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} after register + observe: the Update gets 2.04 and the notification is published`, async () => {
      const udpPort = await freeUdpPort();
      const mqttPort = await freeTcpPort();
      const file = path.join(dir, 'gw.yaml');
      // store.dir relative to the working directory (the repository): an absolute one here.
      fs.writeFileSync(file, `store:\n  dir: "${path.join(dir, 'store')}"\nhttp:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:${mqttPort}"\nlisteners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"\nlog:\n  level: info\n`);
      const endpoint = `cli-restart-${stop.toLowerCase()}`;
      let cli = CliProcess.start(file);
      const device = await TestDevice.start({ endpoint, gateway: { host: '127.0.0.1', port: udpPort } });
      let probe: MqttProbe | undefined;
      try {
        await cli.until('lwm2m-gateway ready');
        probe = await MqttProbe.connect(`mqtt://127.0.0.1:${mqttPort}`, 'lwm2m/#');
        expect((await device.register()).code).toBe('2.01');
        await probe.publish(`lwm2m/${endpoint}/dn`, { reqID: 7, msgType: 'observe', data: { path: '/3/0/13' } });
        await probe.waitOn(`lwm2m/${endpoint}/up/resp`, { reqID: 7 });
        await probe.close();
        probe = undefined;
        if (stop === 'SIGKILL') {
          // At most the last second of changes may be lost (store.sync_interval 1 s): wait past it.
          await new Promise((r) => setTimeout(r, 1500));
          cli.kill();
          expect(await cli.exited).toBeNull();
        } else {
          cli.child.kill('SIGTERM');
          expect(await cli.exited).toBe(0);
        }
        cli = CliProcess.start(file);
        await cli.until('lwm2m-gateway ready');
        const restored = cli
          .logLines()
          .filter((l) => l.msg === 'state restored from the store')
          .pop();
        expect(restored).toMatchObject({ registrations: 1, observations: 1, commands: 0 });
        probe = await MqttProbe.connect(`mqtt://127.0.0.1:${mqttPort}`, 'lwm2m/#');
        expect((await device.update()).code).toBe('2.04');
        device.set('/3/0/13', 1_800_000_000);
        device.notify('/3/0/13', true);
        const notify = await probe.waitOn(`lwm2m/${endpoint}/up/notify`, { reqID: 7 });
        expect(notify.json).toMatchObject({ reqID: 7, msgType: 'notify', data: { reqPath: '/3/0/13', code: '2.05' } });
        expect(probe.messages.filter((m) => m.payload.toString().includes('"4.04"'))).toHaveLength(0);
        expect(probe.on(`lwm2m/${endpoint}/up/register`)).toHaveLength(0);
        cli.child.kill('SIGTERM');
        expect(await cli.exited).toBe(0);
      } finally {
        await probe?.close();
        await device.close();
        cli.kill();
      }
    });
  }
});
