import { EventEmitter } from 'node:events';
import { type CoapEndpoint, type CoapResponse, type InboundRequest, OptionNumber, encodeUint } from '../../coap';
import { RateLimiter } from '../../limits/rate-limiter';
import type { Peer } from '../../transport/transport';
import { ContentFormat } from '../codec';
import type { Entry } from '../node';
import type { ModelLookup } from '../model/types';
import { type EndpointClaims, checkIdentityBinding, sameIdentity } from '../registration/admission';
import { DEFAULT_MAX_ENDPOINT_LENGTH, endpointNameProblem, parseQuery } from '../registration/registration-service';
import type { BootstrapCandidate, BootstrapConfig, BootstrapConfigSource, BootstrapLookup, BootstrapVersion, ProvisionedPsk, PskProvisioner } from './bootstrap-config';
import { encodeBootstrapPack } from './bootstrap-pack';
import { BootstrapSession, type BootstrapOutcome, type BootstrapStep } from './bootstrap-session';
import { WRITABLE_FORMATS } from './bootstrap-writes';

export interface BootstrapPolicy {
  /** A session that has not finished after this long fails (`bootstrap.session_timeout`). */
  sessionTimeoutMs: number;
  /** Sessions at once; more Bootstrap-Requests get 5.03 (`bootstrap.max_sessions`). */
  maxSessions: number;
  /** Longest endpoint name in UTF-8 bytes. */
  maxEndpointLength?: number;
  /** Bootstrap-Requests per second and at once from one source address; more get 4.29. */
  requestRate?: { perSource: number; burst: number };
  /**
   * Whether a configuration that carries keys (PSK, private key, OSCORE secret) may be written over
   * plain UDP, where anyone may ask for any endpoint's (`bootstrap.allow_keys_over_udp`). Default false: 4.03.
   */
  allowKeysOverUdp?: boolean;
}

/** Whether writing `config` hands a device key material (anything but NoSec accounts without OSCORE). */
function carriesKeys(config: BootstrapConfig): boolean {
  if (config.bootstrapAccount !== undefined && config.bootstrapAccount.mode !== 'nosec') return true;
  return config.servers.some((server) => server.security.mode !== 'nosec' || server.oscore !== undefined);
}

/** What the northbound hears of a bootstrap: it started, finished, or failed at a step. */
export interface BootstrapEvent {
  endpoint: string;
  peer: Peer;
  scheme: string;
  /** The request's query (`imei`, `device_id` for topic placeholders). */
  query: Readonly<Record<string, string>>;
  status: 'started' | 'finished' | 'failed';
  step: BootstrapStep;
  /** The CoAP code: the device's answer, or what the gateway answered a refused request. */
  code?: string;
  error?: string;
  version?: BootstrapVersion;
  /** What Bootstrap-Read returned (the Server and ACL objects: no secrets), on `finished`. */
  read?: readonly Entry[];
}

/**
 * Whether the northbound can carry this endpoint (its name in MQTT topics): why not, or undefined.
 * Checked before anything is asked of a configuration source.
 */
export type BootstrapNameCheck = (candidate: BootstrapCandidate) => string | undefined;

/**
 * How long a Bootstrap-Pack is served again to the peer that asked for it: a pack larger than a block
 * comes as several GET /bspack requests (RFC 7959 Block2), and every block must be cut from the same
 * pack (a second lookup would mint other keys). Also the bound of a block-wise transfer's life.
 */
const PACK_REUSE_MS = 60_000;
/** Max-Age of a 5.03 for a full session table, or a configuration source that failed. */
const BUSY_RETRY_SECONDS = 10;
const EMPTY = Buffer.alloc(0);

interface OpenSession {
  peer: Peer;
  startedAt: number;
  /** Undefined while the configuration is being looked up (the slot is held already). */
  session?: BootstrapSession;
  timer?: NodeJS.Timeout;
}

function refusal(code: string, retryAfter?: number): CoapResponse {
  const res: CoapResponse = { code, payload: EMPTY };
  if (retryAfter !== undefined) res.options = [{ number: OptionNumber.MaxAge, value: encodeUint(Math.max(1, Math.ceil(retryAfter))) }];
  return res;
}

