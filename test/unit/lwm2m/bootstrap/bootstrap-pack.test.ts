import type { BootstrapConfig, ServerAccount } from '../../../../src/lwm2m/bootstrap/bootstrap-config';
import { encodeBootstrapPack } from '../../../../src/lwm2m/bootstrap/bootstrap-pack';
import { planBootstrapWrites } from '../../../../src/lwm2m/bootstrap/bootstrap-writes';
import { ContentFormat, decodeEntries } from '../../../../src/lwm2m/codec';
import { readCbor } from '../../../../src/lwm2m/codec/cbor-value';
import { ObjectModel } from '../../../../src/lwm2m/model/object-model';

const model = ObjectModel.withBuiltins();
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const SENML_CBOR = ContentFormat.SENML_CBOR;

function server(shortServerId: number, identity: string, key: string): ServerAccount {
  return {
    security: {
      uri: `coaps://dm${shortServerId}.example.com:5684`,
      mode: 'psk',
      publicKeyOrIdentity: Buffer.from(identity),
      serverPublicKey: Buffer.alloc(0),
      secretKey: hex(key),
    },
    shortServerId,
    lifetime: 86400,
    notificationStoring: false,
    binding: 'U',
  };
}

const CONFIG: BootstrapConfig = {
  delete: ['/'],
  discover: false,
  read: [],
  servers: [server(1, 'dev-1', '0102030405060708'), { ...server(2, 'dev-1b', 'a0a1a2a3'), defaultMinPeriod: 5, serverInstanceId: 4 }],
  bootstrapAccount: {
    uri: 'coaps://bs.example.com:5784',
    mode: 'psk',
    publicKeyOrIdentity: Buffer.from('dev-1'),
    serverPublicKey: Buffer.alloc(0),
    secretKey: hex('ffee'),
    bootstrapAccountTimeout: 0,
  },
  acls: [{ objectId: 3, objectInstanceId: 0, acl: [[1, 15]], owner: 1 }],
};

const entries = (pack: Buffer): [string, string, unknown][] =>
  decodeEntries(SENML_CBOR, pack, {}, model).map((entry) => [entry.path, entry.type, entry.value]);

