import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BootstrapConfigError } from '../../../src/bootstrap-config/bootstrap-config-error';
import { parseBootstrapEntry, resolveBootstrapEntry } from '../../../src/bootstrap-config/bootstrap-entry';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '../../fixtures/dtls', name), 'utf8');
const CLIENT_CERT = fixture('client.pem');
const CLIENT_KEY = fixture('client.key.pem');
const SERVER_CERT = fixture('server.pem');
const ROGUE_KEY = fixture('rogue.key.pem');
const SECRET_HEX = '00112233445566778899aabbccddeeff';

const pskServer = (over: Record<string, unknown> = {}) => ({ short_server_id: 101, uri: 'coaps://gw.example.com:5684', security_mode: 'psk', psk_key: SECRET_HEX, ...over });

/** The problems parseBootstrapEntry reports for `raw`, as `key: reason` lines. */
function problemsOf(raw: unknown, prefix = ''): string[] {
  try {
    parseBootstrapEntry(raw, 'test', prefix);
  } catch (err) {
    expect(err).toBeInstanceOf(BootstrapConfigError);
    return (err as BootstrapConfigError).problems.map((p) => `${p.key}: ${p.reason}`);
  }
  throw new Error('expected a BootstrapConfigError');
}

describe('parseBootstrapEntry: a valid entry', () => {
  it('applies the defaults of the format', () => {
    const entry = parseBootstrapEntry({ servers: [pskServer()] }, 'test');
    expect(entry).toMatchObject({ delete: ['/0', '/1'], discover: true, read: [], acls: [] });
    expect(entry.contentFormat).toBeUndefined();
    expect(entry.version).toBeUndefined();
    expect(entry.bootstrapServer).toBeUndefined();
    expect(entry.servers[0]).toEqual({
      uri: 'coaps://gw.example.com:5684',
      credentials: { mode: 'psk', identityTemplate: '${endpoint}', key: Buffer.from(SECRET_HEX, 'hex') },
      shortServerId: 101,
      lifetime: 300,
      binding: 'U',
      notificationStoring: true,
      provision: false,
    });
  });

  it('reads every key of the format', () => {
    const entry = parseBootstrapEntry(
      {
        delete: ['/', '/0/1', '/1'],
        discover: false,
        read: ['/1', '/2/3'],
        content_format: 'senml-cbor',
        version: '1.2',
        servers: [
          pskServer({
            psk_identity: 'gw-${endpoint}',
            provision: true,
            lifetime: 600,
            binding: 'UQ',
            default_min_period: 10,
            default_max_period: 60,
            disable_timeout: 86400,
            notification_storing: false,
            client_hold_off_time: 5,
            security_instance_id: 1,
            server_instance_id: 0,
          }),
          { short_server_id: 102, uri: 'coap://plain.example.com', security_mode: 'nosec' },
        ],
        bootstrap_server: { uri: 'coaps://bs.example.com:5784', security_mode: 'psk', psk_key: 'aabb', client_hold_off_time: 1, account_timeout: 30, instance_id: 0 },
        acls: [{ object_id: 3, object_instance_id: 0, acl: { '101': 15, '0': 1 }, owner: 101, instance_id: 0 }],
      },
      'test',
    );
    expect(entry).toMatchObject({ delete: ['/', '/0/1', '/1'], discover: false, read: ['/1', '/2/3'], contentFormat: 112, version: '1.2' });
    expect(entry.servers[0]).toMatchObject({
      credentials: { mode: 'psk', identityTemplate: 'gw-${endpoint}' },
      provision: true,
      lifetime: 600,
      binding: 'UQ',
      defaultMinPeriod: 10,
      defaultMaxPeriod: 60,
      disableTimeout: 86400,
      notificationStoring: false,
      clientHoldOffTime: 5,
      securityInstanceId: 1,
      serverInstanceId: 0,
    });
    expect(entry.servers[1]).toMatchObject({ shortServerId: 102, credentials: { mode: 'nosec' } });
    expect(entry.bootstrapServer).toMatchObject({ uri: 'coaps://bs.example.com:5784', clientHoldOffTime: 1, accountTimeout: 30, instanceId: 0 });
    expect(entry.acls).toEqual([{ objectId: 3, objectInstanceId: 0, acl: [[0, 1], [101, 15]], owner: 101, instanceId: 0 }]);
  });

  it('content_format: every write format by name or number; version: unquoted YAML numbers', () => {
    const format = (content_format: unknown) => parseBootstrapEntry({ content_format, servers: [pskServer()] }, 't').contentFormat;
    expect([format('tlv'), format('senml-json'), format('lwm2m-cbor'), format('oma-json'), format(11542), format('112')]).toEqual([11542, 110, 11544, 11543, 11542, 112]);
    const version = (v: unknown) => parseBootstrapEntry({ version: v, servers: [pskServer()] }, 't').version;
    expect([version(1), version(1.1), version(1.2), version('1.0')]).toEqual(['1.0', '1.1', '1.2', '1.0']);
  });

  it('x509: the certificates in DER and the private key in PKCS#8 DER', () => {
    const entry = parseBootstrapEntry(
      {
        servers: [
          { short_server_id: 1, uri: 'coaps://gw:5684', security_mode: 'x509', client_certificate: CLIENT_CERT, private_key: CLIENT_KEY, server_certificate: SERVER_CERT },
        ],
      },
      't',
    );
    expect(entry.servers[0].credentials).toEqual({
      mode: 'x509',
      clientCertificate: new X509Certificate(CLIENT_CERT).raw,
      serverCertificate: new X509Certificate(SERVER_CERT).raw,
      privateKey: createPrivateKey(CLIENT_KEY).export({ type: 'pkcs8', format: 'der' }),
    });
    expect(entry.servers[0].provision).toBe(false);
  });
});

