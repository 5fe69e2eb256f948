import { X509Certificate, createPrivateKey } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { BootstrapConfig, OscoreContext, SecurityAccount, ServerAccount } from '../../../../src/lwm2m/bootstrap/bootstrap-config';
import {
  WRITABLE_FORMATS,
  bootstrapFormat,
  planBootstrapWrites,
  type BootstrapWrite,
} from '../../../../src/lwm2m/bootstrap/bootstrap-writes';
import { parseDiscoverAnswer, parseDiscoverLayout, type DiscoverLayout } from '../../../../src/lwm2m/bootstrap/discover-layout';
import { ContentFormat, decodeNode, flattenNode, parseLinkFormat } from '../../../../src/lwm2m/codec';
import { ObjectModel } from '../../../../src/lwm2m/model/object-model';

const model = ObjectModel.withBuiltins();
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const PSK_KEY = hex('00112233445566778899aabbccddeeff');

function pskServer(shortServerId: number, extra: Partial<ServerAccount> = {}, security: Partial<SecurityAccount> = {}): ServerAccount {
  return {
    security: {
      uri: 'coaps://gw.example.com:5684',
      mode: 'psk',
      publicKeyOrIdentity: Buffer.from('urn:imei:490154203237518'),
      serverPublicKey: Buffer.alloc(0),
      secretKey: PSK_KEY,
      ...security,
    },
    shortServerId,
    lifetime: 300,
    notificationStoring: true,
    binding: 'U',
    ...extra,
  };
}

function config(extra: Partial<BootstrapConfig> = {}): BootstrapConfig {
  return { delete: ['/0', '/1'], discover: true, read: [], servers: [pskServer(101)], acls: [], ...extra };
}

const layoutOf = (text: string): DiscoverLayout => parseDiscoverLayout(parseLinkFormat(text));
const targets = (writes: BootstrapWrite[]): string[] => writes.map((write) => write.target);
/** [path, type, value] of every leaf a payload decodes to, with the real decoder of its format. */
const decoded = (write: BootstrapWrite): [string, string, unknown][] =>
  flattenNode(decodeNode(write.format, write.payload, write.path, model), write.path).map((e) => [e.path, e.type, e.value]);

describe('bootstrapFormat', () => {
  it('defaults to TLV for 1.0 and 1.1 and to SenML CBOR for 1.2', () => {
    expect(bootstrapFormat('1.0', undefined, undefined)).toBe(ContentFormat.TLV);
    expect(bootstrapFormat('1.1', undefined, undefined)).toBe(ContentFormat.TLV);
    expect(bootstrapFormat('1.2', undefined, undefined)).toBe(ContentFormat.SENML_CBOR);
  });

  it("takes the device's pct when it is a writable format", () => {
    for (const pct of [ContentFormat.TLV, ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR, ContentFormat.OMA_JSON]) {
      expect(bootstrapFormat('1.1', pct, undefined)).toBe(pct);
    }
    expect(bootstrapFormat('1.2', ContentFormat.TLV, undefined)).toBe(ContentFormat.TLV);
  });

  it('ignores a pct that cannot carry an object instance', () => {
    for (const pct of [ContentFormat.TEXT, ContentFormat.LINK, ContentFormat.OPAQUE, ContentFormat.CBOR, ContentFormat.TLV_LEGACY, 9999]) {
      expect(WRITABLE_FORMATS.has(pct)).toBe(false);
      expect(bootstrapFormat('1.1', pct, undefined)).toBe(ContentFormat.TLV);
      expect(bootstrapFormat('1.2', pct, undefined)).toBe(ContentFormat.SENML_CBOR);
    }
  });

  it('lets the configured format win over pct and version', () => {
    expect(bootstrapFormat('1.2', ContentFormat.SENML_JSON, ContentFormat.TLV)).toBe(ContentFormat.TLV);
    expect(bootstrapFormat('1.0', undefined, ContentFormat.OMA_JSON)).toBe(ContentFormat.OMA_JSON);
  });
});

