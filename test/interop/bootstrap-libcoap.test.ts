/**
 * The bootstrap server against libcoap (Debian libcoap3-bin): coap-client-openssl sends the
 * Bootstrap-Request and Bootstrap-Pack-Request over UDP and DTLS PSK; over UDP, coap-server-openssl
 * bound to the port the request came from then plays the device's CoAP server, and the whole
 * Delete / Write / Finish sequence lands in it (read back with coap-client and decoded).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { decodeEntries } from '../../src/lwm2m/codec';
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { ObjectModel } from '../../src/lwm2m/model/object-model';
import type { Entry } from '../../src/lwm2m/node';
import { startHarness, type Harness } from '../support/harness';
import type { ReceivedMessage } from '../support/mqtt-probe';
import { COAP_SERVER as SERVER, coapClient } from '../support/libcoap';
import { freeUdpPort } from '../support/ports';

const model = ObjectModel.withBuiltins();
const fixture = (name: string) => path.join(__dirname, '../fixtures/dtls', name);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bootstrap server with libcoap (coap-client-openssl, coap-server-openssl)', () => {
  let h: Harness;
  let dir: string;
  let server: ChildProcess | undefined;
  const identities = {
    'libcoap-bs-a': { key: 'libcoap-bs-key-a', endpoint: 'libcoap-dtls-a' },
    'libcoap-bs-b': { key: 'libcoap-bs-key-b', endpoint: 'libcoap-dtls-b' },
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-libcoap-'));
    const pskFile = path.join(dir, 'bs-psk.yaml');
    fs.writeFileSync(pskFile, YAML.stringify(Object.entries(identities).map(([identity, e]) => ({ identity, key: Buffer.from(e.key).toString('hex'), endpoint: e.endpoint }))));
    const configFile = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(configFile, 'endpoints: {}\n');
    h = await startHarness(
      [
        `listeners:\n  bootstrap_udp:\n    enable: true\n    bind: "127.0.0.1:0"\n  bootstrap_dtls:\n    enable: true\n    bind: "127.0.0.1:0"\n    psk_file: "${pskFile}"` +
          `\n    certfile: "${fixture('server.pem')}"\n    keyfile: "${fixture('server.key.pem')}"\n    cacertfile: "${fixture('ca.pem')}"\n    verify: verify_peer`,
        `bootstrap:\n  config_file: "${configFile}"\n  session_timeout: 4s`,
      ].join('\n'),
    );
    // A CoAP server is no LwM2M client: no Bootstrap-Discover (it would serve its text index at /).
    // A pack needs its Security instance id fixed (there is no Discover before it).
    const entry = (ssid: number) => ({ discover: false, delete: ['/0', '/1'], servers: [{ short_server_id: ssid, uri: `coap://127.0.0.1:${h.gw.udpPort}`, security_mode: 'nosec', lifetime: 600, security_instance_id: 1 }] });
    fs.writeFileSync(configFile, YAML.stringify({ endpoints: { 'libcoap-udp': entry(11), 'libcoap-dtls-a': entry(12), 'libcoap-dtls-b': entry(13), 'dev-cert-1': entry(14) } }));
    h.gw.reloadCredentials();
  });

  afterEach(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    server = undefined;
  });

  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const eventOf = (m: ReceivedMessage) => m.json.data as Record<string, unknown>;
  const waitEvent = (ep: string, status: string, from: number, timeoutMs = 15000) =>
    h.probe.waitFor((m) => m.topic === `lwm2m/${ep}/up/bootstrap` && eventOf(m).status === status, timeoutMs, from);

  /** GETs a resource from the libcoap "device" and decodes its TLV. */
  async function readBack(port: number, target: string): Promise<Entry[]> {
    const file = path.join(dir, `read-${target.replace(/\//g, '_')}`);
    const res = await coapClient(['-m', 'get', '-o', file, `coap://127.0.0.1:${port}${target}`]);
    expect(res.status).toBe(0);
    const ids = target.split('/').filter(Boolean).map(Number);
    return decodeEntries(ContentFormat.TLV, fs.readFileSync(file), { objectId: ids[0], instanceId: ids[1] }, model);
  }

  it('over UDP: coap-client requests, coap-server receives Delete, Write and Finish in order', async () => {
    const port = await freeUdpPort();
    const from = h.probe.mark();
    const req = await coapClient(['-m', 'post', '-p', String(port), '-A', '127.0.0.1', '-v', '7', `coap://127.0.0.1:${h.gw.bootstrapUdpPort}/bs?ep=libcoap-udp`]);
    expect(req.status).toBe(0);
    expect(req.output).toMatch(/c:2\.04/);
    await waitEvent('libcoap-udp', 'started', from);
    // The "device" takes over the port: the gateway's first request is retransmitted until it answers.
    server = spawn(SERVER, ['-A', '127.0.0.1', '-p', String(port), '-d', '10'], { stdio: 'ignore' });
    await pause(300);
    // Bootstrap-Finish is POST /bs: coap-server answers POST only on a resource that exists.
    expect((await coapClient(['-m', 'put', '-e', '', `coap://127.0.0.1:${port}/bs`])).status).toBe(0);
    const finished = await waitEvent('libcoap-udp', 'finished', from);
    expect(eventOf(finished)).toEqual({ ep: 'libcoap-udp', status: 'finished', step: 'finish', code: '2.04', lwm2m: '1.0', security: 'none' });

    const security = await readBack(port, '/0/1');
    expect(security).toEqual(
      expect.arrayContaining([
        { path: '/0/1/0', type: 'string', value: `coap://127.0.0.1:${h.gw.udpPort}` },
        { path: '/0/1/1', type: 'boolean', value: false },
        { path: '/0/1/2', type: 'integer', value: 3 },
        { path: '/0/1/10', type: 'integer', value: 11 },
      ]),
    );
    const serverInstance = await readBack(port, '/1/0');
    expect(serverInstance).toEqual(expect.arrayContaining([
      { path: '/1/0/0', type: 'integer', value: 11 },
      { path: '/1/0/1', type: 'integer', value: 600 },
      { path: '/1/0/7', type: 'string', value: 'U' },
    ]));
  });

  it('over DTLS PSK: the Bootstrap-Request is accepted for the credential’s endpoint; the device that leaves fails the session', async () => {
    const from = h.probe.mark();
    const req = await coapClient(['-m', 'post', '-u', 'libcoap-bs-a', '-k', identities['libcoap-bs-a'].key, '-v', '7', `coaps://127.0.0.1:${h.gw.bootstrapDtlsPort}/bs?ep=libcoap-dtls-a`]);
    expect(req.status).toBe(0);
    expect(req.output).toMatch(/c:2\.04/);
    expect(eventOf(await waitEvent('libcoap-dtls-a', 'started', from))).toMatchObject({ security: 'psk' });
    const failed = eventOf(await waitEvent('libcoap-dtls-a', 'failed', from));
    expect(failed).toMatchObject({ ep: 'libcoap-dtls-a', status: 'failed', step: 'delete' });
  });

  it('over DTLS PSK: a Bootstrap-Pack-Request gets the whole configuration in SenML CBOR', async () => {
    const file = path.join(dir, 'pack.cbor');
    const from = h.probe.mark();
    const res = await coapClient(['-m', 'get', '-u', 'libcoap-bs-b', '-k', identities['libcoap-bs-b'].key, '-o', file, `coaps://127.0.0.1:${h.gw.bootstrapDtlsPort}/bspack?ep=libcoap-dtls-b`]);
    expect(res.status).toBe(0);
    const entries = decodeEntries(ContentFormat.SENML_CBOR, fs.readFileSync(file), {}, model);
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/0/1/0', value: `coap://127.0.0.1:${h.gw.udpPort}` }),
        expect.objectContaining({ path: '/0/1/10', value: 13 }),
        expect.objectContaining({ path: '/1/0/0', value: 13 }),
      ]),
    );
    expect(eventOf(await waitEvent('libcoap-dtls-b', 'finished', from))).toMatchObject({ step: 'pack', code: '2.05', security: 'psk' });
  });

  it('over DTLS PSK: another credential’s endpoint is 4.03; an endpoint with no configuration 4.01', async () => {
    const wrong = await coapClient(['-m', 'post', '-u', 'libcoap-bs-b', '-k', identities['libcoap-bs-b'].key, '-v', '7', `coaps://127.0.0.1:${h.gw.bootstrapDtlsPort}/bs?ep=libcoap-dtls-a`]);
    expect(wrong.output).toMatch(/4\.03/);
    const unknown = await coapClient(['-m', 'post', '-v', '7', `coap://127.0.0.1:${h.gw.bootstrapUdpPort}/bs?ep=libcoap-nobody`]);
    expect(unknown.output).toMatch(/4\.01/);
  });

  it('over DTLS with an X.509 client certificate: the certificate’s CN bootstraps (pack), another endpoint is 4.03', async () => {
    const cert = ['-c', fixture('client.pem'), '-j', fixture('client.key.pem'), '-C', fixture('ca.pem')];
    const file = path.join(dir, 'pack-x509.cbor');
    const from = h.probe.mark();
    const res = await coapClient(['-m', 'get', ...cert, '-o', file, `coaps://127.0.0.1:${h.gw.bootstrapDtlsPort}/bspack?ep=dev-cert-1`]);
    expect(res.status).toBe(0);
    const entries = decodeEntries(ContentFormat.SENML_CBOR, fs.readFileSync(file), {}, model);
    expect(entries).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/0/1/10', value: 14 })]));
    expect(eventOf(await waitEvent('dev-cert-1', 'finished', from))).toMatchObject({ step: 'pack', security: 'x509' });
    const other = await coapClient(['-m', 'post', ...cert, '-v', '7', `coaps://127.0.0.1:${h.gw.bootstrapDtlsPort}/bs?ep=libcoap-udp`]);
    expect(other.output).toMatch(/4\.03/);
  });
});
