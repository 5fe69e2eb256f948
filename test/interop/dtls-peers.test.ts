/**
 * Third-party DTLS peers from Debian against the gateway's DTLS listener: `openssl s_client -dtls1_2`
 * and `gnutls-cli --udp` (PSK and certificate, carrying a CoAP register written to their stdin), and
 * libcoap's `coap-client-openssl` / `coap-client-gnutls` registering over coaps:// with PSK and with a
 * client certificate. Wrong keys, unknown identities, rogue certificates and endpoint mismatches are
 * refused.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate, parse } from 'coap-packet';
import pino from 'pino';
import YAML from 'yaml';
import { startGateway, type RunningGateway } from '../../src/app/app';
import { parseConfig } from '../../src/app/config';
import { MqttProbe } from '../support/mqtt-probe';

const FIXTURES = path.join(__dirname, '../fixtures/dtls');
const fixture = (name: string) => path.join(FIXTURES, name);
const hex = (text: string) => Buffer.from(text).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a peer asynchronously (the gateway lives in this process), writes `input` to its stdin once
 * it has started, and ends it after `ms` if it is still running.
 */
function runPeer(cmd: string, args: string[], input: Buffer | undefined, ms: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    if (input) setTimeout(() => child.stdin.write(input), 700);
    const timer = setTimeout(() => child.kill('SIGTERM'), ms);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(stdout), stderr });
    });
  });
}

/** A CoAP CON POST /rd?ep=<ep> with a link payload: what a device sends first. */
function registerDatagram(ep: string, messageId: number): Buffer {
  return generate({
    confirmable: true,
    code: '0.02',
    messageId,
    token: Buffer.from([1, 2, 3, 4]),
    options: [
      { name: 'Uri-Path', value: Buffer.from('rd') },
      { name: 'Content-Format', value: Buffer.from([40]) },
      { name: 'Uri-Query', value: Buffer.from(`ep=${ep}`) },
      { name: 'Uri-Query', value: Buffer.from('lt=60') },
    ],
    payload: Buffer.from('</3/0>'),
  });
}

/** The CoAP response code in a peer's stdout (the decrypted answer it printed), if any. */
function answerCode(stdout: Buffer): string | undefined {
  if (stdout.length < 4) return undefined;
  try {
    return parse(stdout).code;
  } catch {
    return undefined;
  }
}

const GNUTLS_PSK_PRIORITY = 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:+AES-128-GCM:-MAC-ALL:+AEAD:+SHA256';
const GNUTLS_CERT_PRIORITY = 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-128-CCM-8:+AES-128-GCM:-MAC-ALL:+AEAD';

