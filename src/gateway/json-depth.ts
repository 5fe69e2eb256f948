/** Deepest nesting of arrays and objects a command may have; LwM2M commands need fewer than 6 levels. */
export const MAX_COMMAND_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether JSON text nests arrays and objects more than `maxDepth` deep, judged by one pass over
 * its bytes before any parse: JSON.stringify (echoing a command) and other recursive code throw
 * a RangeError on a few thousand levels. Brackets inside strings do not count; malformed text is
 * left to JSON.parse. UTF-8 is scanned as bytes: every byte of a multi-byte character is >= 0x80.
 */
export function nestsDeeperThan(json: Uint8Array, maxDepth: number): boolean {
  if (json.length <= maxDepth) return false;
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === QUOTE) {
      // Skip the string: up to the next quote not escaped by a backslash.
      for (i++; i < json.length; i++) {
        const s = json[i];
        if (s === QUOTE) break;
        if (s === BACKSLASH) i++;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
