/**
 * `npm run soak` (issue 9 acceptance): the gateway in a child process (bench/gateway-process.ts,
 * embedded aedes broker, UDP + DTLS listeners, HTTP auth hook, auto_observe) under every attack of
 * bench/soak-attacks.ts at once, for `--duration` seconds, while 1,000 legitimate UDP devices on
 * 127.0.0.1 (observed, notifying) and one DTLS device `secure-1` are read through MQTT at a steady
 * rate. Nothing is restarted: a gateway that exits is a crash, counted, and the run ends there.
 *
 * Exit code 0 only if: no crash, every legitimate read answered 2.05, no secret on MQTT.
 * Everything else (notifications, memory, per-attack outcomes, gateway counters) is printed.
 *
 * Options: --duration S (default 120), --devices N (1000), --read-rate R (200 reads/s),
 * --notify-rate R (500/s), --max-registrations N (lwm2m.max_registrations, default: the gateway's
 * default 100000, which the registration flood cannot reach at 100/s: lower it to see its 5.03).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Attack, AttackContext, AttackReport, SoakLimits } from './soak-attack';
import { AbandonedHandshakes, CommandFlood, IdentityHijack, PoisonedCommands, RegistrationFlood, SecretQuery, SlowAuth, TopicInjection, UnfinishedBlock1 } from './soak-attacks';
import { loopbackListenersYaml } from './dtls-bench';
import { parseFlags, positiveNumber } from './flags';
import { SoakAuthServer } from './soak-auth';
import { CounterPeaks, RssSampler, SoakGateway, type SoakUsage, procMemory } from './soak-child';
import { LegitSide, SECURE_ENDPOINT } from './soak-legit';
import { AttackMonitor } from './soak-monitor';
import { openFileLimit } from './load-generator';
import { fmtBytes, fmtMs, sleep } from './stats';
import { loadNativeDtls, type NativeDtls } from '../src/transport/dtls/native-binding';

interface Options {
  durationS: number;
  devices: number;
  readRate: number;
  secureReadRate: number;
  notifyRate: number;
  registerRate: number;
  maxRegistrations: number | undefined;
}

function parseOptions(argv: string[]): Options {
  const flags = parseFlags(argv, ['duration', 'devices', 'read-rate', 'notify-rate', 'max-registrations']);
  const num = (flag: string, dflt: number) => positiveNumber(flag, flags.get(flag), dflt);
  return {
    durationS: num('duration', 120),
    devices: Math.floor(num('devices', 1000)),
    readRate: num('read-rate', 200),
    secureReadRate: 2,
    notifyRate: num('notify-rate', 500),
    registerRate: 250,
    maxRegistrations: flags.has('max-registrations') ? Math.floor(num('max-registrations', 100_000)) : undefined,
  };
}

/** gateway.yaml defaults the attacks are judged against (max_registrations may be lowered by --max-registrations). */
function limitsFor(opts: Options): SoakLimits {
  return {
    maxQueuedCommands: 100,
    maxEndpointLength: 256,
    maxRegistrations: opts.maxRegistrations ?? 100_000,
    ratePerSource: 100,
    rateBurst: 1000,
    maxPendingBytesPerSource: 8 * 1024 * 1024,
    maxPendingBytes: 64 * 1024 * 1024,
    maxHandshakesPerSource: 100,
    authMaxInFlight: 100,
    authMaxInFlightPerSource: 20,
    authTimeoutS: 5,
  };
}

function gatewayYaml(opts: Options, pskFile: string, authUrl: string): string {
  return [
    'store:',
    '  type: memory',
    'mqtt:',
    `  client_id: ${AttackMonitor.GATEWAY_CLIENT_ID}`,
    'embedded_broker:',
    '  bind: "127.0.0.1:0"',
    ...loopbackListenersYaml(pskFile),
    'auth:',
    '  http:',
    `    url: ${JSON.stringify(authUrl)}`,
    '    body: { clientid: "${endpoint_name}" }',
    'lwm2m:',
    '  auto_observe: true',
    ...(opts.maxRegistrations !== undefined ? [`  max_registrations: ${opts.maxRegistrations}`] : []),
    'log:',
    '  level: silent',
    '',
  ].join('\n');
}

/** Seconds of legit load alone before the attacks start: the latency baseline. */
const QUIET_S = 5;
/** Command flood: this many reads at once, every this many seconds (flood-1 and sleepy-1 in turn). */
const FLOOD_BURST = 2500;
const FLOOD_EVERY_S = 5;
/** New legit devices registering during the attacks (late-N from 127.0.0.1), per second. */
const LATE_RATE = 0.5;

