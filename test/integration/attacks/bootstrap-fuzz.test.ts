/**
 * A hostile device during its own bootstrap: it opens sessions and answers the gateway's Discover,
 * Read, Delete, Write and Finish with random codes, content formats and bytes (mutations of real
 * answers, and noise). Every session must end with a `finished` or `failed` event, the process must
 * not fail, and a real device on another address bootstraps meanwhile and afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ParsedPacket } from 'coap-packet';
import { BootstrapTestClient } from '../../support/bootstrap-client';
import { startHarness, type Harness } from '../../support/harness';
import { RawDevice } from '../../support/raw-device';
import { mutateBytes, randomBytes, seededRandom } from '../../support/seeded-random';

const SEED = 1307;
const SESSIONS = 150;
/** Real answers to start mutations from: a Discover link list, a TLV Server instance (TS Core §7.4.3.2), SenML CBOR. */
const SEEDS = [
  Buffer.from('</>;lwm2m=1.1,</0/0>,</0/1>;ssid=101;uri="coap://x",</1/0>;ssid=101,</3/0>'),
  Buffer.from('0800c10001c40100000e10c1060181070155', 'hex'),
  Buffer.from('81a3216a2f312f302f3002016001', 'hex'),
];
const CODES = ['2.05', '2.04', '2.02', '2.01', '4.00', '4.04', '4.05', '4.06', '5.00', '2.31', '0.00', '7.31'];
const FORMATS = [undefined, 0, 40, 42, 60, 110, 112, 11542, 11543, 11544, 65535];

function formatOption(format: number): Buffer {
  if (format === 0) return Buffer.alloc(0);
  return format < 256 ? Buffer.from([format]) : Buffer.from([format >> 8, format & 0xff]);
}

/** What a well-behaved 1.1 client answers (the Read with SEEDS[1], a Server instance in TLV). */
function answerRightly(device: RawDevice, p: ParsedPacket): void {
  const uriPath = p.options.filter((o) => o.name === 'Uri-Path').map((o) => o.value.toString());
  const method = p.code;
  if (method === 'GET' || method === '0.01') {
    if (uriPath.length === 0) return device.reply(p, '2.05', SEEDS[0], 40);
    return device.send({ ack: true, messageId: p.messageId, token: p.token, code: '2.05', options: [{ name: 'Content-Format', value: formatOption(11542) }], payload: SEEDS[1] });
  }
  if (method === 'DELETE' || method === '0.04') return device.reply(p, '2.02');
  device.reply(p, '2.04');
}

describe('attack: fuzzed answers during bootstrap', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-fuzz-'));
    const configFile = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(configFile, 'defaults:\n  read: ["/1", "/2"]\n  servers:\n    - short_server_id: 1\n      uri: "coap://127.0.0.1:5683"\n      security_mode: nosec\n');
    h = await startHarness(
      `listeners:\n  bootstrap_udp:\n    enable: true\n    bind: "127.0.0.1:0"\nbootstrap:\n  config_file: "${configFile}"\n  session_timeout: 3s\n  request_rate:\n    per_source: 100000\n    burst: 100000\nlwm2m:\n  coap:\n    ack_timeout: 0.2\n    max_retransmit: 1`,
    );
  });

  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`ends every one of ${SESSIONS} sessions with an event, and a real device bootstraps meanwhile`, async () => {
    const next = seededRandom(SEED);
    const attacker = await RawDevice.start(h.gw.bootstrapUdpPort!, '127.0.0.2');
    attacker.onPacket((p: ParsedPacket) => {
      if (!p.confirmable || p.code === '0.00' || p.code.startsWith('2.') || p.code.startsWith('4.') || p.code.startsWith('5.')) return;
      const roll = next();
      if (roll < 0.03) return; // silence: the gateway retransmits, then gives up
      if (roll < 0.06) return attacker.reset(p);
      // Mostly the right answer, so that the sequence goes deep before the garbage comes.
      if (roll < 0.75) return answerRightly(attacker, p);
      const code = CODES[Math.floor(next() * CODES.length)];
      const format = FORMATS[Math.floor(next() * FORMATS.length)];
      const payload = next() < 0.5 ? mutateBytes(next, SEEDS[Math.floor(next() * SEEDS.length)]) : randomBytes(next, Math.floor(next() * 64));
      const options = format === undefined ? [] : [{ name: 'Content-Format' as const, value: formatOption(format) }];
      attacker.send({ ack: true, messageId: p.messageId, token: p.token, code, options, payload });
    });
    const from = h.probe.mark();
    const endpoints = Array.from({ length: SESSIONS }, (_, i) => `fuzz-${i}`);
    try {
      for (const [i, ep] of endpoints.entries()) {
        const res = await attacker.request('POST', ['bs'], [`ep=${ep}`]);
        expect(res.code).toBe('2.04');
        if (i % 25 === 0) await new Promise((r) => setImmediate(r));
      }
      const device = await BootstrapTestClient.start({ endpoint: 'fuzz-bystander', version: '1.1', server: { host: '127.0.0.1', port: h.gw.bootstrapUdpPort! } });
      try {
        expect((await device.requestBootstrap()).code).toBe('2.04');
        expect(await device.finished).toEqual({ code: '2.04' });
      } finally {
        await device.close();
      }
      const ended = () => {
        const done = new Set<string>();
        for (const m of h.probe.messages.slice(from)) {
          const data = m.json.data as Record<string, unknown> | undefined;
          if (m.topic.endsWith('/up/bootstrap') && (data?.status === 'finished' || data?.status === 'failed')) done.add(String(data.ep));
        }
        return done;
      };
      await h.probe.waitFor(() => endpoints.every((ep) => ended().has(ep)), 20_000, from).catch(() => undefined);
      expect(endpoints.filter((ep) => !ended().has(ep))).toEqual([]);
      expect(h.gw.bootstrap!.sessions).toBe(0);
      // The answers reached every step, not only the first.
      const failedAt = new Set(
        h.probe.messages
          .slice(from)
          .map((m) => m.json.data as Record<string, unknown> | undefined)
          .filter((data) => data?.status === 'failed')
          .map((data) => data!.step),
      );
      expect([...failedAt].sort()).toEqual(['delete', 'discover', 'finish', 'read', 'write']);
    } finally {
      await attacker.close();
    }
  });
});