/**
 * The LwM2M Bootstrap-Server (OMA TS Core §5.2.7, §6.1): answers `POST /bs?ep=` (Bootstrap-Request)
 * and, for 1.2, `GET /bspack?ep=` (Bootstrap-Pack-Request) on the CoAP endpoints it serves, then runs
 * one BootstrapSession per endpoint. Every request is checked before a configuration source is asked:
 * the endpoint name, a `pct` it can write, the per-source rate, the credential (a DTLS identity may
 * bootstrap only the endpoints it names; an endpoint a credential names never bootstraps without it),
 * the name check of the northbound, one session per endpoint, and the session bound.
 *
 * Emits `bootstrap` (BootstrapEvent) for each start, finish and failure (refusals included), and
 * `refused` (peer, code, reason) for requests refused before their endpoint name could be used (no
 * name, a name that cannot become a topic, over the rate, not a bootstrap method): for logs only;
 * `step` (endpoint, step, target) as each request of a sequence goes out, when listened to (debug logs).
 */
export class BootstrapServer extends EventEmitter {
  private readonly open = new Map<string, OpenSession>();
  /** Packs served lately, by endpoint and peer, for their next blocks (bounded by maxSessions, PACK_REUSE_MS). */
  private readonly packs = new Map<string, { payload: Buffer; expires: number }>();
  private readonly rate: RateLimiter | undefined;
  private claims: EndpointClaims | undefined;
  private nameCheck: BootstrapNameCheck | undefined;
  private provisioner: PskProvisioner | undefined;
  private closed = false;

  constructor(
    private readonly source: BootstrapConfigSource,
    private readonly model: ModelLookup,
    private readonly policy: BootstrapPolicy,
  ) {
    super();
    const r = policy.requestRate;
    this.rate = r ? new RateLimiter(r.perSource, r.burst) : undefined;
  }

  /** Endpoints bound to bootstrap credentials (the bootstrap listener's PSK file). */
  setEndpointClaims(claims: EndpointClaims | undefined): void {
    this.claims = claims;
  }

  setNameCheck(check: BootstrapNameCheck | undefined): void {
    this.nameCheck = check;
  }

  /** Where PSKs for the gateway's own DM listener go (ServerAccount.provision). */
  setProvisioner(provisioner: PskProvisioner | undefined): void {
    this.provisioner = provisioner;
  }

