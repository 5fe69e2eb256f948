/**
 * The `dtls` part of `npm run bench`: handshakes per second (PSK and ECDHE-ECDSA), uplink
 * notifications over DTLS as a ratio of the same load over UDP, and memory per established DTLS
 * session. The gateway runs as a child (bench/gateway-process.ts) with its UDP and DTLS listeners,
 * connected to the same Mosquitto as the other parts; the devices are the addon in client mode
 * (bench/dtls-client.ts). Credentials: the test certificates of test/fixtures/dtls and a PSK file
 * generated into a temporary directory (one identity per simulated device).
 * Figures only, as everywhere in the benchmark: nothing is asserted.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildHandle } from './child';
import { cpuPerOp } from './context';
import { DtlsClientContext } from './dtls-client';
import { type HandshakeCredentials, type HandshakeResult, type OpensslAloneResult, closeClientsAndSockets, measureHandshakes, measureOpensslAlone, openSockets } from './dtls-handshakes';
import { type DtlsMemoryResult, measureDtlsMemory } from './dtls-memory';
import { combineNotifications } from './notifications';
import { type LinkKind, type LinkNotificationResult, LinkDevice, measureLinkNotifications, observeLinkDevices, registerLinkDevices } from './dtls-notifications';
import { openFileLimit } from './load-generator';
import { MqttProbe } from './mqtt-clients';
import { fmt, fmtBytes, fmtInt, fmtMs, ratio, sleep } from './stats';
import { packageRoot } from '../src/package-root';
import { type NativeDtls, loadNativeDtls } from '../src/transport/dtls/native-binding';

export interface DtlsOptions {
  /** PSK handshakes timed (ECDHE: `ecdheHandshakes`). */
  pskHandshakes: number;
  ecdheHandshakes: number;
  /** Handshakes in flight. */
  concurrency: number;
  /** Devices per link in the notification run, and notifications per link (all rounds). */
  devices: number;
  notifications: number;
  window: number;
  rounds: number;
  /** Established sessions of the memory run. */
  sessions: number;
}

export interface DtlsResults {
  openssl: string;
  alone: Partial<Record<'psk' | 'ecdhe', OpensslAloneResult>>;
  handshakes: Partial<Record<'psk' | 'ecdhe', HandshakeResult>>;
  notifications?: { udp: LinkNotificationResult; dtls: LinkNotificationResult; devices: number };
  memory?: DtlsMemoryResult;
  notes: string[];
}

/** What run.ts lends: children it tracks (stopped whatever happens) and its log. */
export interface DtlsHarness {
  brokerUrl: string;
  brokerPid: number;
  startGateway(yaml: string, execArgv: string[]): Promise<ChildHandle>;
  stopGateway(child: ChildHandle): Promise<void>;
  log(message: string): void;
}

const PSK_SUITE = 'PSK-AES128-CCM8';
const ECDHE_SUITE = 'ECDHE-ECDSA-AES128-CCM8';
const WARMUP_HANDSHAKES = 100;

const fixture = (name: string) => path.join(packageRoot(), 'test', 'fixtures', 'dtls', name);

/** The PSK identities (handshake and memory runs: `hs-N`; notification devices: `dtls-N`, the endpoint name) and their client contexts. */
class Credentials {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dtls-'));
  readonly pskFile = path.join(this.dir, 'psk.yaml');
  private readonly keys: Buffer[] = [];
  private readonly contexts: DtlsClientContext[] = [];
  private readonly deviceContexts: DtlsClientContext[] = [];
  private ecdhe: DtlsClientContext | undefined;

