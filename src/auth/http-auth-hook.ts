import type { Logger } from 'pino';
import { readBoundedBody } from '../limits/bounded-body';
import { InFlightLimit } from '../limits/in-flight-limit';
import type { Admission, RegistrationAdmission, RegistrationCandidate } from '../lwm2m/registration/admission';

/**
 * The EMQX-style HTTP authentication hook: every register asks an HTTP service, whose answer
 * `{"result":"allow"|"deny"|"ignore","client_attrs":{...}}` admits or refuses the device.
 * It fails closed: anything but an explicit allow refuses the register with 4.01.
 */

/** The hook's settings (the application maps its `auth.http` configuration onto them). */
export interface HttpAuthOptions {
  url: string;
  method: 'get' | 'post';
  /** Header templates (`${name}` placeholders); names are sent in lower case. */
  headers: Readonly<Record<string, string>>;
  /** Body template: every string in it, however deeply nested, is rendered. */
  body: Readonly<Record<string, unknown>>;
  /** Seconds for the whole request: connect, headers and body. */
  timeoutSeconds: number;
  /** Concurrent requests to the auth service, in total and for one source address. */
  maxInFlight: number;
  maxInFlightPerSource: number;
}

/** Values of the request template placeholders for one register (a type, not an interface: it is a string record). */
export type AuthVars = {
  endpoint_name: string;
  /** The `device_id` query, else the endpoint name (as EMQX's LwM2M gateway and our mountpoint). */
  clientid: string;
  /** The `imei` query, else the endpoint name (as EMQX's LwM2M gateway and our mountpoint). */
  username: string;
  /** The `password` query, else ''. A secret: never logged. */
  password: string;
  peerhost: string;
  /** The DTLS identity name (PSK identity or certificate CN); '' over plain UDP. */
  identity: string;
};

/** Values of `${name}` placeholders (the auth hook's AuthVars, the bootstrap hook's own). */
export type TemplateVars = Readonly<Record<string, string>>;

/** Whether the hook runs on each listener (`listeners.<name>.enable_authn`). */
export interface AuthnListeners {
  udp: boolean;
  dtls: boolean;
}

export interface AuthRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

export function authVars(candidate: RegistrationCandidate): AuthVars {
  const { endpoint, query, peer } = candidate;
  return {
    endpoint_name: endpoint,
    clientid: query.device_id ?? endpoint,
    username: query.imei ?? endpoint,
    password: query.password ?? '',
    peerhost: peer.address,
    identity: peer.identity?.name ?? '',
  };
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** Replaces `${name}` placeholders; unknown ones stay as literal text, as in the mountpoint. */
export function renderTemplate(template: string, vars: TemplateVars): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(vars, name) ? vars[name] : whole));
}

/** Renders every string inside the body, however deeply nested; other values are kept as they are. */
export function renderBody(value: unknown, vars: TemplateVars): unknown {
  if (typeof value === 'string') return renderTemplate(value, vars);
  if (Array.isArray(value)) return value.map((item) => renderBody(item, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderBody(item, vars)]));
  }
  return value;
}

/** Form encoding of a rendered body: strings as they are, anything else (numbers, nested objects) as JSON. */
function formParams(body: Record<string, unknown>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) params.append(key, typeof value === 'string' ? value : JSON.stringify(value));
  return params;
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * The HTTP request for one register. GET: the body's fields join the URL's query string (EMQX does
 * the same). POST: a JSON body with Content-Type application/json, unless the configured headers ask
 * for a form body.
 */
export function buildAuthRequest(options: Pick<HttpAuthOptions, 'url' | 'method' | 'headers' | 'body'>, vars: TemplateVars): AuthRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers)) headers[name.toLowerCase()] = renderTemplate(value, vars);
  const body = renderBody(options.body, vars) as Record<string, unknown>;
  if (options.method === 'get') {
    const url = new URL(options.url);
    for (const [key, value] of formParams(body)) url.searchParams.append(key, value);
    return { url: url.toString(), method: 'GET', headers };
  }
  headers['content-type'] ??= 'application/json';
  const form = headers['content-type'].toLowerCase().startsWith(FORM);
  return { url: options.url, method: 'POST', headers, body: form ? formParams(body).toString() : JSON.stringify(body) };
}

/**
 * The verdict carried by an HTTP answer. `ignore` (also a missing or unknown `result`, and any
 * failure) refuses: EMQX passes `ignore` to the next authenticator of its chain and refuses when the
 * chain is exhausted without a decision (emqx_authn_chains: `do_authenticate(_, [], _)` answers
 * not_authorized); this hook is the whole chain, so `ignore` ends it. 204 (no body) allows, as in EMQX.
 */
export function parseAuthAnswer(status: number, contentType: string | null, text: string): Admission {
  if (status === 204) return { allowed: true };
  if (status !== 200) return refused(`auth server answered HTTP ${status}`);
  let answer: unknown;
  try {
    answer = contentType?.toLowerCase().startsWith(FORM) ? Object.fromEntries(new URLSearchParams(text)) : JSON.parse(text);
  } catch {
    return refused('auth server answer is not JSON');
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) return refused('auth server answer is not a JSON object');
  const { result, client_attrs: attrs } = answer as Record<string, unknown>;
  if (result === 'deny') return refused('auth server denied');
  if (result !== 'allow') return refused(`auth server answered ${result === 'ignore' ? 'ignore' : 'no result'} and no other authenticator decides`);
  const attributes = stringAttributes(attrs);
  return attributes ? { allowed: true, attributes } : { allowed: true };
}