  /** Why the configuration's PSKs cannot be provisioned (the table is full, ...), before the device is touched. */
  private provisionProblem(config: BootstrapConfig): string | undefined {
    for (const server of config.servers) {
      if (!server.provision) continue;
      if (!this.provisioner) return 'a PSK is to be provisioned but the gateway has no DTLS listener credentials to add it to';
      const problem = this.provisioner.refusal(server.provision);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  /** Serves bootstrap alone on an endpoint (the dedicated bootstrap listeners): anything else is 4.04. */
  attach(endpoint: CoapEndpoint): void {
    endpoint.setRequestHandler((req) => this.handle(endpoint, req) ?? refusal('4.04'));
  }

  /**
   * Answers a Bootstrap-Request or Bootstrap-Pack-Request that came in on `endpoint`; undefined for
   * any other request (so that the DM listeners can serve `/bs` next to `/rd`).
   */
  handle(endpoint: CoapEndpoint, req: InboundRequest): CoapResponse | Promise<CoapResponse> | undefined {
    if (req.uriPath.length !== 1) return undefined;
    const pack = req.uriPath[0] === 'bspack';
    if (!pack && req.uriPath[0] !== 'bs') return undefined;
    /** A refusal before the endpoint name may be published: answered and told as `refused` (logs), nothing more. */
    const unnamed = (code: string, reason: string, retryAfter?: number): CoapResponse => {
      if (this.listenerCount('refused') > 0) this.emit('refused', req.peer, code, reason);
      return refusal(code, retryAfter);
    };
    if ((pack && req.method !== 'GET') || (!pack && req.method !== 'POST')) return unnamed('4.05', `${req.method} is not a bootstrap request`);
    if (this.closed) return refusal('5.03', BUSY_RETRY_SECONDS);
    const query = parseQuery(req.uriQuery);
    const endpointName = query.ep;
    if (endpointName === undefined || endpointName === '') return unnamed('4.00', 'no endpoint name (ep)');
    // The next block of a pack this peer is fetching: from the same pack, not another lookup (and not
    // rate-limited). A request for the first block is a new Bootstrap-Pack-Request.
    const packKey = pack ? `${endpointName}|${req.peer.address}:${req.peer.port}|${req.peer.identity?.name ?? ''}` : '';
    if (pack && req.block2Num !== undefined) {
      const served = this.packs.get(packKey);
      if (served !== undefined && served.expires > Date.now()) return { code: '2.05', contentFormat: ContentFormat.SENML_CBOR, payload: served.payload };
      // No pack to cut it from: another pack would carry other keys. 4.08 (RFC 7959 §2.9.2): start again.
      return unnamed('4.08', 'a block of a Bootstrap-Pack that is no longer (or never was) served');
    }
    if (pack) this.packs.delete(packKey);
    if (this.rate && !this.rate.take(req.peer.address)) {
      return unnamed('4.29', `more than ${this.policy.requestRate?.perSource}/s Bootstrap-Requests from ${req.peer.address} (bootstrap.request_rate)`, this.rate.retryAfter(req.peer.address));
    }
    const candidate: BootstrapCandidate = { endpoint: endpointName, peer: req.peer, scheme: endpoint.transport.scheme, query };
    const step: BootstrapStep = pack ? 'pack' : 'request';
    const refuse = (code: string, error: string, retryAfter?: number): CoapResponse => {
      this.tell(candidate, { status: 'failed', step, code, error });
      return refusal(code, retryAfter);
    };
    // Names first: until they pass, nothing about the request is published (they become topics).
    const nameProblem = endpointNameProblem(endpointName, this.policy.maxEndpointLength ?? DEFAULT_MAX_ENDPOINT_LENGTH);
    if (nameProblem) return unnamed('4.00', nameProblem);
    const northbound = this.nameCheck?.(candidate);
    if (northbound !== undefined) return unnamed('4.00', northbound);
    const refused = this.admit(candidate, refuse);
    if (refused !== undefined) return refused;
    // The slot is held while the source answers: a second request meanwhile is refused as concurrent.
    const slot: OpenSession = { peer: req.peer, startedAt: Date.now() };
    this.open.set(endpointName, slot);
    const found = (lookup: BootstrapLookup): CoapResponse | Promise<CoapResponse> => {
      if (this.open.get(endpointName) !== slot) return refusal('5.03', BUSY_RETRY_SECONDS);
      if (!lookup.found) {
        this.open.delete(endpointName);
        return refuse(lookup.code, lookup.reason, lookup.retryAfter);
      }
      if (!candidate.peer.identity && !this.policy.allowKeysOverUdp && carriesKeys(lookup.config)) {
        this.open.delete(endpointName);
        return refuse('4.03', 'the configuration carries keys and the request came without a credential (plain UDP): bootstrap over DTLS, or set bootstrap.allow_keys_over_udp');
      }
      const provisionProblem = this.provisionProblem(lookup.config);
      if (provisionProblem !== undefined) {
        this.open.delete(endpointName);
        return refuse('5.03', provisionProblem, BUSY_RETRY_SECONDS);
      }
      return pack ? this.answerPack(candidate, lookup.config, packKey, refuse) : this.start(endpoint, candidate, lookup.config, slot);
    };
    let lookup: BootstrapLookup | Promise<BootstrapLookup>;
    try {
      lookup = this.source.lookup(candidate);
    } catch (err) {
      lookup = Promise.reject(err);
    }
    if (!(lookup instanceof Promise)) return found(lookup);
    return lookup.then(found, (err: unknown) => {
      if (this.open.get(endpointName) === slot) this.open.delete(endpointName);
      return refuse('5.03', `the bootstrap configuration source failed: ${err instanceof Error ? err.message : String(err)}`, BUSY_RETRY_SECONDS);
    });
  }

  /**
   * The checks after the names passed: a `pct` it can write, the credential (a DTLS identity may
   * bootstrap only the endpoints it names; an endpoint a credential names never bootstraps without
   * it), one bootstrap per endpoint, and the session bound. The refusal, or undefined.
   */
  private admit(candidate: BootstrapCandidate, refuse: (code: string, error: string, retryAfter?: number) => CoapResponse): CoapResponse | undefined {
    const { query, peer, endpoint: endpointName } = candidate;
    if (query.pct !== undefined) {
      const pct = /^[0-9]{1,5}$/.test(query.pct) ? Number(query.pct) : NaN;
      if (!WRITABLE_FORMATS.has(pct)) return refuse('4.00', `pct ${query.pct.slice(0, 16)} is not a content format the bootstrap server writes`);
      candidate.preferredFormat = pct;
    }
    const binding = checkIdentityBinding(endpointName, peer, this.claims?.isClaimed(endpointName) ?? false, 'bootstrap');
    if (!binding.allowed) return refuse('4.03', binding.reason);
    const running = this.open.get(endpointName);
    if (running) {
      if (!sameIdentity(running.peer, peer)) return refuse('4.03', 'a bootstrap of this endpoint is running for another credential');
      const left = (this.policy.sessionTimeoutMs - (Date.now() - running.startedAt)) / 1000;
      return refuse('5.03', 'a bootstrap of this endpoint is already running', left);
    }
    if (this.open.size >= this.policy.maxSessions) return refuse('5.03', `${this.policy.maxSessions} bootstraps are running (bootstrap.max_sessions)`, BUSY_RETRY_SECONDS);
    return undefined;
  }

  /** Answers 2.04 and runs the sequence once the answer is on its way. */
  private start(endpoint: CoapEndpoint, candidate: BootstrapCandidate, config: BootstrapConfig, slot: OpenSession): CoapResponse {
    const provisioner = this.provisioner;
    const provision = provisioner && ((psk: ProvisionedPsk) => provisioner.add(psk));
    const onStep = this.listenerCount('step') > 0 ? (step: BootstrapStep, target: string) => this.emit('step', candidate.endpoint, step, target) : undefined;
    const session = new BootstrapSession(candidate, config, { endpoint, model: this.model, provision, onStep });
    slot.session = session;
    slot.timer = setTimeout(() => session.abort(`the bootstrap did not finish within ${this.policy.sessionTimeoutMs / 1000} s (bootstrap.session_timeout)`), this.policy.sessionTimeoutMs);
    slot.timer.unref();
    this.tell(candidate, { status: 'started', step: 'request', code: '2.04' });
    // setImmediate: the 2.04 leaves before the first request of the sequence.
    setImmediate(() => {
      void session.run().then((outcome) => this.end(candidate, slot, outcome));
    });
    return { code: '2.04', payload: EMPTY };
  }

  private end(candidate: BootstrapCandidate, slot: OpenSession, outcome: BootstrapOutcome): void {
    clearTimeout(slot.timer);
    if (this.open.get(candidate.endpoint) === slot) this.open.delete(candidate.endpoint);
    if (outcome.status === 'finished') this.tell(candidate, { status: 'finished', step: outcome.step, code: outcome.code, version: outcome.version, read: outcome.read });
    else this.tell(candidate, { status: 'failed', step: outcome.step, code: outcome.code, error: outcome.error, version: outcome.version });
  }

  /**
   * LwM2M 1.2 Bootstrap-Pack: the whole configuration in one SenML CBOR answer. Without a Bootstrap-
   * Discover the bootstrap account's instance is unknown (Anjay keeps it at /0/1, others at /0/0), so a
   * pack is served only when the configuration fixes every Security instance id; else 4.04, and the
   * device falls back to the Bootstrap-Request sequence, whose Discover tells.
   */
  private async answerPack(candidate: BootstrapCandidate, config: BootstrapConfig, key: string, refuse: (code: string, error: string) => CoapResponse): Promise<CoapResponse> {
    try {
      if (config.servers.some((server) => server.security.instanceId === undefined) || (config.bootstrapAccount && config.bootstrapAccount.instanceId === undefined)) {
        return refuse('4.04', 'a Bootstrap-Pack needs every security_instance_id in the configuration (without Bootstrap-Discover the bootstrap account is not known): use Bootstrap-Request');
      }
      this.tell(candidate, { status: 'started', step: 'pack' });
      const payload = encodeBootstrapPack(config, this.model);
      if (this.provisioner) for (const server of config.servers) if (server.provision) await this.provisioner.add(server.provision);
      this.keepPack(key, payload);
      this.tell(candidate, { status: 'finished', step: 'pack', code: '2.05', version: '1.2' });
      return { code: '2.05', contentFormat: ContentFormat.SENML_CBOR, payload };
    } catch (err) {
      return refuse('5.00', `the bootstrap pack could not be built: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.open.delete(candidate.endpoint);
    }
  }

  private keepPack(key: string, payload: Buffer): void {
    const now = Date.now();
    // Oldest first (one lifetime for all): expired ones leave from the front, the oldest when full.
    for (const [k, v] of this.packs) {
      if (v.expires > now && this.packs.size < this.policy.maxSessions) break;
      this.packs.delete(k);
    }
    this.packs.delete(key);
    this.packs.set(key, { payload, expires: now + PACK_REUSE_MS });
  }

  private tell(candidate: BootstrapCandidate, fields: Pick<BootstrapEvent, 'status' | 'step' | 'code' | 'error' | 'version' | 'read'>): void {
    const event: BootstrapEvent = { endpoint: candidate.endpoint, peer: candidate.peer, scheme: candidate.scheme, query: candidate.query, ...fields };
    this.emit('bootstrap', event);
  }

  /** Bootstraps running now (or waiting for their configuration). */
  get sessions(): number {
    return this.open.size;
  }

  /** Ends every session (each reports failed) and refuses new requests. */
  close(): void {
    this.closed = true;
    this.packs.clear();
    for (const slot of this.open.values()) slot.session?.abort('the gateway is shutting down');
  }
}
