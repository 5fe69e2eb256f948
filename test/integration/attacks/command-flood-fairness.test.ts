/**
 * Nothing an MQTT client sends may stall another device. The command inbox was one FIFO: a burst
 * of reads for one device delayed every other device's commands behind the whole burst (soak:
 * legit read p99 275 ms within 1 s after a 2,500-read burst, 6 ms without attack). Now it takes
 * one command per device per turn, so a bystander's command waits for about one flood command.
 *
 * Compared by order, not time. The flood and then one read per bystander reach the gateway as one
 * burst, as from a TCP chunk of a fast broker: delivered to the handler the gateway's MQTT link
 * calls. (Through the embedded broker, in this one process, aedes forwards about as fast as the
 * gateway handles, so no backlog forms: measured, the bystanders then came after 16,790 flood
 * answers, whatever the inbox, since they were published last.) A single FIFO handles all 16,000
 * flood reads first: each bystander answer comes after at least 15,899 flood answers (all but the
 * 100 the flood device's queue holds and the one in flight).
 */
import { Bystanders } from '../../support/bystanders';
import { startHarness, type Harness } from '../../support/harness';

const MAX_QUEUED = 100;
const FLOOD = 16_000; // within the inbox bound per device (16,384): every read is handled

function read(reqID: number): string {
  return `{"reqID":${reqID},"msgType":"read","data":{"path":"/3/0/0"}}`;
}

describe('command flood fairness: one device flooded, the others answered first', () => {
  let h: Harness;
  let bystanders: Bystanders;
  beforeAll(async () => {
    h = await startHarness(`lwm2m:\n  max_queued_commands: ${MAX_QUEUED}\n`);
    bystanders = await Bystanders.start(h, 50);
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  it('16,000 reads for one device, then one read per bystander: each bystander is answered before a quarter of the flood', async () => {
    const device = await h.device({ endpoint: 'flooded' });
    expect((await device.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/flooded/up/register');
    const from = h.probe.mark();

    const deliver = (topic: string, payload: string): void =>
      h.gw.gateway.receive(topic, Buffer.from(payload));
    for (let i = 0; i < FLOOD; i++) deliver('lwm2m/flooded/dn', read(i));
    for (const d of bystanders.devices) deliver(`lwm2m/${d.options.endpoint}/dn`, read(FLOOD));

    // The answers in the order the probe got them: every flood read, and each bystander's.
    const bystanderTopics = new Set(bystanders.devices.map((d) => `lwm2m/${d.options.endpoint}/up/resp`));
    let floodAnswers = 0;
    const floodAnswersBefore = new Map<string, number>();
    const codes = new Map<string, number>();
    for (let next = from; floodAnswers < FLOOD || floodAnswersBefore.size < bystanderTopics.size; ) {
      const all = h.probe.messages;
      for (; next < all.length; next++) {
        const m = all[next];
        if (m.topic === 'lwm2m/flooded/up/resp') {
          floodAnswers++;
          const data = m.json.data as { code: string; error?: string };
          codes.set(data.code, (codes.get(data.code) ?? 0) + 1);
          // Under the inbox's bound per device: every flood read is handled, none refused unread.
          expect(data.error ?? '').not.toContain('wait to be read');
        } else if (bystanderTopics.has(m.topic) && m.json.reqID === FLOOD) {
          expect((m.json.data as { code: string }).code).toBe('2.05');
          floodAnswersBefore.set(m.topic, floodAnswers);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect((codes.get('2.05') ?? 0) + (codes.get('5.03') ?? 0)).toBe(FLOOD);
    // A single FIFO: at least FLOOD - MAX_QUEUED - 1 flood answers before each bystander's.
    const latest = Math.max(...floodAnswersBefore.values());
    expect(latest).toBeLessThan(FLOOD / 4);
    await bystanders.expectAllAnswer();
  }, 90_000);
});
