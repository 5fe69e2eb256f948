import type { ProblemSink } from '../../config-text/config-keys';

/** One thing wrong in the device profiles: the dotted key (`profiles[0].telemetry./3303/0/5700`) and why. */
export interface ProfileProblem {
  key: string;
  message: string;
}

/**
 * Device profiles that cannot be used, with every problem found at once so that an operator fixes
 * them in one round. Messages describe values by kind, never quote them: a client_attrs match may
 * hold a tenant secret.
 */
export class ProfileConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly ProfileProblem[],
  ) {
    super(`invalid device profiles in ${source}:\n` + problems.map((p) => `  ${p.key === '' ? '' : `${p.key}: `}${p.message}`).join('\n'));
    this.name = 'ProfileConfigError';
  }
}

/** More problems than this are summed up in one line: a broken file must not make a huge error. */
const MAX_PROBLEMS = 1000;

/** Collects problems, bounded. */
export class ProfileProblems implements ProblemSink {
  private readonly list: ProfileProblem[] = [];
  private dropped = 0;

  add(key: string, message: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push({ key, message });
    else this.dropped++;
  }

  get count(): number {
    return this.list.length + this.dropped;
  }

  /** Adds these problems to `other`. */
  copyTo(other: ProfileProblems): void {
    for (const p of this.list) other.add(p.key, p.message);
    other.dropped += this.dropped;
  }

  throwIfAny(source: string): void {
    if (this.count === 0) return;
    const problems = this.dropped === 0 ? this.list : [...this.list, { key: '', message: `and ${this.dropped} more problems` }];
    throw new ProfileConfigError(source, problems);
  }
}