describe('planBootstrapWrites', () => {
  it('writes a PSK Security instance whose TLV is the bytes TS Core §7.4.3 prescribes', () => {
    const server = pskServer(101, {}, {
      uri: 'coaps://gw:5684',
      publicKeyOrIdentity: Buffer.from('ep1'),
      secretKey: hex('000102030405060708090a0b0c0d0e0f'),
      clientHoldOffTime: 300,
    });
    const [security] = planBootstrapWrites(config({ servers: [server] }), undefined, ContentFormat.TLV, model);
    expect(security.target).toBe('/0/1');
    expect(security.path).toEqual({ objectId: 0, instanceId: 1 });
    // OMA TS LwM2M Core 1.1 §7.4.3 (TLV) Table 7.4.3-1: type byte bits 7-6 = 11 (Resource with
    // Value), bit 5 = 0 (8-bit identifier), bits 4-3 = length type (00: length in bits 2-0; 01:
    // 8-bit length field follows the id), then the identifier, the length and the value. Integers
    // are the shortest two's complement (Appendix C), booleans one byte. A write on /O/I carries the
    // resources without an Object Instance TLV, as in the §7.4.3.1 example for /3/0.
    expect(security.payload).toEqual(hex(`
      C8 00 0F 63 6F 61 70 73 3A 2F 2F 67 77 3A 35 36 38 34
      C1 01 00
      C1 02 00
      C3 03 65 70 31
      C0 04
      C8 05 10 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F
      C1 0A 65
      C2 0B 01 2C`));
  });

  it('writes the Server instance TLV of TS Core §7.4.3.2 C) (/1 with ssid 1, lifetime 86400, storing, U)', () => {
    // The spec's example payload for GET /1 is "08 00 0F C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55":
    // an Object Instance TLV around these resources; a write on /1/0 sends the resources alone.
    const server = pskServer(1, { lifetime: 86400, serverInstanceId: 0 });
    const writes = planBootstrapWrites(config({ servers: [server] }), undefined, ContentFormat.TLV, model);
    expect(writes[1].target).toBe('/1/0');
    expect(writes[1].payload).toEqual(hex('C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55'));
  });

  it('decodes back, in every writable format, to the configured values', () => {
    const cfg = config({
      servers: [
        pskServer(101, { defaultMinPeriod: 10, defaultMaxPeriod: 60, disableTimeout: 86400, binding: 'UQ' }, { clientHoldOffTime: 5 }),
      ],
      acls: [{ objectId: 3, objectInstanceId: 0, acl: [[101, 15], [0, 1]], owner: 101 }],
    });
    const expected = [
      [
        ['/0/1/0', 'string', 'coaps://gw.example.com:5684'],
        ['/0/1/1', 'boolean', false],
        ['/0/1/2', 'integer', 0],
        ['/0/1/3', 'opaque', Buffer.from('urn:imei:490154203237518')],
        ['/0/1/4', 'opaque', Buffer.alloc(0)],
        ['/0/1/5', 'opaque', PSK_KEY],
        ['/0/1/10', 'integer', 101],
        ['/0/1/11', 'integer', 5],
      ],
      [
        ['/1/0/0', 'integer', 101],
        ['/1/0/1', 'integer', 300],
        ['/1/0/2', 'integer', 10],
        ['/1/0/3', 'integer', 60],
        ['/1/0/5', 'integer', 86400],
        ['/1/0/6', 'boolean', true],
        ['/1/0/7', 'string', 'UQ'],
      ],
      [
        ['/2/0/0', 'integer', 3],
        ['/2/0/1', 'integer', 0],
        ['/2/0/2/101', 'integer', 15],
        ['/2/0/2/0', 'integer', 1],
        ['/2/0/3', 'integer', 101],
      ],
    ];
    for (const format of WRITABLE_FORMATS) {
      const writes = planBootstrapWrites(cfg, undefined, format, model);
      expect(targets(writes)).toEqual(['/0/1', '/1/0', '/2/0']);
      expect(writes.every((write) => write.format === format)).toBe(true);
      expect(writes.map(decoded)).toEqual(expected);
    }
  });

  it('writes the bootstrap account first, then each Security and Server pair, then the ACLs', () => {
    const cfg = config({
      bootstrapAccount: {
        uri: 'coaps://bs.example.com:5784',
        mode: 'psk',
        publicKeyOrIdentity: Buffer.from('bs-id'),
        serverPublicKey: Buffer.alloc(0),
        secretKey: hex('aabb'),
        clientHoldOffTime: 0,
        bootstrapAccountTimeout: 3600,
      },
      servers: [pskServer(101), pskServer(102)],
      acls: [
        { objectId: 3, objectInstanceId: 0, acl: [[101, 1]], owner: 101 },
        { objectId: 5, objectInstanceId: 0, acl: [[102, 3]], owner: 102 },
      ],
    });
    const writes = planBootstrapWrites(cfg, undefined, ContentFormat.TLV, model);
    expect(targets(writes)).toEqual(['/0/0', '/0/1', '/1/0', '/0/2', '/1/1', '/2/0', '/2/1']);
    expect(decoded(writes[0])).toEqual([
      ['/0/0/0', 'string', 'coaps://bs.example.com:5784'],
      ['/0/0/1', 'boolean', true],
      ['/0/0/2', 'integer', 0],
      ['/0/0/3', 'opaque', Buffer.from('bs-id')],
      ['/0/0/4', 'opaque', Buffer.alloc(0)],
      ['/0/0/5', 'opaque', hex('aabb')],
      ['/0/0/11', 'integer', 0],
      ['/0/0/12', 'integer', 3600],
    ]);
    // The second pair is linked by its short server id, not by instance ids.
    expect(decoded(writes[3])).toContainEqual(['/0/2/10', 'integer', 102]);
    expect(decoded(writes[4])).toContainEqual(['/1/1/0', 'integer', 102]);
  });

  it('writes no bootstrap account timeout on a server account', () => {
    const server = pskServer(101, {}, { bootstrapAccountTimeout: 60 });
    const writes = planBootstrapWrites(config({ servers: [server] }), undefined, ContentFormat.TLV, model);
    expect(decoded(writes[0]).map(([p]) => p)).not.toContain('/0/1/12');
  });

  it('writes an x509 account with its DER certificates and PKCS#8 private key', () => {
    const fixtures = path.join(__dirname, '../../../fixtures/dtls');
    const clientCert = new X509Certificate(fs.readFileSync(path.join(fixtures, 'client.pem'))).raw;
    const serverCert = new X509Certificate(fs.readFileSync(path.join(fixtures, 'server.pem'))).raw;
    const privateKey = createPrivateKey(fs.readFileSync(path.join(fixtures, 'client.key.pem'))).export({ type: 'pkcs8', format: 'der' });
    const server = pskServer(7, {}, { mode: 'x509', publicKeyOrIdentity: clientCert, serverPublicKey: serverCert, secretKey: privateKey });
    for (const format of [ContentFormat.TLV, ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON]) {
      const [security] = planBootstrapWrites(config({ servers: [server] }), undefined, format, model);
      const values = new Map(decoded(security).map(([p, , value]) => [p, value]));
      expect(values.get('/0/1/2')).toBe(2);
      expect(values.get('/0/1/3')).toEqual(clientCert);
      expect(values.get('/0/1/4')).toEqual(serverCert);
      expect(values.get('/0/1/5')).toEqual(privateKey);
      // Real DER: the certificate parses back.
      expect(new X509Certificate(values.get('/0/1/3') as Buffer).subject).toBe(new X509Certificate(clientCert).subject);
    }
  });

  describe('instance ids', () => {
    it('skips /0/0 without a discover (where devices keep the bootstrap account)', () => {
      const writes = planBootstrapWrites(config({ servers: [pskServer(101), pskServer(102)] }), undefined, ContentFormat.TLV, model);
      expect(targets(writes)).toEqual(['/0/1', '/1/0', '/0/2', '/1/1']);
    });

    it('keeps every Security instance a 1.0 Discover listed clear: it marks none as the bootstrap account', () => {
      const layout = parseDiscoverAnswer('lwm2m="1.0",</0/0>,</0/2>,</1/0>,</3/0>');
      const writes = planBootstrapWrites(config({ servers: [pskServer(101), pskServer(102)] }), layout, ContentFormat.TLV, model);
      expect(targets(writes)).toEqual(['/0/1', '/1/0', '/0/3', '/1/1']);
    });

    it('skips the discovered bootstrap account at /0/0', () => {
      const layout = layoutOf('</>;lwm2m=1.1,</0/0>,</0/1>;ssid=101,</1/0>;ssid=101,</3/0>');
      const writes = planBootstrapWrites(config({ servers: [pskServer(101), pskServer(102)] }), layout, ContentFormat.TLV, model);
      expect(targets(writes)).toEqual(['/0/1', '/1/0', '/0/2', '/1/1']);
    });

    it('uses /0/0 when the discovered bootstrap account is at /0/1', () => {
      const layout = layoutOf('</>;lwm2m=1.1,</0/0>;ssid=101,</0/1>,</1/0>;ssid=101,</3/0>');
      const writes = planBootstrapWrites(config({ servers: [pskServer(101), pskServer(102)] }), layout, ContentFormat.TLV, model);
      expect(targets(writes)).toEqual(['/0/0', '/1/0', '/0/2', '/1/1']);
    });

    it('still keeps clear of /0/0 when the discover showed no bootstrap account', () => {
      const layout = layoutOf('</>;lwm2m=1.1,</0/3>;ssid=101');
      expect(targets(planBootstrapWrites(config(), layout, ContentFormat.TLV, model))).toEqual(['/0/1', '/1/0']);
    });

    it('rewrites the bootstrap account where the device keeps it, else at /0/0, else where configured', () => {
      const account: SecurityAccount = {
        uri: 'coap://bs.example.com:5783',
        mode: 'nosec',
        publicKeyOrIdentity: Buffer.alloc(0),
        serverPublicKey: Buffer.alloc(0),
        secretKey: Buffer.alloc(0),
      };
      const atOne = layoutOf('</>;lwm2m=1.1,</0/1>,</0/2>;ssid=101');
      expect(targets(planBootstrapWrites(config({ bootstrapAccount: account }), atOne, ContentFormat.TLV, model))).toEqual(['/0/1', '/0/0', '/1/0']);
      expect(targets(planBootstrapWrites(config({ bootstrapAccount: account }), undefined, ContentFormat.TLV, model))).toEqual(['/0/0', '/0/1', '/1/0']);
      const configured = config({ bootstrapAccount: { ...account, instanceId: 4 } });
      expect(targets(planBootstrapWrites(configured, undefined, ContentFormat.TLV, model))).toEqual(['/0/4', '/0/1', '/1/0']);
    });

    it('honours configured ids, and a chosen id never takes one configured further down', () => {
      const cfg = config({
        servers: [pskServer(101), pskServer(102, { serverInstanceId: 0 }, { instanceId: 1 }), pskServer(103, { serverInstanceId: 7 }, { instanceId: 9 })],
        acls: [
          { objectId: 3, objectInstanceId: 0, acl: [[101, 1]], owner: 101 },
          { objectId: 4, objectInstanceId: 0, acl: [[101, 1]], owner: 101, instanceId: 0 },
        ],
      });
      expect(targets(planBootstrapWrites(cfg, undefined, ContentFormat.TLV, model))).toEqual([
        '/0/2', '/1/1', '/0/1', '/1/0', '/0/9', '/1/7', '/2/1', '/2/0',
      ]);
    });

    it('refuses two writes at one path, naming both', () => {
      const twoSecurity = config({ servers: [pskServer(101, {}, { instanceId: 1 }), pskServer(102, {}, { instanceId: 1 })] });
      expect(() => planBootstrapWrites(twoSecurity, undefined, ContentFormat.TLV, model)).toThrow(
        'servers[0] security and servers[1] security both write /0/1',
      );
      const twoServer = config({ servers: [pskServer(101, { serverInstanceId: 3 }), pskServer(102, { serverInstanceId: 3 })] });
      expect(() => planBootstrapWrites(twoServer, undefined, ContentFormat.TLV, model)).toThrow('servers[0] server and servers[1] server both write /1/3');
      const twoAcl = config({
        acls: [
          { objectId: 3, objectInstanceId: 0, acl: [], owner: 101, instanceId: 2 },
          { objectId: 4, objectInstanceId: 0, acl: [], owner: 101, instanceId: 2 },
        ],
      });
      expect(() => planBootstrapWrites(twoAcl, undefined, ContentFormat.TLV, model)).toThrow('acls[0] and acls[1] both write /2/2');
      const overAccount = config({
        bootstrapAccount: { uri: 'coap://bs', mode: 'nosec', publicKeyOrIdentity: Buffer.alloc(0), serverPublicKey: Buffer.alloc(0), secretKey: Buffer.alloc(0) },
        servers: [pskServer(101, {}, { instanceId: 0 })],
      });
      expect(() => planBootstrapWrites(overAccount, undefined, ContentFormat.TLV, model)).toThrow('bootstrap_server and servers[0] security both write /0/0');
    });

    it('refuses a server account over the discovered bootstrap account', () => {
      const layout = layoutOf('</>;lwm2m=1.1,</0/2>');
      const cfg = config({ servers: [pskServer(101, {}, { instanceId: 2 })] });
      expect(() => planBootstrapWrites(cfg, layout, ContentFormat.TLV, model)).toThrow(
        'servers[0] security would overwrite the bootstrap account the device reported at /0/2',
      );
    });

    it('refuses a bootstrap account rewrite away from the discovered one (the device would keep two)', () => {
      const layout = layoutOf('</>;lwm2m=1.1,</0/1>');
      const account: SecurityAccount = {
        uri: 'coap://bs', mode: 'nosec', publicKeyOrIdentity: Buffer.alloc(0), serverPublicKey: Buffer.alloc(0), secretKey: Buffer.alloc(0), instanceId: 0,
      };
      expect(() => planBootstrapWrites(config({ bootstrapAccount: account }), layout, ContentFormat.TLV, model)).toThrow(
        'bootstrap_server instance_id 0 is not /0/1, where the device reported its bootstrap account',
      );
      // Configured where the device keeps it: fine.
      const atOne = config({ bootstrapAccount: { ...account, instanceId: 1 } });
      expect(targets(planBootstrapWrites(atOne, layout, ContentFormat.TLV, model))).toEqual(['/0/1', '/0/0', '/1/0']);
    });

    it('refuses instance ids outside 0..65534 and never puts the secret in the error', () => {
      for (const instanceId of [-1, 65535, 1.5]) {
        const cfg = config({ servers: [pskServer(101, {}, { instanceId })] });
        let message = '';
        try {
          planBootstrapWrites(cfg, undefined, ContentFormat.TLV, model);
        } catch (err) {
          message = (err as Error).message;
        }
        expect(message).toBe(`servers[0] security: instance id ${instanceId} is not an integer in 0..65534`);
        expect(message).not.toContain(PSK_KEY.toString('hex'));
      }
    });
  });

  it('refuses an ACL naming one short server id twice', () => {
    const cfg = config({ acls: [{ objectId: 3, objectInstanceId: 0, acl: [[101, 1], [101, 15]], owner: 101 }] });
    expect(() => planBootstrapWrites(cfg, undefined, ContentFormat.TLV, model)).toThrow('acls[0]: the ACL names short server id 101 twice');
  });

  it('encodes the ACL multiple resource as resource instances keyed by short server id (TLV)', () => {
    const cfg = config({ servers: [], acls: [{ objectId: 3, objectInstanceId: 0, acl: [[101, 15], [0, 1]], owner: 101 }] });
    const [acl] = planBootstrapWrites(cfg, undefined, ContentFormat.TLV, model);
    // §7.4.3: "86 02 41 65 0F 41 00 01" is the Multiple Resource TLV (bits 7-6 = 10) with id 2 and 6
    // bytes of Resource Instance TLVs (bits 7-6 = 01): instance 101 = 15, instance 0 = 1.
    expect(acl.payload).toEqual(hex('C1 00 03 C1 01 00 86 02 41 65 0F 41 00 01 C1 03 65'));
    const node = decodeNode(ContentFormat.TLV, acl.payload, acl.path, model);
    expect(node.kind === 'instance' && node.resources.get(2)).toEqual({
      kind: 'multiple',
      id: 2,
      type: 'integer',
      instances: new Map([[101, 15], [0, 1]]),
    });
  });

  it('types the resources as OMA defines them when the model lacks objects 0, 1 and 2', () => {
    const emptyModel = { resourceDefinition: () => undefined };
    const cfg = config({ acls: [{ objectId: 3, objectInstanceId: 0, acl: [[101, 15]], owner: 101 }] });
    for (const format of WRITABLE_FORMATS) {
      const bare = planBootstrapWrites(cfg, undefined, format, emptyModel).map((write) => write.payload);
      expect(bare).toEqual(planBootstrapWrites(cfg, undefined, format, model).map((write) => write.payload));
    }
  });

  it('writes nothing for an empty configuration', () => {
    expect(planBootstrapWrites(config({ servers: [] }), undefined, ContentFormat.TLV, model)).toEqual([]);
  });
});

