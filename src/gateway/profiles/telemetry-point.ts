import type { Entry } from '../../lwm2m/node';
import type { DeviceProfile } from './device-profile';
import { mappedName, pointValue } from './point-value';
import { renderTemplate } from './profile-template';

/**
 * One time-stamped set of named values of a device, as platforms ingest them. The value objects
 * have no prototype, so that a key such as `__proto__` is a key like any other; JSON.stringify
 * writes them as usual.
 */
export interface TelemetryPoint {
  device_id: string;
  endpoint: string;
  /** Milliseconds since the epoch. */
  ts: number;
  numeric_values: Record<string, number>;
  string_values: Record<string, string>;
}

export interface PointIdentity {
  readonly deviceId: string;
  readonly endpoint: string;
}

/**
 * The telemetry in a notification or Send, one point per timestamp, oldest first: a SenML pack
 * may carry a time series (several records of a path at different times), and each value keeps
 * its own time. An entry without a time (most formats carry none) is stamped `nowMs`. Empty when
 * no entry's path is in the profile's telemetry.
 */
export function telemetryPoints(profile: DeviceProfile, ids: PointIdentity, entries: readonly Entry[], nowMs: number): TelemetryPoint[] {
  const byTime = new Map<number, TelemetryPoint>();
  for (const entry of entries) {
    const ts = entry.time !== undefined && Number.isFinite(entry.time) ? Math.round(entry.time * 1000) : nowMs;
    const point = byTime.get(ts) ?? newPoint(ids, ts);
    if (addEntry(profile, ids, point, entry)) byTime.set(ts, point);
  }
  return [...byTime.values()].sort((a, b) => a.ts - b.ts);
}

/**
 * The telemetry in a notification as one point: every mapped value, the latest of a path when it
 * comes more than once, stamped with the latest entry time (else `nowMs`). Undefined when no
 * entry's path is mapped. For a time series use telemetryPoints, which keeps every value.
 */
export function telemetryPoint(profile: DeviceProfile, ids: PointIdentity, entries: readonly Entry[], nowMs: number): TelemetryPoint | undefined {
  const points = telemetryPoints(profile, ids, entries, nowMs);
  if (points.length === 0) return undefined;
  if (points.length === 1) return points[0];
  const merged = newPoint(ids, points[points.length - 1].ts);
  for (const point of points) {
    for (const [key, value] of Object.entries(point.numeric_values)) setValue(merged, key, value);
    for (const [key, value] of Object.entries(point.string_values)) setValue(merged, key, value);
  }
  return merged;
}

function newPoint(ids: PointIdentity, ts: number): TelemetryPoint {
  return { device_id: ids.deviceId, endpoint: ids.endpoint, ts, numeric_values: Object.create(null) as Record<string, number>, string_values: Object.create(null) as Record<string, string> };
}

/** Adds an entry's value when its path is mapped; whether it was. */
function addEntry(profile: DeviceProfile, ids: PointIdentity, point: TelemetryPoint, entry: Entry): boolean {
  const name = mappedName(profile.telemetry, entry.path);
  if (name === undefined) return false;
  const key = renderTemplate(profile.metricKey, { names: { name, path: entry.path, endpoint: ids.endpoint, device_id: ids.deviceId } });
  const v = pointValue(entry.value);
  setValue(point, key, v.kind === 'number' ? v.value : v.kind === 'boolean' ? String(v.value) : v.value);
  return true;
}

/** A key holds one value: a later one of the other kind replaces it rather than standing beside it. */
function setValue(point: TelemetryPoint, key: string, value: number | string): void {
  if (typeof value === 'number') {
    delete point.string_values[key];
    point.numeric_values[key] = value;
  } else {
    delete point.numeric_values[key];
    point.string_values[key] = value;
  }
}
