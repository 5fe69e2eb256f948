import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContentFormat } from '../../../src/lwm2m/codec/content-format';
import { BootstrapTestClient } from '../../support/bootstrap-client';
import { startHarness, type Harness } from '../../support/harness';
import type { ReceivedMessage } from '../../support/mqtt-probe';

/**
 * A server reached over OSCORE (TS Core 1.1 §7.2.x): the bootstrap server writes the OSCORE
 * context to /21 before the Security instance whose /0/x/17 links it, and the master secret
 * never reaches MQTT.
 */
describe('bootstrap server: OSCORE context for a DM server', () => {
  // RFC 8613 Appendix C.1.1 client context.
  const MASTER_SECRET = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
  const MASTER_SALT = Buffer.from('9e7ca92223786340', 'hex');
  let h: Harness;
  let dir: string;
  let client: BootstrapTestClient | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-oscore-'));
    const configFile = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(configFile, 'endpoints: {}\n');
    h = await startHarness(
      [
        'listeners:\n  bootstrap_udp:\n    enable: true\n    bind: "127.0.0.1:0"',
        `bootstrap:\n  config_file: "${configFile}"\n  session_timeout: 4s\n  allow_keys_over_udp: true`,
      ].join('\n'),
    );
    fs.writeFileSync(
      configFile,
      [
        'endpoints:',
        '  "bs-oscore":',
        '    servers:',
        '      - short_server_id: 101',
        '        uri: "coap://oscore.example.com:5683"',
        '        security_mode: nosec',
        '        lifetime: 120',
        '        oscore:',
        `          master_secret: "${MASTER_SECRET.toString('hex')}"`,
        '          sender_id: ""',
        '          recipient_id: "01"',
        `          master_salt: "${MASTER_SALT.toString('hex')}"`,
      ].join('\n'),
    );
    h.gw.reloadCredentials();
  });

  afterAll(async () => {
    await client?.close();
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes /21/0 before /0/1, links it from /0/1/17, and keeps the master secret off MQTT', async () => {
    const ep = 'bs-oscore';
    const from = h.probe.mark();
    client = await BootstrapTestClient.start({
      endpoint: ep,
      version: '1.1',
      server: { host: '127.0.0.1', port: h.gw.bootstrapUdpPort! },
      supportedObjects: [21],
    });
    expect((await client.requestBootstrap()).code).toBe('2.04');
    expect(await client.finished).toEqual({ code: '2.04' });
    expect(client.requests.filter((r) => r.step === 'write').map((r) => [r.path, r.contentFormat])).toEqual([
      ['/21/0', ContentFormat.TLV],
      ['/0/1', ContentFormat.TLV],
      ['/1/0', ContentFormat.TLV],
    ]);
    expect(client.objects('/21/0').map((e) => [e.path, e.type, e.value])).toEqual([
      ['/21/0/0', 'opaque', MASTER_SECRET],
      ['/21/0/1', 'opaque', Buffer.alloc(0)],
      ['/21/0/2', 'opaque', Buffer.from('01', 'hex')],
      ['/21/0/3', 'integer', 10],
      ['/21/0/4', 'integer', -10],
      ['/21/0/5', 'opaque', MASTER_SALT],
    ]);
    expect(client.objects('/0/1/17').map((e) => [e.type, e.value])).toEqual([['objlnk', { objectId: 21, instanceId: 0 }]]);
    expect(client.dmServer()).toMatchObject({ uri: 'coap://oscore.example.com:5683', shortServerId: 101, mode: 3, securityInstanceId: 1 });

    const eventOf = (m: ReceivedMessage) => m.json.data as Record<string, unknown>;
    await h.probe.waitFor((m) => m.topic === `lwm2m/${ep}/up/bootstrap` && eventOf(m).status === 'finished', 8000, from);
    const published = h.probe.messages.slice(from);
    expect(published.length).toBeGreaterThan(0);
    for (const m of published) {
      expect(m.payload.includes(MASTER_SECRET)).toBe(false);
      for (const text of [MASTER_SECRET.toString('hex'), MASTER_SECRET.toString('base64'), MASTER_SECRET.toString('hex').toUpperCase()]) {
        expect(m.payload.toString('latin1')).not.toContain(text);
      }
    }
  });
});
