import { spawnSync } from 'node:child_process';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../../..');

describe('src/app/config-schema-types.ts', () => {
  it('is what scripts/gen-config-types.ts makes of schemas/gateway.schema.json (else: npm run gen:config-types)', () => {
    // In a process of its own: the generator formats with Prettier 3, which Jest's module loader cannot load.
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'scripts/gen-config-types.ts', '--check'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.error).toBeUndefined();
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
