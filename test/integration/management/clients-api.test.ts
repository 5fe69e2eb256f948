/**
 * EMQX's LwM2M client API (/api/v5/gateways/lwm2m/clients) over real HTTP against a gateway with
 * test devices over UDP, and the embedded broker's MQTT messages to compare with.
 */
import { startHarness, type Harness } from '../../support/harness';
import type { TestDevice } from '../../support/test-device';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test reads whatever JSON came back
  json: any;
}

/** One HTTP request to the gateway's management port. */
async function call(h: Harness, method: string, path: string, options: { body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`http://127.0.0.1:${h.gw.httpPort}${path}`, { method, body: options.body, headers, signal: options.signal });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const CLIENTS = '/api/v5/gateways/lwm2m/clients';

async function registered(h: Harness, endpoint: string, options: { lifetime?: number; query?: string[] } = {}): Promise<TestDevice> {
  const from = h.probe.mark();
  const d = await h.device({ endpoint, ...options });
  expect((await d.register()).code).toBe('2.01');
  await h.probe.waitOn(`lwm2m/${endpoint}/up/register`, {}, 5000, from);
  return d;
}

describe('listing and showing clients', () => {
  let h: Harness;
  let between: number;

  beforeAll(async () => {
    h = await startHarness();
    await registered(h, 'alpha-1', { lifetime: 100, query: ['imei=4711'] });
    await registered(h, 'alpha-2', { lifetime: 300 });
    await sleep(20);
    between = Date.now();
    await sleep(20);
    await registered(h, 'beta-3', { lifetime: 500 });
  });
  afterAll(() => h.close());

  const names = (answer: HttpAnswer): string[] => (answer.json.data as { endpoint_name: string }[]).map((c) => c.endpoint_name).sort();

  it('lists every client with EMQX meta by default', async () => {
    const all = await call(h, 'GET', CLIENTS);
    expect(all.status).toBe(200);
    expect(all.json.meta).toEqual({ page: 1, limit: 100, count: 3, hasnext: false });
    expect(names(all)).toEqual(['alpha-1', 'alpha-2', 'beta-3']);
  });

  it('pages with limit and page', async () => {
    const first = await call(h, 'GET', `${CLIENTS}?limit=2&page=1`);
    expect(first.json.meta).toEqual({ page: 1, limit: 2, count: 3, hasnext: true });
    expect(first.json.data).toHaveLength(2);
    const second = await call(h, 'GET', `${CLIENTS}?limit=2&page=2`);
    expect(second.json.meta).toEqual({ page: 2, limit: 2, count: 3, hasnext: false });
    expect(second.json.data).toHaveLength(1);
    expect([...names(first), ...names(second)].sort()).toEqual(['alpha-1', 'alpha-2', 'beta-3']);
    const beyond = await call(h, 'GET', `${CLIENTS}?limit=2&page=3`);
    expect(beyond.json).toEqual({ data: [], meta: { page: 3, limit: 2, count: 3, hasnext: false } });
  });

  it('filters by endpoint name, exact and substring', async () => {
    expect(names(await call(h, 'GET', `${CLIENTS}?endpoint_name=alpha-2`))).toEqual(['alpha-2']);
    expect(names(await call(h, 'GET', `${CLIENTS}?endpoint_name=alpha`))).toEqual([]);
    const like = await call(h, 'GET', `${CLIENTS}?like_endpoint_name=alpha`);
    expect(names(like)).toEqual(['alpha-1', 'alpha-2']);
    expect(like.json.meta.count).toBe(2);
  });

  it('filters by address and lifetime', async () => {
    expect(names(await call(h, 'GET', `${CLIENTS}?ip_address=127.0.0.1`))).toEqual(['alpha-1', 'alpha-2', 'beta-3']);
    expect(names(await call(h, 'GET', `${CLIENTS}?ip_address=10.0.0.1`))).toEqual([]);
    expect(names(await call(h, 'GET', `${CLIENTS}?gte_lifetime=300`))).toEqual(['alpha-2', 'beta-3']);
    expect(names(await call(h, 'GET', `${CLIENTS}?lte_lifetime=300`))).toEqual(['alpha-1', 'alpha-2']);
    expect(names(await call(h, 'GET', `${CLIENTS}?gte_lifetime=200&lte_lifetime=400`))).toEqual(['alpha-2']);
  });

  it('filters by registration time, RFC 3339 or epoch milliseconds', async () => {
    const iso = encodeURIComponent(new Date(between).toISOString());
    expect(names(await call(h, 'GET', `${CLIENTS}?gte_created_at=${iso}`))).toEqual(['beta-3']);
    expect(names(await call(h, 'GET', `${CLIENTS}?lte_created_at=${iso}`))).toEqual(['alpha-1', 'alpha-2']);
    expect(names(await call(h, 'GET', `${CLIENTS}?gte_created_at=${between}`))).toEqual(['beta-3']);
    expect(names(await call(h, 'GET', `${CLIENTS}?lte_created_at=${between}`))).toEqual(['alpha-1', 'alpha-2']);
  });

  it('shows one client with the EMQX fields and the gateway’s own', async () => {
    const before = Date.now();
    const detail = await call(h, 'GET', `${CLIENTS}/alpha-1`);
    expect(detail.status).toBe(200);
    const c = detail.json;
    expect(c).toMatchObject({
      clientid: 'alpha-1',
      endpoint_name: 'alpha-1',
      username: '4711',
      mountpoint: 'lwm2m/alpha-1/',
      proto_name: 'LwM2M',
      proto_ver: '1.0',
      ip_address: '127.0.0.1',
      port: h.devices[0].port,
      lifetime: 100,
      keepalive: 100,
      connected: true,
      binding: 'U',
      queue_mode: false,
      awake: true,
      dtls: null,
      queued_commands: 0,
      observations: 0,
    });
    expect(c.object_list).toEqual(expect.arrayContaining(['/1/0', '/3/0', '/3303/0']));
    for (const field of ['created_at', 'connected_at', 'last_seen']) {
      expect(c[field]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Date.parse(c[field])).toBeLessThanOrEqual(before);
    }
    expect(Date.parse(c.created_at)).toBeLessThan(between);
    // Without an imei, EMQX's username is the endpoint name.
    expect((await call(h, 'GET', `${CLIENTS}/alpha-2`)).json.username).toBe('alpha-2');
    // The list rows are the same records.
    const row = (await call(h, 'GET', `${CLIENTS}?endpoint_name=alpha-1`)).json.data[0];
    expect({ ...row, last_seen: undefined }).toEqual({ ...c, last_seen: undefined });
  });

  it('answers 404 CLIENT_NOT_FOUND for an unknown client', async () => {
    for (const [method, path] of [
      ['GET', `${CLIENTS}/nobody`],
      ['DELETE', `${CLIENTS}/nobody`],
      ['GET', `${CLIENTS}/nobody/lookup?path=/3/0/0&action=read`],
      ['POST', `${CLIENTS}/nobody/observe?path=/3/0/9&enable=true`],
    ]) {
      const answer = await call(h, method, path);
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({ code: 'CLIENT_NOT_FOUND', message: expect.stringContaining('nobody') });
    }
    const read = await call(h, 'POST', `${CLIENTS}/nobody/read`, { body: '{"data":{"path":"/3/0/0"}}' });
    expect(read.status).toBe(404);
    expect(read.json.code).toBe('CLIENT_NOT_FOUND');
  });

  it('answers 400 naming the field for bad query values', async () => {
    const cases: [string, string][] = [
      [`${CLIENTS}?limit=0`, 'querystring/limit'],
      [`${CLIENTS}?limit=10001`, 'querystring/limit'],
      [`${CLIENTS}?page=abc`, 'querystring/page'],
      [`${CLIENTS}?page=0`, 'querystring/page'],
      [`${CLIENTS}?gte_lifetime=-1`, 'querystring/gte_lifetime'],
      [`${CLIENTS}?gte_created_at=yesterday`, 'querystring/gte_created_at'],
      [`${CLIENTS}?lte_created_at=2024-13-45T99:00:00Z`, 'querystring/lte_created_at'],
      [`${CLIENTS}/alpha-1/lookup?action=read`, 'querystring'],
      [`${CLIENTS}/alpha-1/lookup?path=&action=read`, 'querystring/path'],
    ];
    for (const [path, field] of cases) {
      const answer = await call(h, 'GET', path);
      expect({ path, status: answer.status, code: answer.json.code }).toEqual({ path, status: 400, code: 'BAD_REQUEST' });
      expect(answer.json.message).toContain(field);
    }
  });

  it('refuses an over-long client id', async () => {
    // The router's parameter length limit (256, the schema's too) answers before the schema.
    const answer = await call(h, 'GET', `${CLIENTS}/${'x'.repeat(257)}`);
    expect(answer.status).toBe(414);
    expect(answer.json).toEqual({ code: 'URI_TOO_LONG', message: 'a path segment is longer than 256 characters' });
  });

  it('puts the routes in the OpenAPI document', async () => {
    const doc = (await call(h, 'GET', '/api/v5/openapi.json')).json;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v5/gateways/lwm2m/clients',
        '/api/v5/gateways/lwm2m/clients/{clientid}',
        '/api/v5/gateways/lwm2m/clients/{clientid}/lookup',
        '/api/v5/gateways/lwm2m/clients/{clientid}/{msgType}',
      ]),
    );
    expect(doc.paths['/api/v5/gateways/lwm2m/clients'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['page', 'limit', 'like_endpoint_name', 'gte_created_at']));
  });
});

