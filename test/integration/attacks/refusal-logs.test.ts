/**
 * What an operator sees of an attack: every limit logs its refusals at warn, once per source and
 * outcome every 10 s (with the count it left out), so that a flood of thousands of refusals is a
 * handful of lines, none carrying a secret.
 */
import { loadNativeDtls } from '../../../src/transport/dtls/native-binding';
import { closeSockets, openHalfOpenHandshakes } from '../../support/half-open-dtls';
import { startHarness, type Harness } from '../../support/harness';
import { RawDevice } from '../../support/raw-device';
import { publishFlood } from '../../support/under-attack';

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

const WARN = 40;

describe('refusal logs under attack', () => {
  let h: Harness;
  const lines: string[] = [];
  const logged = (prefix: string): LogLine[] => lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.msg.startsWith(prefix));

  beforeAll(async () => {
    h = await startHarness(
      'lwm2m:\n  max_queued_commands: 10\n  blockwise:\n    max_pending_bytes_per_source: 8192\n    max_pending_bytes: 65536\n',
      undefined,
      'dtls',
      lines,
    );
  });
  afterAll(async () => {
    await h.close();
  });

  it('a command flood for one device: one warning for its thousands of 5.03', async () => {
    const d = await h.device({ endpoint: 'flooded', binding: 'UQ' });
    expect((await d.register()).code).toBe('2.01');
    await new Promise((r) => setTimeout(r, 100));
    const command = JSON.stringify({ reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
    const from = h.probe.mark();
    await publishFlood(h.gw.mqttUrl, 'lwm2m/flooded/dn', Array.from({ length: 2000 }, () => command));
    await h.probe.waitFor(() => h.probe.messages.length - from >= 1990, 10_000, from); // the 5.03 answers
    const refused = logged('command refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: WARN, code: '5.03', source: 'flooded' });
    expect(refused[0].msg).toContain('lwm2m.max_queued_commands');
  });

  it('Block1 bodies beyond the per-source budget: one warning', async () => {
    const attacker = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
    try {
      const codes: string[] = [];
      for (let body = 0; body < 40; body++) {
        // A body per path (none replaces another); Block1 num 0, more, 1024 bytes.
        const res = await attacker.request('POST', ['rd', `b${body}`], [], {
          token: Buffer.from([body]),
          options: [{ name: 'Block1', value: Buffer.from([0x0e]) }],
          payload: Buffer.alloc(1024, 0x3c),
        });
        codes.push(res.code);
      }
      expect(codes).toContain('4.13');
      const refused = logged('coap request refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ level: WARN, code: '4.13', limit: 'block1_pending_per_source', peer: expect.stringMatching(/^127\.0\.0\.2:/) });
    } finally {
      await attacker.close();
    }
  });

  it('half-open DTLS handshakes beyond the per-source limit: one warning', async () => {
    const loaded = loadNativeDtls();
    if (!loaded.ok) throw new Error(`the DTLS addon must be built by npm ci: ${loaded.reason}`);
    const attack = await openHalfOpenHandshakes(loaded.binding, { address: '127.0.0.1', port: h.gw.dtlsPort! }, 300, '127.0.0.2', 20_000);
    try {
      const deadline = Date.now() + 5000;
      while (h.gw.dtls!.stats().handshakeFailures < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const refused = logged('dtls handshake refused: limit reached');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ level: WARN, reason: 'refused_handshakes', peer: expect.stringMatching(/^127\.0\.0\.2:/) });
    } finally {
      await closeSockets(attack.sockets);
    }
  });

  it('no line carries a key or a password', () => {
    const text = lines.join('\n');
    expect(text).not.toMatch(/key-of-/); // the harness's PSKs
    expect(lines.length).toBeLessThan(200);
  });
});
