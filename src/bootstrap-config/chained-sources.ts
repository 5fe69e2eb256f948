import type { BootstrapCandidate, BootstrapConfigSource, BootstrapLookup } from '../lwm2m/bootstrap/bootstrap-config';

/** Max-Age of the 5.03 of a source that failed. */
const RETRY_SECONDS = 5;

/**
 * Several sources as one (the app builds [hook, file]): each is asked in order, the next only when
 * the previous passed the device on (`passOn`: the hook answered ignore or 404); any other answer
 * is final. When every source passes on, the last one's answer stands. A source that throws or
 * rejects ends the chain with 5.03: nothing is known about the device, so no later source decides.
 */
export function chainSources(sources: readonly BootstrapConfigSource[]): BootstrapConfigSource {
  const chain = [...sources];
  return {
    async lookup(candidate: BootstrapCandidate): Promise<BootstrapLookup> {
      let answer: BootstrapLookup = { found: false, code: '4.01', reason: 'no bootstrap configuration source' };
      for (const source of chain) {
        try {
          answer = await source.lookup(candidate);
        } catch {
          return { found: false, code: '5.03', reason: 'bootstrap configuration source failed', retryAfter: RETRY_SECONDS };
        }
        if (answer.found || !answer.passOn) return answer;
      }
      return answer;
    },
  };
}
