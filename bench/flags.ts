/**
 * Command-line flags of the bench scripts (run.ts, soak.ts): `--name value` or `--name=value`, and
 * switches that take no value (`--quick`: "1"). Anything else, or a name not in `known`, is an error.
 */
export function parseFlags(argv: readonly string[], known: readonly string[], switches: readonly string[] = []): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (switches.includes(arg.slice(2))) flags.set(arg.slice(2), '1');
    else flags.set(arg.slice(2), argv[++i] ?? '');
  }
  for (const flag of flags.keys()) if (!known.includes(flag)) throw new Error(`unknown option --${flag} (known: ${known.join(', ')})`);
  return flags;
}

/** `value` as a positive number, `fallback` when the flag is absent. */
export function positiveNumber(flag: string, value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag}: not a positive number (${value})`);
  return n;
}
