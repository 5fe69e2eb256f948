import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Sharing } from '../lwm2m/device/device-manager';
import { LogThrottle } from '../limits/log-throttle';
import { messageOf } from './answer-publisher';

/** How long the instances remember that one of them answered a command for an unknown device. */
const ANSWERED_ONCE_MS = 10_000;

/**
 * Gateway instances sharing one store and one broker all receive every command (they subscribe to
 * the same filter). Each answers the commands of the devices it holds; it says which topic prefixes
 * those are in the store's claims. A command for a prefix no instance holds is answered 4.04 by
 * exactly one of them: the first to claim that command (by a hash of its topic and content) within
 * 10 s. The same command sent twice within 10 s is therefore answered once.
 */
export class PeerInstances {
  private readonly failures = new LogThrottle(10_000);

  constructor(
    private readonly sharing: Sharing,
    private readonly log: Logger,
  ) {}

  hold(prefix: string): void {
    this.sharing.claims.hold(prefix, this.sharing.instance).catch((err: unknown) => this.failed('hold', err));
  }

  release(prefix: string): void {
    this.sharing.claims.release(prefix, this.sharing.instance).catch((err: unknown) => this.failed('release', err));
  }

  /**
   * A command for a prefix this instance does not hold: `answer` (4.04) runs unless another instance
   * holds the prefix or answers it first. When the store cannot say, it answers (twice is better than never).
   */
  unknown(topic: string, prefix: string, command: unknown, answer: () => void): void {
    const { claims, instance } = this.sharing;
    void (async () => {
      const holder = await claims.holder(prefix);
      if (holder !== undefined && holder !== instance) return;
      const key = `unknown:${createHash('sha256').update(topic).update('\0').update(JSON.stringify(command) ?? '').digest('base64url')}`;
      if (await claims.once(key, ANSWERED_ONCE_MS)) answer();
    })().catch((err: unknown) => {
      this.failed('lookup', err);
      answer();
    });
  }

  private failed(what: string, err: unknown): void {
    const admitted = this.failures.admit(what);
    if (admitted) this.log.error({ what, err: messageOf(err), suppressed: admitted.suppressed || undefined }, 'shared store: cannot coordinate with the other instances');
  }
}
