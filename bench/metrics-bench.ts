/**
 * (m) The cost of the metrics: notifications/s of a gateway with the management plane on and a
 * scraper reading /metrics every second, against one with `http.enable: false` (no management
 * plane, no metrics registry at all): the target. A third gateway, management plane on but never
 * scraped, splits the cost between the scrapes and the rest of the management plane. Side by side
 * in the same run, rounds rotating; each gateway has its own devices (a device notifies on its last
 * observation only) and its own mountpoint.
 */
import { freeTcpPort } from './mosquitto';
import type { ChildHandle } from './child';
import type { BenchContext } from './context';
import { cpuPerOp } from './context';
import { DevicePool, type SimDevice } from './load-generator';
import { MqttProbe } from './mqtt-clients';
import { type NotificationResult, type Observed, combineNotifications, gatewayObservations, measureNotifications, observeDevices } from './notifications';
import { registerDevices } from './registrations';
import { fmt, fmtInt, fmtMs, ratio } from './stats';

/** The least ratio of notifications/s with metrics scraped to without (issue 12). */
export const METRICS_TARGET = 0.95;

export interface MetricsOptions {
  /** Observed devices per gateway. */
  devices: number;
  /** Notifications per gateway over all rounds. */
  notifications: number;
  rounds: number;
  window: number;
  /** Milliseconds between two scrapes. */
  scrapeIntervalMs: number;
}

/** How the part starts what it measures (bench/run.ts owns the broker, the children and the YAML). */
export interface MetricsDeps {
  brokerUrl: string;
  brokerPid: number;
  /** The bench gateway's YAML with this MQTT client id, mountpoint, and management plane (`false`: off). */
  gatewayYaml(options: { clientId: string; mountpoint: string; httpBind: string | false }): string;
  /** `name`: the gateway's name in file names (CPU profiles). */
  startGateway(yaml: string, name: string): Promise<ChildHandle>;
  stopGateway(child: ChildHandle): Promise<void>;
  log(message: string): void;
}

export interface MetricsResults {
  /** Scraped every second. */
  on: NotificationResult;
  /** Management plane on, never scraped. */
  unscraped: NotificationResult;
  /** http.enable false. */
  off: NotificationResult;
  scrapes: number;
  scrapeFailures: number;
  /** Mean size of a scrape's body, bytes, and its slowest answer, ms. */
  scrapeBytes: number;
  scrapeMaxMs: number;
  /** lwm2m_notifications_received_total of the last scrape (what the gateway counted). */
  countedNotifications: number | undefined;
  notes: string[];
}

/** GETs /metrics every `intervalMs` until stopped; one scrape at a time (a slow answer delays the next). */
function startScraper(url: string, intervalMs: number): { stop(): Promise<Pick<MetricsResults, 'scrapes' | 'scrapeFailures' | 'scrapeBytes' | 'scrapeMaxMs' | 'countedNotifications'>> } {
  let scrapes = 0;
  let failures = 0;
  let bytes = 0;
  let maxMs = 0;
  let last = '';
  let running: Promise<void> = Promise.resolve();
  const scrape = async () => {
    const started = performance.now();
    try {
      const res = await fetch(url);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      scrapes++;
      bytes += text.length;
      last = text;
    } catch {
      failures++;
    }
    maxMs = Math.max(maxMs, performance.now() - started);
  };
  const timer = setInterval(() => {
    running = running.then(scrape);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      const counted = /^lwm2m_notifications_received_total\{listener="udp"\} (\d+)$/m.exec(last);
      return { scrapes, scrapeFailures: failures, scrapeBytes: scrapes > 0 ? bytes / scrapes : 0, scrapeMaxMs: maxMs, countedNotifications: counted ? Number(counted[1]) : undefined };
    },
  };
}

type TargetLabel = 'scraped' | 'not scraped' | 'http off';

interface Target {
  label: TargetLabel;
  gateway: ChildHandle;
  devices: SimDevice[];
  observed: Observed[];
  ctx: BenchContext;
}

