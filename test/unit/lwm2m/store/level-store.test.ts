import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { openLevelStore, type GatewayStore } from '../../../../src/lwm2m/store';
import { levelJobKey } from '../../../../src/lwm2m/store/level-store';
import { storeSuite } from '../../../suites/store.suite';

const root = resolve(__dirname, '../../../..');
let dir = '';

storeSuite('level (classic-level on disk)', {
  open: async () => {
    dir = await mkdtemp(join(tmpdir(), 'lwm2m-store-'));
    return openLevelStore(dir);
  },
  reopen: async (store) => {
    await store.close();
    return openLevelStore(dir);
  },
  cleanup: () => rm(dir, { recursive: true, force: true }),
  // The directory is locked while the store is open: close, write through classic-level itself, reopen.
  writeRawJob: async (store, endpoint, kind, value, onError) => {
    await store.close();
    const raw = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await raw.put(levelJobKey(endpoint, kind), value);
    await raw.close();
    return openLevelStore(dir, { onError });
  },
});

/**
 * A child process writes registrations and queued commands, one awaited write at a time, printing
 * "<i> <ms>" after each acknowledged pair; it is killed after writing for WRITE_MS. Required: every
 * pair acknowledged more than 1 s before the kill is found by a new process. Bounded: at most
 * MAX_WRITES pairs and TIMEOUT_MS overall.
 */
/**
 * Resolves once the child has exited (at once when it already has: its exit event may have gone by
 * while no listener was attached). A child still alive after EXIT_WAIT_MS is killed outright, so a
 * signal that did not take cannot hang the test until its timeout.
 */
function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.stderr.write(`level-store crash test: the child did not exit ${EXIT_WAIT_MS} ms after its signal; SIGKILL\n`);
      proc.kill('SIGKILL');
    }, EXIT_WAIT_MS);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const EXIT_WAIT_MS = 10_000;

describe('level store survives the death of its process', () => {
  const WRITE_MS = 1500;
  const MAX_WRITES = 200_000;
  // ts-node compiling the child takes seconds on a loaded 2-core machine (the whole suite in parallel).
  const TIMEOUT_MS = 60_000;
  const child = `
    const { openLevelStore } = require(${JSON.stringify(join(root, 'src/lwm2m/store'))});
    const { reg, cmd } = require(${JSON.stringify(join(root, 'test/suites/store.suite'))});
    (async () => {
      const store = await openLevelStore(process.argv[1]);
      process.stdout.write('open ' + Date.now() + '\\n');
      for (let i = 0; i < ${MAX_WRITES}; i++) {
        await store.registrations.add(reg('id' + i, 'ep' + i));
        await store.commands.append(cmd('c' + i, 'crash-ep'));
        process.stdout.write(i + ' ' + Date.now() + '\\n');
      }
    })();`;

  let crashDir = '';
  afterEach(() => rm(crashDir, { recursive: true, force: true }));

  it.each(['SIGKILL', 'SIGTERM'] as const)('%s: a new process finds everything written more than 1 s before', async (signal) => {
    crashDir = await mkdtemp(join(tmpdir(), 'lwm2m-crash-'));
    const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', child, crashDir], {
      cwd: root,
      env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acks: Array<[number, number]> = [];
    let openedAt = 0;
    let signalled = false;
    let buffered = '';
    const killedAt = await new Promise<number>((done, fail) => {
      const guard = setTimeout(() => {
        proc.kill('SIGKILL');
        fail(new Error(`child wrote ${acks.length} pairs in ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      proc.on('exit', (code) => fail(new Error(`child exited early (${code})`)));
      proc.stdout.on('data', (chunk: Buffer) => {
        const lines = (buffered + chunk.toString()).split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const [a, b] = line.split(' ');
          if (a === 'open') openedAt = Number(b);
          else acks.push([Number(a), Number(b)]);
        }
        // Once only: output the child wrote before the signal still arrives after it, and a second
        // pass here would remove the exit listener that exited() waits on (the test then hung to its timeout).
        if (openedAt && Date.now() - openedAt >= WRITE_MS && !signalled) {
          signalled = true;
          clearTimeout(guard);
          proc.removeAllListeners('exit');
          const at = Date.now();
          proc.kill(signal);
          done(at);
        }
      });
    });
    await exited(proc);

    const required = acks.filter(([, t]) => t <= killedAt - 1000).map(([i]) => i);
    const lastAcked = acks.length ? acks[acks.length - 1][0] : -1;
    expect(required.length).toBeGreaterThan(50);
    const store: GatewayStore = await openLevelStore(crashDir);
    try {
      let found = 0;
      for await (const _ of store.registrations.all()) found++;
      const queued = (await store.commands.list('crash-ep')).map((c) => c.id);
      for (const i of required) expect((await store.registrations.get('id' + i))?.endpoint).toBe('ep' + i);
      // Queued commands: a gap-free prefix in append order, holding every required one.
      expect(queued).toEqual(queued.map((_, i) => 'c' + i));
      expect(queued.length).toBeGreaterThan(required[required.length - 1]);
      // LevelDB hands each write to the kernel before acknowledging it: nothing acknowledged is lost.
      expect(found).toBeGreaterThan(lastAcked);
    } finally {
      await store.close();
    }
  }, TIMEOUT_MS + 30_000);
});
