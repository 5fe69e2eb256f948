/**
 * Finding 5a of the hardening issue: 50,000 registrations with distinct endpoints from one source
 * were all accepted (1.9 KB each, ~2M exhaust the heap). Registers are now limited per source
 * address (lwm2m.registration_rate, 4.29 with Max-Age beyond it) and in total
 * (lwm2m.max_registrations, 5.03 with Max-Age for a new endpoint). Attackers send from 127.0.0.2
 * and 127.0.0.3; 50 bystanders on 127.0.0.1 keep answering reads during and after.
 */
import { startHarness, type Harness } from '../../support/harness';
import { Bystanders } from '../../support/bystanders';
import { type FloodAnswers, floodRequests } from '../../support/coap-flood';
import { RawDevice } from '../../support/raw-device';
import { whileBystandersRead } from '../../support/under-attack';

/** Registers with distinct endpoints `<prefix>-<i>`, as fast as the socket takes them. */
function flood(attacker: RawDevice, prefix: string, count: number): Promise<FloodAnswers> {
  return floodRequests(attacker, count, (i) => ({
    code: 'POST',
    options: [
      { name: 'Uri-Path', value: Buffer.from('rd') },
      { name: 'Uri-Query', value: Buffer.from(`ep=${prefix}-${i}`) },
      { name: 'Content-Format', value: Buffer.from([40]) },
    ],
    payload: Buffer.from('</3/0>'),
  }));
}

describe('attack: registration flood', () => {
  let h: Harness;
  const attackers: RawDevice[] = [];
  afterEach(async () => {
    for (const a of attackers.splice(0)) await a.close();
    await h.close();
  });

  it('limits registers per source address: 4.29 with Max-Age beyond the burst, other sources unaffected, one log line', async () => {
    const lines: string[] = [];
    h = await startHarness('lwm2m:\n  registration_rate:\n    per_source: 20\n    burst: 200\n', undefined, 'udp', lines);
    const bystanders = await Bystanders.start(h, 50);
    const attacker = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
    attackers.push(attacker);
    const started = Date.now();
    const { codes, maxAges } = await whileBystandersRead(bystanders, () => flood(attacker, 'flood', 5000));
    const seconds = (Date.now() - started) / 1000;

    const accepted = codes.get('2.01') ?? 0;
    expect(accepted).toBeGreaterThanOrEqual(200);
    expect(accepted).toBeLessThanOrEqual(200 + Math.ceil(20 * seconds) + 1);
    expect(codes.get('4.29')).toBe(5000 - accepted);
    expect([...maxAges].every((s) => s !== undefined && s >= 1)).toBe(true);
    expect(h.gw.server.store.size).toBe(50 + accepted);
    expect(h.gw.server.registrations.stats().refused['4.29']).toBe(5000 - accepted);
    // Thousands of refusals, one warning (a line per source and code every 10 s).
    const refusals = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'registration refused');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: 40, code: '4.29', peer: expect.stringMatching(/^127\.0\.0\.2:/), reason: expect.stringContaining('lwm2m.registration_rate') });
    // Another source address still registers at once.
    const other = await RawDevice.start(h.gw.udpPort, '127.0.0.3');
    attackers.push(other);
    expect((await other.register('other-1')).code).toBe('2.01');
    await bystanders.expectAllAnswer();
  }, 60_000);

  it('refuses a register or update carrying more object links than lwm2m.max_object_links with 4.13', async () => {
    h = await startHarness('lwm2m:\n  max_object_links: 1000\n  auto_observe: true\n');
    const links = (n: number) => Array.from({ length: n }, (_, i) => `</3300/${i}>`).join(',');
    const big = await h.device({ endpoint: 'many-links', links: links(5000) });
    expect((await big.register()).code).toBe('4.13'); // ~60 KB, sent in Block1 blocks
    expect(h.gw.server.store.size).toBe(0);
    const ok = await h.device({ endpoint: 'enough-links', links: links(1000) });
    expect((await ok.register()).code).toBe('2.01');
    expect((await ok.update([], links(1001))).code).toBe('4.13');
    expect((await ok.update([], links(10))).code).toBe('2.04');
  }, 60_000);

  it('caps registrations in total: a new endpoint gets 5.03 with Max-Age, a known one re-registers', async () => {
    h = await startHarness('lwm2m:\n  max_registrations: 100\n');
    const bystanders = await Bystanders.start(h, 50);
    const attacker = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
    attackers.push(attacker);
    const { codes, maxAges } = await whileBystandersRead(bystanders, () => flood(attacker, 'cap', 500));
    expect(codes.get('2.01')).toBe(50);
    expect(codes.get('5.03')).toBe(450);
    expect([...maxAges]).toEqual([60]);
    expect(h.gw.server.store.size).toBe(100);
    // A registered device that reboots and registers again replaces itself: still admitted.
    expect((await bystanders.devices[0].register()).code).toBe('2.01');
    const res = await attacker.register('one-more');
    expect(res.code).toBe('5.03');
    await bystanders.expectAllAnswer();
  }, 60_000);
});