describe('parseBootstrapEntry: problems', () => {
  it('lists every problem at once, with dotted keys under the prefix', () => {
    const problems = problemsOf(
      {
        delete: ['/0/1/2', 'x'],
        discover: 'yes',
        read: ['/3'],
        content_format: 'xml',
        version: '2.0',
        servers: [pskServer({ short_server_id: 0, lifetime: 0, binding: 'UX', psk_key: 'abc' }), pskServer({ uri: 'http://x' })],
        acls: [{ object_id: 70000, object_instance_id: 0, owner: 1, acl: { '101': 32, abc: 1 } }],
        extra: 1,
      },
      'endpoints.urn:imei:1',
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'endpoints.urn:imei:1.extra: unknown key',
        'endpoints.urn:imei:1.version: must be one of 1.0, 1.1, 1.2',
        'endpoints.urn:imei:1.content_format: must be one of tlv, senml-cbor, senml-json, lwm2m-cbor, oma-json or its number',
        'endpoints.urn:imei:1.read[0]: must be a path /1, /2, /1/<instance> or /2/<instance> (ids 0..65534)',
        'endpoints.urn:imei:1.delete[0]: must be a path "/", "/<object>" or "/<object>/<instance>" (ids 0..65534)',
        'endpoints.urn:imei:1.delete[1]: must be a path "/", "/<object>" or "/<object>/<instance>" (ids 0..65534)',
        'endpoints.urn:imei:1.discover: must be true or false, got a string',
        'endpoints.urn:imei:1.servers[0].short_server_id: must be an integer in 1..65534, got 0',
        'endpoints.urn:imei:1.servers[0].lifetime: must be an integer in 1..2147483647, got 0',
        'endpoints.urn:imei:1.servers[0].binding: must be 1..8 of the letters U, T, S, N, Q',
        'endpoints.urn:imei:1.servers[0].psk_key: must be the key in hex (an even number of hex digits) or "generate"',
        'endpoints.urn:imei:1.servers[1].uri: scheme must be coap, coaps, coap+tcp or coaps+tcp',
        'endpoints.urn:imei:1.acls[0].object_id: must be an integer in 0..65534, got 70000',
        'endpoints.urn:imei:1.acls[0].acl.101: must be access bits in 0..31, got 32',
        'endpoints.urn:imei:1.acls[0].acl.abc: must be a short server id in 0..65534 (0: any server)',
      ]),
    );
    expect(problems).toHaveLength(15);
  });

  it('the error message lists `where: key: reason`, one per line', () => {
    expect(() => parseBootstrapEntry({ servers: [], x: 1 }, 'bootstrap.yaml', 'defaults')).toThrow(
      'bootstrap.yaml: defaults.x: unknown key\nbootstrap.yaml: defaults.servers: must hold 1..8 servers',
    );
  });

  it('entry shape: a mapping, servers required and bounded, lists bounded', () => {
    expect(problemsOf([])).toEqual([': must be a mapping, got a list']);
    expect(problemsOf(null, 'defaults')).toEqual(['defaults: must be a mapping, got null']);
    expect(problemsOf({})).toEqual(['servers: missing: 1..8 servers are needed']);
    const nine = Array.from({ length: 9 }, (_, i) => pskServer({ short_server_id: i + 1 }));
    expect(problemsOf({ servers: nine })).toEqual(['servers: has 9 items, more than 8']);
    expect(problemsOf({ servers: [pskServer()], delete: Array.from({ length: 33 }, () => '/0') })).toEqual(['delete: has 33 items, more than 32']);
    expect(problemsOf({ servers: [pskServer()], acls: Array.from({ length: 65 }, (_, i) => ({ object_id: 3, object_instance_id: i, owner: 1 })) })).toEqual([
      'acls: has 65 items, more than 64',
    ]);
    expect(problemsOf({ servers: 'all' })).toEqual(['servers: must be a list, got a string']);
    expect(problemsOf({ servers: [7] })).toEqual(['servers[0]: must be a mapping, got a number']);
    expect(problemsOf({ servers: [pskServer()], delete: ['/0', '/0'], read: ['/1', '/1'] })).toEqual(['read[1]: duplicate path', 'delete[1]: duplicate path']);
  });

  it('version-dependent checks: read needs 1.1, SenML 1.1, LwM2M CBOR 1.2', () => {
    expect(problemsOf({ version: '1.0', read: ['/1'], content_format: 'senml-cbor', servers: [pskServer()] })).toEqual([
      'content_format: needs LwM2M 1.1 or later (version is 1.0)',
      'read: Bootstrap-Read needs LwM2M 1.1 or later (version is 1.0)',
    ]);
    expect(problemsOf({ version: '1.1', content_format: 11544, servers: [pskServer()] })).toEqual(['content_format: needs LwM2M 1.2 or later (version is 1.1)']);
  });

  it('server keys: required ones, bounds, periods, uniqueness of ids', () => {
    expect(problemsOf({ servers: [{}] })).toEqual([
      'servers[0].uri: missing: a coap:// or coaps:// uri',
      'servers[0].security_mode: missing: psk, x509 or nosec',
      'servers[0].short_server_id: missing: an integer in 1..65534',
    ]);
    expect(
      problemsOf({
        servers: [
          pskServer({ default_min_period: 60, default_max_period: 10, disable_timeout: -1, client_hold_off_time: 1.5, notification_storing: 1, security_instance_id: 65535 }),
        ],
      }),
    ).toEqual([
      'servers[0].client_hold_off_time: must be an integer in 0..2147483647, got a fractional number',
      'servers[0].default_max_period: must not be less than default_min_period',
      'servers[0].disable_timeout: must be an integer in 0..2147483647, got -1',
      'servers[0].security_instance_id: must be an integer in 0..65534, got 65535',
      'servers[0].notification_storing: must be true or false, got a number',
    ]);
    expect(
      problemsOf({
        servers: [pskServer({ security_instance_id: 1, server_instance_id: 0 }), pskServer({ security_instance_id: 1, server_instance_id: 0 })],
        bootstrap_server: { uri: 'coaps://bs', security_mode: 'psk', psk_key: 'aa', instance_id: 1 },
        acls: [
          { object_id: 3, object_instance_id: 0, owner: 1, instance_id: 2 },
          { object_id: 3, object_instance_id: 0, owner: 1, instance_id: 2 },
        ],
      }),
    ).toEqual([
      'servers[1].short_server_id: duplicate short server id',
      'servers[1].server_instance_id: duplicate server instance id',
      'servers[1].security_instance_id: duplicate security instance id',
      'bootstrap_server.instance_id: also the security_instance_id of a server',
      'acls[1].instance_id: duplicate ACL instance id',
      'acls[1]: a second ACL for the same object instance',
    ]);
  });

  it('uri: scheme, length, host, user information; secure schemes for psk and x509, plain for nosec', () => {
    const uriProblem = (uri: unknown, mode = 'nosec') => problemsOf({ servers: [{ short_server_id: 1, uri, security_mode: mode }] });
    expect(uriProblem(`coap://${'a'.repeat(250)}`)).toEqual(['servers[0].uri: longer than 255 bytes']);
    expect(uriProblem('')).toEqual(['servers[0].uri: must be a non-empty string, got a string']);
    expect(uriProblem(5684)).toEqual(['servers[0].uri: must be a non-empty string, got a number']);
    expect(uriProblem('gw.example.com')).toEqual(['servers[0].uri: is not a URI']);
    expect(uriProblem('coap://user:pw@gw')).toEqual(['servers[0].uri: must be <scheme>://<host>[:<port>] without user information or spaces']);
    expect(uriProblem('coaps://gw')).toEqual(['servers[0].uri: security_mode nosec needs a coap:// or coap+tcp:// uri']);
    expect(problemsOf({ servers: [pskServer({ uri: 'coap+tcp://gw' })] })).toEqual(['servers[0].uri: security_mode psk needs a coaps:// or coaps+tcp:// uri']);
    expect(parseBootstrapEntry({ servers: [pskServer({ uri: 'coaps+tcp://gw:5684' })] }, 't').servers[0].uri).toBe('coaps+tcp://gw:5684');
    expect(uriProblem('coap://gw', 'rpk')).toEqual(['servers[0].security_mode: must be psk, x509 or nosec']);
  });

  it('psk: identity template, key in hex or generate, keys of other modes refused', () => {
    expect(problemsOf({ servers: [pskServer({ psk_identity: '${ep}-${endpoint}' })] })).toEqual(['servers[0].psk_identity: the only placeholder is ${endpoint}']);
    expect(problemsOf({ servers: [pskServer({ psk_identity: 'a'.repeat(129) })] })).toEqual(['servers[0].psk_identity: longer than 128 bytes']);
    expect(problemsOf({ servers: [pskServer({ psk_identity: 'a\u0000b' })] })).toEqual(['servers[0].psk_identity: contains a control character']);
    expect(problemsOf({ servers: [pskServer({ psk_identity: '' })] })).toEqual(['servers[0].psk_identity: must be a non-empty string, got a string']);
    expect(parseBootstrapEntry({ servers: [pskServer({ psk_identity: 'a'.repeat(128) })] }, 't').servers).toHaveLength(1);
    expect(problemsOf({ servers: [pskServer({ psk_key: undefined })] })).toEqual(['servers[0].psk_key: missing: the key in hex, or "generate"']);
    expect(problemsOf({ servers: [pskServer({ psk_key: 112233 })] })).toEqual([
      'servers[0].psk_key: must be a quoted string: YAML reads unquoted digits as a number, losing leading zeros',
    ]);
    expect(problemsOf({ servers: [pskServer({ psk_key: 'ab'.repeat(65) })] })).toEqual(['servers[0].psk_key: longer than 64 bytes']);
    expect(parseBootstrapEntry({ servers: [pskServer({ psk_key: 'ab'.repeat(64) })] }, 't').servers).toHaveLength(1);
    expect(problemsOf({ servers: [pskServer({ client_certificate: CLIENT_CERT })] })).toEqual(['servers[0].client_certificate: not used with security_mode psk']);
    expect(problemsOf({ servers: [{ short_server_id: 1, uri: 'coap://gw', security_mode: 'nosec', psk_key: SECRET_HEX, provision: true }] })).toEqual([
      'servers[0].psk_key: not used with security_mode nosec',
      'servers[0].provision: only a psk account can be provisioned',
    ]);
  });

  it('provision: true by default for a generated key, false for a given one, as configured otherwise', () => {
    const provision = (over: Record<string, unknown>) => parseBootstrapEntry({ servers: [pskServer(over)] }, 't').servers[0].provision;
    expect(provision({ psk_key: 'generate' })).toBe(true);
    expect(provision({})).toBe(false);
    expect(provision({ psk_key: 'generate', provision: false })).toBe(false);
    expect(provision({ provision: true })).toBe(true);
    expect(problemsOf({ servers: [pskServer({ provision: 'yes' })] })).toEqual(['servers[0].provision: must be true or false, got a string']);
  });

  it('bootstrap_server: no generated key, its own keys only', () => {
    expect(problemsOf({ servers: [pskServer()], bootstrap_server: { uri: 'coaps://bs', security_mode: 'psk', psk_key: 'generate', short_server_id: 1 } })).toEqual([
      'bootstrap_server.short_server_id: unknown key',
      'bootstrap_server.psk_key: cannot be "generate": the bootstrap server must know the bootstrap account\'s key',
    ]);
    expect(problemsOf({ servers: [pskServer()], bootstrap_server: 'coaps://bs' })).toEqual(['bootstrap_server: must be a mapping, got a string']);
  });

  it('x509: missing, malformed and mismatched PEM are named, never quoted', () => {
    const x509 = (over: Record<string, unknown>) => ({
      short_server_id: 1,
      uri: 'coaps://gw',
      security_mode: 'x509',
      client_certificate: CLIENT_CERT,
      private_key: CLIENT_KEY,
      server_certificate: SERVER_CERT,
      ...over,
    });
    expect(problemsOf({ servers: [x509({ client_certificate: undefined, private_key: undefined, server_certificate: undefined })] })).toEqual([
      'servers[0].client_certificate: missing: a PEM text',
      'servers[0].server_certificate: missing: a PEM text',
      'servers[0].private_key: missing: a PEM text',
    ]);
    const brokenKey = CLIENT_KEY.replace(/[A-Za-z]{8}/, 'AAAAAAAA');
    const problems = problemsOf({
      servers: [x509({ client_certificate: 'not a certificate', server_certificate: SERVER_CERT.replace(/[A-Za-z]{12}/, '!!!!'), private_key: brokenKey })],
    });
    expect(problems).toEqual([
      'servers[0].client_certificate: is not a PEM certificate (-----BEGIN CERTIFICATE-----)',
      'servers[0].server_certificate: is not a valid PEM certificate',
      'servers[0].private_key: is not a valid unencrypted PEM private key',
    ]);
    expect(problemsOf({ servers: [x509({ private_key: ROGUE_KEY })] })).toEqual(['servers[0].private_key: does not belong to client_certificate']);
    expect(problemsOf({ servers: [x509({ private_key: CLIENT_CERT })] })).toEqual(['servers[0].private_key: is not a valid unencrypted PEM private key']);
    expect(problemsOf({ servers: [x509({ server_certificate: 'x'.repeat(65 * 1024) })] })).toEqual(['servers[0].server_certificate: longer than 65536 characters']);
  });

  it('ACL: required keys, id ranges, entries bounded', () => {
    expect(problemsOf({ servers: [pskServer()], acls: [{ acl: [] }] })).toEqual([
      'acls[0].object_id: missing: an integer',
      'acls[0].object_instance_id: missing: an integer',
      'acls[0].owner: missing: an integer',
      'acls[0].acl: must be a mapping, got a list',
    ]);
    const wide = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [String(i), 1]));
    expect(problemsOf({ servers: [pskServer()], acls: [{ object_id: 3, object_instance_id: 65535, owner: 65535, acl: wide }] })).toEqual([
      'acls[0].acl: has 65 entries, more than 64',
    ]);
    expect(problemsOf({ servers: [pskServer()], acls: [{ object_id: 3, object_instance_id: 65536, owner: 65536, acl: { '65535': 1 } }] })).toEqual([
      'acls[0].object_instance_id: must be an integer in 0..65535, got 65536',
      'acls[0].owner: must be an integer in 0..65535, got 65536',
      'acls[0].acl.65535: must be a short server id in 0..65534 (0: any server)',
    ]);
  });

  it('no secret appears in any problem, whatever is wrong with it', () => {
    const keyText = 'deadbeefcafef00d';
    const pemBody = CLIENT_KEY.split('\n')[1];
    const messages: string[] = [];
    for (const raw of [
      { servers: [pskServer({ psk_key: `${keyText}x` })] },
      { servers: [pskServer({ psk_key: Number.parseInt(keyText.slice(0, 10), 16) })] },
      { servers: [pskServer({ uri: keyText, psk_identity: 7 })] },
      { servers: [pskServer({ unknown: keyText })].map(({ psk_key: _psk, ...rest }) => rest) },
      { servers: [{ short_server_id: 1, uri: 'coaps://gw', security_mode: 'x509', client_certificate: CLIENT_CERT, server_certificate: SERVER_CERT, private_key: CLIENT_KEY.slice(0, 120) }] },
      { servers: [{ short_server_id: 1, uri: 'coap://gw', security_mode: 'nosec', private_key: CLIENT_KEY, psk_key: keyText }] },
    ]) {
      try {
        parseBootstrapEntry(raw, 'test');
      } catch (err) {
        messages.push((err as Error).message);
      }
    }
    expect(messages).toHaveLength(6);
    const all = messages.join('\n');
    expect(all).not.toContain(keyText.slice(0, 10));
    expect(all).not.toContain(String(Number.parseInt(keyText.slice(0, 10), 16)));
    expect(all).not.toContain(pemBody.slice(0, 16));
  });
});

