import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeMessage } from '../../../src/coap';
import { Bystanders } from '../../support/bystanders';
import { getDatagram } from '../../support/coap-datagrams';
import { FirmwareObject } from '../../support/firmware-object';
import { startHarness, type Harness } from '../../support/harness';
import { DEVICE_ENTRIES } from '../../support/test-device';

jest.setTimeout(60_000);

const GUESSES = 5000;

/**
 * Firmware images served for pulls sit under /fw/<128-bit token>. An attacker who guesses tokens
 * (or replays one from another credential) gets 4.04 for every try, cheaply, with one log line per
 * source every 10 s and never a token in the log, while a real pull completes and 50 other devices
 * keep answering reads.
 */
describe('attack: guessing firmware download paths', () => {
  let h: Harness;
  let dir: string;
  let socket: dgram.Socket | undefined;
  let reading: ReturnType<Bystanders['keepReading']> | undefined;
  const logLines: string[] = [];
  afterEach(async () => {
    await reading?.stop();
    reading = undefined;
    if (socket) await new Promise<void>((r) => socket!.close(() => r()));
    socket = undefined;
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers every guess 4.04, logs it throttled without the token, and the real pull completes', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-fw-guess-'));
    const image = randomBytes(64 * 1024);
    fs.writeFileSync(path.join(dir, 'fw.bin'), image);
    h = await startHarness(`firmware:\n  dir: "${dir}"\n  public_host: 127.0.0.1\n  poll_interval: 0.2\nlwm2m:\n  coap: { ack_timeout: 0.3 }`, undefined, 'udp', logLines);
    const bystanders = await Bystanders.start(h, 50);
    const firmware = new FirmwareObject({ newVersion: '2.0.0', updateDelayMs: 500 });
    const d = await h.device({ endpoint: 'fw-target', entries: [...DEVICE_ENTRIES, { path: '/3/0/3', type: 'string', value: '1.0.0' }, ...firmware.entries()], handlers: [firmware.handler] });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/fw-target/up/register');
    reading = bystanders.keepReading();

    // The attacker, on another address, guesses while the job runs.
    socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket!.bind(0, '127.0.0.2', r));
    const codes = new Map<string, number>();
    socket.on('message', (bytes) => {
      const code = decodeMessage(bytes).code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    });
    await h.probe.publish('lwm2m/fw-target/dn', { reqID: 1, msgType: 'firmware-update', data: { image: 'fw.bin', method: 'pull' } });
    let answered = 0;
    for (let i = 0; i < GUESSES; i++) {
      socket.send(getDatagram(i, ['fw', randomBytes(16).toString('hex')]), h.gw.udpPort, '127.0.0.1');
      // At most ~300 unanswered, so that loopback buffers do not drop the flood.
      answered = [...codes.values()].reduce((a, b) => a + b, 0);
      while (i - answered > 300) {
        await new Promise((r) => setTimeout(r, 2));
        answered = [...codes.values()].reduce((a, b) => a + b, 0);
      }
    }
    const deadline = Date.now() + 5000;
    while ([...codes.values()].reduce((a, b) => a + b, 0) < GUESSES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(Object.fromEntries(codes)).toEqual({ '4.04': GUESSES });

    // Downloaded intact (the device holds the image until its update ends).
    await h.probe.waitFor((m) => m.topic === 'lwm2m/fw-target/up/firmware' && (m.json as { data: { state: string } }).data.state === 'updating', 30_000);
    expect(firmware.received?.equals(image)).toBe(true);
    const done = await h.probe.waitFor((m) => m.topic === 'lwm2m/fw-target/up/firmware' && ['succeeded', 'failed'].includes((m.json as { data: { state: string } }).data.state), 30_000);
    expect(done.json).toMatchObject({ data: { state: 'succeeded', method: 'pull', firmwareVersion: '2.0.0' } });
    const seen = await reading.stop();
    reading = undefined;
    expect(seen.failures).toEqual([]);
    expect(seen.rounds).toBeGreaterThan(0);

    // Logged once per source per 10 s, never with a token.
    const refusals = logLines.filter((l) => l.includes('firmware download refused'));
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(2);
    expect(refusals[0]).toContain('127.0.0.2');
    const token = new URL(firmware.packageUri).pathname.split('/')[2];
    expect(logLines.some((l) => /[0-9a-f]{32}/.test(l) && l.includes('/fw/'))).toBe(false);
    expect(logLines.some((l) => l.includes(token))).toBe(false);
  });
});
