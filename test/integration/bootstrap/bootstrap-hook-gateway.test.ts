import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BootstrapTestClient } from '../../support/bootstrap-client';
import { brokerKind, startHarness, type Harness } from '../../support/harness';
import { TestDevice } from '../../support/test-device';

/**
 * A platform mints per-device credentials at first boot: the bootstrap hook answers with a PSK of its
 * own (`provision: true`), the gateway writes it into the device and into its own DTLS listener, and
 * the device registers over DTLS with it. `deny` refuses; `ignore` leaves the decision to the file.
 */
describe('bootstrap hook through the gateway', () => {
  let h: Harness;
  let dir: string;
  let hook: http.Server;
  const asked: Record<string, unknown>[] = [];
  const mintedKey = '00112233445566778899aabbccddeeff';
  const clients: BootstrapTestClient[] = [];
  const devices: TestDevice[] = [];

  beforeAll(async () => {
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const asking = JSON.parse(body) as Record<string, unknown>;
        asked.push(asking);
        res.setHeader('content-type', 'application/json');
        if (asking.ep === 'minted-1') {
          const config = { servers: [{ short_server_id: 5, uri: `coaps://127.0.0.1:${h.gw.dtlsPort}`, security_mode: 'psk', psk_identity: 'minted-1-id', psk_key: mintedKey, provision: true }] };
          res.end(JSON.stringify({ result: 'allow', config }));
        } else if (asking.ep === 'denied-1') res.end(JSON.stringify({ result: 'deny' }));
        else res.end(JSON.stringify({ result: 'ignore' }));
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookPort = (hook.address() as AddressInfo).port;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-hook-'));
    const configFile = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(configFile, 'defaults:\n  servers:\n    - short_server_id: 9\n      uri: "coap://127.0.0.1:5683"\n      security_mode: nosec\n');
    h = await startHarness(
      [
        'listeners:\n  bootstrap_udp:\n    enable: true\n    bind: "127.0.0.1:0"',
        // The platform's keys go over plain UDP here: allowed explicitly (the default refuses, 4.03).
        `bootstrap:\n  config_file: "${configFile}"\n  allow_keys_over_udp: true\n  http:\n    url: "http://127.0.0.1:${hookPort}/bootstrap"\n    body:\n      ep: "\${endpoint_name}"\n      peer: "\${peerhost}"\n      scheme: "\${scheme}"`,
      ].join('\n'),
      brokerKind(),
      'dtls',
    );
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const d of devices.splice(0)) await d.close();
  });

  afterAll(async () => {
    await h.close();
    await new Promise((r) => hook.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function client(endpoint: string): Promise<BootstrapTestClient> {
    const c = await BootstrapTestClient.start({ endpoint, version: '1.1', server: { host: '127.0.0.1', port: h.gw.bootstrapUdpPort! } });
    clients.push(c);
    return c;
  }

  it('writes the platform’s key into the device and the DTLS listener: the device registers with it', async () => {
    const c = await client('minted-1');
    expect((await c.requestBootstrap()).code).toBe('2.04');
    expect(await c.finished).toEqual({ code: '2.04' });
    expect(asked).toContainEqual({ ep: 'minted-1', peer: '127.0.0.1', scheme: 'coap' });
    const dm = c.dmServer()!;
    expect(dm).toMatchObject({ shortServerId: 5, identity: 'minted-1-id', mode: 0 });
    expect(dm.key!.toString('hex')).toBe(mintedKey);
    const device = await TestDevice.start({ endpoint: 'minted-1', dtls: dm.dtls!, gateway: dm.address! });
    devices.push(device);
    expect((await device.register()).code).toBe('2.01');
    const register = await h.probe.waitOn('lwm2m/minted-1/up/register');
    expect(register.json.data).toMatchObject({ security: 'psk', identity: 'minted-1-id' });
    // The provisioned identity is bound to its endpoint: it registers nothing else.
    const other = await TestDevice.start({ endpoint: 'someone-else', dtls: dm.dtls!, gateway: dm.address! });
    devices.push(other);
    expect((await other.register()).code).toBe('4.03');
  });

  it('refuses what the hook denies (4.03) and lets the file decide what it ignores', async () => {
    const denied = await client('denied-1');
    expect((await denied.requestBootstrap()).code).toBe('4.03');
    const ignored = await client('ignored-1');
    expect((await ignored.requestBootstrap()).code).toBe('2.04');
    expect(await ignored.finished).toEqual({ code: '2.04' });
    expect(ignored.dmServer()).toMatchObject({ shortServerId: 9, mode: 3 });
  });
});
