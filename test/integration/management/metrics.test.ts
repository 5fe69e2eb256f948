/**
 * /metrics over real HTTP after a known sequence of device traffic (UDP test devices, the embedded
 * broker, an HTTP auth service on a real socket): every lwm2m_* series asserted by exact value.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHarness, storeKind, type Harness } from '../../support/harness';
import { TestDevice } from '../../support/test-device';

/** One sample of the Prometheus text exposition. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a text exposition (version 0.0.4): `name{a="x",b="y"} value`; comments skipped. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and exactly these labels; throws when there is none. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  const found = samples.filter((s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}; have: ${samples.filter((s) => s.name === name).map((s) => JSON.stringify(s.labels)).join(' ')}`);
  return found[0].value;
}

/** Every sample of a metric, as `labels -> value` with the labels in one string, for whole-metric comparisons. */
function seriesOf(samples: readonly Sample[], name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name) out[Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',')] = s.value;
  return out;
}

/** An auth service that allows every register and counts the requests it answered. */
async function startAuthService(): Promise<{ url: string; asked: () => number; close: () => Promise<void> }> {
  let asked = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      asked++;
      res.setHeader('content-type', 'application/json');
      res.end('{"result":"allow"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/auth`, asked: () => asked, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('GET /metrics', () => {
  let h: Harness;
  let auth: Awaited<ReturnType<typeof startAuthService>>;

  beforeAll(async () => {
    auth = await startAuthService();
    // Short CoAP timing: a silent device's request is given up after 1 + 2 s. Long enough that a
    // busy machine does not make the gateway retransmit to devices that answer.
    h = await startHarness(`lwm2m:\n  coap:\n    ack_timeout: 1\n    ack_random_factor: 1\n    max_retransmit: 1\nauth:\n  http:\n    url: "${auth.url}"\n`);
  });
  afterAll(async () => {
    await h?.close();
    await auth?.close();
  });

  async function scrape(): Promise<{ status: number; type: string | null; samples: Sample[] }> {
    const res = await fetch(`http://127.0.0.1:${h.gw.httpPort}/metrics`);
    return { status: res.status, type: res.headers.get('content-type'), samples: parseExposition(await res.text()) };
  }

  async function registered(endpoint: string, lwm2m: string, binding = 'U'): Promise<TestDevice> {
    const d = await h.device({ endpoint, lwm2m, binding });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn(`lwm2m/${endpoint}/up/register`);
    return d;
  }

  async function command(endpoint: string, cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const from = h.probe.mark();
    await h.probe.publish(`lwm2m/${endpoint}/dn`, cmd);
    const answer = await h.probe.waitFor((m) => m.topic === `lwm2m/${endpoint}/up/resp` && m.json.reqID === cmd.reqID, 5000, from);
    return answer.json as Record<string, unknown>;
  }

  it('counts registrations, refusals, commands, notifications, timeouts and block-wise transfers exactly', async () => {
    const d1 = await registered('ep1', '1.0');
    const d2 = await registered('ep2', '1.0');
    const d3 = await registered('ep3', '1.1', 'UQ');
    // A register refused before admission: an unsupported LwM2M version (4.00, class invalid).
    const bad = await h.device({ endpoint: 'bad', lwm2m: '2.0' });
    expect((await bad.register()).code).toBe('4.00');

    for (const d of [d1, d2]) {
      const from = h.probe.mark();
      expect((await d.update()).code).toBe('2.04');
      await h.probe.waitOn(`lwm2m/${d.options.endpoint}/up/update`, {}, 5000, from);
    }

    // Four reads with known results; the third one's value (2,000 bytes) comes back in blocks.
    d2.set('/3/0/0', 'x'.repeat(2000));
    expect(await command('ep1', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } })).toMatchObject({ data: { code: '2.05' } });
    expect(await command('ep1', { reqID: 2, msgType: 'read', data: { path: '/3/0/1' } })).toMatchObject({ data: { code: '2.05' } });
    expect(await command('ep2', { reqID: 3, msgType: 'read', data: { path: '/3/0/0' } })).toMatchObject({ data: { code: '2.05', content: [{ path: '/3/0/0', value: 'x'.repeat(2000) }] } });
    expect(await command('ep1', { reqID: 4, msgType: 'read', data: { path: '/3/0/99' } })).toMatchObject({ data: { code: '4.04' } });

    // Commands the gateway answers itself: refused before the engine (an unknown endpoint, a bad path,
    // a payload that is no JSON: msgType unknown, "other"), and a local one.
    expect(await command('nobody', { reqID: 41, msgType: 'read', data: { path: '/3/0/0' } })).toMatchObject({ data: { code: '4.04' } });
    expect(await command('ep1', { reqID: 42, msgType: 'read', data: { path: '/x/y' } })).toMatchObject({ data: { code: '4.00' } });
    {
      const from = h.probe.mark();
      await h.probe.publish('lwm2m/ep1/dn', '{not json');
      await h.probe.waitFor((m) => m.topic === 'lwm2m/ep1/up/resp' && (m.json.data as { error?: string } | undefined)?.error === 'payload is not valid JSON', 5000, from);
    }
    expect(await command('ep1', { reqID: 43, msgType: 'discover-all', data: {} })).toMatchObject({ data: { code: '2.05' } });

    // One observation and three notifications, each published.
    expect(await command('ep1', { reqID: 5, msgType: 'observe', data: { path: '/3303/0/5700' } })).toMatchObject({ msgType: 'observe', data: { code: '2.05' } });
    for (const seq of [2, 3, 4]) {
      const from = h.probe.mark();
      d1.set('/3303/0/5700', 20 + seq);
      d1.notify('/3303/0/5700', false, seq);
      await h.probe.waitFor((m) => m.topic === 'lwm2m/ep1/up/notify' && m.json.seqNum === seq, 5000, from);
    }

    // A silent device: the read is sent twice (max_retransmit 1), then given up.
    d3.behaviour.silent = true;
    expect(await command('ep3', { reqID: 6, msgType: 'read', data: { path: '/3/0/0' } })).toMatchObject({ msgType: 'coap_timeout' });

    const from = h.probe.mark();
    expect((await d2.deregister()).code).toBe('2.02');
    await h.probe.waitOn('lwm2m/ep2/up/deregister', {}, 5000, from);

    const { status, type, samples } = await scrape();
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);

    // Devices: ep1 (1.0) and ep3 (1.1, queue mode) remain.
    expect(seriesOf(samples, 'lwm2m_devices_registered')).toEqual({
      'listener=udp,lwm2m_version=1.0,queue_mode=false': 1,
      'listener=udp,lwm2m_version=1.1,queue_mode=true': 1,
    });
    expect(valueOf(samples, 'lwm2m_registrations_total')).toBe(3);
    expect(valueOf(samples, 'lwm2m_registration_updates_total')).toBe(2);
    expect(seriesOf(samples, 'lwm2m_deregistrations_total')).toEqual({ 'reason=deregister': 1, 'reason=expired': 0, 'reason=replaced': 0, 'reason=kicked': 0 });
    expect(seriesOf(samples, 'lwm2m_registration_refusals_total')).toEqual({ 'code=4.00,reason=invalid': 1 });
    // Store latency: each accepted register was written once (the memory store type opens no store to time).
    if (storeKind() !== 'memory') expect(valueOf(samples, 'lwm2m_store_operation_duration_seconds_count', { operation: 'registrations_add' })).toBe(3);

    // Commands by msgType and result, and their round trips (all six were sent).
    expect(seriesOf(samples, 'lwm2m_commands_total')).toEqual({
      'msg_type=read,result=2.05': 3,
      'msg_type=read,result=4.04': 2,
      'msg_type=read,result=4.00': 1,
      'msg_type=other,result=4.00': 1,
      'msg_type=discover-all,result=2.05': 1,
      'msg_type=observe,result=2.05': 1,
      'msg_type=read,result=coap_timeout': 1,
    });
    expect(valueOf(samples, 'lwm2m_command_rtt_seconds_count', { msg_type: 'read' })).toBe(5);
    expect(valueOf(samples, 'lwm2m_command_rtt_seconds_count', { msg_type: 'observe' })).toBe(1);
    expect(valueOf(samples, 'lwm2m_command_rtt_seconds_bucket', { msg_type: 'read', le: '+Inf' })).toBe(5);
    // The timed-out read waited at least 3 s (1 + 2): it is in no bucket up to 2.5 s.
    expect(valueOf(samples, 'lwm2m_command_rtt_seconds_bucket', { msg_type: 'read', le: '2.5' })).toBeLessThanOrEqual(4);

    // CoAP: one retransmission and one timeout of the silent device's read; one body fetched in blocks.
    expect(valueOf(samples, 'lwm2m_coap_retransmissions_total', { listener: 'udp' })).toBe(1);
    expect(valueOf(samples, 'lwm2m_coap_timeouts_total', { listener: 'udp' })).toBe(1);
    expect(seriesOf(samples, 'lwm2m_coap_blockwise_transfers_total')).toEqual({ 'listener=udp,direction=received': 1, 'listener=udp,direction=sent': 0 });
    expect(valueOf(samples, 'lwm2m_notifications_received_total', { listener: 'udp' })).toBe(3);
    expect(valueOf(samples, 'lwm2m_notifications_published_total')).toBe(3);
    expect(valueOf(samples, 'lwm2m_coap_exchanges_open', { listener: 'udp' })).toBe(1); // the observation

    // MQTT: every uplink message the probe saw (3 register, 2 update, 10 resp, 3 notify, 1 deregister).
    const uplinks = h.probe.messages.filter((m) => !m.topic.endsWith('/dn')).length;
    expect(uplinks).toBe(19);
    expect(valueOf(samples, 'lwm2m_mqtt_published_total')).toBe(19);
    expect(valueOf(samples, 'lwm2m_mqtt_dropped_total')).toBe(0);
    expect(valueOf(samples, 'lwm2m_mqtt_connected')).toBe(1);
    expect(valueOf(samples, 'lwm2m_mqtt_pending_publishes')).toBe(0);

    // The auth service was asked for the three registers (the refused one never reached it).
    expect(auth.asked()).toBe(3);
    expect(seriesOf(samples, 'lwm2m_auth_requests_total')).toEqual({ 'result=allow': 3, 'result=deny': 0, 'result=error': 0, 'result=timeout': 0, 'result=busy': 0 });
    expect(valueOf(samples, 'lwm2m_auth_request_duration_seconds_count')).toBe(3);

    // No DTLS listener: no DTLS series. Node's default metrics are there.
    expect(samples.some((s) => s.name.startsWith('lwm2m_dtls_'))).toBe(false);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    expect(valueOf(samples, 'process_start_time_seconds')).toBeGreaterThan(0);
  });
});