  constructor(
    readonly native: NativeDtls,
    readonly handshakeIdentities: number,
    readonly deviceIdentities: number,
  ) {
    // Keys quoted: an unquoted hex key such as 1234e567... is a number to YAML.
    const lines: string[] = [];
    for (let i = 0; i < handshakeIdentities; i++) {
      this.keys.push(randomBytes(16));
      lines.push(`- { identity: "hs-${i}", key: "${this.keys[i].toString('hex')}" }`);
    }
    for (let i = 0; i < deviceIdentities; i++) {
      const key = randomBytes(16);
      lines.push(`- { identity: "dtls-${i}", key: "${key.toString('hex')}" }`);
      this.deviceContexts.push(new DtlsClientContext(native, { ciphers: PSK_SUITE, psk: { identity: `dtls-${i}`, key } }));
    }
    fs.writeFileSync(this.pskFile, lines.join('\n') + '\n', { mode: 0o600 });
  }

  /** Makes the client contexts of identities hs-0 .. hs-(count-1) (OpenSSL's SSL_CTX_new takes ~0.3 ms each): before timing. */
  prepare(count: number): void {
    if (count > this.handshakeIdentities) throw new Error(`only ${this.handshakeIdentities} PSK identities`);
    for (let i = this.contexts.length; i < count; i++) {
      this.contexts.push(new DtlsClientContext(this.native, { ciphers: PSK_SUITE, psk: { identity: `hs-${i}`, key: this.keys[i] } }));
    }
  }

  psk(i: number): DtlsClientContext {
    const ctx = this.contexts[i];
    if (!ctx) throw new Error(`no client context for hs-${i}: call prepare() first`);
    return ctx;
  }

  device(i: number): DtlsClientContext {
    return this.deviceContexts[i];
  }

