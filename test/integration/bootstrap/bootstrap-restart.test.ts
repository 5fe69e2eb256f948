/**
 * A PSK the bootstrap server minted for the gateway's own DTLS listener survives a restart: it is in
 * the store (embedded), so a device bootstrapped before the restart registers after it with its key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { startGateway, type RunningGateway } from '../../../src/app/app';
import { parseConfig } from '../../../src/app/config';
import { BootstrapTestClient } from '../../support/bootstrap-client';
import { freeUdpPort } from '../../support/ports';
import { TestDevice } from '../../support/test-device';

describe('provisioned PSKs across a restart (embedded store)', () => {
  let dir: string;
  let gw: RunningGateway | undefined;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-restart-'));
  });

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await gw?.close();
    gw = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(dtlsPort: number): Promise<RunningGateway> {
    const pskFile = path.join(dir, 'psk.yaml');
    if (!fs.existsSync(pskFile)) fs.writeFileSync(pskFile, '[]\n');
    const bootstrapFile = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(
      bootstrapFile,
      YAML.stringify({ defaults: { servers: [{ short_server_id: 3, uri: `coaps://127.0.0.1:${dtlsPort}`, security_mode: 'psk', psk_key: 'generate' }] } }),
    );
    const config = parseConfig(
      YAML.stringify({
        embedded_broker: { bind: '127.0.0.1:0' },
        http: { bind: '127.0.0.1:0' },
        log: { level: 'silent' },
        store: { type: 'embedded', dir: path.join(dir, 'store') },
        listeners: {
          udp: { bind: '127.0.0.1:0' },
          dtls: { enable: true, bind: `127.0.0.1:${dtlsPort}`, psk_file: pskFile },
          bootstrap_udp: { enable: true, bind: '127.0.0.1:0' },
        },
        bootstrap: { config_file: bootstrapFile, allow_keys_over_udp: true },
      }),
    );
    return startGateway(config, pino({ level: 'silent' }));
  }

  it('a device bootstrapped before the restart registers after it with the key it got', async () => {
    const dtlsPort = await freeUdpPort();
    gw = await start(dtlsPort);
    const client = await BootstrapTestClient.start({ endpoint: 'restart-1', version: '1.1', server: { host: '127.0.0.1', port: gw.bootstrapUdpPort! } });
    closers.push(() => client.close());
    expect((await client.requestBootstrap()).code).toBe('2.04');
    expect(await client.finished).toEqual({ code: '2.04' });
    const dm = client.dmServer()!;
    expect(dm.identity).toBe('restart-1');
    await gw.close();
    gw = undefined;

    gw = await start(dtlsPort);
    const device = await TestDevice.start({ endpoint: 'restart-1', dtls: dm.dtls!, gateway: dm.address! });
    closers.push(() => device.close());
    expect((await device.register()).code).toBe('2.01');
    // Still bound: without its key the endpoint may not register over plain UDP.
    const impostor = await TestDevice.start({ endpoint: 'restart-1', gateway: { host: '127.0.0.1', port: gw.udpPort } });
    closers.push(() => impostor.close());
    expect((await impostor.register()).code).toBe('4.03');
  });
});
