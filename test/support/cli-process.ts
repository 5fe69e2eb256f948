import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** ts-node runs the TypeScript CLI directly, so `npm test` needs no build step. */
export const CLI_NODE_ARGS = ['-r', 'ts-node/register/transpile-only', '-e', "require('./src/app/cli').main(process.argv.slice(1))"];

/** The gateway's command line as a child process, with everything it writes kept. */
export class CliProcess {
  private text = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.text += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts `lwm2m-gateway --config <configFile>` from the repository root. */
  static start(configFile: string): CliProcess {
    return new CliProcess(spawn(process.execPath, [...CLI_NODE_ARGS, '--', '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** stdout and stderr so far. */
  get output(): string {
    return this.text;
  }

  /** The JSON log lines so far. */
  logLines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Waits until the output holds `text`; throws with the output if the process exits first or 20 s pass. */
  async until(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(text)) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`no "${text}" in: ${this.text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills the process if it still runs (a test's finally). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
