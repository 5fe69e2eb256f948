/** One thing wrong in a bootstrap configuration: the dotted key (e.g. `endpoints.ep1.servers[0].psk_key`) and why. */
export interface BootstrapConfigProblem {
  key: string;
  reason: string;
}

/**
 * A bootstrap configuration (the YAML file, a hook's answer) that cannot be used, with every
 * problem found at once so that an operator fixes them in one round. Reasons never quote values:
 * a value may be a PSK or a private key.
 */
export class BootstrapConfigError extends Error {
  constructor(
    readonly where: string,
    readonly problems: readonly BootstrapConfigProblem[],
  ) {
    super(problems.map((p) => `${where}: ${p.key === '' ? '' : `${p.key}: `}${p.reason}`).join('\n'));
    this.name = 'BootstrapConfigError';
  }
}

/** More problems than this are summed up in one line: a broken file must not make a huge error. */
const MAX_PROBLEMS = 1000;

/** Collects problems, bounded. */
export class ProblemList {
  private readonly list: BootstrapConfigProblem[] = [];
  private dropped = 0;

  add(key: string, reason: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push({ key, reason });
    else this.dropped++;
  }

  get count(): number {
    return this.list.length + this.dropped;
  }

  /** Throws a BootstrapConfigError when any problem was found. */
  throwIfAny(where: string): void {
    if (this.count === 0) return;
    const problems = this.dropped === 0 ? this.list : [...this.list, { key: '', reason: `and ${this.dropped} more problems` }];
    throw new BootstrapConfigError(where, problems);
  }
}
