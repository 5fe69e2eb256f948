import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, configWarnings, parseConfig } from '../../../src/app/config';
import { PskFile, parsePskEntries } from '../../../src/app/psk-file';
import { DEFAULT_CIPHERS, isCertificateSuite, opensslCipherName } from '../../../src/transport/dtls/cipher-suites';

function refusedKey(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).key;
  }
  throw new Error('accepted');
}

describe('listeners.dtls configuration', () => {
  it('is off by default and accepts a PSK-only listener', () => {
    expect(parseConfig('').listeners.dtls.enable).toBe(false);
    const c = parseConfig('listeners:\n  dtls:\n    enable: true\n    psk_file: /x/psk.yaml\n    ciphers: [TLS_PSK_WITH_AES_128_CCM_8, PSK-AES128-GCM-SHA256]\n');
    expect(c.listeners.dtls.ciphers).toEqual(['TLS_PSK_WITH_AES_128_CCM_8', 'PSK-AES128-GCM-SHA256']);
  });

  it('starts when credentials are named, unless enable: false is written', () => {
    const dtls = (text: string) => parseConfig(`listeners:\n  dtls:\n${text}`).listeners.dtls;
    expect(dtls('    bind: ":5684"\n    psk_file: /x/psk.yaml\n').enable).toBe(true);
    expect(dtls('    certfile: /c.pem\n    keyfile: /k.pem\n').enable).toBe(true);
    expect(dtls('    psk_file: ""\n').enable).toBe(false); // empty counts as absent
    expect(dtls('    bind: ":5684"\n').enable).toBe(false);
    expect(dtls('    enable: false\n    psk_file: /x/psk.yaml\n').enable).toBe(false);
    // DTLS alone is a listener: plain UDP may be off.
    const c = parseConfig('listeners:\n  udp: { enable: false }\n  dtls: { psk_file: /x/psk.yaml }\n');
    expect(c.listeners.dtls.enable).toBe(true);
  });

  it('warns about credentials left unused by enable: false, and only then', () => {
    const warnings = (text: string) => configWarnings(parseConfig(text));
    expect(warnings('listeners:\n  dtls:\n    enable: false\n    psk_file: /x/psk.yaml\n')).toEqual([
      'listeners.dtls.enable: false although psk_file is set: no DTLS listener; the endpoints psk_file names still cannot register over plain UDP (remove enable: false to serve DTLS)',
    ]);
    expect(warnings('listeners:\n  dtls: { enable: false, certfile: /c.pem, keyfile: /k.pem }\n')).toEqual([
      'listeners.dtls.enable: false although certfile is set: no DTLS listener (remove enable: false to serve DTLS)',
    ]);
    expect(warnings('')).toEqual([]);
    expect(warnings('listeners:\n  dtls: { enable: false }\n')).toEqual([]);
    expect(warnings('listeners:\n  dtls: { psk_file: /x/psk.yaml }\n')).toEqual([]);
  });

  it('refuses an enabled listener without credentials, naming psk_file', () => {
    expect(refusedKey(() => parseConfig('listeners:\n  dtls:\n    enable: true\n'))).toBe('listeners.dtls.psk_file');
  });

  it('refuses an unknown cipher suite naming its index', () => {
    expect(refusedKey(() => parseConfig('listeners:\n  dtls:\n    ciphers: [TLS_PSK_WITH_AES_128_CCM_8, TLS_RSA_WITH_RC4_128_MD5]\n'))).toBe('listeners.dtls.ciphers[1]');
  });

  it('refuses certfile without keyfile, verify_peer without cacertfile, and suites without their credential', () => {
    expect(refusedKey(() => parseConfig('listeners:\n  dtls:\n    certfile: /c.pem\n'))).toBe('listeners.dtls.keyfile');
    expect(refusedKey(() => parseConfig('listeners:\n  dtls:\n    enable: true\n    certfile: /c.pem\n    keyfile: /k.pem\n    verify: verify_peer\n'))).toBe('listeners.dtls.cacertfile');
    expect(refusedKey(() => parseConfig('listeners:\n  dtls:\n    enable: true\n    psk_file: /p\n    ciphers: [TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8]\n'))).toBe('listeners.dtls.ciphers');
    expect(refusedKey(() => parseConfig('listeners:\n  dtls:\n    enable: true\n    certfile: /c.pem\n    keyfile: /k.pem\n    ciphers: [TLS_PSK_WITH_AES_128_CCM_8]\n'))).toBe('listeners.dtls.ciphers');
  });

  it('maps IANA and OpenSSL names of the five suites', () => {
    expect(DEFAULT_CIPHERS).toHaveLength(5);
    expect(opensslCipherName('TLS_PSK_WITH_AES_128_CCM_8')).toBe('PSK-AES128-CCM8');
    expect(opensslCipherName('tls_ecdhe_ecdsa_with_aes_128_gcm_sha256')).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(opensslCipherName('PSK-AES128-CBC-SHA256')).toBe('PSK-AES128-CBC-SHA256');
    expect(opensslCipherName('AES128-SHA')).toBeUndefined();
    expect(isCertificateSuite('ECDHE-ECDSA-AES128-CCM8')).toBe(true);
    expect(isCertificateSuite('TLS_PSK_WITH_AES_128_CCM_8')).toBe(false);
  });
});

