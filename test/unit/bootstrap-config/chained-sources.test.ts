import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BootstrapConfigFile } from '../../../src/bootstrap-config/bootstrap-config-file';
import { chainSources } from '../../../src/bootstrap-config/chained-sources';
import type { BootstrapCandidate, BootstrapConfigSource, BootstrapLookup } from '../../../src/lwm2m/bootstrap/bootstrap-config';

const candidate: BootstrapCandidate = { endpoint: 'ep1', peer: { address: '127.0.0.1', port: 5683 }, scheme: 'coap', query: { ep: 'ep1' } };

const passOn: BootstrapLookup = { found: false, code: '4.01', reason: 'hook answered ignore', passOn: true };
const denied: BootstrapLookup = { found: false, code: '4.03', reason: 'hook denied' };

/** A source answering `answer` (sync or async) and counting how often it was asked. */
function source(answer: () => BootstrapLookup | Promise<BootstrapLookup>): BootstrapConfigSource & { asked: number } {
  const s = {
    asked: 0,
    lookup: () => {
      s.asked++;
      return answer();
    },
  };
  return s;
}

describe('chainSources', () => {
  let dir: string;
  let file: BootstrapConfigFile;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootstrap-chain-'));
    const name = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(name, 'endpoints:\n  ep1: { servers: [{ short_server_id: 5, uri: "coap://gw", security_mode: nosec }] }\n');
    file = BootstrapConfigFile.load(name);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a source that passes on hands the device to the next one (hook ignore, then the file)', async () => {
    const hook = source(async () => passOn);
    const answer = await chainSources([hook, file]).lookup(candidate);
    expect(hook.asked).toBe(1);
    expect(answer.found && answer.config.servers[0].shortServerId).toBe(5);
  });

  it('any other answer is final: later sources are not asked', async () => {
    for (const first of [denied, { found: false, code: '5.03', reason: 'hook timed out', retryAfter: 5 } as BootstrapLookup]) {
      const next = source(() => passOn);
      expect(await chainSources([source(async () => first), next]).lookup(candidate)).toEqual(first);
      expect(next.asked).toBe(0);
    }
    const next = source(() => denied);
    const answer = await chainSources([file, next]).lookup(candidate);
    expect(answer.found).toBe(true);
    expect(next.asked).toBe(0);
  });

  it('when every source passes on, the last answer stands', async () => {
    const last: BootstrapLookup = { found: false, code: '4.01', reason: 'last', passOn: true };
    expect(await chainSources([source(() => passOn), source(async () => last)]).lookup(candidate)).toEqual(last);
    expect(await chainSources([]).lookup(candidate)).toEqual({ found: false, code: '4.01', reason: 'no bootstrap configuration source' });
  });

  it('a source that rejects or throws ends the chain with 5.03', async () => {
    for (const failing of [source(() => Promise.reject(new Error('secret detail'))), source(() => { throw new Error('secret detail'); })]) {
      const next = source(() => denied);
      const answer = await chainSources([failing, next]).lookup(candidate);
      expect(answer).toEqual({ found: false, code: '5.03', reason: 'bootstrap configuration source failed', retryAfter: 5 });
      expect(next.asked).toBe(0);
    }
  });
});
