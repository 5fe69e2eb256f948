import type { Peer } from '../../transport/transport';

/** A register request that passed the protocol checks and waits to be admitted. */
export interface RegistrationCandidate {
  endpoint: string;
  peer: Peer;
  /** Every register query parameter as sent (`imei`, `password` for auth hooks). */
  query: Readonly<Record<string, string>>;
  /** The transport the request came over: `coap` (UDP) or `coaps` (DTLS). */
  scheme: string;
}

/** The verdict on a candidate: admitted (with attributes for the registration) or refused with a CoAP code. */
export type Admission =
  | { allowed: true; attributes?: Record<string, string> }
  | { allowed: false; code: RefusalCode; reason: string; /** Seconds before a retry may succeed (Max-Age of 4.29 / 5.03). */ retryAfter?: number };

export type RefusalCode = '4.00' | '4.01' | '4.03' | '4.04' | '4.13' | '4.15' | '4.29' | '5.03';

/**
 * Why a register, update or deregister was refused, as a short class for metrics (a bounded label:
 * never the reason's free text): registers beyond the rate, a malformed request (endpoint name,
 * version, lifetime, links), a payload not in link format, too many object links, a credential that
 * does not own the endpoint, a full registration table, a name the northbound cannot use (topic),
 * the admission step's (auth hook's) verdict, or an update or deregister of an unknown registration.
 */
export type RefusalClass = 'rate_limited' | 'invalid' | 'content_format' | 'too_many_links' | 'identity' | 'registry_full' | 'name' | 'admission' | 'unknown_registration';

/**
 * Decides whether a candidate may register (an HTTP auth hook, say). May answer later: the register
 * response waits for it, behind an empty ACK. Must not throw; a rejected promise refuses with 4.01.
 */
export type RegistrationAdmission = (candidate: RegistrationCandidate) => Admission | Promise<Admission>;

export const ADMITTED: Admission = { allowed: true };

/**
 * Endpoints that DTLS credentials name (the PSK file's entries): such an endpoint may register only
 * through a credential, never over plain UDP.
 */
export interface EndpointClaims {
  isClaimed(endpoint: string): boolean;
}

/**
 * Identity binding: over an authenticated transport a device may register only an endpoint its
 * credential names; without a credential (plain UDP) only an endpoint that no credential names
 * (`claimed`: by the credential store, or by a registration or an earlier one that used a credential).
 */
export function checkIdentityBinding(endpoint: string, peer: Peer, claimed: boolean, action: 'register' | 'bootstrap' = 'register'): Admission {
  const identity = peer.identity;
  if (!identity) {
    if (!claimed) return ADMITTED;
    return { allowed: false, code: '4.03', reason: `endpoint "${endpoint}" is bound to a DTLS credential and may not ${action} without it` };
  }
  if (identity.endpoints.includes(endpoint)) return ADMITTED;
  return {
    allowed: false,
    code: '4.03',
    reason: `${identity.kind} identity "${identity.name}" may not ${action} endpoint "${endpoint}"`,
  };
}

/** Same credential (or none on both sides): an update or deregister must come from whoever registered. */
export function sameIdentity(a: Peer, b: Peer): boolean {
  const x = a.identity;
  const y = b.identity;
  if (!x || !y) return x === y;
  return x.kind === y.kind && x.name === y.name;
}
