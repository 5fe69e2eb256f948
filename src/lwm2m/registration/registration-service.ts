import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { CoapResponse, InboundRequest } from '../../coap';
import { peerKey } from '../../transport/transport';
import { CodecError } from '../codec/codec-error';
import { parseLinkFormat } from '../codec';
import { type Admission, type RegistrationAdmission, type RegistrationCandidate, checkIdentityBinding, sameIdentity } from './admission';
import type { Registration } from './registration';
import type { RegistrationStore } from './registration-store';

export interface RegistrationPolicy {
  lifetimeMin: number;
  lifetimeMax: number;
  /** Longest endpoint name in UTF-8 bytes. */
  maxEndpointLength?: number;
  /** Registered endpoints in total. */
  maxRegistrations?: number;
  /** Registers per second and at once from one source address. */
  registrationRate?: { perSource: number; burst: number };
}

export type DeregistrationReason = 'deregister' | 'expired' | 'replaced';

export const SUPPORTED_LWM2M_VERSIONS: readonly string[] = ['1.0', '1.1', '1.2'];
const DEFAULT_LIFETIME = 86400;
const EMPTY = Buffer.alloc(0);
const LINK_FORMAT = 40;

/** A CoAP answer with no payload. */
function answer(code: string, locationPath?: string[]): CoapResponse {
  return { code, payload: EMPTY, locationPath };
}

/** Splits Uri-Query options into a map; a flag without `=` (LwM2M 1.1 `Q`) maps to "". */
export function parseQuery(uriQuery: readonly string[] | undefined): Record<string, string> {
  const query: Record<string, string> = {};
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

/** Object list and alternate path from the CoRE link payload (LwM2M TS Core §6.2.1). */
export function parseRegistrationLinks(payload: Buffer): ParsedLinks {
  const text = payload.toString('utf8').trim();
  const links = text === '' ? [] : parseLinkFormat(text);
  let alternatePath = '/';
  let contentFormats: number[] = [];
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
  return { linkAttributes, alternatePath, objectList, contentFormats };
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

  constructor(
    readonly store: RegistrationStore,
    private readonly policy: RegistrationPolicy,
  ) {
    super();
    store.on('expired', (reg: Registration) => this.emit('deregistered', reg, 'expired'));
  }

  /** Installs the admission step run after identity binding on every register (e.g. the HTTP auth hook). */
  setAdmission(admission: RegistrationAdmission | undefined): void {
    this.admission = admission;
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
    const endpoint = query.ep;
    if (!endpoint) return answer('4.00');
    const version = query.lwm2m ?? '1.0';
    if (!SUPPORTED_LWM2M_VERSIONS.includes(version)) return answer('4.00');
    let lifetime = DEFAULT_LIFETIME;
    if (query.lt !== undefined) {
      if (!/^\d+$/.test(query.lt)) return answer('4.00');
      lifetime = Number(query.lt);
    }
    if (req.contentFormat !== undefined && req.contentFormat !== LINK_FORMAT) return answer('4.15');
    let parsed: ParsedLinks;
    try {
      parsed = parseRegistrationLinks(req.payload);
    } catch (err) {
      if (err instanceof CodecError) return answer('4.00');
      throw err;
    }
    const candidate: RegistrationCandidate = { endpoint, peer: req.peer, query, scheme };
    const bound = checkIdentityBinding(endpoint, req.peer);
    if (!bound.allowed) return this.refuse(candidate, bound);
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
      (err: unknown) => this.refuse(candidate, { allowed: false, code: '4.01', reason: `admission failed: ${(err as Error)?.message ?? String(err)}` }),
    );
  }

  private decide(candidate: RegistrationCandidate, version: string, lifetime: number, parsed: ParsedLinks, verdict: Admission): CoapResponse {
    if (!verdict.allowed) return this.refuse(candidate, verdict);
    return this.admit(candidate, version, lifetime, parsed, verdict.attributes);
  }

  private refuse(candidate: RegistrationCandidate, verdict: Admission & { allowed: false }): CoapResponse {
    this.emit('refused', candidate, verdict.code, verdict.reason);
    return answer(verdict.code);
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
    const replaced = this.store.add(reg);
    if (replaced) this.emit('deregistered', replaced, 'replaced');
    this.emit('registered', reg, replaced);
    return answer('2.01', ['rd', reg.id]);
  }

  update(req: InboundRequest, id: string, scheme = 'coap'): CoapResponse {
    const reg = this.store.get(id);
    if (!reg) return answer('4.04');
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
    if (!reg) return answer('4.04');
    this.emit('deregistered', reg, 'deregister');
    return answer('2.02');
  }

  /** An update or deregister from a credential other than the registering one: 4.03. */
  private refuseOther(reg: Registration, req: InboundRequest, what: string, scheme: string): CoapResponse {
    const who = req.peer.identity ? `${req.peer.identity.kind} identity "${req.peer.identity.name}"` : 'an unauthenticated peer';
    const reason = `${what} of endpoint "${reg.endpoint}" from ${who}, not the registering credential`;
    return this.refuse({ endpoint: reg.endpoint, peer: req.peer, query: parseQuery(req.uriQuery), scheme }, { allowed: false, code: '4.03', reason });
  }
}
