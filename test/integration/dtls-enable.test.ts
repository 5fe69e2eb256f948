/**
 * A `listeners.dtls` section that names credentials serves DTLS without `enable: true`; `enable: false`
 * keeps it off and the command line warns about the unused credentials at start.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { startGateway } from '../../src/app/app';
import { parseConfig } from '../../src/app/config';
import { CliProcess } from '../support/cli-process';
import { MqttProbe } from '../support/mqtt-probe';
import { freeTcpPort, freeUdpPort } from '../support/ports';
import { TestDevice } from '../support/test-device';

const hex = (text: string) => Buffer.from(text).toString('hex');

describe('listeners.dtls without enable', () => {
  let dir: string;
  let pskFile: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtls-enable-'));
    pskFile = path.join(dir, 'psk.yaml');
    fs.writeFileSync(pskFile, YAML.stringify([{ identity: 'dev-e', key: hex('secret-e') }]));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves DTLS when only bind and psk_file are written', async () => {
    const config = parseConfig(
      ['store:\n  type: memory', 'http:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:0"', 'listeners:\n  udp:\n    bind: "127.0.0.1:0"', `  dtls:\n    bind: "127.0.0.1:0"\n    psk_file: "${pskFile}"`].join('\n'),
    );
    const gw = await startGateway(config, pino({ level: 'silent' }));
    const probe = await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#');
    let device: TestDevice | undefined;
    try {
      expect(gw.dtlsPort).toBeGreaterThan(0);
      device = await TestDevice.start({ endpoint: 'dev-e', gateway: { host: '127.0.0.1', port: gw.dtlsPort! }, dtls: { identity: 'dev-e', key: 'secret-e' } });
      expect((await device.register()).code).toBe('2.01');
      const reg = await probe.waitOn('lwm2m/dev-e/up/register');
      expect(reg.json.data).toMatchObject({ ep: 'dev-e' });
    } finally {
      await device?.close();
      await probe.close();
      await gw.close();
    }
  });

  it('enable: false keeps DTLS off, and the command line warns at start', async () => {
    const udpPort = await freeUdpPort();
    const mqttPort = await freeTcpPort();
    const file = path.join(dir, 'gw-off.yaml');
    fs.writeFileSync(
      file,
      `store:\n  type: memory\nhttp:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:${mqttPort}"\nlisteners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"\n  dtls:\n    enable: false\n    psk_file: "${pskFile}"\n`,
    );
    const cli = CliProcess.start(file);
    try {
      await cli.until('lwm2m-gateway ready');
      const lines = cli.logLines();
      const warning = lines.find((line) => String(line.msg).startsWith('listeners.dtls.enable: false'));
      expect(warning).toMatchObject({ level: 40, msg: expect.stringContaining('although psk_file is set: no DTLS listener') });
      expect(lines.some((line) => line.msg === 'LwM2M over DTLS listening')).toBe(false);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      cli.kill();
    }
  });
});