describe('GET /metrics with devices over DTLS', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('counts handshakes and sessions, and the devices registered on the DTLS listener', async () => {
    h = await startHarness('', undefined, 'dtls');
    for (const endpoint of ['sec1', 'sec2']) {
      const d = await h.device({ endpoint, lwm2m: '1.1' });
      expect((await d.register()).code).toBe('2.01');
      await h.probe.waitOn(`lwm2m/${endpoint}/up/register`);
    }
    // sec1's identity with another key: the handshake fails (bad Finished), no session.
    await expect(TestDevice.start({ endpoint: 'sec1', gateway: { host: '127.0.0.1', port: h.gw.dtlsPort! }, dtls: { identity: 'sec1', key: 'not-the-key' } })).rejects.toThrow();
    const res = await fetch(`http://127.0.0.1:${h.gw.httpPort}/metrics`);
    const samples = parseExposition(await res.text());
    expect(seriesOf(samples, 'lwm2m_devices_registered')).toEqual({ 'listener=dtls,lwm2m_version=1.1,queue_mode=false': 2 });
    expect(seriesOf(samples, 'lwm2m_dtls_handshakes_total')).toEqual({ 'result=ok': 2, 'result=failed': 1, 'result=timeout': 0, 'result=refused_full': 0, 'result=refused_handshakes': 0 });
    expect(valueOf(samples, 'lwm2m_dtls_sessions')).toBe(2);
    expect(valueOf(samples, 'lwm2m_dtls_handshakes_in_progress')).toBe(0);
    // One each, unless a busy machine made a client repeat its first ClientHello.
    expect(valueOf(samples, 'lwm2m_dtls_cookie_exchanges_total')).toBeGreaterThanOrEqual(3);
    expect(valueOf(samples, 'lwm2m_registrations_total')).toBe(2);
    expect(valueOf(samples, 'lwm2m_coap_retransmissions_total', { listener: 'dtls' })).toBe(0);
  });
});