describe('PSK file', () => {
  it('parses identities, hex keys and endpoint bindings', () => {
    const entries = parsePskEntries(
      [
        { identity: 'dev1', key: '000102030405060708090a0b0c0d0e0f' },
        { identity: 'id-2', key: 'AABB', endpoint: 'urn:imei:123' },
      ],
      'psk.yaml',
    );
    expect(entries.get('dev1')).toEqual({ identity: 'dev1', key: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'), endpoint: undefined });
    expect(entries.get('id-2')?.endpoint).toBe('urn:imei:123');
  });

  it.each([
    [{ identity: 'a' }, '[0].key'],
    [{ identity: 'a', key: 'abc' }, '[0].key'],
    [{ identity: 'a', key: 'zz' }, '[0].key'],
    [{ identity: 'a', key: 1234 }, '[0].key'],
    [{ identity: '', key: 'aa' }, '[0].identity'],
    [{ identity: 'x'.repeat(129), key: 'aa' }, '[0].identity'],
    [{ identity: 'a', key: 'aa', endpoint: 5 }, '[0].endpoint'],
    [{ identity: 'a', key: 'aa', secret: 1 }, '[0].secret'],
    ['a', '[0]'],
  ])('refuses %j naming %s, without the key in the message', (entry, key) => {
    try {
      parsePskEntries([entry], 'psk.yaml');
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
      expect((err as ConfigError).message).not.toMatch(/abc|zz/);
    }
  });

  it('refuses duplicate identities and a document that is not a list', () => {
    expect(() => parsePskEntries([{ identity: 'a', key: 'aa' }, { identity: 'a', key: 'bb' }], 'f')).toThrow(/duplicate identity/);
    expect(() => parsePskEntries({ identity: 'a' }, 'f')).toThrow(/must be a list/);
  });

  it('reload swaps the keys; a broken file keeps the old ones', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psk-test-'));
    const file = path.join(dir, 'psk.yaml');
    try {
      fs.writeFileSync(file, '- identity: a\n  key: "0102"\n');
      const psk = PskFile.load(file);
      expect(psk.lookupPsk('a')?.key).toEqual(Buffer.from([1, 2]));
      fs.writeFileSync(file, '- identity: b\n  key: "0304"\n  endpoint: ep-b\n');
      expect(psk.reload()).toBe(1);
      expect(psk.lookupPsk('a')).toBeUndefined();
      expect(psk.lookupPsk('b')?.endpoint).toBe('ep-b');
      fs.writeFileSync(file, '- identity: c\n  key: nothex\n');
      expect(() => psk.reload()).toThrow(ConfigError);
      expect(psk.lookupPsk('b')).toBeDefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
