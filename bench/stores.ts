/**
 * The gateway's state stores as the benchmark runs them (`--store memory,embedded,redis`): each
 * gateway child gets a fresh one. `embedded`: classic-level in a new temporary directory (removed
 * afterwards), synced every second as by default; `redis`: a redis-server of its own on a free port
 * (no snapshots, no append-only file: the gateway's writes are what is measured, not Redis' disk),
 * stopped afterwards; `memory`: no store at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type RedisServer, redisServerAvailable, startRedisServer } from '../test/support/redis-server';

export type StoreKind = 'memory' | 'embedded' | 'redis';
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'embedded', 'redis'];

/** A store ready for one gateway: its `store:` YAML section, and how to get rid of it. */
export interface BenchStore {
  readonly kind: StoreKind;
  /** The `store:` section of gateway.yaml (lines, indented as at the top level). */
  readonly yaml: string[];
  /** The redis-server's pid (redis only), for its CPU. */
  readonly pid?: number;
  /** Stops the redis-server, removes the directory. */
  dispose(): Promise<void>;
}

/** Stores not disposed of yet: disposed on the way out whatever happens. */
const live = new Set<BenchStore>();
const redisServers = new Set<RedisServer>();

export function parseStores(value: string | undefined): StoreKind[] {
  const kinds = (value ?? STORE_KINDS.join(',')).split(',').map((s) => s.trim()) as StoreKind[];
  for (const k of kinds) if (!STORE_KINDS.includes(k)) throw new Error(`--store: unknown store ${k} (known: ${STORE_KINDS.join(', ')})`);
  return [...new Set(kinds)];
}

/** Whether the store can run here (redis needs redis-server installed). */
export function storeAvailable(kind: StoreKind): boolean {
  return kind !== 'redis' || redisServerAvailable();
}

/**
 * A fresh store. `dir` (embedded): use this directory (kept: a restart reopens it) instead of a
 * temporary one.
 */
export async function openBenchStore(kind: StoreKind, options: { dir?: string } = {}): Promise<BenchStore> {
  let store: BenchStore;
  if (kind === 'memory') {
    store = { kind, yaml: ['store:', '  type: memory'], dispose: async () => undefined };
  } else if (kind === 'embedded') {
    const temporary = options.dir === undefined;
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-store-'));
    store = {
      kind,
      yaml: ['store:', '  type: embedded', `  dir: "${dir}"`, '  sync_interval: 1s'],
      dispose: async () => {
        live.delete(store);
        if (temporary) fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } else {
    const server = await startRedisServer();
    redisServers.add(server);
    store = {
      kind,
      yaml: ['store:', '  type: redis', `  url: "${server.url}"`],
      pid: server.pid,
      dispose: async () => {
        live.delete(store);
        redisServers.delete(server);
        await server.stop();
      },
    };
  }
  live.add(store);
  return store;
}

/** Disposes of every store still open (end of run, errors). */
export async function disposeAllStores(): Promise<void> {
  for (const s of [...live]) await s.dispose().catch(() => undefined);
}

/** Synchronous: kills the redis-servers (exit paths). */
export function killStoresNow(): void {
  for (const s of redisServers) s.killNow();
}