export async function runMetricsPart(opts: MetricsOptions, deps: MetricsDeps): Promise<MetricsResults> {
  const notes: string[] = [];
  const port = await freeTcpPort();
  const specs: { label: TargetLabel; suffix: string; httpBind: string | false }[] = [
    { label: 'scraped', suffix: 'on', httpBind: `127.0.0.1:${port}` },
    { label: 'not scraped', suffix: 'unscraped', httpBind: '127.0.0.1:0' },
    { label: 'http off', suffix: 'off', httpBind: false },
  ];
  const gateways: ChildHandle[] = [];
  let probe: MqttProbe | undefined;
  let pool: DevicePool | undefined;
  try {
    for (const spec of specs) {
      const yaml = deps.gatewayYaml({ clientId: `bench-metrics-${spec.suffix}`, mountpoint: `lwm2m/\${endpoint_name}/${spec.suffix}/`, httpBind: spec.httpBind });
      gateways.push(await deps.startGateway(yaml, `metrics-${spec.suffix}`));
    }
    deps.log(`(m) metrics cost: gateways ${specs.map((spec, i) => `${spec.label} pid ${gateways[i].pid}`).join(', ')} (scraped every ${opts.scrapeIntervalMs} ms on port ${port}); ${opts.devices} observed devices each`);
    probe = await MqttProbe.connect(deps.brokerUrl, ['lwm2m/+/+/up/#']);
    pool = await DevicePool.create(specs.length * opts.devices, 0);
    const targets: Target[] = [];
    for (const [i, { label, suffix }] of specs.entries()) {
      const gateway = gateways[i];
      const devices = pool.devices.slice(i * opts.devices, (i + 1) * opts.devices);
      const registered = await registerDevices(pool, devices, gateway.udpPort);
      if (registered < devices.length) notes.push(`${label}: ${registered} of ${devices.length} devices registered`);
      const observedCount = await observeDevices({ probe }, devices, (dev) => `lwm2m/${dev.name}/${suffix}/dn`);
      if (observedCount < devices.length) notes.push(`${label}: ${observedCount} of ${devices.length} observe commands answered`);
      const ctx: BenchContext = { pool, probe, gateway, baseline: gateway, brokerPid: deps.brokerPid, log: deps.log };
      targets.push({ label, gateway, devices, observed: gatewayObservations(devices), ctx });
    }
    const scraper = startScraper(`http://127.0.0.1:${port}/metrics`, opts.scrapeIntervalMs);
    const perRound = Math.ceil(opts.notifications / opts.rounds);
    const warm = Math.min(10_000, Math.ceil(opts.notifications / 10));
    for (const t of targets) await measureNotifications(t.ctx, 'gateway', t.observed, warm, opts.window);
    const rounds = new Map<Target, NotificationResult[]>(targets.map((t) => [t, []]));
    for (let round = 0; round < opts.rounds; round++) {
      // Each target takes each place in the order in turn: a burst of load from elsewhere spreads over all.
      const order = targets.map((_, k) => targets[(k + round) % targets.length]);
      for (const t of order) {
        const r = await measureNotifications(t.ctx, 'gateway', t.observed, perRound, opts.window);
        rounds.get(t)?.push(r);
        deps.log(`    ${t.label.padEnd(11)} ${fmtInt(r.perSecond)}/s (${r.received}/${r.sent})`);
      }
    }
    // One more scrape after the last round, so that the count read covers every notification.
    await new Promise((resolve) => setTimeout(resolve, opts.scrapeIntervalMs + 200));
    const scraped = await scraper.stop();
    if (scraped.scrapes === 0) notes.push('metrics: no scrape succeeded');
    const combined = (k: number) => combineNotifications(rounds.get(targets[k]) ?? []);
    return { on: combined(0), unscraped: combined(1), off: combined(2), ...scraped, notes };
  } finally {
    await probe?.close();
    await pool?.close();
    for (const gateway of gateways) await deps.stopGateway(gateway);
  }
}

/** The part's row of the results table and its details. */
export function metricsReport(r: MetricsResults): { rows: string[][]; details: string[] } {
  const q = ratio(r.on.perSecond, r.off.perSecond);
  const met = Number.isFinite(q) ? (q >= METRICS_TARGET ? 'yes' : 'NO') : '-';
  const rows = [
    [`notifications/s metrics scraped vs http off (${fmtInt(r.on.observed)} dev)`, fmtInt(r.on.perSecond), fmtInt(r.off.perSecond), fmt(q), `>= ${METRICS_TARGET.toFixed(2)}`, met],
    ['  scraped vs not scraped (http on)', fmtInt(r.on.perSecond), fmtInt(r.unscraped.perSecond), fmt(ratio(r.on.perSecond, r.unscraped.perSecond)), '-', '-'],
  ];
  const targets: [string, NotificationResult][] = [
    ['scraped    ', r.on],
    ['not scraped', r.unscraped],
    ['http off   ', r.off],
  ];
  const details = [
    ...targets.map(([label, n]) => `notifications ${label}: ${n.received}/${n.sent} received in ${fmtMs(n.elapsedMs)} ms, lost ${n.lost}; CPU per notification: ${cpuPerOp(n.cpu, n.received)}`),
    `metrics scrapes: ${r.scrapes} (${r.scrapeFailures} failed), ${fmtInt(r.scrapeBytes)} B each on average, slowest ${fmtMs(r.scrapeMaxMs)} ms; the last one counted ${r.countedNotifications ?? 'n/a'} notifications received (warm-up included)`,
    ...r.notes.map((n) => `note: ${n}`),
  ];
  return { rows, details };
}
