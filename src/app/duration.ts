/** A duration as written in gateway.yaml: seconds as a number, or "250ms", "22s", "5m", "2h", "1d", "30". */
export type DurationInput = number | string;

const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)?$/;

const SECONDS_PER_UNIT: Readonly<Record<string, number>> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
};

/** Converts a duration to seconds (possibly fractional, e.g. "250ms" -> 0.25); throws RangeError when malformed. */
export function parseDuration(value: DurationInput): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`invalid duration: ${value}`);
    return value;
  }
  const match = DURATION_PATTERN.exec(value);
  if (!match) throw new RangeError(`invalid duration: "${value}" (expected seconds or a string such as "22s", "5m", "250ms")`);
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  // ms divides rather than multiplies by 0.001 so that "250ms" is exactly 0.25.
  return unit === 'ms' ? amount / 1000 : amount * SECONDS_PER_UNIT[unit];
}
