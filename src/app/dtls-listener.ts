import fs from 'node:fs';
import type { Logger } from 'pino';
import { DEFAULT_CIPHERS, opensslCipherName } from '../transport/dtls/cipher-suites';
import type { PskEntry, PskLookup } from '../transport/dtls/credentials';
import { type LoadNativeDtlsResult, loadNativeDtls } from '../transport/dtls/native-binding';
import { DtlsTransport, type SessionEndReason } from '../transport/dtls-transport';
import { LogThrottle } from '../limits/log-throttle';
import type { Peer } from '../transport/transport';
import type { EndpointClaims } from '../lwm2m/registration/admission';
import { combinePskLookups } from '../lwm2m/bootstrap/provisioned-credentials';
import { type BootstrapDtlsListenerConfig, ConfigError, type DtlsListenerConfig } from './config';
import { PskFile } from './psk-file';

/** The running DTLS listener: its transport, real port, and the SIGHUP hook. */
export interface DtlsListener {
  transport: DtlsTransport;
  /** The endpoints the PSK file binds to its identities. */
  claims?: EndpointClaims;
  port: number;
  reloadCredentials(): void;
}

const NO_PSK: PskLookup = { lookupPsk: (): PskEntry | undefined => undefined };

function readPem(file: string | undefined, key: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { key });
  }
}

function describe(peer: Peer): Record<string, string> {
  const fields: Record<string, string> = { peer: `${peer.address}:${peer.port}` };
  if (peer.identity) fields.identity = `${peer.identity.kind}:${peer.identity.name}`;
  return fields;
}

/** Which listener: the LwM2M one (`listeners.dtls`) or the bootstrap server's (`listeners.bootstrap_dtls`). */
export interface DtlsListenerRole {
  section: 'dtls' | 'bootstrap_dtls';
  /** Keys the gateway learns at run time (bootstrap provisioning), asked after the PSK file. */
  extraPsk?: PskLookup;
}

/**
 * Starts a DTLS listener (`listeners.dtls` by default). A bad credential file refuses to start
 * (ConfigError naming the key); an addon that was not built or does not load leaves DTLS off with
 * one clear error line and the gateway serves UDP alone (undefined).
 */
export async function startDtlsListener(
  dtls: DtlsListenerConfig | BootstrapDtlsListenerConfig,
  log: Logger,
  loadAddon: () => LoadNativeDtlsResult = loadNativeDtls,
  role: DtlsListenerRole = { section: 'dtls' },
): Promise<DtlsListener | undefined> {
  const label = `listeners.${role.section}`;
  const psk = dtls.psk_file === undefined ? undefined : PskFile.load(dtls.psk_file);
  const cert = readPem(dtls.certfile, `${label}.certfile`);
  const key = readPem(dtls.keyfile, `${label}.keyfile`);
  const ca = readPem(dtls.cacertfile, `${label}.cacertfile`);
  const native = loadAddon();
  if (!native.ok) {
    log.error({ reason: native.reason, listener: label }, 'DTLS is off: the DTLS addon is not available (run `npm run build:native` to see why); serving UDP only');
    return undefined;
  }
  // The PSK file wins over keys learnt at run time.
  const lookup: PskLookup | undefined = role.extraPsk === undefined ? psk : combinePskLookups(psk, role.extraPsk);
  // Suites that cannot work are left out rather than offered: PSK suites without keys, certificate
  // suites without a certificate.
  const ciphers = (dtls.ciphers ?? DEFAULT_CIPHERS)
    .map((name) => opensslCipherName(name) as string)
    .filter((name) => (name.startsWith('PSK-') ? lookup !== undefined : cert !== undefined));
  let transport: DtlsTransport;
  try {
    transport = await DtlsTransport.bind(native.binding, {
      host: dtls.bind.host,
      port: dtls.bind.port,
      ciphers: ciphers.join(':'),
      cert,
      key,
      ca,
      verifyPeer: dtls.verify === 'verify_peer',
      psk: lookup ?? NO_PSK,
      sessionTimeoutMs: dtls.session_timeout * 1000,
      maxSessions: dtls.max_sessions,
      maxHandshakes: dtls.max_handshakes,
      maxHandshakesPerSource: dtls.max_handshakes_per_source,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) throw err;
    throw new ConfigError(`DTLS context refused: ${(err as Error).message}`, { key: label });
  }
  transport.on('error', (err: Error) => log.warn({ err: err.message }, 'dtls error'));
  transport.on('session', (peer: Peer, info: { cipher: string }) => log.debug({ ...describe(peer), cipher: info.cipher }, 'dtls session established'));
  // A handshake flood from one address logs one line per reason every 10 s, with the count of those left out.
  const refusalLog = new LogThrottle();
  transport.on('sessionEnd', (peer: Peer, reason: SessionEndReason, detail: string) => {
    if (reason !== 'failed' && reason !== 'refused_full' && reason !== 'refused_handshakes') {
      log.debug({ ...describe(peer), reason, detail }, 'dtls session ended');
      return;
    }
    const admitted = refusalLog.admit(`${peer.address} ${reason}`);
    if (!admitted) return;
    const fields = { ...describe(peer), reason, detail, suppressed: admitted.suppressed || undefined };
    if (reason === 'failed') log.info(fields, 'dtls handshake refused');
    else log.warn(fields, 'dtls handshake refused: limit reached');
  });
  const port = transport.address().port;
  const what = role.section === 'dtls' ? 'LwM2M over DTLS listening' : 'LwM2M bootstrap server over DTLS listening';
  log.info({ bind: `${dtls.bind.host}:${port}`, ciphers, openssl: native.opensslVersion, psk_identities: psk?.size ?? 0 }, what);
  return {
    transport,
    port,
    claims: psk,
    reloadCredentials: () => {
      if (!psk) return;
      try {
        const count = psk.reload();
        log.info({ file: psk.file, psk_identities: count }, 'PSK file reloaded');
      } catch (err) {
        log.error({ err: (err as Error).message }, 'PSK file not reloaded; the previous keys stay in use');
      }
    },
  };
}
