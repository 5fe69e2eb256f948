import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BootstrapTestClient } from '../../support/bootstrap-client';
import { startHarness, type Harness } from '../../support/harness';

/** The bootstrap series of /metrics after a known sequence: one finished, one failed at write, one refused (4.01), one without ep. */
describe('bootstrap metrics', () => {
  let h: Harness;
  let dir: string;
  const clients: BootstrapTestClient[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-bs-metrics-'));
    const configFile = path.join(dir, 'bootstrap.yaml');
    const server = '    servers:\n      - short_server_id: 1\n        uri: "coap://127.0.0.1:5683"\n        security_mode: nosec\n';
    fs.writeFileSync(configFile, `endpoints:\n  m-ok:\n${server}  m-fail:\n${server}`);
    h = await startHarness(`listeners:\n  bootstrap_udp:\n    enable: true\n    bind: "127.0.0.1:0"\nbootstrap:\n  config_file: "${configFile}"`);
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function client(endpoint: string, fail?: { step: 'write'; code: string }): Promise<BootstrapTestClient> {
    const c = await BootstrapTestClient.start({ endpoint, version: '1.1', server: { host: '127.0.0.1', port: h.gw.bootstrapUdpPort! }, fail });
    clients.push(c);
    return c;
  }

  it('counts bootstraps by status and step, refusals by code, and the open sessions', async () => {
    const ok = await client('m-ok');
    expect((await ok.requestBootstrap()).code).toBe('2.04');
    await ok.finished;
    const failing = await client('m-fail', { step: 'write', code: '4.00' });
    expect((await failing.requestBootstrap()).code).toBe('2.04');
    await h.probe.waitFor((m) => m.topic === 'lwm2m/m-fail/up/bootstrap' && (m.json.data as Record<string, unknown>).status === 'failed');
    const unknown = await client('m-unknown');
    expect((await unknown.requestBootstrap()).code).toBe('4.01');
    expect((await unknown.requestBootstrap([])).code).toBe('4.00');

    const text = await (await fetch(`http://127.0.0.1:${h.gw.httpPort}/metrics`)).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('lwm2m_bootstraps_total{status="started",step="request"}')).toBe(2);
    expect(value('lwm2m_bootstraps_total{status="finished",step="finish"}')).toBe(1);
    expect(value('lwm2m_bootstraps_total{status="failed",step="write"}')).toBe(1);
    expect(value('lwm2m_bootstraps_total{status="failed",step="request"}')).toBe(1);
    expect(value('lwm2m_bootstrap_requests_refused_total{code="4.00"}')).toBe(1);
    expect(value('lwm2m_bootstrap_sessions')).toBe(0);
  });
});