describe('DTLS interop with openssl, gnutls and libcoap peers', () => {
  let dir: string;
  let gw: RunningGateway;
  let probe: MqttProbe;
  let port: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtls-interop-'));
    const pskFile = path.join(dir, 'psk.yaml');
    fs.writeFileSync(
      pskFile,
      YAML.stringify([
        { identity: 'ossl-dev', key: hex('ossl-secret') },
        { identity: 'gnutls-dev', key: hex('gnutls-secret') },
        { identity: 'libcoap-ossl', key: hex('libcoap-secret-1') },
        { identity: 'libcoap-gnutls', key: hex('libcoap-secret-2') },
        { identity: 'bound-id', key: hex('bound-secret'), endpoint: 'urn:imei:4711' },
      ]),
    );
    const config = parseConfig(
      [
        'store:\n  type: memory', 'http:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:0"',
        'listeners:\n  udp:\n    bind: "127.0.0.1:0"',
        '  dtls:',
        '    enable: true',
        '    bind: "127.0.0.1:0"',
        `    psk_file: "${pskFile}"`,
        `    certfile: "${fixture('server.pem')}"`,
        `    keyfile: "${fixture('server.key.pem')}"`,
        `    cacertfile: "${fixture('ca.pem')}"`,
        '    verify: verify_peer',
      ].join('\n'),
    );
    gw = await startGateway(config, pino({ level: 'silent' }));
    port = gw.dtlsPort!;
    probe = await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#');
  });

  afterAll(async () => {
    await probe.close();
    await gw.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const noRegister = async (ep: string) => {
    await sleep(300);
    expect(probe.messages.filter((m) => m.topic === `lwm2m/${ep}/up/register`)).toEqual([]);
  };

  const sClient = (extra: string[]) => ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, '-quiet', '-ign_eof', ...extra];

  describe('openssl s_client -dtls1_2', () => {
    it.each(['PSK-AES128-CCM8', 'PSK-AES128-GCM-SHA256', 'PSK-AES128-CBC-SHA256'])('PSK %s: the register reaches MQTT and the answer is 2.01', async (cipher) => {
      const ep = 'ossl-dev';
      const from = probe.mark();
      const run = runPeer('openssl', sClient(['-psk_identity', ep, '-psk', hex('ossl-secret'), '-cipher', cipher]), registerDatagram(ep, 0x100), 3000);
      await probe.waitFor((m) => m.topic === `lwm2m/${ep}/up/register`, 8000, from);
      expect(answerCode((await run).stdout)).toBe('2.01');
    });

    it.each(['ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-AES128-GCM-SHA256'])('certificate %s: CN dev-cert-1 registers', async (cipher) => {
      const from = probe.mark();
      const run = runPeer(
        'openssl',
        sClient(['-cert', fixture('client.pem'), '-key', fixture('client.key.pem'), '-CAfile', fixture('ca.pem'), '-verify_return_error', '-cipher', cipher]),
        registerDatagram('dev-cert-1', 0x200),
        3000,
      );
      await probe.waitFor((m) => m.topic === 'lwm2m/dev-cert-1/up/register', 8000, from);
      expect(answerCode((await run).stdout)).toBe('2.01');
    });

    it('a wrong key, an unknown identity and a rogue certificate fail the handshake', async () => {
      const wrong = await runPeer('openssl', sClient(['-psk_identity', 'ossl-dev', '-psk', hex('not-the-key'), '-cipher', 'PSK-AES128-CCM8']), registerDatagram('ossl-dev', 0x300), 3000);
      expect(wrong.stderr).toMatch(/alert|error/i);
      expect(answerCode(wrong.stdout)).toBeUndefined();
      const unknown = await runPeer('openssl', sClient(['-psk_identity', 'stranger', '-psk', hex('ossl-secret'), '-cipher', 'PSK-AES128-CCM8']), registerDatagram('stranger', 0x301), 3000);
      expect(unknown.stderr).toMatch(/alert|error/i);
      const rogue = await runPeer('openssl', sClient(['-cert', fixture('rogue.pem'), '-key', fixture('rogue.key.pem'), '-cipher', 'ECDHE-ECDSA-AES128-CCM8']), registerDatagram('rogue', 0x302), 3000);
      expect(rogue.stderr).toMatch(/alert|error/i);
      await noRegister('stranger');
      await noRegister('rogue');
    });

    it('an endpoint the credential does not name gets 4.03 and never reaches MQTT', async () => {
      const psk = await runPeer('openssl', sClient(['-psk_identity', 'ossl-dev', '-psk', hex('ossl-secret'), '-cipher', 'PSK-AES128-CCM8']), registerDatagram('someone-else', 0x400), 3000);
      expect(answerCode(psk.stdout)).toBe('4.03');
      const cert = await runPeer(
        'openssl',
        sClient(['-cert', fixture('client.pem'), '-key', fixture('client.key.pem'), '-cipher', 'ECDHE-ECDSA-AES128-CCM8']),
        registerDatagram('not-dev-cert-1', 0x401),
        3000,
      );
      expect(answerCode(cert.stdout)).toBe('4.03');
      await noRegister('someone-else');
      await noRegister('not-dev-cert-1');
    });
  });

  describe('gnutls-cli --udp', () => {
    it('PSK: the register reaches MQTT', async () => {
      const from = probe.mark();
      const run = runPeer(
        'gnutls-cli',
        ['--udp', '--port', String(port), '127.0.0.1', '--pskusername', 'gnutls-dev', '--pskkey', hex('gnutls-secret'), '--priority', GNUTLS_PSK_PRIORITY],
        registerDatagram('gnutls-dev', 0x500),
        3000,
      );
      await probe.waitFor((m) => m.topic === 'lwm2m/gnutls-dev/up/register', 8000, from);
      await run;
    });

    it('certificate: CN dev-cert-1 registers; a wrong PSK fails', async () => {
      const from = probe.mark();
      const run = runPeer(
        'gnutls-cli',
        ['--udp', '--port', String(port), 'localhost', '--x509cafile', fixture('ca.pem'), '--x509certfile', fixture('client.pem'), '--x509keyfile', fixture('client.key.pem'), '--priority', GNUTLS_CERT_PRIORITY],
        registerDatagram('dev-cert-1', 0x501),
        3000,
      );
      await probe.waitFor((m) => m.topic === 'lwm2m/dev-cert-1/up/register', 8000, from);
      await run;
      const wrong = await runPeer(
        'gnutls-cli',
        ['--udp', '--port', String(port), '127.0.0.1', '--pskusername', 'gnutls-dev', '--pskkey', hex('wrong'), '--priority', GNUTLS_PSK_PRIORITY],
        undefined,
        3000,
      );
      expect(wrong.stderr).toMatch(/fail|error|alert/i);
    });
  });

  describe.each(['coap-client-openssl', 'coap-client-gnutls'])('%s over coaps://', (client) => {
    const identity = client === 'coap-client-openssl' ? 'libcoap-ossl' : 'libcoap-gnutls';
    const key = client === 'coap-client-openssl' ? 'libcoap-secret-1' : 'libcoap-secret-2';
    const coap = (args: string[]) => runPeer(`/usr/bin/${client}`, ['-B', '5', '-v', '7', ...args], undefined, 8000);

    it('PSK: registers and the register message arrives on MQTT', async () => {
      const from = probe.mark();
      const run = await coap(['-m', 'post', '-u', identity, '-k', key, '-t', '40', '-e', '</3/0>', `coaps://127.0.0.1:${port}/rd?ep=${identity}&lt=60`]);
      expect(run.stderr + run.stdout.toString()).toMatch(/2\.01/);
      await probe.waitFor((m) => m.topic === `lwm2m/${identity}/up/register`, 8000, from);
    });

    it('PSK bound to another endpoint: its own endpoint registers, any other gets 4.03', async () => {
      const ok = await coap(['-m', 'post', '-u', 'bound-id', '-k', 'bound-secret', '-t', '40', '-e', '</3/0>', `coaps://127.0.0.1:${port}/rd?ep=urn:imei:4711`]);
      expect(ok.stderr + ok.stdout.toString()).toMatch(/2\.01/);
      const bad = await coap(['-m', 'post', '-u', 'bound-id', '-k', 'bound-secret', '-t', '40', '-e', '</3/0>', `coaps://127.0.0.1:${port}/rd?ep=bound-id`]);
      expect(bad.stderr + bad.stdout.toString()).toMatch(/4\.03/);
      await noRegister('bound-id');
    });

    it('client certificate: registers as dev-cert-1; a rogue certificate and a wrong key are refused', async () => {
      const from = probe.mark();
      const ok = await coap(['-m', 'post', '-c', fixture('client.pem'), '-j', fixture('client.key.pem'), '-C', fixture('ca.pem'), '-t', '40', '-e', '</3/0>', `coaps://127.0.0.1:${port}/rd?ep=dev-cert-1&lt=60`]);
      expect(ok.stderr + ok.stdout.toString()).toMatch(/2\.01/);
      await probe.waitFor((m) => m.topic === 'lwm2m/dev-cert-1/up/register', 8000, from);
      const rogue = await coap(['-m', 'post', '-c', fixture('rogue.pem'), '-j', fixture('rogue.key.pem'), '-n', '-t', '40', '-e', '</3/0>', `coaps://127.0.0.1:${port}/rd?ep=rogue`]);
      expect(rogue.stderr + rogue.stdout.toString()).not.toMatch(/2\.01/);
      const wrong = await coap(['-m', 'post', '-u', identity, '-k', 'wrong-key', '-t', '40', '-e', '</3/0>', `coaps://127.0.0.1:${port}/rd?ep=${identity}`]);
      expect(wrong.stderr + wrong.stdout.toString()).not.toMatch(/2\.01/);
      await noRegister('rogue');
    });
  });
});
