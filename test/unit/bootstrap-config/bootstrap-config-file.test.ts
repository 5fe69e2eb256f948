import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BootstrapConfigError } from '../../../src/bootstrap-config/bootstrap-config-error';
import { BootstrapConfigFile } from '../../../src/bootstrap-config/bootstrap-config-file';
import type { BootstrapCandidate, BootstrapLookup } from '../../../src/lwm2m/bootstrap/bootstrap-config';

const SECRET_HEX = '00112233445566778899aabbccddeeff';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootstrap-file-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeFile(text: string, name = 'bootstrap.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const candidate = (endpoint: string): BootstrapCandidate => ({ endpoint, peer: { address: '127.0.0.1', port: 5683 }, scheme: 'coap', query: { ep: endpoint } });

function config(lookup: BootstrapLookup) {
  if (!lookup.found) throw new Error(`expected a configuration, got ${lookup.code} ${lookup.reason}`);
  return lookup.config;
}

/** The BootstrapConfigError `load` throws. */
function loadError(file: string): BootstrapConfigError {
  try {
    BootstrapConfigFile.load(file);
  } catch (err) {
    expect(err).toBeInstanceOf(BootstrapConfigError);
    return err as BootstrapConfigError;
  }
  throw new Error('expected a BootstrapConfigError');
}

const FILE = `
defaults:
  delete: ["/"]
  servers:
    - short_server_id: 1
      uri: "coaps://gw.example.com:5684"
      security_mode: psk
      psk_identity: "dflt-\${endpoint}"
      psk_key: generate
endpoints:
  "urn:imei:490154203237518":
    content_format: senml-cbor
    version: "1.2"
    servers:
      - short_server_id: 101
        uri: "coaps://gw.example.com:5684"
        security_mode: psk
        psk_key: "${SECRET_HEX}"
  __proto__:
    servers: [{ short_server_id: 7, uri: "coap://gw", security_mode: nosec }]
`;

describe('BootstrapConfigFile', () => {
  it('an endpoint entry for its exact name, else the defaults', () => {
    const file = BootstrapConfigFile.load(writeFile(FILE));
    expect(file.size).toBe(2);
    const own = config(file.lookup(candidate('urn:imei:490154203237518')));
    expect(own).toMatchObject({ delete: ['/0', '/1'], contentFormat: 112, version: '1.2' });
    expect(own.servers[0].shortServerId).toBe(101);
    expect(own.servers[0].security.secretKey).toEqual(Buffer.from(SECRET_HEX, 'hex'));
    expect(own.servers[0].provision).toBeUndefined();

    const other = config(file.lookup(candidate('urn:imei:490154203237519')));
    expect(other.delete).toEqual(['/']);
    expect(other.servers[0].security.publicKeyOrIdentity.toString()).toBe('dflt-urn:imei:490154203237519');
    expect(other.servers[0].provision).toMatchObject({ identity: 'dflt-urn:imei:490154203237519', endpoint: 'urn:imei:490154203237519' });
    // A generated key is new for every bootstrap.
    const again = config(file.lookup(candidate('urn:imei:490154203237519')));
    expect(again.servers[0].security.secretKey).not.toEqual(other.servers[0].security.secretKey);
  });

  it('names are looked up in a Map: __proto__ is an endpoint like any other, toString is none', () => {
    const file = BootstrapConfigFile.load(writeFile(FILE.replace(/^defaults:[\s\S]*?(?=^endpoints:)/m, '')));
    expect(config(file.lookup(candidate('__proto__'))).servers[0].shortServerId).toBe(7);
    for (const name of ['toString', 'constructor', 'hasOwnProperty']) {
      expect(file.lookup(candidate(name))).toEqual({ found: false, code: '4.01', reason: `no bootstrap configuration for endpoint "${name}"` });
    }
  });

  it('without defaults an unknown endpoint gets 4.01; an empty file knows no endpoint', () => {
    const file = BootstrapConfigFile.load(writeFile(''));
    expect(file.size).toBe(0);
    expect(file.lookup(candidate('ep\u0001x'))).toEqual({ found: false, code: '4.01', reason: 'no bootstrap configuration for endpoint "ep?x"' });
  });

  it('lists every problem of the file at once, each with the file name and the dotted key', () => {
    const file = writeFile(`
extra: 1
defaults:
  servers: []
endpoints:
  "urn:imei:1":
    servers:
      - short_server_id: 101
        uri: "coaps://gw:5684"
        security_mode: psk
        psk_key: "zz"
  "":
    servers: [{ short_server_id: 7, uri: "coap://gw", security_mode: nosec }]
  ep2: 5
`);
    const err = loadError(file);
    expect(err.message.split('\n')).toEqual([
      `${file}: extra: unknown key (only defaults and endpoints)`,
      `${file}: defaults.servers: must hold 1..8 servers`,
      `${file}: endpoints.urn:imei:1.servers[0].psk_key: must be the key in hex (an even number of hex digits) or "generate"`,
      `${file}: endpoints.: an endpoint name must not be empty`,
      `${file}: endpoints.ep2: must be a mapping, got a number`,
    ]);
  });

  it('the top level must be a mapping; endpoints a mapping', () => {
    expect(loadError(writeFile('- a\n- b\n')).problems).toEqual([{ key: '', reason: 'must be a mapping with defaults and endpoints, got a list' }]);
    expect(loadError(writeFile('endpoints: [a]\n')).problems).toEqual([{ key: 'endpoints', reason: 'must be a mapping of endpoint names to entries, got a list' }]);
  });

  it('PSK identities of endpoint entries are checked at load; of the defaults at lookup (4.00)', () => {
    const long = 'e'.repeat(120);
    const entry = `{ servers: [{ short_server_id: 1, uri: "coaps://gw", security_mode: psk, psk_identity: "id-\${endpoint}-\${endpoint}", psk_key: "aa" }] }`;
    expect(loadError(writeFile(`endpoints:\n  "${long}": ${entry}\n`)).problems).toEqual([
      { key: `endpoints.${'e'.repeat(64)}....servers[0].psk_identity`, reason: 'longer than 128 bytes once rendered' },
    ]);
    const file = BootstrapConfigFile.load(writeFile(`defaults: ${entry}\n`));
    expect(file.lookup(candidate(long))).toEqual({
      found: false,
      code: '4.00',
      reason: `bootstrap configuration for endpoint "${'e'.repeat(64)}...": servers[0].psk_identity: longer than 128 bytes once rendered`,
    });
    expect(config(file.lookup(candidate('short'))).servers[0].security.publicKeyOrIdentity.toString()).toBe('id-short-short');
  });

  it('YAML syntax errors give the position, never the source line (it may hold a key)', () => {
    const err = loadError(writeFile(`endpoints:\n  ep1:\n    servers:\n      - psk_key: "${SECRET_HEX}\n        uri: [1, 2\n`));
    expect(err.problems.length).toBeGreaterThan(0);
    expect(err.problems[0].reason).toMatch(/^YAML syntax error: .* at line \d+, column \d+$/);
    expect(err.message).not.toContain(SECRET_HEX.slice(0, 8));
  });

  it('keys that YAML holds apart but JSON cannot are refused, not silently merged', () => {
    const entry = '{ servers: [{ short_server_id: 7, uri: "coap://gw", security_mode: nosec }] }';
    expect(loadError(writeFile(`endpoints:\n  101: ${entry}\n  "101": ${entry}\n`)).problems).toEqual([
      { key: 'endpoints.101', reason: 'duplicate key (keys are compared as text)' },
    ]);
    expect(loadError(writeFile(`endpoints:\n  ep: ${entry}\n  ep: ${entry}\n`)).problems[0].reason).toMatch(/^YAML syntax error: Map keys must be unique/);
  });

  it('bounds: the file size, YAML aliases, the number of problems reported', () => {
    const big = writeFile('');
    fs.truncateSync(big, 16 * 1024 * 1024 + 1);
    expect(loadError(big).problems).toEqual([{ key: '', reason: `is ${16 * 1024 * 1024 + 1} bytes, larger than ${16 * 1024 * 1024}` }]);

    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 120; i++) lines.push(`a${i}: &a${i} [*a, *a]`);
    expect(loadError(writeFile(lines.join('\n'))).problems[0].reason).toMatch(/^YAML (syntax )?error: .*alias/i);

    const broken = Array.from({ length: 1500 }, (_, i) => `  ep${i}: 5`).join('\n');
    const problems = loadError(writeFile(`endpoints:\n${broken}\n`)).problems;
    expect(problems).toHaveLength(1001);
    expect(problems[1000]).toEqual({ key: '', reason: 'and 500 more problems' });
  });

  it('a missing file: cannot read, with the error code', () => {
    const missing = path.join(dir, 'absent.yaml');
    expect(loadError(missing).message).toBe(`${missing}: cannot read (ENOENT)`);
  });

  it('reload swaps the table; a broken file throws and keeps the old one', () => {
    const name = writeFile(FILE);
    const file = BootstrapConfigFile.load(name);
    fs.writeFileSync(name, 'endpoints:\n  ep9: { servers: [{ short_server_id: 9, uri: "coap://gw", security_mode: nosec }] }\n');
    expect(file.reload()).toBe(1);
    expect(config(file.lookup(candidate('ep9'))).servers[0].shortServerId).toBe(9);
    expect(file.lookup(candidate('urn:imei:490154203237518'))).toMatchObject({ found: false, code: '4.01' });

    fs.writeFileSync(name, 'endpoints:\n  ep9: { servers: [] }\n');
    expect(() => file.reload()).toThrow(`${name}: endpoints.ep9.servers: must hold 1..8 servers`);
    expect(file.size).toBe(1);
    expect(config(file.lookup(candidate('ep9'))).servers[0].shortServerId).toBe(9);
  });
});
