import type { ProblemList } from './bootstrap-config-error';
import { describeValue, isMapping, joinKey, printable } from '../config-text/config-keys';

/** Validated reads of one mapping: every problem goes to `problems`, with the key's dotted path. */
export class MappingReader {
  constructor(
    readonly record: Readonly<Record<string, unknown>>,
    readonly at: string,
    readonly problems: ProblemList,
    allowed: readonly string[],
  ) {
    for (const name of Object.keys(record)) {
      if (!allowed.includes(name)) problems.add(this.key(name), 'unknown key');
    }
  }

  key(name: string): string {
    return joinKey(this.at, printable(name));
  }

  has(name: string): boolean {
    return Object.hasOwn(this.record, name) && this.record[name] !== undefined;
  }

  value(name: string): unknown {
    return Object.hasOwn(this.record, name) ? this.record[name] : undefined;
  }

  problem(name: string, reason: string): void {
    this.problems.add(this.key(name), reason);
  }

  /** An integer in min..max, or undefined (absent, or a problem was recorded). */
  integer(name: string, min: number, max: number): number | undefined {
    const value = this.value(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      // An integer key never holds a secret: its value may be quoted.
      const got = typeof value === 'number' && Number.isInteger(value) ? String(value) : describeValue(value);
      this.problem(name, `must be an integer in ${min}..${max}, got ${got}`);
      return undefined;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.value(name);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.problem(name, `must be true or false, got ${describeValue(value)}`);
      return fallback;
    }
    return value;
  }

  /** A list of at most `max` items, or undefined (absent, or a problem was recorded). */
  list(name: string, max: number): readonly unknown[] | undefined {
    const value = this.value(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) {
      this.problem(name, `must be a list, got ${describeValue(value)}`);
      return undefined;
    }
    if (value.length > max) {
      this.problem(name, `has ${value.length} items, more than ${max}`);
      return undefined;
    }
    return value;
  }

  /** A nested mapping, or undefined (absent, or a problem was recorded). */
  mapping(name: string): Readonly<Record<string, unknown>> | undefined {
    const value = this.value(name);
    if (value === undefined) return undefined;
    if (!isMapping(value)) {
      this.problem(name, `must be a mapping, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }
}