const startedAt = performance.now();
function log(message: string): void {
  process.stderr.write(`[soak ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

/** Everything started, stopped on the way out whatever happens. */
const running = {
  gateway: undefined as SoakGateway | undefined,
  auth: undefined as SoakAuthServer | undefined,
  legit: undefined as LegitSide | undefined,
  monitor: undefined as AttackMonitor | undefined,
  attacks: [] as Attack[],
  tmp: undefined as string | undefined,
};

async function shutdown(): Promise<void> {
  for (const a of running.attacks) a.stop();
  await Promise.all(running.attacks.map((a) => a.close().catch(() => undefined)));
  await running.legit?.close().catch(() => undefined);
  await running.monitor?.close().catch(() => undefined);
  await running.gateway?.stop().catch(() => undefined);
  await running.auth?.close().catch(() => undefined);
  if (running.tmp) fs.rmSync(running.tmp, { recursive: true, force: true });
}

function pct(a: number, b: number): string {
  return b === 0 ? 'n/a' : `${((a / b) * 100).toFixed(a === b ? 0 : 2)} %`;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const limits = limitsFor(opts);
  const need = opts.devices + 400;
  const fileLimit = openFileLimit() ?? 1024;
  if (fileLimit < need) throw new Error(`ulimit -n is ${fileLimit}; the soak needs about ${need} file descriptors`);
  log(`ulimit -n ${fileLimit} (need ~${need}); ${os.cpus().length} CPUs, node ${process.version}`);

  const native: NativeDtls | undefined = (() => {
    const r = loadNativeDtls();
    return r.ok ? r.binding : undefined;
  })();
  if (!native) log('DTLS addon not available: secure-1 and the DTLS attack are skipped');

  running.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-'));
  const psk = { identity: 'soak-psk', key: randomBytes(16) };
  const pskFile = path.join(running.tmp, 'psk.yaml');
  fs.writeFileSync(pskFile, `- { identity: "${psk.identity}", key: "${psk.key.toString('hex')}", endpoint: "${SECURE_ENDPOINT}" }\n`, { mode: 0o600 });

  const auth = await SoakAuthServer.start();
  running.auth = auth;
  const yaml = gatewayYaml(opts, pskFile, auth.url);
  const gateway = await SoakGateway.start(yaml, ['--expose-gc']);
  running.gateway = gateway;
  const mqttUrl = `mqtt://127.0.0.1:${gateway.brokerPort}`;
  log(`gateway pid ${gateway.pid}: udp ${gateway.udpPort}, dtls ${gateway.dtlsPort ?? '-'}, embedded broker ${gateway.brokerPort}; auth service ${auth.url}`);
  let crashed: () => void = () => undefined;
  const crashPromise = new Promise<void>((resolve) => (crashed = resolve));
  gateway.onCrash((c) => {
    log(`GATEWAY EXITED at ${c.atS.toFixed(1)} s (code ${c.code}, signal ${c.signal})`);
    crashed();
  });
  const rss = new RssSampler(gateway.pid, 500, 10);

  // ---- legitimate side: devices, registration, observation, secure-1, the application
  const legit = new LegitSide(gateway.udpPort, gateway.dtlsPort);
  running.legit = legit;
  await legit.open(opts.devices);
  await legit.connectMqtt(mqttUrl);
  const t0 = performance.now();
  const observed = await legit.registerAll(opts.registerRate);
  log(`${opts.devices} legit devices registered at ${opts.registerRate}/s in ${((performance.now() - t0) / 1000).toFixed(1)} s (${legit.registerOutcomes.format()}), ${observed} observed by the gateway`);
  if (native) {
    const ok = await legit.connectSecure(native, psk.identity, psk.key);
    log(`${SECURE_ENDPOINT} over DTLS: ${legit.secureOutcome}${ok ? '' : ' (its reads will fail)'}`);
  }

  // ---- attacks
  const monitor = await AttackMonitor.connect(mqttUrl, ['flood-1', 'sleepy-1', 'poison-1']);
  running.monitor = monitor;
  const peaks = new CounterPeaks(gateway);
  const ctx: AttackContext = {
    udpPort: gateway.udpPort,
    dtlsPort: gateway.dtlsPort,
    native,
    psk,
    monitor,
    limits,
    peak: (key) => peaks.get(key),
    authHeld: () => ({ held: auth.heldOpen, maxHeldAtOnce: auth.counters.maxHeldAtOnce, abandonedByGateway: auth.counters.abandonedByGateway }),
    secureReads: () => {
      const s = legit.secureStats();
      return { sent: s.sent, answered: s.answered, reRegisters: legit.secureReRegisters, deregisters: legit.secureDeregisters.length };
    },
  };
  const secrets = new SecretQuery(ctx, 2);
  const flood = new CommandFlood(ctx, FLOOD_BURST, FLOOD_EVERY_S);
  const attacks: Attack[] = [
    flood,
    new IdentityHijack(ctx, 2),
    new TopicInjection(ctx, 4),
    new PoisonedCommands(ctx, 1),
    new RegistrationFlood(ctx, 150),
    new UnfinishedBlock1(ctx, 50, 4),
    new AbandonedHandshakes(ctx, 20),
    new SlowAuth(ctx, 60),
    secrets,
  ];
  running.attacks = attacks;
  for (const a of attacks) await a.setup();
  log('attacker devices registered (flood-1, sleepy-1, poison-1); starting the legit load and every attack');

  // ---- the soak: a few seconds of legit load alone (the latency baseline), then every attack too
  legit.startLoad(opts.readRate, legit.secure ? opts.secureReadRate : 0, opts.notifyRate);
  await sleep(QUIET_S * 1000);
  const rssStart = procMemory(gateway.pid)?.rss ?? NaN;
  legit.beginAttackPhase();
  for (const a of attacks) a.start();
  await legit.startLateRegistrations(LATE_RATE);
  peaks.start(2000);
  const soakStart = performance.now();
  const progress = setInterval(() => {
    const r = legit.readStats();
    const m = procMemory(gateway.pid);
    log(`t=${((performance.now() - soakStart) / 1000).toFixed(0)} s: RSS ${m ? fmtBytes(m.rss) : 'gone'}; legit reads ${r.answered}/${r.sent}; notifications ${legit.notificationsReceived}/${legit.notificationsSent}; auth held ${auth.heldOpen}`);
  }, 10_000);
  await Promise.race([sleep(opts.durationS * 1000), crashPromise]);
  const soakS = (performance.now() - soakStart) / 1000;
  clearInterval(progress);
  peaks.stop();
  await peaks.sample();
  for (const a of attacks) a.stop();
  legit.stopSending();
  log(`sending stopped after ${soakS.toFixed(1)} s; draining answers`);
  // Answers still on their way: reads (queued behind a flood burst), and slow-auth registers (auth timeout).
  const drainUntil = performance.now() + (limits.authTimeoutS + 5) * 1000;
  while (performance.now() < drainUntil && gateway.alive) {
    if (legit.outstanding === 0 && performance.now() > drainUntil - 2000) break;
    await sleep(200);
  }
  rss.stop();
  let usage: SoakUsage | undefined;
  if (gateway.alive) usage = await gateway.usage().catch(() => undefined);
  const hwm = procMemory(gateway.pid)?.hwm ?? rss.hwm;

  // ---- report
  const reads = legit.readStats();
  const sec = legit.secureStats();
  const legitSent = reads.sent + sec.sent;
  const legitOk = reads.answered + sec.answered;
  const crashes = gateway.crash ? 1 : 0;
  const reports: AttackReport[] = attacks.map((a) => a.report());
  const out: string[] = [];
  out.push('');
  out.push(`soak: ${soakS.toFixed(0)} s of ${opts.durationS} s; gateway pid ${gateway.pid}; ${opts.devices} legit UDP devices + ${SECURE_ENDPOINT} (DTLS) on 127.0.0.1, attackers on 127.0.0.2`);
  out.push(`crashes:                       ${crashes}${gateway.crash ? ` (exited at ${gateway.crash.atS.toFixed(1)} s, code ${gateway.crash.code}, signal ${gateway.crash.signal})` : ''}`);
  out.push(`legit commands answered 2.05:  ${legitOk}/${legitSent} (${pct(legitOk, legitSent)})`);
  const quiet = legit.quietLatency();
  out.push(`  reads of d0..d${opts.devices - 1} @${opts.readRate}/s: ${reads.answered}/${reads.sent}; errors: ${reads.errors.format()}; unanswered ${reads.missing}; load generator lag p99 ${fmtMs(reads.sendLagP99)} ms`);
  out.push(`    latency, legit load alone (first ${QUIET_S} s, ${quiet.count} reads): p50 ${fmtMs(quiet.p50)} ms, p99 ${fmtMs(quiet.p99)} ms, max ${fmtMs(quiet.max)} ms`);
  out.push(`    latency under attack (${reads.latency.count} reads):             p50 ${fmtMs(reads.latency.p50)} ms, p90 ${fmtMs(reads.latency.p90)} ms, p99 ${fmtMs(reads.latency.p99)} ms, max ${fmtMs(reads.latency.max)} ms`);
  const split = legit.latencyAround(flood.burstTimes, 1000);
  out.push(`    under attack, reads due within 1 s after a command-flood burst (${split.near.count}): p50 ${fmtMs(split.near.p50)} ms, p99 ${fmtMs(split.near.p99)} ms; the others (${split.away.count}): p50 ${fmtMs(split.away.p50)} ms, p99 ${fmtMs(split.away.p99)} ms`);
  out.push(`  reads of ${SECURE_ENDPOINT} @${legit.secure ? opts.secureReadRate : 0}/s: ${sec.answered}/${sec.sent}, p50 ${fmtMs(sec.latency.p50)} ms, p99 ${fmtMs(sec.latency.p99)} ms; errors: ${sec.errors.format()}; unanswered ${sec.missing}`);
  out.push(`  (not a criterion) new legit devices registering from 127.0.0.1 during the attacks, ${LATE_RATE}/s: ${legit.lateOutcomes.format()}`);
  out.push(`notifications delivered:       ${legit.notificationsReceived}/${legit.notificationsSent} (${pct(legit.notificationsReceived, legit.notificationsSent)}) from ${observed} observed devices @${opts.notifyRate}/s`);
  out.push(`gateway memory:                VmHWM ${fmtBytes(hwm)}; RSS sampled every 0.5 s: peak ${fmtBytes(rss.peak)}, at soak start ${fmtBytes(rssStart)}`);
  out.push(`  RSS every 10 s: ${rss.timeline.map((t) => `${t.atS.toFixed(0)}s ${fmtBytes(t.rss)}`).join(', ')}`);
  out.push(`secrets leaked on MQTT:        ${secrets.leaks} (${secrets.checked} register messages of sec-* checked)`);
  out.push(`broker:                        gateway disconnects ${monitor.gatewayDisconnects} (reconnects ${monitor.gatewayConnects}); soak's MQTT clients dropped ${monitor.ownDrops + legit.mqttDrops}`);
  out.push('');
  out.push('attacks (all at once, from 127.0.0.2):');
  for (const r of reports) {
    out.push(`  ${r.name} [${r.held === undefined ? 'not judged' : r.held ? 'held' : 'NOT HELD'}]`);
    out.push(`    rate:     ${r.rate}`);
    out.push(`    sent:     ${r.sent}`);
    for (const g of r.got) out.push(`    got:      ${g}`);
    out.push(`    expected: ${r.expected}`);
    out.push(`    evidence: ${r.evidence}`);
  }
  out.push(`  gateway counters, peaks over ${peaks.samples} samples (every 2 s, no GC): ${[...peaks.peaks].map(([k, v]) => `${k} ${k.endsWith('Bytes') ? fmtBytes(v) : v}`).join(', ')}`);
  out.push(`  auth service: ${auth.counters.requests} requests, ${auth.counters.allowed} answered allow at once, ${auth.counters.held} held (never answered), at most ${auth.counters.maxOpenAtOnce} open at once`);
  out.push('');
  if (usage) {
    const u = usage;
    out.push('gateway counters (after the drain, forced GC):');
    out.push(`  registrations held ${u.registrations}; heap used ${fmtBytes(u.memory.heapUsed)}, external ${fmtBytes(u.memory.external)}, RSS ${fmtBytes(u.memory.rss)}; CPU ${((u.cpu.user + u.cpu.system) / 1e6).toFixed(1)} s`);
    if (u.dtls) out.push(`  dtls: ${JSON.stringify(u.dtls)}`);
    for (const c of u.coap ?? []) out.push(`  coap endpoint ${JSON.stringify(c)}`);
  } else {
    out.push('gateway counters: not available (gateway gone)');
  }
  const pass = crashes === 0 && legitSent > 0 && legitOk === legitSent && secrets.leaks === 0;
  out.push('');
  out.push(`criteria: crashes 0 [${crashes === 0 ? 'ok' : 'FAIL'}]; legit answered 100 % [${legitSent > 0 && legitOk === legitSent ? 'ok' : 'FAIL'}]; secrets leaked 0 [${secrets.leaks === 0 ? 'ok' : 'FAIL'}]`);
  out.push(`SOAK ${pass ? 'PASSED' : 'FAILED'}`);
  process.stdout.write(out.join('\n') + '\n');
  return pass ? 0 : 1;
}

const opts0 = (() => {
  try {
    return parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`soak: ${(err as Error).message}\n`);
    process.exit(2);
  }
})();
// Hard bound on the whole run (set-up ~30 s, drain ~10 s): stop everything and leave.
const watchdog = setTimeout(
  () => {
    log('soak exceeded its time bound: stopping');
    running.gateway?.killNow();
    process.exit(3);
  },
  (opts0.durationS + 180) * 1000,
);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    running.gateway?.killNow();
    process.exit(130);
  });
}
process.on('exit', () => running.gateway?.killNow());

main()
  .then(
    (code) => code,
    (err: unknown) => {
      process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
      return 2;
    },
  )
  .then(async (code) => {
    await shutdown();
    log('done');
    // Sockets, timers and MQTT clients are closed; exit anyway in case a library keeps a handle.
    process.exit(code);
  });