describe('resolveBootstrapEntry', () => {
  const entry = parseBootstrapEntry(
    {
      read: ['/1'],
      content_format: 'tlv',
      version: '1.1',
      servers: [
        pskServer({ psk_identity: 'id-${endpoint}-${endpoint}', psk_key: 'generate', security_instance_id: 1, server_instance_id: 0, default_max_period: 60 }),
        pskServer({ short_server_id: 102, psk_key: SECRET_HEX, provision: true }),
        pskServer({ short_server_id: 103, psk_key: SECRET_HEX }),
        { short_server_id: 104, uri: 'coaps://x509.example.com', security_mode: 'x509', client_certificate: CLIENT_CERT, private_key: CLIENT_KEY, server_certificate: SERVER_CERT },
        { short_server_id: 105, uri: 'coap://plain.example.com', security_mode: 'nosec', lifetime: 60 },
      ],
      bootstrap_server: { uri: 'coaps://bs.example.com:5784', security_mode: 'psk', psk_key: 'a1b2', account_timeout: 7, instance_id: 0 },
      acls: [{ object_id: 1, object_instance_id: 0, acl: { '101': 3 }, owner: 101 }],
    },
    'test',
  );

  it('renders the identity, generates a 16-byte key and provisions it', () => {
    const config = resolveBootstrapEntry(entry, 'urn:imei:1');
    expect(config).toMatchObject({ delete: ['/0', '/1'], discover: true, read: ['/1'], contentFormat: 11542, version: '1.1' });
    const [generated, provisioned, plain, x509, nosec] = config.servers;
    expect(generated.security.publicKeyOrIdentity.toString()).toBe('id-urn:imei:1-urn:imei:1');
    expect(generated.security.secretKey).toHaveLength(16);
    expect(generated.security).toMatchObject({ uri: 'coaps://gw.example.com:5684', mode: 'psk', serverPublicKey: Buffer.alloc(0), instanceId: 1 });
    expect(generated).toMatchObject({ shortServerId: 101, lifetime: 300, binding: 'U', notificationStoring: true, serverInstanceId: 0, defaultMaxPeriod: 60 });
    expect(generated.provision).toEqual({ identity: 'id-urn:imei:1-urn:imei:1', key: generated.security.secretKey, endpoint: 'urn:imei:1' });

    expect(provisioned.security.publicKeyOrIdentity.toString()).toBe('urn:imei:1');
    expect(provisioned.security.secretKey).toEqual(Buffer.from(SECRET_HEX, 'hex'));
    expect(provisioned.provision).toEqual({ identity: 'urn:imei:1', key: Buffer.from(SECRET_HEX, 'hex'), endpoint: 'urn:imei:1' });
    expect(plain.provision).toBeUndefined();

    expect(x509.security).toEqual({
      uri: 'coaps://x509.example.com',
      mode: 'x509',
      publicKeyOrIdentity: new X509Certificate(CLIENT_CERT).raw,
      serverPublicKey: new X509Certificate(SERVER_CERT).raw,
      secretKey: createPrivateKey(CLIENT_KEY).export({ type: 'pkcs8', format: 'der' }),
    });
    expect(nosec.security).toEqual({ uri: 'coap://plain.example.com', mode: 'nosec', publicKeyOrIdentity: Buffer.alloc(0), serverPublicKey: Buffer.alloc(0), secretKey: Buffer.alloc(0) });
    expect(nosec.lifetime).toBe(60);

    expect(config.bootstrapAccount).toEqual({
      uri: 'coaps://bs.example.com:5784',
      mode: 'psk',
      publicKeyOrIdentity: Buffer.from('urn:imei:1'),
      serverPublicKey: Buffer.alloc(0),
      secretKey: Buffer.from('a1b2', 'hex'),
      bootstrapAccountTimeout: 7,
      instanceId: 0,
    });
    expect(config.acls).toEqual([{ objectId: 1, objectInstanceId: 0, acl: [[101, 3]], owner: 101 }]);
  });

  it('a generated key is fresh on every resolve; given keys are copies a consumer may wipe', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 20; i++) keys.add(resolveBootstrapEntry(entry, 'ep').servers[0].security.secretKey.toString('hex'));
    expect(keys.size).toBe(20);
    resolveBootstrapEntry(entry, 'ep').servers[1].security.secretKey.fill(0);
    expect(resolveBootstrapEntry(entry, 'ep').servers[1].security.secretKey).toEqual(Buffer.from(SECRET_HEX, 'hex'));
  });

  it('an identity too long once rendered throws a BootstrapConfigError naming the key', () => {
    // "id-" + 2 × endpoint + "-": 128 bytes for a 62-byte name.
    expect(resolveBootstrapEntry(entry, 'e'.repeat(62)).servers[0].security.publicKeyOrIdentity).toHaveLength(128);
    expect(() => resolveBootstrapEntry(entry, 'e'.repeat(63))).toThrow(
      `bootstrap configuration for endpoint "${'e'.repeat(63)}": servers[0].psk_identity: longer than 128 bytes once rendered`,
    );
  });
});

