import type { Logger } from 'pino';
import { LogThrottle } from '../limits/log-throttle';
import { openLevelStore, openRedisStore, type GatewayStore } from '../lwm2m/store';
import { redactRedisUrl } from '../lwm2m/store/redis-store';
import type { StoreConfig } from './config';

/** What the start-up summary says of the store (never a password). */
export function describeStore(store: StoreConfig): string {
  switch (store.type) {
    case 'memory':
      return 'memory (state is lost at restart)';
    case 'redis':
      return `redis ${redactRedisUrl(store.url ?? '')}`;
    default:
      return `embedded ${store.dir}`;
  }
}

/**
 * Opens the store `store.type` names: the embedded one (classic-level in `store.dir`) or Redis.
 * `memory` opens none: the engine then keeps its state in its own maps, as before stores existed,
 * and writes nothing. Failures after opening are logged by `failed` (storeFailureLog).
 */
export async function openConfiguredStore(store: StoreConfig, failed: StoreFailureLog): Promise<GatewayStore | undefined> {
  const onError = (err: Error): void => failed(store.type, err);
  switch (store.type) {
    case 'memory':
      return undefined;
    case 'redis':
      return openRedisStore(store.url ?? '', { keyPrefix: store.key_prefix, onError });
    default:
      return openLevelStore(store.dir, { syncIntervalMs: store.sync_interval * 1000, onError });
  }
}

export type StoreFailureLog = (what: string, err: unknown) => void;

/** A store failure (the backend's own, or a write the engine issued): one error line per kind every 10 s. */
export function storeFailureLog(log: Logger): StoreFailureLog {
  const throttle = new LogThrottle(10_000);
  return (what, err) => {
    const admitted = throttle.admit(what);
    if (admitted) log.error({ what, err: err instanceof Error ? err.message : String(err), suppressed: admitted.suppressed || undefined }, 'store failure: the change may not survive a restart');
  };
}