describe('commands, lookup, observe and kick', () => {
  let h: Harness;
  let d: TestDevice;

  beforeAll(async () => {
    h = await startHarness();
    d = await registered(h, 'ep1');
  });
  afterAll(() => h.close());

  it('reads synchronously with the answer MQTT gets', async () => {
    const from = h.probe.mark();
    const answer = await call(h, 'POST', `${CLIENTS}/ep1/read`, { body: '{"reqID":7,"data":{"path":"/3/0/0"}}' });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ reqID: 7, msgType: 'read', data: { reqPath: '/3/0/0', code: '2.05', codeMsg: 'content', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] } });
    const published = await h.probe.waitOn('lwm2m/ep1/up/resp', { reqID: 7 }, 5000, from);
    expect(published.json).toEqual(answer.json);
  });

  it('writes and executes synchronously', async () => {
    const from = h.probe.mark();
    const write = await call(h, 'POST', `${CLIENTS}/ep1/write`, { body: '{"reqID":8,"msgType":"write","data":{"path":"/1/0/1","type":"Integer","value":600}}' });
    expect(write.status).toBe(200);
    expect(write.json).toMatchObject({ reqID: 8, msgType: 'write', data: { reqPath: '/1/0/1', code: '2.04' } });
    expect((await h.probe.waitOn('lwm2m/ep1/up/resp', { reqID: 8 }, 5000, from)).json).toEqual(write.json);
    const readBack = await call(h, 'POST', `${CLIENTS}/ep1/read`, { body: '{"reqID":9,"data":{"path":"/1/0/1"}}' });
    expect(readBack.json.data.content).toEqual([{ path: '/1/0/1', value: 600 }]);

    const execute = await call(h, 'POST', `${CLIENTS}/ep1/execute`, { body: '{"reqID":10,"data":{"path":"/3/0/4","args":""}}' });
    expect(execute.status).toBe(200);
    expect(execute.json).toMatchObject({ reqID: 10, msgType: 'execute', data: { reqPath: '/3/0/4', code: '2.04' } });
    expect((await h.probe.waitOn('lwm2m/ep1/up/resp', { reqID: 10 }, 5000, from)).json).toEqual(execute.json);
    expect(d.executed).toContainEqual({ path: '/3/0/4', args: '' });
  });

  it('answers a command the gateway refuses like MQTT does (200 with its code)', async () => {
    const answer = await call(h, 'POST', `${CLIENTS}/ep1/read`, { body: '{"reqID":11,"data":{"path":"/not/a/path"}}' });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ reqID: 11, msgType: 'read', data: { code: '4.00' } });
    const deep = `{"reqID":12,"data":${'['.repeat(40)}${']'.repeat(40)}}`;
    const refused = await call(h, 'POST', `${CLIENTS}/ep1/read`, { body: deep });
    expect(refused.status).toBe(200);
    expect(refused.json.data.code).toBe('4.00');
  });

  it('answers 400 for a body that is not a command, or a msgType the URL does not name', async () => {
    const cases: [string, string, string][] = [
      ['read', '[1,2]', 'JSON object'],
      ['read', '{"data":', 'not JSON'],
      ['read', '{"msgType":"write","data":{"path":"/3/0/0"}}', 'body/msgType'],
      ['reboot', '{}', 'params/msgType'],
    ];
    for (const [msgType, body, words] of cases) {
      const answer = await call(h, 'POST', `${CLIENTS}/ep1/${msgType}`, { body });
      expect({ body, status: answer.status, code: answer.json.code }).toEqual({ body, status: 400, code: 'BAD_REQUEST' });
      expect(answer.json.message).toContain(words);
    }
    const both = await call(h, 'POST', `${CLIENTS}/ep1/read?path=/3/0/0`, { body: '{"data":{"path":"/3/0/0"}}' });
    expect(both.status).toBe(400);
    const writeWithoutValue = await call(h, 'POST', `${CLIENTS}/ep1/write?path=/1/0/1&type=Integer`);
    expect(writeWithoutValue.status).toBe(400);
    expect(writeWithoutValue.json.message).toContain('querystring/value');
    const textBody = await call(h, 'POST', `${CLIENTS}/ep1/read`, { body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(textBody.status).toBe(415);
  });

  it('looks up the last answer per path and action, EMQX-style', async () => {
    const before = await call(h, 'GET', `${CLIENTS}/ep1/lookup?path=/3/0/1&action=read`);
    expect(before.status).toBe(200);
    expect(before.json).toEqual({ clientid: 'ep1', path: '/3/0/1', action: 'read', code: '6.01', codeMsg: 'reply_not_received' });
    // A command from MQTT is recorded as well as one from HTTP.
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/ep1/dn', { reqID: 20, msgType: 'read', data: { path: '/3/0/1' } });
    await h.probe.waitOn('lwm2m/ep1/up/resp', { reqID: 20 }, 5000, from);
    const after = await call(h, 'GET', `${CLIENTS}/ep1/lookup?path=/3/0/1&action=read`);
    expect(after.json).toEqual({ clientid: 'ep1', path: '/3/0/1', action: 'read', code: '2.05', codeMsg: 'content', content: [{ path: '/3/0/1', value: 'Lightweight M2M Client' }] });
    // Another action on the same path is its own entry.
    expect((await call(h, 'GET', `${CLIENTS}/ep1/lookup?path=/3/0/1&action=discover`)).json.code).toBe('6.01');
  });

  it("reads and writes in EMQX's query form: 204 at once, the answer on MQTT and in lookup", async () => {
    const from = h.probe.mark();
    const write = await call(h, 'POST', `${CLIENTS}/ep1/write?path=/1/0/1&type=Integer&value=900`);
    expect(write.status).toBe(204);
    expect((await h.probe.waitFor((m) => m.topic === 'lwm2m/ep1/up/resp' && m.json.msgType === 'write', 5000, from)).json).toMatchObject({ data: { reqPath: '/1/0/1', code: '2.04' } });
    const read = await call(h, 'POST', `${CLIENTS}/ep1/read?path=/1/0/1`);
    expect(read.status).toBe(204);
    await h.probe.waitFor((m) => m.topic === 'lwm2m/ep1/up/resp' && m.json.msgType === 'read' && m.json.reqID === undefined, 5000, from);
    expect((await call(h, 'GET', `${CLIENTS}/ep1/lookup?path=/1/0/1&action=read`)).json.content).toEqual([{ path: '/1/0/1', value: 900 }]);
  });

  it('observes and cancels with /observe?enable=, notifications arriving on MQTT in between', async () => {
    const lookupObserve = async (path: string) => (await call(h, 'GET', `${CLIENTS}/ep1/lookup?path=${path}&action=observe`)).json;
    expect(await lookupObserve('/3/0/9')).toEqual({ clientid: 'ep1', path: '/3/0/9', action: 'observe', code: '6.01', codeMsg: 'reply_not_received' });
    const from = h.probe.mark();
    const enable = await call(h, 'POST', `${CLIENTS}/ep1/observe?path=/3/0/9&enable=true`);
    expect(enable.status).toBe(204);
    await h.probe.waitFor((m) => m.topic === 'lwm2m/ep1/up/resp' && m.json.msgType === 'observe', 5000, from);
    expect((await call(h, 'GET', `${CLIENTS}/ep1`)).json.observations).toBe(1);
    d.set('/3/0/9', 42);
    d.notify('/3/0/9');
    const notification = await h.probe.waitFor((m) => m.topic === 'lwm2m/ep1/up/notify', 5000, from);
    expect(notification.json).toMatchObject({ msgType: 'notify', data: { reqPath: '/3/0/9', content: [{ path: '/3/0/9', value: 42 }] } });
    // Answered from the open observation (observe answers are not kept: memory per observed device).
    expect(await lookupObserve('/3/0/9')).toEqual({ clientid: 'ep1', path: '/3/0/9', action: 'observe', code: '2.05', codeMsg: 'content' });
    expect((await lookupObserve('/3/0/9/')).code).toBe('2.05');
    expect((await lookupObserve('/3/0/1')).code).toBe('6.01');
    expect((await lookupObserve('not-a-path')).code).toBe('6.01');

    const disable = await call(h, 'POST', `${CLIENTS}/ep1/observe?path=/3/0/9&enable=false`);
    expect(disable.status).toBe(204);
    await h.probe.waitFor((m) => m.topic === 'lwm2m/ep1/up/resp' && m.json.msgType === 'cancel-observe', 5000, from);
    expect((await call(h, 'GET', `${CLIENTS}/ep1`)).json.observations).toBe(0);
    expect((await lookupObserve('/3/0/9')).code).toBe('6.01');
    expect((await call(h, 'GET', `${CLIENTS}/ep1/lookup?path=/3/0/9&action=cancel-observe`)).json.code).toBe('2.05');
    const bad = await call(h, 'POST', `${CLIENTS}/ep1/observe?path=/3/0/9&enable=maybe`);
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('querystring/enable');
  });

  it('kicks a client: 204, up/deregister with reason kicked, gone from the list and its answers forgotten', async () => {
    const kicked = await registered(h, 'ep-kick');
    await call(h, 'POST', `${CLIENTS}/ep-kick/read`, { body: '{"data":{"path":"/3/0/0"}}' });
    expect((await call(h, 'GET', `${CLIENTS}/ep-kick/lookup?path=/3/0/0&action=read`)).json.code).toBe('2.05');
    const from = h.probe.mark();
    const answer = await call(h, 'DELETE', `${CLIENTS}/ep-kick`);
    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    const deregister = await h.probe.waitOn('lwm2m/ep-kick/up/deregister', {}, 5000, from);
    expect(deregister.json).toEqual({ msgType: 'deregister', data: { ep: 'ep-kick', reason: 'kicked' } });
    expect((await call(h, 'GET', `${CLIENTS}/ep-kick`)).status).toBe(404);
    expect(((await call(h, 'GET', CLIENTS)).json.data as { clientid: string }[]).map((c) => c.clientid)).toEqual(['ep1']);
    expect((await call(h, 'DELETE', `${CLIENTS}/ep-kick`)).status).toBe(404);
    // It registers again and starts with no recorded answers.
    expect((await kicked.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/ep-kick/up/register', {}, 5000, from);
    expect((await call(h, 'GET', `${CLIENTS}/ep-kick/lookup?path=/3/0/0&action=read`)).json.code).toBe('6.01');
  });
});

describe('timeouts and API keys', () => {
  let h: Harness;
  let silent: TestDevice;
  let slow: TestDevice;
  const admin = `Basic ${Buffer.from('admin:s3cret-pass').toString('base64')}`;

  beforeAll(async () => {
    h = await startHarness('http:\n  command_timeout: 1s\n  api_keys:\n    - key: admin\n      secret: "s3cret-pass"');
    silent = await registered(h, 'quiet');
    slow = await registered(h, 'slow');
  });
  afterAll(() => h.close());

  it('answers 401 without the right key and serves with it', async () => {
    const none = await call(h, 'GET', CLIENTS);
    expect(none.status).toBe(401);
    expect(none.json.code).toBe('UNAUTHORIZED');
    const wrong = await call(h, 'GET', CLIENTS, { headers: { authorization: `Basic ${Buffer.from('admin:guess').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const post = await call(h, 'POST', `${CLIENTS}/quiet/read`, { body: '{"data":{"path":"/3/0/0"}}' });
    expect(post.status).toBe(401);
    const ok = await call(h, 'GET', CLIENTS, { headers: { authorization: admin } });
    expect(ok.status).toBe(200);
    expect(ok.json.meta.count).toBe(2);
    const read = await call(h, 'POST', `${CLIENTS}/quiet/read`, { body: '{"reqID":1,"data":{"path":"/3/0/0"}}', headers: { authorization: admin } });
    expect(read.status).toBe(200);
    expect(read.json.data.code).toBe('2.05');
  });

  it('answers 504 with the command’s state when the device stays silent', async () => {
    silent.behaviour.silent = true;
    try {
      const answer = await call(h, 'POST', `${CLIENTS}/quiet/read`, { body: '{"reqID":2,"data":{"path":"/3/0/0"}}', headers: { authorization: admin } });
      expect(answer.status).toBe(504);
      expect(answer.json).toEqual({ code: 'TIMEOUT', message: expect.stringContaining('http.command_timeout'), state: 'sent' });
      // A second command waits behind the first (one in flight per device): it is still queued.
      const queued = await call(h, 'POST', `${CLIENTS}/quiet/read`, { body: '{"reqID":3,"data":{"path":"/3/0/1"}}', headers: { authorization: admin } });
      expect(queued.status).toBe(504);
      expect(queued.json.state).toBe('queued');
    } finally {
      silent.behaviour.silent = false;
    }
  });

  it('drops the answer of a caller that left, and keeps serving', async () => {
    slow.behaviour.separateAfterMs = 500;
    const from = h.probe.mark();
    const abort = new AbortController();
    const pending = call(h, 'POST', `${CLIENTS}/slow/read`, { body: '{"reqID":4,"data":{"path":"/3/0/2"}}', headers: { authorization: admin }, signal: abort.signal });
    await sleep(100);
    abort.abort();
    await expect(pending).rejects.toThrow();
    // The answer still goes to MQTT and to the lookup record; the API keeps serving.
    await h.probe.waitOn('lwm2m/slow/up/resp', { reqID: 4 }, 5000, from);
    slow.behaviour.separateAfterMs = undefined;
    const lookup = await call(h, 'GET', `${CLIENTS}/slow/lookup?path=/3/0/2&action=read`, { headers: { authorization: admin } });
    expect(lookup.json).toMatchObject({ code: '2.05', content: [{ path: '/3/0/2', value: '345000123' }] });
    const read = await call(h, 'POST', `${CLIENTS}/slow/read`, { body: '{"reqID":5,"data":{"path":"/3/0/0"}}', headers: { authorization: admin } });
    expect(read.status).toBe(200);
  });
});
