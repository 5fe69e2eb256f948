/**
 * Attacks on the bootstrap server: a flood of Bootstrap-Requests from one source (4.29 with Max-Age
 * beyond bootstrap.request_rate), sessions that are opened and never answered (bounded by
 * bootstrap.max_sessions, 5.03 beyond, freed by bootstrap.session_timeout), and endpoint names that
 * would become MQTT topic wildcards (4.00, nothing published). Attackers send from 127.0.0.2 and
 * 127.0.0.3; bystanders on 127.0.0.1 keep answering reads, and a real device bootstraps meanwhile.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BootstrapTestClient } from '../../support/bootstrap-client';
import { Bystanders } from '../../support/bystanders';
import { startHarness, type Harness } from '../../support/harness';
import { type FloodAnswers, floodRequests } from '../../support/coap-flood';
import { RawDevice } from '../../support/raw-device';
import { whileBystandersRead } from '../../support/under-attack';

/** Bootstrap-Requests for `endpoints`, as fast as the socket takes them. */
function flood(attacker: RawDevice, endpoints: readonly string[]): Promise<FloodAnswers> {
  return floodRequests(attacker, endpoints.length, (i) => ({
    code: 'POST',
    options: [
      { name: 'Uri-Path', value: Buffer.from('bs') },
      { name: 'Uri-Query', value: Buffer.from(`ep=${endpoints[i]}`) },
    ],
  }));
}

describe('attack: bootstrap flood', () => {
  let h: Harness;
  let dir: string;
  const closers: (() => Promise<void>)[] = [];

  const NOSEC = 'defaults:\n  servers:\n    - short_server_id: 1\n      uri: "coap://127.0.0.1:5683"\n      security_mode: nosec\n';

  async function start(bootstrapYaml: string, entries = NOSEC, transport: 'udp' | 'dtls' = 'udp'): Promise<void> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-flood-'));
    const configFile = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(configFile, entries);
    h = await startHarness(`listeners:\n  bootstrap_udp:\n    enable: true\n    bind: "127.0.0.1:0"\nbootstrap:\n  config_file: "${configFile}"\n${bootstrapYaml}`, undefined, transport);
  }

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function attacker(address: string): Promise<RawDevice> {
    const a = await RawDevice.start(h.gw.bootstrapUdpPort!, address);
    closers.push(() => a.close());
    return a;
  }

  async function legitimate(endpoint: string): Promise<BootstrapTestClient> {
    const c = await BootstrapTestClient.start({ endpoint, version: '1.1', server: { host: '127.0.0.1', port: h.gw.bootstrapUdpPort! } });
    closers.push(() => c.close());
    return c;
  }

  it('limits Bootstrap-Requests per source: 4.29 with Max-Age beyond the burst; others bootstrap meanwhile', async () => {
    await start('  session_timeout: 2s\n  request_rate:\n    per_source: 5\n    burst: 20\n');
    const bystanders = await Bystanders.start(h, 20);
    const a = await attacker('127.0.0.2');
    const started = Date.now();
    const { codes, maxAges } = await whileBystandersRead(bystanders, async () => {
      const flooding = flood(
        a,
        Array.from({ length: 2000 }, (_, i) => `flood-${i}`),
      );
      const device = await legitimate('bs-legit');
      expect((await device.requestBootstrap()).code).toBe('2.04');
      expect(await device.finished).toEqual({ code: '2.04' });
      return flooding;
    });
    const seconds = (Date.now() - started) / 1000;
    const accepted = codes.get('2.04') ?? 0;
    expect(accepted).toBeGreaterThanOrEqual(20);
    expect(accepted).toBeLessThanOrEqual(20 + Math.ceil(5 * seconds) + 1);
    expect(codes.get('4.29')).toBe(2000 - accepted);
    expect([...maxAges].every((s) => s !== undefined && s >= 1)).toBe(true);
  });

  it('bounds open sessions (5.03 with Max-Age beyond max_sessions); unanswered ones end at session_timeout', async () => {
    await start('  session_timeout: 1s\n  max_sessions: 10\n  request_rate:\n    per_source: 10000\n    burst: 10000\n');
    const a = await attacker('127.0.0.3');
    const from = h.probe.mark();
    const { codes, maxAges } = await flood(
      a,
      Array.from({ length: 300 }, (_, i) => `held-${i}`),
    );
    expect(codes.get('2.04')).toBe(10);
    expect(codes.get('5.03')).toBe(290);
    expect([...maxAges]).toEqual([10]);
    expect(h.gw.bootstrap!.sessions).toBeLessThanOrEqual(10);
    // Each held session fails at the timeout, and the table is empty again: a real device gets in.
    await h.probe.waitFor(() => h.probe.messages.slice(from).filter((m) => m.topic.endsWith('/up/bootstrap') && (m.json.data as Record<string, unknown>).status === 'failed' && String((m.json.data as Record<string, unknown>).error).includes('did not finish')).length === 10, 10_000, from);
    expect(h.gw.bootstrap!.sessions).toBe(0);
    const device = await legitimate('bs-after');
    expect((await device.requestBootstrap()).code).toBe('2.04');
    expect(await device.finished).toEqual({ code: '2.04' });
  });

  it('refuses endpoint names that would be topic wildcards or carry control characters (4.00), publishing nothing', async () => {
    await start('  request_rate:\n    per_source: 10000\n    burst: 10000\n');
    const a = await attacker('127.0.0.2');
    const from = h.probe.mark();
    const names = ['a#b', 'a+b', 'a/+/b', '#', 'nul\u0000x', 'bell\u0007', 'x'.repeat(300)];
    const { codes } = await flood(a, names);
    expect(codes.get('4.00')).toBe(names.length);
    const device = await legitimate('bs-clean');
    expect((await device.requestBootstrap()).code).toBe('2.04');
    await device.finished;
    const topics = h.probe.messages.slice(from).map((m) => m.topic);
    expect(topics.every((t) => t.startsWith('lwm2m/bs-clean/'))).toBe(true);
  });

  it('bounds the PSKs bootstrap adds to the DTLS listener: beyond max_provisioned, 5.03 before the device is touched', async () => {
    const generated = 'defaults:\n  servers:\n    - short_server_id: 1\n      uri: "coaps://127.0.0.1:5684"\n      security_mode: psk\n      psk_key: generate\n';
    await start('  max_provisioned: 2\n  allow_keys_over_udp: true\n  request_rate:\n    per_source: 1000\n    burst: 1000\n', generated, 'dtls');
    for (const ep of ['prov-a', 'prov-b']) {
      const device = await legitimate(ep);
      expect((await device.requestBootstrap()).code).toBe('2.04');
      expect(await device.finished).toEqual({ code: '2.04' });
    }
    const from = h.probe.mark();
    const third = await legitimate('prov-c');
    expect((await third.requestBootstrap()).code).toBe('5.03');
    expect(third.steps).toEqual([]);
    const failed = await h.probe.waitOn('lwm2m/prov-c/up/bootstrap', {}, 5000, from);
    expect(failed.json.data).toMatchObject({ status: 'failed', step: 'request', code: '5.03' });
    expect(String((failed.json.data as Record<string, unknown>).error)).toMatch(/2 endpoints/);
    // An endpoint that holds a key may bootstrap again (allow_keys_over_udp: over UDP too): its key is
    // replaced, the table does not grow.
    const again = await legitimate('prov-a');
    expect((await again.requestBootstrap()).code).toBe('2.04');
    expect(await again.finished).toEqual({ code: '2.04' });
  });
});