describe('planBootstrapWrites with OSCORE', () => {
  // RFC 8613 Appendix C.1.1 (client side): Master Secret 0x0102..10, Master Salt 0x9e7ca92223786340,
  // Sender ID empty, Recipient ID 0x01, no ID Context.
  const RFC_CONTEXT: OscoreContext = {
    masterSecret: hex('0102030405060708090a0b0c0d0e0f10'),
    senderId: Buffer.alloc(0),
    recipientId: hex('01'),
    masterSalt: hex('9e7ca92223786340'),
  };
  function oscoreServer(shortServerId: number, oscore: OscoreContext, extra: Partial<ServerAccount> = {}): ServerAccount {
    return pskServer(shortServerId, { oscore, ...extra }, {
      uri: 'coap://dm.example.com:5683',
      mode: 'nosec',
      publicKeyOrIdentity: Buffer.alloc(0),
      secretKey: Buffer.alloc(0),
    });
  }

  it('writes the OSCORE instance before the Security instance linking it with /0/x/17 (TLV bytes)', () => {
    const writes = planBootstrapWrites(config({ servers: [oscoreServer(101, RFC_CONTEXT)] }), undefined, ContentFormat.TLV, model);
    expect(targets(writes)).toEqual(['/21/0', '/0/1', '/1/0']);
    // TS Core §7.4.3 TLV: C8 = 8-bit length field follows (16 and 8 bytes); C0 = empty value;
    // integers shortest two's complement (Appendix C): 10 = 0A, -10 = F6. Defaults filled in.
    expect(writes[0].payload).toEqual(hex(`
      C8 00 10 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10
      C0 01
      C1 02 01
      C1 03 0A
      C1 04 F6
      C8 05 08 9E 7C A9 22 23 78 63 40`));
    // Objlnk in TLV: 16-bit object id then 16-bit instance id (§7.4.3, Appendix C): 21:0.
    expect(writes[1].payload.subarray(-6)).toEqual(hex('C4 11 00 15 00 00'));
  });

  it('decodes back, in every writable format, to the context and the link', () => {
    const context: OscoreContext = { ...RFC_CONTEXT, aeadAlgorithm: 11, hmacAlgorithm: -11, idContext: hex('37cbf3210017a2d3') };
    for (const format of WRITABLE_FORMATS) {
      const writes = planBootstrapWrites(config({ servers: [oscoreServer(101, context)] }), undefined, format, model);
      expect(decoded(writes[0])).toEqual([
        ['/21/0/0', 'opaque', context.masterSecret],
        ['/21/0/1', 'opaque', Buffer.alloc(0)],
        ['/21/0/2', 'opaque', hex('01')],
        ['/21/0/3', 'integer', 11],
        ['/21/0/4', 'integer', -11],
        ['/21/0/5', 'opaque', context.masterSalt],
        ['/21/0/6', 'opaque', context.idContext],
      ]);
      expect(decoded(writes[1])).toContainEqual(['/0/1/17', 'objlnk', { objectId: 21, instanceId: 0 }]);
      expect(decoded(writes[1])).toContainEqual(['/0/1/2', 'integer', 3]);
    }
  });

  it('links each server to its own instance, configured or chosen, and leaves other servers unlinked', () => {
    const cfg = config({
      servers: [oscoreServer(101, RFC_CONTEXT), pskServer(102), oscoreServer(103, { ...RFC_CONTEXT, instanceId: 0 })],
    });
    const writes = planBootstrapWrites(cfg, undefined, ContentFormat.TLV, model);
    expect(targets(writes)).toEqual(['/21/1', '/0/1', '/1/0', '/0/2', '/1/1', '/21/0', '/0/3', '/1/2']);
    const link = (write: BootstrapWrite): unknown => decoded(write).find(([p]) => p.endsWith('/17'))?.[2];
    expect(link(writes[1])).toEqual({ objectId: 21, instanceId: 1 });
    expect(link(writes[3])).toBeUndefined();
    expect(link(writes[6])).toEqual({ objectId: 21, instanceId: 0 });
  });

  it('refuses two OSCORE instances at one path, naming both, and never quotes a master secret', () => {
    const cfg = config({ servers: [oscoreServer(101, { ...RFC_CONTEXT, instanceId: 3 }), oscoreServer(102, { ...RFC_CONTEXT, instanceId: 3 })] });
    expect(() => planBootstrapWrites(cfg, undefined, ContentFormat.TLV, model)).toThrow('servers[0] oscore and servers[1] oscore both write /21/3');
    const bad = config({ servers: [oscoreServer(101, { ...RFC_CONTEXT, instanceId: 65535 })] });
    let message = '';
    try {
      planBootstrapWrites(bad, undefined, ContentFormat.TLV, model);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('servers[0] oscore: instance id 65535 is not an integer in 0..65534');
    expect(message).not.toContain('0102030405060708');
  });

  it('types object 21 and /0/x/17 as OMA defines them when the model lacks them', () => {
    const emptyModel = { resourceDefinition: () => undefined };
    const cfg = config({ servers: [oscoreServer(101, { ...RFC_CONTEXT, idContext: hex('aa') })] });
    for (const format of WRITABLE_FORMATS) {
      const bare = planBootstrapWrites(cfg, undefined, format, emptyModel).map((write) => write.payload);
      expect(bare).toEqual(planBootstrapWrites(cfg, undefined, format, model).map((write) => write.payload));
    }
  });
});
