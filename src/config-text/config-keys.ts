import { hasControlCharacter } from '../limits/control-characters';

/**
 * Naming parts of a configuration (bootstrap configurations, device profiles) in problem reports:
 * dotted keys, and what a bad value was without quoting it (a value may be a PSK, a private key or
 * a tenant's secret).
 */

/** Where problems found in configuration text are collected, each under its dotted key. */
export interface ProblemSink {
  add(key: string, message: string): void;
}

const MAX_KEY_PART_CHARS = 64;

/** `a.b`, or `b` at the top. */
export function joinKey(at: string, name: string): string {
  return at === '' ? name : `${at}.${name}`;
}

/** A name from the input made fit for a message: control characters replaced, long names cut. */
export function printable(name: string, max = MAX_KEY_PART_CHARS): string {
  const shown = hasControlCharacter(name) ? [...name].map((ch) => (hasControlCharacter(ch) ? '?' : ch)).join('') : name;
  return shown.length > max ? `${shown.slice(0, max)}...` : shown;
}

/** The kind of a value ("a string", "a list", ...), never the value itself. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a number' : 'a fractional number';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

/** A mapping read from YAML or JSON (not a list, not null). */
export function isMapping(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Map);
}
