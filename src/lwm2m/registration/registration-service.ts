import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type CoapResponse, type InboundRequest, OptionNumber, encodeUint } from '../../coap';
import { hasControlCharacter } from '../../limits/control-characters';
import { RateLimiter } from '../../limits/rate-limiter';
import { peerKey } from '../../transport/transport';
import { CodecError } from '../codec/codec-error';
import { parseLinkFormat } from '../codec';
import {
  type Admission,
  type EndpointClaims,
  type RefusalClass,
  type RefusalCode,
  type RegistrationAdmission,
  type RegistrationCandidate,
  checkIdentityBinding,
  sameIdentity,
} from './admission';
import type { Registration } from './registration';
import type { RegistrationStore } from './registration-store';

export interface RegistrationPolicy {
  lifetimeMin: number;
  lifetimeMax: number;
  /** Longest endpoint name in UTF-8 bytes. */
  maxEndpointLength?: number;
  /** Registered endpoints in total. */
  maxRegistrations?: number;
  /** Object links in one register or update payload. */
  maxObjectLinks?: number;
  /** Registers per second and at once from one source address. */
  registrationRate?: { perSource: number; burst: number };
}

export type DeregistrationReason = 'deregister' | 'expired' | 'replaced' | 'kicked';

/** How many refusals of one class and CoAP code since start (stats()). */
export interface RefusalCount {
  readonly kind: RefusalClass;
  readonly code: RefusalCode;
  readonly count: number;
}

/**
 * A check of the names a registration brings (endpoint, query values, the admission's attributes)
 * by whoever turns them into something else, e.g. MQTT topics. Runs before admission without
 * attributes and, when admission gave attributes, again with them. undefined: fine.
 */
/**
 * Why a candidate's names cannot become its topics (or are another device's), or undefined: asked
 * before admission, and again with the admission's attributes just before the registration is made.
 */
export type RegistrationNameCheck = (candidate: RegistrationCandidate, objectList: readonly string[], attributes?: Readonly<Record<string, string>>) => string | undefined;

export const DEFAULT_MAX_ENDPOINT_LENGTH = 256;
/** Max-Age of a 5.03 for a full registration table: the device retries then (RFC 7252 §5.9.3.4). */
const FULL_RETRY_SECONDS = 60;

/** Why an endpoint name is refused, or undefined when it is acceptable. */
export function endpointNameProblem(endpoint: string, maxLength: number): string | undefined {
  const bytes = Buffer.byteLength(endpoint, 'utf8');
  if (bytes > maxLength) return `endpoint name is ${bytes} bytes, longer than ${maxLength} (lwm2m.max_endpoint_length)`;
  if (hasControlCharacter(endpoint)) return 'endpoint name contains a control character';
  return undefined;
}

export const SUPPORTED_LWM2M_VERSIONS: readonly string[] = ['1.0', '1.1', '1.2'];
const DEFAULT_LIFETIME = 86400;
/** A safety bound only: the set grows with distinct authenticated devices, not with input. */
const SECURED_ENDPOINTS_BOUND = 1_000_000;
const EMPTY = Buffer.alloc(0);
const LINK_FORMAT = 40;

/** A CoAP answer with no payload. */
function answer(code: string, locationPath?: string[]): CoapResponse {
  return { code, payload: EMPTY, locationPath };
}

/**
 * Splits Uri-Query options into a map; a flag without `=` (LwM2M 1.1 `Q`) maps to "". The map has no
 * prototype: a device's `__proto__` or `toString` parameter is a plain key like any other.
 */
