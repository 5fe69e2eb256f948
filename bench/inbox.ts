/**
 * The command inbox's cost per message: the single FIFO it was (RingQueue) against the fair one
 * (FairInbox), push plus shift, ns per message. Not part of `npm run bench`:
 *   npm run build && node dist/bench/inbox.js
 */
import { FairInbox } from '../src/gateway/fair-inbox';
import { RingQueue } from '../src/lwm2m/device/ring-queue';

interface Message {
  topic: string;
  prefix: string;
  payload: Buffer;
}

const DEVICES = 10_000;
const messages: Message[] = Array.from({ length: DEVICES }, (_, i) => ({
  topic: `lwm2m/device-${i}/dn`,
  prefix: `lwm2m/device-${i}/`,
  payload: Buffer.from(`{"reqID":${i},"msgType":"read","data":{"path":"/3/0/0"}}`),
}));

interface Inbox {
  push(m: Message): void;
  shift(): Message | undefined;
}

function ring(): Inbox {
  const q = new RingQueue<Message>();
  return { push: (m) => q.push(m), shift: () => q.shift() };
}

function fair(): Inbox {
  const q = new FairInbox<Message>({ perKey: 16_384, items: 65_536, bytes: 32 * 1024 * 1024 }, (m) => m.payload.length);
  return { push: (m) => void q.push(m.prefix, m), shift: () => q.shift() };
}

/** `rounds` times: `batch` messages of distinct devices in, then all out (the inbox between TCP chunks). */
function spread(inbox: Inbox, rounds: number, batch: number): number {
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < batch; i++) inbox.push(messages[(r * batch + i) % DEVICES]);
    while (inbox.shift() !== undefined) n++;
  }
  return n;
}

/** `rounds` times: a burst of 2,500 for one device and one message for each of 100 others, then all out. */
function burst(inbox: Inbox, rounds: number): number {
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 2_500; i++) inbox.push(messages[0]);
    for (let i = 1; i <= 100; i++) inbox.push(messages[i]);
    while (inbox.shift() !== undefined) n++;
  }
  return n;
}

function nsPerMessage(run: () => number): number {
  let best = Infinity;
  for (let repeat = 0; repeat < 7; repeat++) {
    const start = process.hrtime.bigint();
    const n = run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  return best;
}

const cases: [string, (inbox: Inbox) => number][] = [
  ['1 message at a time, 10k devices', (inbox) => spread(inbox, 2_000_000, 1)],
  ['32 devices per chunk', (inbox) => spread(inbox, 60_000, 32)],
  ['800 devices per chunk', (inbox) => spread(inbox, 2_500, 800)],
  ['2,500 for one device + 100 others', (inbox) => burst(inbox, 800)],
];
for (const [name, run] of cases) {
  const old = nsPerMessage(() => run(ring()));
  const now = nsPerMessage(() => run(fair()));
  console.log(`${name.padEnd(36)} RingQueue ${old.toFixed(1).padStart(6)} ns/message   FairInbox ${now.toFixed(1).padStart(6)} ns/message`);
}