describe('oscore under a server', () => {
  // RFC 8613 Appendix C.1.1 client context.
  const MASTER_SECRET = '0102030405060708090a0b0c0d0e0f10';
  const oscoreServer = (oscore: unknown, over: Record<string, unknown> = {}) => ({
    short_server_id: 101,
    uri: 'coap://dm.example.com:5683',
    security_mode: 'nosec',
    oscore,
    ...over,
  });

  it('reads every key, leaving defaults to the writes', () => {
    const entry = parseBootstrapEntry(
      {
        servers: [
          oscoreServer({
            master_secret: MASTER_SECRET,
            sender_id: '',
            recipient_id: '01',
            aead_algorithm: 10,
            hmac_algorithm: -10,
            master_salt: '9e7ca92223786340',
            id_context: '37cbf3210017a2d3',
            instance_id: 2,
          }),
          oscoreServer({ master_secret: MASTER_SECRET, sender_id: '01', recipient_id: '' }, { short_server_id: 102, uri: 'coap+tcp://dm.example.com' }),
        ],
      },
      'test',
    );
    expect(entry.servers[0].oscore).toEqual({
      masterSecret: Buffer.from(MASTER_SECRET, 'hex'),
      senderId: Buffer.alloc(0),
      recipientId: Buffer.from('01', 'hex'),
      aeadAlgorithm: 10,
      hmacAlgorithm: -10,
      masterSalt: Buffer.from('9e7ca92223786340', 'hex'),
      idContext: Buffer.from('37cbf3210017a2d3', 'hex'),
      instanceId: 2,
    });
    expect(entry.servers[1].oscore).toEqual({ masterSecret: Buffer.from(MASTER_SECRET, 'hex'), senderId: Buffer.from('01', 'hex'), recipientId: Buffer.alloc(0) });
  });

  it('names every problem under servers[i].oscore', () => {
    expect(problemsOf({ servers: [oscoreServer({})] })).toEqual([
      'servers[0].oscore.master_secret: missing: 1..32 bytes in hex',
      'servers[0].oscore.sender_id: missing: up to 7 bytes in hex ("" for none)',
      'servers[0].oscore.recipient_id: missing: up to 7 bytes in hex ("" for none)',
    ]);
    expect(
      problemsOf({
        servers: [
          oscoreServer({
            master_secret: '',
            sender_id: 'abc',
            recipient_id: '0102030405060708',
            aead_algorithm: 'ccm',
            hmac_algorithm: 70000,
            master_salt: 'ab'.repeat(33),
            id_context: 12,
            instance_id: 65535,
            salt: 'x',
          }),
        ],
      }),
    ).toEqual([
      'servers[0].oscore.salt: unknown key',
      'servers[0].oscore.master_secret: must be 1..32 bytes in hex, got 0 bytes',
      'servers[0].oscore.sender_id: must be up to 7 bytes in hex ("" for none) (an even number of hex digits)',
      'servers[0].oscore.recipient_id: must be up to 7 bytes in hex ("" for none), got 8 bytes',
      'servers[0].oscore.aead_algorithm: must be an integer in -65536..65535, got a string',
      'servers[0].oscore.hmac_algorithm: must be an integer in -65536..65535, got 70000',
      'servers[0].oscore.master_salt: must be up to 32 bytes in hex ("" for none), got 33 bytes',
      'servers[0].oscore.id_context: must be a quoted string: YAML reads unquoted digits as a number, losing leading zeros',
      'servers[0].oscore.instance_id: must be an integer in 0..65534, got 65535',
    ]);
    expect(problemsOf({ servers: [oscoreServer({ master_secret: MASTER_SECRET, sender_id: '01', recipient_id: '01' })] })).toEqual([
      'servers[0].oscore.recipient_id: must differ from sender_id',
    ]);
    expect(problemsOf({ servers: [oscoreServer('on')] })).toEqual(['servers[0].oscore: must be a mapping, got a string']);
  });

  it('only with security_mode nosec (OSCORE replaces DTLS), one instance id per server, not for version 1.0', () => {
    const context = { master_secret: MASTER_SECRET, sender_id: '', recipient_id: '01' };
    expect(problemsOf({ servers: [pskServer({ oscore: context })] })).toEqual(['servers[0].oscore: only used with security_mode nosec (OSCORE replaces DTLS)']);
    expect(problemsOf({ servers: [oscoreServer(context, { uri: 'coaps://dm.example.com' })] })).toEqual([
      'servers[0].uri: security_mode nosec needs a coap:// or coap+tcp:// uri',
    ]);
    expect(
      problemsOf({ servers: [oscoreServer({ ...context, instance_id: 1 }), oscoreServer({ ...context, instance_id: 1 }, { short_server_id: 102 })] }),
    ).toEqual(['servers[1].oscore.instance_id: duplicate OSCORE instance id']);
    expect(problemsOf({ version: '1.0', servers: [oscoreServer(context)] })).toEqual(['servers[0].oscore: needs LwM2M 1.1 or later (version is 1.0)']);
  });

  it('never quotes the master secret, whatever is wrong with it', () => {
    const secret = 'deadbeefcafef00d1122';
    const messages: string[] = [];
    for (const master_secret of [`${secret}x`, secret.repeat(4), Number.parseInt(secret.slice(0, 12), 16)]) {
      try {
        parseBootstrapEntry({ servers: [oscoreServer({ master_secret, sender_id: '', recipient_id: '01' })] }, 'test');
      } catch (err) {
        messages.push((err as Error).message);
      }
    }
    expect(messages).toHaveLength(3);
    const all = messages.join('\n');
    expect(all).not.toContain(secret.slice(0, 10));
    expect(all).not.toContain(String(Number.parseInt(secret.slice(0, 12), 16)));
  });

  it('resolves to the context as copies a consumer may wipe', () => {
    const entry = parseBootstrapEntry(
      { servers: [oscoreServer({ master_secret: MASTER_SECRET, sender_id: '', recipient_id: '01', master_salt: '9e7c', instance_id: 4 }), pskServer({ short_server_id: 102 })] },
      'test',
    );
    const config = resolveBootstrapEntry(entry, 'ep');
    expect(config.servers[0].oscore).toEqual({
      masterSecret: Buffer.from(MASTER_SECRET, 'hex'),
      senderId: Buffer.alloc(0),
      recipientId: Buffer.from('01', 'hex'),
      masterSalt: Buffer.from('9e7c', 'hex'),
      instanceId: 4,
    });
    expect(config.servers[1].oscore).toBeUndefined();
    config.servers[0].oscore?.masterSecret.fill(0);
    expect(resolveBootstrapEntry(entry, 'ep').servers[0].oscore?.masterSecret).toEqual(Buffer.from(MASTER_SECRET, 'hex'));
  });
});
