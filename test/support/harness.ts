import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { startGateway, type RunningGateway } from '../../src/app/app';
import { parseConfig } from '../../src/app/config';
import { MqttProbe } from './mqtt-probe';
import { startRedisServer, type RedisServer } from './redis-server';
import { startMosquitto, type Mosquitto } from './mosquitto';
import { TestDevice, type TestDeviceOptions } from './test-device';

export type BrokerKind = 'aedes' | 'mosquitto';
/** How test devices reach the gateway: plain UDP, or DTLS with a PSK per device. */
export type DeviceTransportKind = 'udp' | 'dtls';

/** Where the gateway keeps its state: the default embedded store (a fresh directory), memory, or a fresh redis-server. */
export type StoreKind = 'embedded' | 'memory' | 'redis';

/** Which store the harness's gateways use: LWM2M_TEST_STORE, else the product's default (embedded). */
export function storeKind(): StoreKind {
  const kind = process.env.LWM2M_TEST_STORE;
  return kind === 'memory' || kind === 'redis' ? kind : 'embedded';
}

/** Which broker the MQTT-level suites run against: aedes (npm test) or Mosquitto (interop). */
export function brokerKind(): BrokerKind {
  return process.env.LWM2M_TEST_BROKER === 'mosquitto' ? 'mosquitto' : 'aedes';
}

export interface Harness {
  gw: RunningGateway;
  probe: MqttProbe;
  devices: TestDevice[];
  device(options: Omit<TestDeviceOptions, 'gateway'>): Promise<TestDevice>;
  close(): Promise<void>;
}

/**
 * A gateway on free ports (UDP and broker), a probe subscribed to everything, and test devices.
 * `yaml` is extra configuration, merged under the test defaults. With `logLines`, the gateway logs
 * at info (or `logLevel`) into it (one JSON line each), for tests of what an operator sees.
 */
export async function startHarness(
  yaml = '',
  kind: BrokerKind = brokerKind(),
  deviceTransport: DeviceTransportKind = 'udp',
  logLines?: string[],
  logLevel: 'info' | 'debug' = 'info',
  store: StoreKind = storeKind(),
): Promise<Harness> {
  let mosquitto: Mosquitto | undefined;
  let redis: RedisServer | undefined;
  let storeDir: string | undefined;
  let storeSection: string;
  if (store === 'redis') {
    redis = await startRedisServer();
    storeSection = `store:\n  type: redis\n  url: redis://127.0.0.1:${redis.port}`;
  } else if (store === 'embedded') {
    storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-store-'));
    storeSection = `store:\n  type: embedded\n  dir: "${storeDir}"`;
  } else storeSection = 'store:\n  type: memory';
  let mqttSection = '';
  if (kind === 'mosquitto') {
    mosquitto = await startMosquitto();
    mqttSection = `mqtt:\n  url: mqtt://127.0.0.1:${mosquitto.port}\n`;
  }
  const text: string[] = [
    mqttSection,
    'embedded_broker:\n  bind: "127.0.0.1:0"',
    'listeners:\n  udp:\n    bind: "127.0.0.1:0"',
    'http:\n  bind: "127.0.0.1:0"',
    'log:\n  level: silent',
    storeSection,
    yaml,
  ];
  // Over DTLS every device gets its own PSK entry (identity = endpoint), added to the PSK file and
  // reloaded (the SIGHUP path) just before the device connects.
  const pskDir = deviceTransport === 'dtls' ? fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-psk-')) : undefined;
  const pskFile = pskDir && path.join(pskDir, 'psk.yaml');
  const pskEntries: { identity: string; key: string }[] = [];
  if (pskFile) {
    fs.writeFileSync(pskFile, '[]\n');
    text.push(`listeners:\n  dtls:\n    enable: true\n    bind: "127.0.0.1:0"\n    psk_file: "${pskFile}"`);
  }
  const config = parseConfig(mergeYaml(text.join('\n')));
  const log = logLines ? pino({ level: logLevel }, { write: (line: string) => logLines.push(line) }) : pino({ level: 'silent' });
  const gw = await startGateway(config, log);
  const probe = await MqttProbe.connect(gw.mqttUrl, 'lwm2m/#');
  const devices: TestDevice[] = [];
  return {
    gw,
    probe,
    devices,
    async device(options) {
      if (pskFile) {
        const identity = options.endpoint;
        const key = `key-of-${identity}`;
        if (!pskEntries.some((e) => e.identity === identity)) {
          pskEntries.push({ identity, key: Buffer.from(key).toString('hex') });
          fs.writeFileSync(pskFile, YAML.stringify(pskEntries));
          gw.reloadCredentials();
        }
        const d = await TestDevice.start({ dtls: { identity, key }, ...options, gateway: { host: '127.0.0.1', port: gw.dtlsPort! } });
        devices.push(d);
        return d;
      }
      const d = await TestDevice.start({ ...options, gateway: { host: '127.0.0.1', port: gw.udpPort } });
      devices.push(d);
      return d;
    },
    async close() {
      for (const d of devices) await d.close();
      await probe.close();
      await gw.close();
      if (mosquitto) await mosquitto.stop();
      if (redis) await redis.stop();
      if (storeDir) fs.rmSync(storeDir, { recursive: true, force: true });
      if (pskDir) fs.rmSync(pskDir, { recursive: true, force: true });
    },
  };
}

/** Merges YAML fragments (later wins, maps merged deeply) so tests can add keys to the defaults. */
function mergeYaml(text: string): string {
  // Each fragment is a YAML document of top-level maps; parse each and merge.
  const fragments = text.split(/\n(?=[a-z_]+:)/);
  const merged: Record<string, unknown> = {};
  for (const f of fragments) {
    const doc = YAML.parse(f) as Record<string, unknown> | null;
    if (doc) deepMerge(merged, doc);
  }
  return YAML.stringify(merged);
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v)) {
      deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else into[k] = v;
  }
}
