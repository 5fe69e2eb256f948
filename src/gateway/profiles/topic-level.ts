import { hasControlCharacter } from '../../limits/control-characters';

export const MAX_TOPIC_LEVEL_BYTES = 256;

/**
 * Why a value cannot be one MQTT topic level, or undefined. Device ids and tenants are published
 * as topic levels: a wildcard (`+`, `#`) would make a filter of the topic, `/` would split it,
 * control characters break logs, and MQTT requires well-formed UTF-8, which a lone surrogate
 * cannot be encoded as.
 */
export function topicLevelProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.includes('+') || value.includes('#') || value.includes('/')) return 'contains an MQTT wildcard (+ #) or /';
  if (hasControlCharacter(value)) return 'contains NUL or another control character';
  if (!isWellFormed(value)) return 'is not well-formed Unicode (a lone surrogate)';
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_TOPIC_LEVEL_BYTES) return `is ${bytes} bytes, longer than ${MAX_TOPIC_LEVEL_BYTES}`;
  return undefined;
}

/** Every surrogate is half of a pair (String.prototype.isWellFormed is not in the ES2022 lib). */
function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return false;
    const next = text.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}
