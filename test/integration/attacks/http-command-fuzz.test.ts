/**
 * Fuzzing the HTTP command path (issue 12): random and mutated bodies, content types, msgTypes and
 * client ids sent to POST /api/v5/gateways/lwm2m/clients/{clientid}/{msgType} while 20 bystanders
 * keep answering reads over MQTT. Every request gets one JSON answer with a known status — the
 * device's answer (200), a refusal of the request (400, 404, 413, 415) — never a 500, a hang or a
 * crash; the device the fuzz targets still answers a plain read at the end. Replay with FUZZ_SEED.
 */
import { Bystanders } from '../../support/bystanders';
import { startHarness, type Harness } from '../../support/harness';
import { mutateBytes, seededRandom } from '../../support/seeded-random';
import { whileBystandersRead } from '../../support/under-attack';

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const REQUESTS = 1500;
const AUTH = `Basic ${Buffer.from('admin:s3cret-pass').toString('base64')}`;
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];
const MSG_TYPES = ['read', 'discover', 'write', 'write-attr', 'execute', 'create', 'delete', 'observe', 'cancel-observe', 'read-composite', 'write-composite', 'discover-all', 'observe-read-all', 'bogus', '%2e%2e', ...PROTO_NAMES];
const SEEDS = [
  '{"reqID":1,"data":{"path":"/3/0/0"}}',
  '{"reqID":2,"msgType":"write","data":{"path":"/1/0/1","type":"Integer","value":60}}',
  '{"reqID":3,"data":{"path":"/3/0/4","args":"a=1"}}',
  '{"data":{"paths":["/3/0/0","/3/0/1"]}}',
  '{"reqID":{"__proto__":{"x":1}},"data":{"path":"/3/0/0","contentFormat":"senml+cbor"}}',
  '[1,2,3]',
  '"text"',
  'null',
];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}

/** One fuzzed request: its URL path, content type and body. */
function fuzzedRequest(rnd: () => number): { path: string; type: string | undefined; body: Buffer } {
  const client = rnd() < 0.85 ? 'fuzz-target' : pick(rnd, ['nobody', '%00', 'a'.repeat(300), ...PROTO_NAMES]);
  const msgType = pick(rnd, MSG_TYPES);
  const seed = Buffer.from(pick(rnd, SEEDS));
  let body: Buffer;
  const r = rnd();
  if (r < 0.6) body = mutateBytes(rnd, seed);
  else if (r < 0.7) body = Buffer.from('['.repeat(Math.floor(rnd() * 3000)));
  else if (r < 0.75) body = Buffer.alloc(70_000, 0x61); // past http.max_body_size
  else body = seed;
  const type = pick(rnd, ['application/json', 'application/json', 'application/json', 'text/plain', 'application/json; charset=utf-16', undefined]);
  return { path: `/api/v5/gateways/lwm2m/clients/${encodeURIComponent(client).replace(/%25/g, '%')}/${msgType}`, type, body };
}

describe('fuzzing the HTTP command path', () => {
  let h: Harness;
  let bystanders: Bystanders;

  beforeAll(async () => {
    h = await startHarness('http:\n  api_keys:\n    - key: admin\n      secret: "s3cret-pass"\n  auth_failures_per_minute: 1000\n  command_timeout: 3s');
    bystanders = await Bystanders.start(h, 20);
    const target = await h.device({ endpoint: 'fuzz-target' });
    await target.register();
  }, 60_000);

  afterAll(async () => {
    await h.close();
  });

  it(`${REQUESTS} fuzzed requests (seed ${SEED}) each get one JSON answer with a known status, bystanders keep answering`, async () => {
    const rnd = seededRandom(SEED);
    const base = `http://127.0.0.1:${h.gw.httpPort}`;
    const statuses = new Map<number, number>();
    const unexpected: string[] = [];
    await whileBystandersRead(bystanders, async () => {
      // 10 at a time: a client with a few connections, as an API user would have.
      const queue = Array.from({ length: REQUESTS }, () => fuzzedRequest(rnd));
      const worker = async (): Promise<void> => {
        for (let req = queue.shift(); req !== undefined; req = queue.shift()) {
          const headers: Record<string, string> = { authorization: AUTH };
          if (req.type !== undefined) headers['content-type'] = req.type;
          const res = await fetch(base + req.path, { method: 'POST', headers, body: req.body });
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const known = [200, 400, 404, 413, 414, 415, 504].includes(res.status);
          const shaped = typeof json === 'object' && json !== null && (res.status === 200 ? 'msgType' in json || 'data' in json : 'code' in json && 'message' in json);
          if (!known || !shaped) unexpected.push(`${res.status} ${req.path} ${req.body.subarray(0, 60).toString('latin1')} -> ${text.slice(0, 120)}`);
        }
      };
      await Promise.all(Array.from({ length: 10 }, worker));
    });
    expect(unexpected).toEqual([]);
    // The fuzz reached every kind of answer: the device's (200), the refusals of the request.
    for (const status of [200, 400, 404, 413, 415]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
    // The target still answers a plain read, synchronously.
    const res = await fetch(`${base}/api/v5/gateways/lwm2m/clients/fuzz-target/read`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ reqID: 'after', data: { path: '/3/0/0' } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ reqID: 'after', msgType: 'read', data: { code: '2.05' } });
    await bystanders.expectAllAnswer();
  }, 180_000);
});
