/** Reordering detection for notifications (RFC 7641 §3.4). */

const SEQUENCE_HALF_RANGE = 1 << 23;
/** After this long, a notification is fresh whatever its sequence number (the 24-bit counter may have wrapped). */
export const OBSERVE_FRESHNESS_MS = 128_000;

/**
 * Whether notification (v2 received at t2) is newer than the last accepted one (v1 at t1).
 * Observe values are 24-bit and wrap around.
 */
export function isFreshNotification(v1: number, t1: number, v2: number, t2: number): boolean {
  return (v1 < v2 && v2 - v1 < SEQUENCE_HALF_RANGE) || (v1 > v2 && v1 - v2 > SEQUENCE_HALF_RANGE) || t2 > t1 + OBSERVE_FRESHNESS_MS;
}
