import type { Packet, ParsedPacket } from 'coap-packet';
import type { RawDevice } from './raw-device';

/** What a flood was answered: how many of each code, and the Max-Age values of the refusals. */
export interface FloodAnswers {
  codes: Map<string, number>;
  maxAges: Set<number | undefined>;
}

export function maxAge(p: ParsedPacket): number | undefined {
  const o = p.options.find((x) => x.name === 'Max-Age');
  return o ? o.value.reduce((n, b) => n * 256 + b, 0) : undefined;
}

/**
 * Sends `count` confirmable requests (`request(i)` gives the code, options and payload of the i-th) as
 * fast as the socket takes them, and counts the answers by code; fails unless every one is answered
 * within 15 s. Max-Age is collected from every answer whose code is not `success` (2.xx).
 */
export async function floodRequests(attacker: RawDevice, count: number, request: (i: number) => Pick<Packet, 'code' | 'options' | 'payload'>): Promise<FloodAnswers> {
  const codes = new Map<string, number>();
  const maxAges = new Set<number | undefined>();
  const wanted = new Set<number>();
  const done = new Promise<void>((resolve) => {
    attacker.onPacket((p) => {
      if (!p.ack || !wanted.delete(p.messageId)) return;
      codes.set(p.code, (codes.get(p.code) ?? 0) + 1);
      if (!p.code.startsWith('2.')) maxAges.add(maxAge(p));
      if (wanted.size === 0) resolve();
    });
  });
  for (let i = 0; i < count; i++) {
    const messageId = attacker.nextMid() & 0xffff;
    wanted.add(messageId);
    attacker.send({ confirmable: true, messageId, token: Buffer.from([i & 0xff, (i >> 8) & 0xff]), ...request(i) });
    if (i % 200 === 199) await new Promise((r) => setImmediate(r)); // let answers in: the socket buffer is finite
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
  clearTimeout(timer);
  if (wanted.size > 0) throw new Error(`${wanted.size} of ${count} requests got no answer`);
  return { codes, maxAges };
}