  /** One context for every certificate client: the test client certificate (CN dev-cert-1), verifying the gateway's. */
  certificate(): DtlsClientContext {
    this.ecdhe ??= new DtlsClientContext(this.native, {
      ciphers: ECDHE_SUITE,
      cert: fs.readFileSync(fixture('client.pem')),
      key: fs.readFileSync(fixture('client.key.pem')),
      ca: fs.readFileSync(fixture('ca.pem')),
      verifyPeer: true,
    });
    return this.ecdhe;
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The `listeners:` section of a gateway loaded from loopback (the bench's DTLS runs, the soak): UDP
 * with an 8 MiB receive buffer, DTLS with a PSK file. Ends inside `dtls:`, so callers can add keys to it.
 */
export function loopbackListenersYaml(pskFile: string): string[] {
  return [
    'http:',
    '  bind: "127.0.0.1:0"',
    'listeners:',
    '  udp:',
    '    bind: "127.0.0.1:0"',
    '    recbuf: 8388608',
    '  dtls:',
    '    enable: true',
    '    bind: "127.0.0.1:0"',
    `    psk_file: ${JSON.stringify(pskFile)}`,
  ];
}

export function dtlsGatewayYaml(mqttUrl: string, pskFile: string): string {
  return [
    'store:',
    '  type: memory',
    'mqtt:',
    `  url: "${mqttUrl}"`,
    '  client_id: bench-gateway-dtls',
    ...loopbackListenersYaml(pskFile),
    `    certfile: "${fixture('server.pem')}"`,
    `    keyfile: "${fixture('server.key.pem')}"`,
    `    cacertfile: "${fixture('ca.pem')}"`,
    '    verify: verify_peer',
    '    ciphers: [TLS_PSK_WITH_AES_128_CCM_8, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8]',
    '    session_timeout: 3600',
    '    max_sessions: 100000',
    // Every simulated device sends from 127.0.0.1: the per-source limits would throttle the bench.
    '    max_handshakes: 100000',
    '    max_handshakes_per_source: 100000',
    'lwm2m:',
    '  auto_observe: false',
    '  registration_rate: { per_source: 1000000, burst: 1000000 }',
    'log:',
    '  level: silent',
    '',
  ].join('\n');
}

/** The server and client sides of each handshake kind, for OpenSSL alone. */
function aloneCredentials(): Record<'psk' | 'ecdhe', HandshakeCredentials> {
  const key = randomBytes(16);
  const server: HandshakeCredentials['server'] = {
    ciphers: `${PSK_SUITE}:${ECDHE_SUITE}`,
    cert: fs.readFileSync(fixture('server.pem')),
    key: fs.readFileSync(fixture('server.key.pem')),
    ca: fs.readFileSync(fixture('ca.pem')),
    verifyPeer: true,
    psk: () => key,
  };
  return {
    psk: { server, client: { ciphers: PSK_SUITE, verifyPeer: false, pskIdentity: 'alone', pskKey: key } },
    ecdhe: {
      server,
      client: { ciphers: ECDHE_SUITE, cert: fs.readFileSync(fixture('client.pem')), key: fs.readFileSync(fixture('client.key.pem')), ca: fs.readFileSync(fixture('ca.pem')), verifyPeer: true },
    },
  };
}

function alternate(round: number): LinkKind[] {
  return round % 2 === 0 ? ['udp', 'dtls'] : ['dtls', 'udp'];
}

async function notificationRun(opts: DtlsOptions, harness: DtlsHarness, gateway: ChildHandle, creds: Credentials, results: DtlsResults): Promise<void> {
  const { log } = harness;
  const probe = await MqttProbe.connect(harness.brokerUrl, ['lwm2m/+/up/#']);
  const udpSockets = await openSockets(opts.devices, 256 * 1024);
  const dtlsSockets = await openSockets(opts.devices, 256 * 1024);
  const udp = udpSockets.map((s, i) => new LinkDevice('udp', i, `udp-${i}`, s, gateway.udpPort));
  const dtls = dtlsSockets.map((s, i) => new LinkDevice('dtls', i, `dtls-${i}`, s, gateway.dtlsPort as number));
  try {
    for (const d of udp) await d.connect();
    for (let i = 0; i < dtls.length; i += opts.concurrency) {
      await Promise.all(dtls.slice(i, i + opts.concurrency).map((d, j) => d.connect(creds.device(i + j))));
    }
    const links: Record<LinkKind, LinkDevice[]> = { udp, dtls };
    for (const kind of ['udp', 'dtls'] as const) {
      const registered = await registerLinkDevices(links[kind]);
      const observed = await observeLinkDevices(probe, links[kind]);
      log(`    ${kind.padEnd(4)} ${registered}/${opts.devices} registered, ${observed} observed`);
      if (observed < opts.devices) results.notes.push(`${kind}: only ${observed} of ${opts.devices} devices observed`);
    }
    const warm = Math.min(5000, Math.ceil(opts.notifications / 4));
    for (const kind of ['udp', 'dtls'] as const) await measureLinkNotifications(kind, gateway, harness.brokerPid, probe, links[kind], warm, opts.window);
    const rounds: Record<LinkKind, LinkNotificationResult[]> = { udp: [], dtls: [] };
    const perRound = Math.ceil(opts.notifications / opts.rounds);
    for (let round = 0; round < opts.rounds; round++) {
      for (const kind of alternate(round)) {
        const r = await measureLinkNotifications(kind, gateway, harness.brokerPid, probe, links[kind], perRound, opts.window);
        rounds[kind].push(r);
        log(`    ${kind.padEnd(4)} ${fmtInt(r.perSecond)}/s (${r.received}/${r.sent})`);
      }
    }
    results.notifications = { udp: combineNotifications(rounds.udp), dtls: combineNotifications(rounds.dtls), devices: opts.devices };
  } finally {
    probe.clearHandler();
    const clients = dtls.map((d) => d.dtls).filter((c) => c !== undefined);
    await closeClientsAndSockets(clients, [...udpSockets, ...dtlsSockets]);
    await probe.close();
  }
}

/**
 * Runs `body` against a fresh gateway child with the DTLS listener, stopped afterwards; a failure
 * (including a child that came up without the listener, its addon not loading) becomes a note.
 */
async function withGateway(harness: DtlsHarness, pskFile: string, execArgv: string[], what: string, results: DtlsResults, body: (gateway: ChildHandle) => Promise<void>): Promise<void> {
  let gateway: ChildHandle | undefined;
  try {
    gateway = await harness.startGateway(dtlsGatewayYaml(harness.brokerUrl, pskFile), execArgv);
    if (gateway.dtlsPort === undefined) throw new Error('the gateway child came up without its DTLS listener (the addon did not load there: is native/build intact?)');
    await body(gateway);
  } catch (err) {
    results.notes.push(`${what} stopped early: ${(err as Error).stack ?? String(err)}`);
  } finally {
    if (gateway) await harness.stopGateway(gateway);
  }
}

/** Runs the whole part; whatever fails is a note, the rest is still reported. */
export async function runDtlsPart(opts: DtlsOptions, harness: DtlsHarness): Promise<DtlsResults | undefined> {
  const { log } = harness;
  const loaded = loadNativeDtls();
  if (!loaded.ok) {
    log(`dtls: the DTLS addon is not available (${loaded.reason}); part skipped`);
    return undefined;
  }
  const native = loaded.binding;
  const results: DtlsResults = { openssl: loaded.opensslVersion, alone: {}, handshakes: {}, notes: [] };

  const limit = openFileLimit() ?? 1024;
  let sessions = opts.sessions;
  if (sessions + WARMUP_HANDSHAKES + 300 > limit) {
    sessions = Math.max(100, limit - WARMUP_HANDSHAKES - 300);
    results.notes.push(`ulimit -n is ${limit}: memory run with ${sessions} DTLS sessions instead of ${opts.sessions}`);
  }
  const pskTotal = Math.min(opts.pskHandshakes, limit - WARMUP_HANDSHAKES - 300);
  const creds = new Credentials(native, Math.max(pskTotal, sessions) + WARMUP_HANDSHAKES, opts.devices);
  try {
    log(`(e) dtls: ${results.openssl}; OpenSSL alone (the addon in memory, server side timed)`);
    try {
      const alone = aloneCredentials();
      results.alone.psk = measureOpensslAlone(native, 'psk', alone.psk, 500);
      results.alone.ecdhe = measureOpensslAlone(native, 'ecdhe', alone.ecdhe, 100);
      log(`    psk server ${fmt(results.alone.psk.serverUs, 0)} µs, ecdhe server ${fmt(results.alone.ecdhe.serverUs, 0)} µs per handshake`);
    } catch (err) {
      results.notes.push(`OpenSSL alone not measured: ${(err as Error).message}`);
    }

    creds.prepare(pskTotal + WARMUP_HANDSHAKES);
    await withGateway(harness, creds.pskFile, [], 'dtls handshake/notification run', results, async (gateway) => {
      log(`    gateway pid ${gateway.pid} udp ${gateway.udpPort} dtls ${gateway.dtlsPort}`);
      // Warm-up (JIT, allocator): sessions of identities outside the timed range, closed again.
      await measureHandshakes('psk', gateway, harness.brokerPid, (i) => creds.psk(pskTotal + i), WARMUP_HANDSHAKES, opts.concurrency, () => undefined);
      await measureHandshakes('ecdhe', gateway, harness.brokerPid, () => creds.certificate(), Math.min(WARMUP_HANDSHAKES, opts.ecdheHandshakes), opts.concurrency, () => undefined);
      await sleep(200);
      log(`(e) dtls handshakes: ${pskTotal} PSK, ${opts.ecdheHandshakes} ECDHE-ECDSA, ${opts.concurrency} in flight`);
      results.handshakes.psk = await measureHandshakes('psk', gateway, harness.brokerPid, (i) => creds.psk(i), pskTotal, opts.concurrency, log);
      await sleep(300);
      results.handshakes.ecdhe = await measureHandshakes('ecdhe', gateway, harness.brokerPid, () => creds.certificate(), opts.ecdheHandshakes, opts.concurrency, log);
      await sleep(300);
      log(`(f) dtls notifications: ${opts.notifications} per link from ${opts.devices} devices, over UDP and over DTLS (PSK CCM_8), ${opts.rounds} rounds`);
      await notificationRun(opts, harness, gateway, creds, results);
    });

    await sleep(200);
    log(`(g) dtls memory: ${sessions} PSK sessions; making their client contexts`);
    creds.prepare(sessions + WARMUP_HANDSHAKES);
    await withGateway(harness, creds.pskFile, ['--expose-gc'], 'dtls memory run', results, async (gateway) => {
      log(`    fresh gateway pid ${gateway.pid} dtls ${gateway.dtlsPort}`);
      const m = await measureDtlsMemory(gateway, (i) => creds.psk(i), sessions, WARMUP_HANDSHAKES, opts.concurrency, log);
      results.memory = m;
      log(`    ${m.established}/${sessions} established in ${(m.handshakeMs / 1000).toFixed(1)} s, gateway holds ${m.held}; RSS per session ${fmtBytes(m.rssPerSession)}`);
    });
  } finally {
    creds.dispose();
  }
  return results;
}

function statusOf(ok: boolean | undefined): string {
  return ok === undefined ? '-' : ok ? 'yes' : 'NO';
}

const us = (ms: number, ops: number) => (ops > 0 && Number.isFinite(ms) ? (ms * 1000) / ops : NaN);
const fmtUs = (value: number) => (Number.isFinite(value) ? `${value.toFixed(value < 100 ? 1 : 0)} µs` : 'n/a');

/** 12 KB, the issue's target per session. */
export const SESSION_MEMORY_TARGET = 12 * 1024;

/** The part's rows of the result table, its detail lines and the footnote. */
export function dtlsReport(r: DtlsResults): { rows: string[][]; details: string[]; legend: string[] } {
  const rows: string[][] = [];
  const details: string[] = [];
  const labels = { psk: 'PSK (CCM_8)', ecdhe: 'ECDHE-ECDSA (CCM_8)' } as const;
  for (const kind of ['psk', 'ecdhe'] as const) {
    const h = r.handshakes[kind];
    const a = r.alone[kind];
    if (!h) continue;
    const aloneRate = a ? 1e6 / a.serverUs : NaN;
    const gwUs = us(h.cpu.targetMs, h.completed);
    rows.push([`${labels[kind]} handshakes/s (${fmtInt(h.total)}, ${h.concurrency} in flight)`, fmtInt(h.perSecond), fmtInt(aloneRate), fmt(ratio(h.perSecond, aloneRate)), '-', '-']);
    rows.push([`  gateway CPU per ${kind.toUpperCase()} handshake`, fmtUs(gwUs), fmtUs(a?.serverUs ?? NaN), fmt(ratio(gwUs, a?.serverUs ?? NaN)), '-', '-']);
    const who =
      kind === 'psk'
        ? `fresh socket and distinct PSK identity each (no session closes another): the gateway held ${h.sessionsAfter} sessions at the end`
        : `fresh socket each, all with the one test client certificate (CN dev-cert-1, server verify_peer): each new session makes the gateway close the previous one of that identity (close_notify, counted in its CPU), it held ${h.sessionsAfter} at the end`;
    const errors = [...h.errors].map(([e, n]) => `${n} x ${e}`).join('; ');
    details.push(
      `dtls ${kind.padEnd(5)} handshakes: ${h.completed}/${h.total} in ${fmtMs(h.elapsedMs)} ms, ${h.failed} failed${errors ? ` (${errors})` : ''}; ${who}; CPU per handshake: ${cpuPerOp(h.cpu, h.completed)}`,
    );
    if (a) details.push(`dtls ${kind.padEnd(5)} OpenSSL alone: ${a.handshakes} handshakes, server ${fmtUs(a.serverUs)} + client ${fmtUs(a.clientUs)} per handshake (one core, in memory)`);
  }
  const n = r.notifications;
  if (n) {
    rows.push([`notifications/s DTLS vs UDP (${n.devices} dev, ${fmtInt(n.dtls.sent)} msgs)`, fmtInt(n.dtls.perSecond), fmtInt(n.udp.perSecond), fmt(ratio(n.dtls.perSecond, n.udp.perSecond)), '-', '-']);
    const d = us(n.dtls.cpu.targetMs, n.dtls.received);
    const u = us(n.udp.cpu.targetMs, n.udp.received);
    rows.push(['  gateway CPU per notification', fmtUs(d), fmtUs(u), fmt(ratio(d, u)), '-', '-']);
    rows.push(['  notification loss (DTLS / UDP)', fmtInt(n.dtls.lost), fmtInt(n.udp.lost), '-', '-', '-']);
    for (const x of [n.dtls, n.udp]) {
      details.push(`dtls notifications over ${x.kind.padEnd(4)}: ${x.received}/${x.sent} received in ${fmtMs(x.elapsedMs)} ms, lost ${x.lost}; CPU per notification: ${cpuPerOp(x.cpu, x.received)}`);
    }
    if (n.dtls.sample) details.push(`dtls notification as published: ${n.dtls.sample}`);
  }
  const m = r.memory;
  if (m) {
    const label = m.sessions >= 1000 && m.sessions % 1000 === 0 ? `${m.sessions / 1000}k` : `${m.sessions}`;
    // The marginal figure (second half of the sessions) is free of start-up effects; the target is
    // judged on the larger of the two.
    const worst = Math.max(m.rssPerSession, m.rssPerSessionMarginal);
    rows.push([`memory per DTLS session @${label} (RSS, marginal)`, fmtBytes(m.rssPerSessionMarginal), '-', '-', `<= ${SESSION_MEMORY_TARGET} B`, statusOf(Number.isFinite(worst) ? worst <= SESSION_MEMORY_TARGET : undefined)]);
    rows.push([`  RSS delta / sessions @${label}`, fmtBytes(m.rssPerSession), '-', '-', '-', '-']);
    rows.push(['  V8 heap + external per DTLS session', fmtBytes(m.heapPerSession), '-', '-', '-', '-']);
    details.push(
      `dtls memory: ${m.established}/${m.sessions} PSK sessions established (${m.failed} failed) in ${fmtMs(m.handshakeMs)} ms, sessions only (nothing registered, one CoAP ping each so the session carried application data); gateway held ${m.heldBefore} sessions before, ${m.held} with them up, ${m.heldAfterClose} after the clients closed them`,
    );
    details.push(
      `dtls memory per session: RSS ${fmtBytes(m.rssPerSession)}, of which outside the V8 heap (RSS delta - heapTotal delta: OpenSSL, the addon) ${fmtBytes(m.outsideV8PerSession)}; RSS before ${fmtBytes(m.rssBefore)}; after the sessions closed RSS stays +${fmtBytes(m.rssPerSessionAfterClose)} per session (freed memory malloc keeps)`,
    );
  }
  for (const note of r.notes) details.push(`dtls note: ${note}`);
  const legend = [
    `dtls (${r.openssl}): handshakes baseline = OpenSSL alone, the addon's server side driven in memory on one core (no sockets, no JS transport), rate = 1 / its time per handshake;`,
    '  the gateway rate is what this machine does with the load generator (which spends about as much CPU per handshake) on the same cores.',
    '  notifications baseline = the same devices and load over plain UDP to the same gateway, same Mosquitto (ratio = DTLS / UDP).',
    '  memory per DTLS session = RSS delta of a fresh gateway after a forced GC / sessions (OpenSSL state is malloc\'d, outside the V8 heap).',
  ];
  return { rows, details, legend };
}