describe('encodeBootstrapPack', () => {
  it('decodes back, with the SenML CBOR decoder, to the whole configuration', () => {
    expect(entries(encodeBootstrapPack(CONFIG, model))).toEqual([
      ['/0/0/0', 'string', 'coaps://bs.example.com:5784'],
      ['/0/0/1', 'boolean', true],
      ['/0/0/2', 'integer', 0],
      ['/0/0/3', 'opaque', Buffer.from('dev-1')],
      ['/0/0/4', 'opaque', Buffer.alloc(0)],
      ['/0/0/5', 'opaque', hex('ffee')],
      ['/0/0/12', 'integer', 0],
      ['/0/1/0', 'string', 'coaps://dm1.example.com:5684'],
      ['/0/1/1', 'boolean', false],
      ['/0/1/2', 'integer', 0],
      ['/0/1/3', 'opaque', Buffer.from('dev-1')],
      ['/0/1/4', 'opaque', Buffer.alloc(0)],
      ['/0/1/5', 'opaque', hex('0102030405060708')],
      ['/0/1/10', 'integer', 1],
      ['/0/2/0', 'string', 'coaps://dm2.example.com:5684'],
      ['/0/2/1', 'boolean', false],
      ['/0/2/2', 'integer', 0],
      ['/0/2/3', 'opaque', Buffer.from('dev-1b')],
      ['/0/2/4', 'opaque', Buffer.alloc(0)],
      ['/0/2/5', 'opaque', hex('a0a1a2a3')],
      ['/0/2/10', 'integer', 2],
      ['/1/0/0', 'integer', 1],
      ['/1/0/1', 'integer', 86400],
      ['/1/0/6', 'boolean', false],
      ['/1/0/7', 'string', 'U'],
      ['/1/4/0', 'integer', 2],
      ['/1/4/1', 'integer', 86400],
      ['/1/4/2', 'integer', 5],
      ['/1/4/6', 'boolean', false],
      ['/1/4/7', 'string', 'U'],
      ['/2/0/0', 'integer', 3],
      ['/2/0/1', 'integer', 0],
      ['/2/0/2/1', 'integer', 15],
      ['/2/0/3', 'integer', 1],
    ]);
  });

  it('carries exactly what the Bootstrap-Writes without a discover would', () => {
    const writes = planBootstrapWrites(CONFIG, undefined, SENML_CBOR, model).flatMap((write) =>
      decodeEntries(SENML_CBOR, write.payload, write.path, model).map((entry) => [entry.path, entry.type, entry.value]),
    );
    const sortByPath = (list: unknown[][]): unknown[][] => [...list].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(sortByPath(entries(encodeBootstrapPack(CONFIG, model)))).toEqual(sortByPath(writes));
  });

  it('is the RFC 8428 §6 SenML CBOR a hand encoding gives, for a NoSec server', () => {
    const nosec: BootstrapConfig = {
      ...CONFIG,
      bootstrapAccount: undefined,
      acls: [],
      servers: [
        {
          security: { uri: 'coap://a', mode: 'nosec', publicKeyOrIdentity: Buffer.alloc(0), serverPublicKey: Buffer.alloc(0), secretKey: Buffer.alloc(0) },
          shortServerId: 1,
          lifetime: 300,
          notificationStoring: true,
          binding: 'U',
        },
      ],
    };
    // RFC 8428 §6 Table 4 labels: bn -2 (0x21), n 0, v 2, vs 3, vb 4, vd 8. 11 records (0x8B);
    // each a map {bn?, n, value} with the shortest CBOR heads (RFC 8949 §4.2.1).
    const ascii = (text: string): string => Buffer.from(text).toString('hex');
    const textItem = (text: string): string => (0x60 + text.length).toString(16) + ascii(text);
    const record = (name: string, value: string, base?: string): string =>
      (base === undefined ? 'A2' : 'A3' + '21' + textItem(base)) + '00' + textItem(name) + value;
    const expected = hex(
      '8B' +
        record('1/0', '03' + textItem('coap://a'), '/0/') +
        record('1/1', '04 F4') +
        record('1/2', '02 03') +
        record('1/3', '08 40') +
        record('1/4', '08 40') +
        record('1/5', '08 40') +
        record('1/10', '02 01') +
        record('0/0', '02 01', '/1/') +
        record('0/1', '02 19 01 2C') +
        record('0/6', '04 F5') +
        record('0/7', '03 61 55'),
    );
    expect(encodeBootstrapPack(nosec, model)).toEqual(expected);
  });

  it('names records with a base name per object ({-2: "/0/"}, then "/1/", "/2/")', () => {
    const root = readCbor(encodeBootstrapPack(CONFIG, model));
    if (root.kind !== 'array') throw new Error('not an array');
    const baseNames = root.items.flatMap((record) => {
      if (record.kind !== 'map') return [];
      return record.entries.flatMap(([key, value]) => (key.kind === 'nint' && key.value === -2n && value.kind === 'text' ? [value.value] : []));
    });
    expect(baseNames).toEqual(['/0/', '/1/', '/2/']);
    // RFC 8428 §6: one CBOR array of maps; the first record is {-2: "/0/", 0: "0/0", 3: "coaps://bs..."}.
    const first = root.items[0];
    expect(first.kind === 'map' && first.entries.map(([key]) => (key.kind === 'uint' || key.kind === 'nint' ? Number(key.value) : key.kind))).toEqual([-2, 0, 3]);
  });

  it('holds no bootstrap account unless the configuration rewrites it, and no deletion', () => {
    const pack = encodeBootstrapPack({ ...CONFIG, bootstrapAccount: undefined, acls: [] }, model);
    const paths = entries(pack).map(([path]) => path);
    expect(paths.filter((path) => path.startsWith('/0/0/'))).toEqual([]);
    expect(paths[0]).toBe('/0/1/0');
    expect(new Set(paths.map((path) => path.split('/')[1]))).toEqual(new Set(['0', '1']));
  });

  it('is an empty array for a configuration with nothing to write', () => {
    expect(encodeBootstrapPack({ ...CONFIG, servers: [], bootstrapAccount: undefined, acls: [] }, model)).toEqual(Buffer.from([0x80]));
  });

  it('refuses what planBootstrapWrites refuses (two writes at one path)', () => {
    const clash = { ...CONFIG, servers: [{ ...server(1, 'a', '01'), serverInstanceId: 0 }, { ...server(2, 'b', '02'), serverInstanceId: 0 }] };
    expect(() => encodeBootstrapPack(clash, model)).toThrow('servers[0] server and servers[1] server both write /1/0');
  });
  it('carries the OSCORE instance (/21) a server links from /0/x/17, after /2', () => {
    const withOscore: BootstrapConfig = {
      ...CONFIG,
      bootstrapAccount: undefined,
      servers: [
        {
          security: { uri: 'coap://dm.example.com', mode: 'nosec', publicKeyOrIdentity: Buffer.alloc(0), serverPublicKey: Buffer.alloc(0), secretKey: Buffer.alloc(0) },
          shortServerId: 1,
          lifetime: 300,
          notificationStoring: true,
          binding: 'U',
          // RFC 8613 Appendix C.1.1 client context.
          oscore: { masterSecret: hex('0102030405060708090a0b0c0d0e0f10'), senderId: Buffer.alloc(0), recipientId: hex('01'), instanceId: 5 },
        },
      ],
    };
    const all = entries(encodeBootstrapPack(withOscore, model));
    expect(all).toContainEqual(['/0/1/17', 'objlnk', { objectId: 21, instanceId: 5 }]);
    expect(all.filter(([path]) => path.startsWith('/21/'))).toEqual([
      ['/21/5/0', 'opaque', hex('0102030405060708090a0b0c0d0e0f10')],
      ['/21/5/1', 'opaque', Buffer.alloc(0)],
      ['/21/5/2', 'opaque', hex('01')],
      ['/21/5/3', 'integer', 10],
      ['/21/5/4', 'integer', -10],
      ['/21/5/5', 'opaque', Buffer.alloc(0)],
    ]);
    expect([...new Set(all.map(([path]) => path.split('/')[1]))]).toEqual(['0', '1', '2', '21']);
  });
});
