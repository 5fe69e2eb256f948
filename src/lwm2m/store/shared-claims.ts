/**
 * What gateway instances sharing one store (Redis) agree on between them: who holds a key (a
 * device's command topic, say) and which one instance acts on an event they all see. Stores
 * used by one process (memory, embedded) have none.
 */
export interface SharedClaims {
  /** Records that `owner` holds `key` (replacing any other owner: the device moved). */
  hold(key: string, owner: string): Promise<void>;
  /** Ends `owner`'s hold on `key`; another owner's hold stays. */
  release(key: string, owner: string): Promise<void>;
  /** Who holds `key`, if anyone. */
  holder(key: string): Promise<string | undefined>;
  /** True for exactly one caller of `key` within `ttlMs` (the first): the others stay silent. */
  once(key: string, ttlMs: number): Promise<boolean>;
}