/** client_attrs keeps string values only (EMQX: "both keys and values must be strings"). */
function stringAttributes(value: unknown): Record<string, string> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function refused(reason: string): Admission {
  return { allowed: false, code: '4.01', reason };
}

/** Never echo the password: error texts may quote a rendered header or URL (there percent-encoded). */
function redact(text: string, secret: string): string {
  if (secret === '') return text;
  return [secret, encodeURIComponent(secret)].reduce((out, form) => out.split(form).join('******'), text);
}

function failureReason(err: unknown, timeoutSeconds: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `auth server did not answer within ${timeoutSeconds} s`;
  return `auth request failed: ${e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err)}`;
}

/** An answer is `{"result":..., "client_attrs":{...}}`: anything larger is not read into memory. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The body as text, or undefined once it passes `limit` bytes. */
export async function readBounded(res: Response, limit: number): Promise<string | undefined> {
  return (await readBoundedBody(res, limit))?.toString('utf8');
}

/**
 * How an auth request ended, for metrics: the service allowed, answered anything else (deny,
 * ignore, a malformed answer), answered an HTTP error or failed (connection, oversized answer), or
 * did not answer in time; `busy`: not asked, the in-flight limits were reached.
 */
export type AuthResult = 'allow' | 'deny' | 'error' | 'timeout' | 'busy';

function isTimeout(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** One request to the auth service and its verdict; never rejects. */
async function askAuthServer(options: HttpAuthOptions, vars: AuthVars): Promise<{ verdict: Admission; result: AuthResult }> {
  // One signal for connect, headers and body: a server that trickles its body still times out, and
  // the abort closes the request's connection, so a silent server holds nothing past the timeout.
  const signal = AbortSignal.timeout(options.timeoutSeconds * 1000);
  try {
    const { url, method, headers, body } = buildAuthRequest(options, vars);
    const res = await fetch(url, { method, headers, body, signal });
    // Reading the body to its end (or failing on the abort) hands the connection back to the pool.
    const text = await readBounded(res, MAX_ANSWER_BYTES);
    if (text === undefined) return { verdict: refused(`auth server answer is larger than ${MAX_ANSWER_BYTES} bytes`), result: 'error' };
    const verdict = parseAuthAnswer(res.status, res.headers.get('content-type'), text);
    return { verdict, result: verdict.allowed ? 'allow' : res.status === 200 || res.status === 204 ? 'deny' : 'error' };
  } catch (err) {
    return { verdict: refused(redact(failureReason(err, options.timeoutSeconds), vars.password)), result: isTimeout(err) ? 'timeout' : 'error' };
  }
}

/** Told of each auth request's end: how it ended and how long it took (seconds; undefined when `busy`, not asked). */
export type AuthRequestObserver = (result: AuthResult, seconds: number | undefined) => void;

/** How many auth requests a hook has open (tests and metrics), and who hears of each one's end (metrics). */
export interface HttpAuthAdmission extends RegistrationAdmission {
  readonly inFlight: () => number;
  onRequestEnd: AuthRequestObserver | undefined;
}

/** Whether an admission step is the HTTP auth hook (metrics observe its requests). */
export function isHttpAuthAdmission(admission: RegistrationAdmission | undefined): admission is HttpAuthAdmission {
  return admission !== undefined && 'onRequestEnd' in admission;
}

/** Seconds a device refused for a full auth pipeline waits before it retries (Max-Age of the 5.03). */
const AUTH_BUSY_RETRY_SECONDS = 5;

/**
 * The hook as a RegistrationAdmission. Registers on a listener with `enable_authn: false` pass
 * without a request (scheme `coap` is the UDP listener, `coaps` the DTLS one). At most
 * `maxInFlight` requests run at once (each holds a connection to the service until answered or
 * timed out), and at most `maxInFlightPerSource` for one source address, so that registers the
 * service is slow to answer cannot take every slot from other devices; a register beyond either is
 * refused at once with 5.03 (the reason names the configuration key an operator would raise).
 */
export function createHttpAuthAdmission(options: HttpAuthOptions, listeners: AuthnListeners, log: Logger): HttpAuthAdmission {
  const limit = new InFlightLimit(options.maxInFlight, options.maxInFlightPerSource);
  const busy = (reason: string): Admission => {
    hook.onRequestEnd?.('busy', undefined);
    return { allowed: false, code: '5.03', reason, retryAfter: AUTH_BUSY_RETRY_SECONDS };
  };
  const admission = (candidate: RegistrationCandidate): Admission | Promise<Admission> => {
    if ((candidate.scheme === 'coap' && !listeners.udp) || (candidate.scheme === 'coaps' && !listeners.dtls)) return { allowed: true };
    const source = candidate.peer.address;
    const full = limit.enter(source);
    if (full === 'total') return busy(`auth.http.max_in_flight (${options.maxInFlight}) requests to the auth server already in flight`);
    if (full === 'source') return busy(`auth.http.max_in_flight_per_source (${options.maxInFlightPerSource}) requests for ${source} already in flight`);
    const started = performance.now();
    const asked = askAuthServer(options, authVars(candidate)).finally(() => limit.leave(source));
    return asked.then(({ verdict, result }) => {
      hook.onRequestEnd?.(result, (performance.now() - started) / 1000);
      log.debug({ ep: candidate.endpoint, allowed: verdict.allowed, reason: verdict.allowed ? undefined : verdict.reason }, 'http auth');
      return verdict;
    });
  };
  const hook: HttpAuthAdmission = Object.assign(admission, { inFlight: () => limit.inFlight, onRequestEnd: undefined as AuthRequestObserver | undefined });
  return hook;
}