export function parseQuery(uriQuery: readonly string[] | undefined): Record<string, string> {
  // Not Object.create(null): V8 makes such an object dictionary-mode (a 160 B property dictionary
  // kept per registration, measured at 10k devices); setPrototypeOf on a fresh `{}` keeps it fast.
  const query = Object.setPrototypeOf({}, null) as Record<string, string>;
  if (!uriQuery) return query;
  for (const item of uriQuery) {
    const eq = item.indexOf('=');
    if (eq < 0) query[item] = '';
    else query[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return query;
}

interface ParsedLinks {
  linkAttributes?: Record<string, Record<string, string | true>>;
  alternatePath: string;
  objectList: string[];
  contentFormats: number[];
}

const NO_CONTENT_FORMATS: number[] = Object.freeze([]) as unknown as number[];

/** Object list and alternate path from the CoRE link payload (LwM2M TS Core §6.2.1). */
export function parseRegistrationLinks(payload: Buffer): ParsedLinks {
  const text = payload.toString('utf8').trim();
  const links = text === '' ? [] : parseLinkFormat(text);
  let alternatePath = '/';
  // Most devices announce none: one shared frozen array instead of a `[]` each (32 B per registration).
  let contentFormats: number[] = NO_CONTENT_FORMATS;
  for (const link of links) {
    if (link.attributes.rt === 'oma.lwm2m') {
      alternatePath = normalisePrefix(link.uri);
      const ct = link.attributes.ct;
      if (typeof ct === 'string') contentFormats = ct.split(/\s+/).map(Number).filter(Number.isInteger);
    }
  }
  const objectList: string[] = [];
  let linkAttributes: Record<string, Record<string, string | true>> | undefined;
  for (const link of links) {
    if (link.attributes.rt === 'oma.lwm2m') continue;
    let uri = link.uri;
    if (alternatePath !== '/' && uri.startsWith(alternatePath + '/')) uri = uri.slice(alternatePath.length);
    if (!uri.startsWith('/')) uri = '/' + uri;
    objectList.push(uri);
    if (Object.keys(link.attributes).length > 0) (linkAttributes ??= {})[uri] = link.attributes;
  }
  // slice(): an array grown by push() keeps at least 17 slots (152 B per registration at 10k
  // devices, for the usual 2-5 links); the copy has exactly as many as it has links.
  return { linkAttributes, alternatePath, objectList: objectList.slice(), contentFormats };
}

function normalisePrefix(uri: string): string {
  const trimmed = uri.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.startsWith('/') ? trimmed : '/' + trimmed;
}

// Ids are cut from a refilled pool: one randomBytes call per registration was a fifth of its cost.
const ID_BYTES = 6;
const ID_POOL_SIZE = ID_BYTES * 1024;
let idPool = randomBytes(ID_POOL_SIZE);
let idOffset = 0;

function newRegistrationId(): string {
  if (idOffset + ID_BYTES > ID_POOL_SIZE) {
    idPool = randomBytes(ID_POOL_SIZE);
    idOffset = 0;
  }
  const id = idPool.toString('hex', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return id;
}

/**
 * The LwM2M Registration interface (register, update, deregister) over a RegistrationStore.
 * Emits `registered` (reg, replaced?), `updated` (reg, carriedLinks: boolean),
 * `deregistered` (reg, reason) and `refused` (candidate, code, reason) for a register, update or
 * deregister turned away by identity binding or admission. It knows nothing of MQTT.
 */
export class RegistrationService extends EventEmitter {
  private admission: RegistrationAdmission | undefined;
  private nameCheck: RegistrationNameCheck | undefined;
  private claims: EndpointClaims | undefined;
  /**
   * Endpoints that registered through a DTLS credential since start: they stay bound to one after
   * their registration ends, so plain UDP cannot take the name while the device is away. Only
   * authenticated devices add to it, so its size is bounded by the credentials issued.
   */
  private readonly securedEndpoints = new Set<string>();
  private readonly rate: RateLimiter | undefined;
  private readonly maxEndpointLength: number;
  private readonly maxRegistrations: number;
  private readonly maxObjectLinks: number;
  /** Refusals since start by class, then code: two lookups, no key built per refusal (a flood refuses thousands a second). */
  private readonly refusals = new Map<RefusalClass, Map<RefusalCode, number>>();

  constructor(
    readonly store: RegistrationStore,
    private readonly policy: RegistrationPolicy,
  ) {
    super();
    store.on('expired', (reg: Registration) => this.emit('deregistered', reg, 'expired'));
    const rate = policy.registrationRate;
    this.rate = rate ? new RateLimiter(rate.perSource, rate.burst) : undefined;
    this.maxEndpointLength = policy.maxEndpointLength ?? DEFAULT_MAX_ENDPOINT_LENGTH;
    this.maxRegistrations = policy.maxRegistrations ?? Number.POSITIVE_INFINITY;
    this.maxObjectLinks = policy.maxObjectLinks ?? Number.POSITIVE_INFINITY;
  }

  /** Installs the admission step run after identity binding on every register (e.g. the HTTP auth hook). */
  setAdmission(admission: RegistrationAdmission | undefined): void {
    this.admission = admission;
  }

  /** The admission step installed, if any (metrics time the HTTP auth hook's requests). */
  get admissionStep(): RegistrationAdmission | undefined {
    return this.admission;
  }

  /** Installs the check of names that become topics (the MQTT translator's). */
  setNameCheck(check: RegistrationNameCheck | undefined): void {
    this.nameCheck = check;
  }

  /** Installs the credential store's endpoint names (the PSK file), bound to DTLS. */
  setEndpointClaims(claims: EndpointClaims | undefined): void {
    this.claims = claims;
  }

  /** Whether a credential names this endpoint, so that it may not register without one. */
  /** Whether a credential names `endpoint` (EndpointClaims): the credential store, or a registration made with one. */
  isClaimed(endpoint: string): boolean {
    return this.securedEndpoints.has(endpoint) || this.store.byEndpoint(endpoint)?.peer.identity !== undefined || this.claims?.isClaimed(endpoint) === true;
  }

  /** Sizes of the tables input can grow, and refusals since start (by CoAP code, and by class and code), for metrics and tests. */
  stats(): { registrations: number; rateLimitedSources: number; securedEndpoints: number; refused: Record<string, number>; refusals: RefusalCount[] } {
    const refused: Record<string, number> = {};
    const refusals: RefusalCount[] = [];
    for (const [kind, byCode] of this.refusals) {
      for (const [code, count] of byCode) {
        refused[code] = (refused[code] ?? 0) + count;
        refusals.push({ kind, code, count });
      }
    }
    return {
      registrations: this.store.size,
      rateLimitedSources: this.rate?.size ?? 0,
      securedEndpoints: this.securedEndpoints.size,
      refused,
      refusals,
    };
  }

  /** Routes a request under /rd; undefined when the path is not the registration interface. */
  handle(req: InboundRequest, scheme = 'coap'): CoapResponse | Promise<CoapResponse> | undefined {
    const path = req.uriPath;
    if (path[0] !== 'rd') return undefined;
    if (path.length === 1) {
      return req.method === 'POST' ? this.register(req, scheme) : answer('4.05');
    }
    if (path.length === 2) {
      if (req.method === 'POST') return this.update(req, path[1], scheme);
      if (req.method === 'DELETE') return this.deregister(req, path[1], scheme);
      return answer('4.05');
    }
    return answer('4.04');
  }

  private clampLifetime(lt: number): number {
    return Math.min(Math.max(lt, this.policy.lifetimeMin), this.policy.lifetimeMax);
  }

  register(req: InboundRequest, scheme = 'coap'): CoapResponse | Promise<CoapResponse> {
    const query = parseQuery(req.uriQuery);
    const endpoint = query.ep ?? '';
    const candidate: RegistrationCandidate = { endpoint, peer: req.peer, query, scheme };
    const refuse = (kind: RefusalClass, code: RefusalCode, reason: string, retryAfter?: number) => this.refuse(candidate, { allowed: false, code, reason, retryAfter }, kind);
    if (this.rate && !this.rate.take(req.peer.address)) {
      return refuse('rate_limited', '4.29', `more than ${this.policy.registrationRate?.perSource}/s registers from ${req.peer.address} (lwm2m.registration_rate)`, this.rate.retryAfter(req.peer.address));
    }
    if (endpoint === '') return refuse('invalid', '4.00', 'no endpoint name (ep)');
    const nameProblem = endpointNameProblem(endpoint, this.maxEndpointLength);
    if (nameProblem) return refuse('invalid', '4.00', nameProblem);
    const version = query.lwm2m ?? '1.0';
    if (!SUPPORTED_LWM2M_VERSIONS.includes(version)) return refuse('invalid', '4.00', `unsupported LwM2M version "${version}"`);
    let lifetime = DEFAULT_LIFETIME;
    if (query.lt !== undefined) {
      if (!/^\d+$/.test(query.lt)) return refuse('invalid', '4.00', `lifetime "${query.lt}" is not a number of seconds`);
      lifetime = Number(query.lt);
    }
    if (req.contentFormat !== undefined && req.contentFormat !== LINK_FORMAT) return refuse('content_format', '4.15', `content format ${req.contentFormat} is not link format (40)`);
    let parsed: ParsedLinks;
    try {
      parsed = parseRegistrationLinks(req.payload);
    } catch (err) {
      if (err instanceof CodecError) return refuse('invalid', '4.00', `object links: ${err.message}`);
      throw err;
    }
    if (parsed.objectList.length > this.maxObjectLinks) return refuse('too_many_links', '4.13', this.tooManyLinks(parsed));
    const bound = checkIdentityBinding(endpoint, req.peer, this.isClaimed(endpoint));
    if (!bound.allowed) return this.refuse(candidate, bound, 'identity');
    const full = this.fullFor(endpoint);
    if (full) return this.refuse(candidate, full, 'registry_full');
    const badName = this.nameCheck?.(candidate, parsed.objectList);
    if (badName) return refuse('name', '4.00', badName);
    const admission = this.admission;
    if (!admission) return this.admit(candidate, version, lifetime, parsed, undefined);
    let verdict: Admission | Promise<Admission>;
    try {
      verdict = admission(candidate);
    } catch (err) {
      verdict = Promise.reject(err);
    }
    if (!(verdict instanceof Promise)) return this.decide(candidate, version, lifetime, parsed, verdict);
    return verdict.then(
      (v) => this.decide(candidate, version, lifetime, parsed, v),
      (err: unknown) => this.refuse(candidate, { allowed: false, code: '4.01', reason: `admission failed: ${(err as Error)?.message ?? String(err)}` }, 'admission'),
    );
  }

  private decide(candidate: RegistrationCandidate, version: string, lifetime: number, parsed: ParsedLinks, verdict: Admission): CoapResponse {
    if (!verdict.allowed) return this.refuse(candidate, verdict, 'admission');
    // Again: with the attributes, and because another device may have taken the topic prefix while admission ran.
    const badName = this.nameCheck?.(candidate, parsed.objectList, verdict.attributes);
    if (badName) return this.refuse(candidate, { allowed: false, code: '4.03', reason: verdict.attributes ? `admission attributes: ${badName}` : badName }, 'name');
    // Checked again: other registers may have filled the table while admission ran.
    const full = this.fullFor(candidate.endpoint);
    if (full) return this.refuse(candidate, full, 'registry_full');
    return this.admit(candidate, version, lifetime, parsed, verdict.attributes);
  }

  private tooManyLinks(parsed: ParsedLinks): string {
    return `${parsed.objectList.length} object links, more than ${this.maxObjectLinks} (lwm2m.max_object_links)`;
  }

  /** A refusal when the table is full and the endpoint would be a new one (a re-register replaces). */
  private fullFor(endpoint: string): (Admission & { allowed: false }) | undefined {
    if (this.store.size < this.maxRegistrations || this.store.byEndpoint(endpoint) !== undefined) return undefined;
    return { allowed: false, code: '5.03', reason: `${this.maxRegistrations} devices are registered (lwm2m.max_registrations)`, retryAfter: FULL_RETRY_SECONDS };
  }

  private refuse(candidate: RegistrationCandidate, verdict: Admission & { allowed: false }, kind: RefusalClass): CoapResponse {
    let byCode = this.refusals.get(kind);
    if (byCode === undefined) this.refusals.set(kind, (byCode = new Map()));
    byCode.set(verdict.code, (byCode.get(verdict.code) ?? 0) + 1);
    this.emit('refused', candidate, verdict.code, verdict.reason);
    const res = answer(verdict.code);
    if (verdict.retryAfter !== undefined) res.options = [{ number: OptionNumber.MaxAge, value: encodeUint(Math.max(1, verdict.retryAfter)) }];
    return res;
  }

  private admit(
    candidate: RegistrationCandidate,
    version: string,
    lifetime: number,
    parsed: ParsedLinks,
    attributes: Record<string, string> | undefined,
  ): CoapResponse {
    const { endpoint, query } = candidate;
    const binding = query.b ?? 'U';
    const now = Date.now();
    const reg: Registration = {
      id: newRegistrationId(),
      endpoint,
      lifetime: this.clampLifetime(lifetime),
      lwm2mVersion: version,
      binding,
      queueMode: binding.includes('Q') || 'Q' in query,
      query,
      linkAttributes: parsed.linkAttributes,
      alternatePath: parsed.alternatePath,
      objectList: parsed.objectList,
      contentFormats: parsed.contentFormats,
      peer: candidate.peer,
      attributes,
      registeredAt: now,
      lastUpdate: now,
    };
    if (candidate.peer.identity && this.securedEndpoints.size < SECURED_ENDPOINTS_BOUND) this.securedEndpoints.add(endpoint);
    const replaced = this.store.add(reg);
    if (replaced) this.emit('deregistered', replaced, 'replaced');
    this.emit('registered', reg, replaced);
    return answer('2.01', ['rd', reg.id]);
  }

  update(req: InboundRequest, id: string, scheme = 'coap'): CoapResponse {
    const reg = this.store.get(id);
    if (!reg) return this.unknownRegistration(req, id, 'update', scheme);
    if (!sameIdentity(reg.peer, req.peer)) return this.refuseOther(reg, req, 'update', scheme);
    const query = parseQuery(req.uriQuery);
    if (query.lt !== undefined && !/^\d+$/.test(query.lt)) return answer('4.00');
    let parsed: ParsedLinks | undefined;
    if (req.payload.length > 0) {
      try {
        parsed = parseRegistrationLinks(req.payload);
      } catch (err) {
        if (err instanceof CodecError) return answer('4.00');
        throw err;
      }
      if (parsed.objectList.length > this.maxObjectLinks) {
        return this.refuse({ endpoint: reg.endpoint, peer: req.peer, query, scheme }, { allowed: false, code: '4.13', reason: this.tooManyLinks(parsed) }, 'too_many_links');
      }
    }
    if (query.lt !== undefined) reg.lifetime = this.clampLifetime(Number(query.lt));
    if (query.b !== undefined) reg.binding = query.b;
    if (query.b !== undefined || 'Q' in query) reg.queueMode = reg.binding.includes('Q') || 'Q' in query;
    Object.assign(reg.query, query);
    if (parsed) {
      reg.linkAttributes = parsed.linkAttributes;
      reg.alternatePath = parsed.alternatePath;
      reg.objectList = parsed.objectList;
      reg.contentFormats = parsed.contentFormats;
    }
    // NAT rebinding: the device's address or port changed, follow it. The peer object is updated in
    // place because open exchanges (observations) hold it and must follow too.
    if (reg.peer.address !== req.peer.address || reg.peer.port !== req.peer.port) {
      const oldKey = peerKey(reg.peer);
      reg.peer.address = req.peer.address;
      reg.peer.port = req.peer.port;
      this.store.peerMoved(reg, oldKey);
    }
    reg.lastUpdate = Date.now();
    this.emit('updated', reg, parsed !== undefined);
    return answer('2.04');
  }

  deregister(req: InboundRequest, id: string, scheme = 'coap'): CoapResponse {
    const known = this.store.get(id);
    if (known && !sameIdentity(known.peer, req.peer)) return this.refuseOther(known, req, 'deregister', scheme);
    const reg = this.store.remove(id);
    if (!reg) return this.unknownRegistration(req, id, 'deregister', scheme);
    this.emit('deregistered', reg, 'deregister');
    return answer('2.02');
  }

  /**
   * Ends a registration from the server's side (an operator's kick): `deregistered` (reg, 'kicked').
   * The device hears of it at its next Update or Deregister (4.04) and registers again.
   */
  kick(endpoint: string): Registration | undefined {
    const known = this.store.byEndpoint(endpoint);
    const reg = known && this.store.remove(known.id);
    if (reg) this.emit('deregistered', reg, 'kicked');
    return reg;
  }

  /**
   * 4.04 for an update or deregister of a registration this gateway does not hold: it expired, was
   * replaced, or the gateway restarted (registrations do not survive a restart yet). The device
   * registers again (LwM2M TS Core §6.2.2); nothing is published.
   */
  private unknownRegistration(req: InboundRequest, id: string, what: string, scheme: string): CoapResponse {
    const reason = `${what} of unknown registration "${id}" (expired, replaced, or the gateway restarted): the device must register again`;
    return this.refuse({ endpoint: '', peer: req.peer, query: parseQuery(req.uriQuery), scheme }, { allowed: false, code: '4.04', reason }, 'unknown_registration');
  }

  /** An update or deregister from a credential other than the registering one: 4.03. */
  private refuseOther(reg: Registration, req: InboundRequest, what: string, scheme: string): CoapResponse {
    const who = req.peer.identity ? `${req.peer.identity.kind} identity "${req.peer.identity.name}"` : 'an unauthenticated peer';
    const reason = `${what} of endpoint "${reg.endpoint}" from ${who}, not the registering credential`;
    return this.refuse({ endpoint: reg.endpoint, peer: req.peer, query: parseQuery(req.uriQuery), scheme }, { allowed: false, code: '4.03', reason }, 'identity');
  }
}
