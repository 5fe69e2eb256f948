/** An endpoint pattern: `*` any run of characters (none included), `?` exactly one; every other character is itself. */
export interface EndpointGlob {
  readonly pattern: string;
  matches(text: string): boolean;
}

/**
 * Compiles a glob. Matching walks both strings with one backtrack point (the last `*`), so it costs
 * at most pattern × text steps: a pattern is never turned into a regular expression, where
 * `*a*a*a*b` would backtrack exponentially and `.` or `(` would mean something.
 */
export function compileGlob(pattern: string): EndpointGlob {
  // Code points, so that `?` is one character even outside the BMP.
  const p = Array.from(pattern);
  const literal = !p.includes('*') && !p.includes('?');
  return Object.freeze({
    pattern,
    matches: literal ? (text: string) => text === pattern : (text: string) => globMatches(p, Array.from(text)),
  });
}

function globMatches(p: readonly string[], t: readonly string[]): boolean {
  let pi = 0;
  let ti = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === t[ti]))) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      starAt = pi++;
      resumeAt = ti;
    } else if (starAt >= 0) {
      // Let the last `*` take one more character and retry the rest of the pattern.
      pi = starAt + 1;
      ti = ++resumeAt;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}
