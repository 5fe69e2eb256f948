/**
 * Finding 3 of the hardening issue: endpoint names (and the other mountpoint placeholders) become
 * MQTT topic levels. `ep=#`, `ep=a+b` or a NUL made Mosquitto drop the gateway's connection, and a
 * 60 KB name became a 61 KB topic. Such registers now get 4.00 and publish nothing; `/` is legal in
 * LwM2M names and is escaped as `%2F` (and `%` as `%25`). Run against aedes (npm test) and
 * Mosquitto (interop); the attacker sends from 127.0.0.2, 50 bystanders keep answering reads.
 */
import { startHarness, type BrokerKind, type Harness } from '../../support/harness';
import { Bystanders } from '../../support/bystanders';
import { RawDevice } from '../../support/raw-device';
import { whileBystandersRead } from '../../support/under-attack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Endpoint names that must never reach a topic, with why. */
const UNSAFE_NAMES: [string, string][] = [
  ['#', 'multi-level wildcard'],
  ['a+b', 'single-level wildcard'],
  ['x\u0000y', 'NUL'],
  ['tab\there', 'control character'],
  ['del\u007f', 'DEL'],
  ['n'.repeat(60_000), '60 KB name'],
];

export function defineTopicInjectionSuite(kind: BrokerKind): void {
  describe(`attack: topic injection through endpoint names (${kind})`, () => {
    let h: Harness;
    let attacker: RawDevice;
    afterEach(async () => {
      await attacker?.close();
      await h?.close();
    });

    it('refuses unsafe names with 4.00 while 50 other devices keep answering, and publishes nothing for them', async () => {
      h = await startHarness('', kind);
      attacker = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
      const bystanders = await Bystanders.start(h, 50);
      const from = h.probe.mark();
      const rounds = await whileBystandersRead(bystanders, async () => {
        const until = Date.now() + 2000;
        let n = 0;
        while (Date.now() < until) {
          for (const [name, why] of UNSAFE_NAMES) {
            const res = await attacker.register(name);
            if (res.code !== '4.00') throw new Error(`${why}: expected 4.00, got ${res.code}`);
          }
          n++;
          await sleep(20);
        }
        return n;
      });
      // Several rounds of every unsafe name ran (how many in 2 s depends on the machine's load).
      expect(rounds).toBeGreaterThan(1);
      // Only bystander traffic was published: no register and no topic longer than a bystander's.
      const published = h.probe.messages.slice(from);
      expect(published.filter((m) => !m.topic.startsWith('lwm2m/bystander-'))).toEqual([]);
      expect(Math.max(...published.map((m) => m.topic.length))).toBeLessThan(40);
      await bystanders.expectAllAnswer();
    });

    it('escapes "/" and "%" in endpoint names into one topic level, both ways', async () => {
      h = await startHarness('', kind);
      attacker = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
      for (const [ep, level] of [
        ['a/b', 'a%2Fb'],
        ['p%41/', 'p%2541%2F'],
      ]) {
        expect((await attacker.register(ep)).code).toBe('2.01');
        const m = await h.probe.waitOn(`lwm2m/${level}/up/register`);
        expect(m.json.data).toMatchObject({ ep });
      }
      // A command on the escaped topic reaches the device (the attacker's raw socket answers it).
      attacker.onPacket((p) => {
        if (p.code === '0.01') attacker.reply(p, '2.05', Buffer.from('hello'), 0);
      });
      await h.probe.publish('lwm2m/a%2Fb/dn', { reqID: 7, msgType: 'read', data: { path: '/3/0/0' } });
      const answer = await h.probe.waitOn('lwm2m/a%2Fb/up/resp', { reqID: 7 });
      expect(answer.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'hello' }] });
    });

    it('checks every placeholder the mountpoint uses, and lwm2m.max_endpoint_length in UTF-8 bytes', async () => {
      h = await startHarness('lwm2m:\n  mountpoint: "lwm2m/${username}/${endpoint_name}/"\n  max_endpoint_length: 8\n', kind);
      attacker = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
      expect((await attacker.register('dev-1', ['imei=#'])).code).toBe('4.00');
      expect((await attacker.register('dev-1', ['imei='])).code).toBe('4.00');
      expect((await attacker.register('dev-1', ['imei=' + 'x'.repeat(9)])).code).toBe('4.00');
      expect((await attacker.register('ééééé')).code).toBe('4.00'); // 5 characters, 10 bytes
      expect((await attacker.register('12345678')).code).toBe('2.01');
      expect((await attacker.register('dev-2', ['imei=3/5'])).code).toBe('2.01');
      await h.probe.waitOn('lwm2m/3%2F5/dev-2/up/register');
    });
  });
}
