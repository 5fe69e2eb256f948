import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BootstrapConfigFile } from '../../../src/bootstrap-config/bootstrap-config-file';
import { PskFile } from '../../../src/app/psk-file';

/** The README's bootstrap example is the format as it is: its files load as they are written there. */
describe('the README bootstrap example', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
  const block = (firstLine: string): string => {
    const start = readme.indexOf(firstLine);
    expect(start).toBeGreaterThan(0);
    return readme.slice(start, readme.indexOf('```', start));
  };
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-readme-bs-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('bootstrap.yaml loads, with its endpoint entry and defaults', () => {
    const file = path.join(dir, 'bootstrap.yaml');
    fs.writeFileSync(file, block('# bootstrap.yaml: `defaults`'));
    const config = BootstrapConfigFile.load(file);
    expect(config.size).toBe(1);
    const peer = { address: '10.0.0.1', port: 5783 };
    const lookup = config.lookup({ endpoint: 'urn:imei:490154203237518', peer, scheme: 'coaps', query: {} });
    expect(lookup).toMatchObject({ found: true, config: { delete: ['/0', '/1'], servers: [{ shortServerId: 101, provision: { identity: 'urn:imei:490154203237518', endpoint: 'urn:imei:490154203237518' } }] } });
  });

  it('bootstrap-psk.yaml loads', () => {
    const file = path.join(dir, 'bootstrap-psk.yaml');
    fs.writeFileSync(file, block('# bootstrap-psk.yaml:'));
    expect(PskFile.load(file).lookupPsk('bs-490154203237518')?.endpoint).toBe('urn:imei:490154203237518');
  });
});
