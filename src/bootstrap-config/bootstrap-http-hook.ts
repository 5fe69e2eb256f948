import type { Logger } from 'pino';
import { buildAuthRequest, readBounded, type HttpAuthOptions, type TemplateVars } from '../auth/http-auth-hook';
import { InFlightLimit } from '../limits/in-flight-limit';
import { LogThrottle } from '../limits/log-throttle';
import type { BootstrapCandidate, BootstrapConfigSource, BootstrapLookup } from '../lwm2m/bootstrap/bootstrap-config';
import { BootstrapConfigError, type BootstrapConfigProblem } from './bootstrap-config-error';
import { parseBootstrapEntry, resolveBootstrapEntry } from './bootstrap-entry';
import { isMapping } from '../config-text/config-keys';

/**
 * Bootstrap configurations from an HTTP service, asked for each Bootstrap-Request as the auth hook
 * asks for each register (same templates, timeout, bounded answer and in-flight limits). The answer
 * `{"result":"allow","config":{<entry>}}` carries the entry of the YAML file; `deny` refuses (4.03);
 * `ignore` or HTTP 404 pass the device on to the next source (the file). Anything else fails
 * closed with 5.03: the device retries later rather than being given a half-known configuration.
 */

/** The same settings as the auth hook's (the application maps `bootstrap.http` onto them). */
export type BootstrapHookOptions = HttpAuthOptions;

export interface BootstrapHttpHook extends BootstrapConfigSource {
  /** Requests to the service now open. */
  inFlight(): number;
}

/** Placeholders of the request templates: endpoint_name, peerhost, identity ('' over UDP), scheme. */
export function bootstrapVars(candidate: BootstrapCandidate): TemplateVars {
  return {
    endpoint_name: candidate.endpoint,
    peerhost: candidate.peer.address,
    identity: candidate.peer.identity?.name ?? '',
    scheme: candidate.scheme,
  };
}

/** A configuration with its keys is a few KiB; certificates make it larger, never this large. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Max-Age of a 5.03: when the device retries its Bootstrap-Request. */
const RETRY_SECONDS = 5;
/** Problems of an invalid configuration quoted in the refusal's reason (all of them go to the log). */
const REASON_PROBLEMS = 3;

const unavailable = (reason: string): BootstrapLookup => ({ found: false, code: '5.03', reason, retryAfter: RETRY_SECONDS });

/** What an answer means, and the problems of an invalid configuration (for the log). */
export interface HookVerdict {
  lookup: BootstrapLookup;
  problems?: readonly BootstrapConfigProblem[];
}

/** The verdict carried by an HTTP answer for `endpoint`. */
export function parseBootstrapAnswer(status: number, text: string, endpoint: string): HookVerdict {
  if (status === 404) return { lookup: { found: false, code: '4.01', reason: 'bootstrap hook has no configuration (HTTP 404)', passOn: true } };
  if (status !== 200) return { lookup: unavailable(`bootstrap hook answered HTTP ${status}`) };
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return { lookup: unavailable('bootstrap hook answer is not JSON') };
  }
  if (!isMapping(answer)) return { lookup: unavailable('bootstrap hook answer is not a JSON object') };
  const { result, config } = answer;
  if (result === 'deny') return { lookup: { found: false, code: '4.03', reason: 'bootstrap hook denied' } };
  if (result === 'ignore') return { lookup: { found: false, code: '4.01', reason: 'bootstrap hook answered ignore', passOn: true } };
  if (result !== 'allow') return { lookup: unavailable('bootstrap hook answered no result (allow, deny or ignore)') };
  if (config === undefined) return { lookup: unavailable('bootstrap hook answered allow without a config') };
  try {
    return { lookup: { found: true, config: resolveBootstrapEntry(parseBootstrapEntry(config, 'bootstrap hook answer', 'config'), endpoint) } };
  } catch (err) {
    if (!(err instanceof BootstrapConfigError)) throw err;
    // Problems name keys and never quote values: safe for the device's refusal and the log.
    const shown = err.problems.slice(0, REASON_PROBLEMS).map((p) => `${p.key}: ${p.reason}`);
    const more = err.problems.length > REASON_PROBLEMS ? ` (and ${err.problems.length - REASON_PROBLEMS} more)` : '';
    return { lookup: unavailable(`bootstrap hook answered an invalid config: ${shown.join('; ')}${more}`), problems: err.problems };
  }
}

/** Why a request failed: error names and codes only, never messages (they may quote a header). */
function failureReason(err: unknown, timeoutSeconds: number): string {
  const e = err as (Error & { cause?: { code?: unknown } }) | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `bootstrap hook did not answer within ${timeoutSeconds} s`;
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : (e?.name ?? 'unknown error');
  return `bootstrap hook request failed: ${code}`;
}

async function askBootstrapService(options: BootstrapHookOptions, candidate: BootstrapCandidate): Promise<HookVerdict> {
  // One signal for connect, headers and body: a server that trickles its body still times out.
  const signal = AbortSignal.timeout(options.timeoutSeconds * 1000);
  try {
    const { url, method, headers, body } = buildAuthRequest(options, bootstrapVars(candidate));
    const res = await fetch(url, { method, headers, body, signal });
    const text = await readBounded(res, MAX_ANSWER_BYTES);
    if (text === undefined) return { lookup: unavailable(`bootstrap hook answer is larger than ${MAX_ANSWER_BYTES} bytes`) };
    return parseBootstrapAnswer(res.status, text, candidate.endpoint);
  } catch (err) {
    return { lookup: unavailable(failureReason(err, options.timeoutSeconds)) };
  }
}

/**
 * The hook as a configuration source. At most `maxInFlight` requests run at once, and at most
 * `maxInFlightPerSource` for one source address, so that devices the service is slow to answer
 * cannot take every slot from others; a request beyond either is refused at once with 5.03.
 */
export function createBootstrapHttpHook(options: BootstrapHookOptions, log: Logger): BootstrapHttpHook {
  const limit = new InFlightLimit(options.maxInFlight, options.maxInFlightPerSource);
  // A broken service fails every bootstrap the same way: one warning per kind and interval.
  const warnings = new LogThrottle();
  const lookup = async (candidate: BootstrapCandidate): Promise<BootstrapLookup> => {
    const source = candidate.peer.address;
    const full = limit.enter(source);
    if (full === 'total') return unavailable(`bootstrap.http.max_in_flight (${options.maxInFlight}) requests to the bootstrap hook already in flight`);
    if (full === 'source') return unavailable(`bootstrap.http.max_in_flight_per_source (${options.maxInFlightPerSource}) requests for ${source} already in flight`);
    let verdict: HookVerdict;
    try {
      verdict = await askBootstrapService(options, candidate);
    } finally {
      limit.leave(source);
    }
    const { lookup: answer, problems } = verdict;
    if (!answer.found && answer.code === '5.03') {
      const kind = problems ? 'invalid config' : 'failed';
      const admitted = warnings.admit(kind);
      if (admitted) {
        const fields = { ep: candidate.endpoint, reason: answer.reason, problems, suppressed: admitted.suppressed || undefined };
        log.warn(fields, problems ? 'bootstrap hook answered an invalid configuration' : 'bootstrap hook failed');
      }
    }
    log.debug({ ep: candidate.endpoint, found: answer.found, code: answer.found ? undefined : answer.code, reason: answer.found ? undefined : answer.reason }, 'bootstrap hook');
    return answer;
  };
  return { lookup, inFlight: () => limit.inFlight };
}
