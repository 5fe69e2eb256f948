import { CoapEndpoint, type CoapRequest, type CoapResponse, type InboundRequest } from '../../../src/coap';
import { buildNode, encodeNode } from '../../../src/lwm2m/codec';
import { writeCbor, type CborItem } from '../../../src/lwm2m/codec/cbor-value';
import { ContentFormat } from '../../../src/lwm2m/codec/content-format';
import { SENML_CBOR_LABELS } from '../../../src/lwm2m/codec/senml-cbor';
import { ObjectModel } from '../../../src/lwm2m/model/object-model';
import type { Entry } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';
import { loadNativeDtls } from '../../../src/transport/dtls/native-binding';
import { DtlsTransport } from '../../../src/transport/dtls-transport';
import type { Peer, Transport } from '../../../src/transport/transport';
import { UdpTransport } from '../../../src/transport/udp-transport';
import { BootstrapTestClient, type BootstrapClientOptions } from '../../support/bootstrap-client';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const model = ObjectModel.withBuiltins();

/** OMA TS Core 1.0 §6.4.3.2 C): GET /1, one Server instance (ssid 1, lifetime 86400, storing true, binding U). */
const SPEC_SERVER_TLV = hex('08 00 0F C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55');
/** OMA TS Core 1.2 §7.4.4: a Server instance in LwM2M CBOR, {0: 101, 1: 86400, 2: 300, 3: 6000, 5: 86400, 6: true, 7: "U"} under /1/0. */
const SPEC_SERVER_LWM2M_CBOR = hex('A1 01 A1 00 A7 00 18 65 01 1A 00015180 02 19 012C 03 19 1770 05 1A 00015180 06 F5 07 61 55');

/** A DM account left on the device by an earlier bootstrap: Security /0/1 and the spec's Server /1/0 (ssid 1). */
const OLD_ACCOUNT: Entry[] = [
  { path: '/0/1/0', type: 'string', value: 'coap://old.example.com:5683' },
  { path: '/0/1/1', type: 'boolean', value: false },
  { path: '/0/1/2', type: 'integer', value: 3 },
  { path: '/0/1/10', type: 'integer', value: 1 },
  { path: '/1/0/0', type: 'integer', value: 1 },
  { path: '/1/0/1', type: 'integer', value: 86400 },
  { path: '/1/0/6', type: 'boolean', value: true },
  { path: '/1/0/7', type: 'string', value: 'U' },
];

const PSK_KEY = Buffer.from([0x00, 0x11, 0xff, 0x80, 0x7f, 0x41]);
const NEW_SECURITY: Entry[] = [
  { path: '/0/1/0', type: 'string', value: 'coaps://gw.example.com:5684' },
  { path: '/0/1/1', type: 'boolean', value: false },
  { path: '/0/1/2', type: 'integer', value: 0 },
  { path: '/0/1/3', type: 'opaque', value: Buffer.from('dev-1') },
  { path: '/0/1/4', type: 'opaque', value: Buffer.alloc(0) },
  { path: '/0/1/5', type: 'opaque', value: PSK_KEY },
  { path: '/0/1/10', type: 'integer', value: 101 },
];
const NEW_SERVER: Entry[] = [
  { path: '/1/0/0', type: 'integer', value: 101 },
  { path: '/1/0/1', type: 'integer', value: 300 },
  { path: '/1/0/6', type: 'boolean', value: true },
  { path: '/1/0/7', type: 'string', value: 'U' },
];
const NEW_ACL: Entry[] = [
  { path: '/2/0/0', type: 'integer', value: 3 },
  { path: '/2/0/1', type: 'integer', value: 0 },
  { path: '/2/0/2/101', type: 'integer', value: 15 },
  { path: '/2/0/3', type: 'integer', value: 101 },
];

function encoded(format: number, path: string, entries: Entry[]): Buffer {
  const p = parsePath(path);
  return encodeNode(format, p, buildNode(p, entries), model);
}

/** A SenML CBOR pack with absolute names (base name "/"), as a 1.2 Bootstrap-Pack carries. */
function senmlCborPack(entries: Entry[]): Buffer {
  const label = (n: number): CborItem => (n < 0 ? { kind: 'nint', value: BigInt(n) } : { kind: 'uint', value: BigInt(n) });
  const valueField = (e: Entry): [CborItem, CborItem] => {
    if (typeof e.value === 'boolean') return [label(SENML_CBOR_LABELS.vb), { kind: 'bool', value: e.value }];
    if (typeof e.value === 'string') return [label(SENML_CBOR_LABELS.vs), { kind: 'text', value: e.value }];
    if (Buffer.isBuffer(e.value)) return [label(SENML_CBOR_LABELS.vd), { kind: 'bytes', value: e.value }];
    return [label(SENML_CBOR_LABELS.v), { kind: 'uint', value: BigInt(Number(e.value)) }];
  };
  const records = entries.map((e, i): CborItem => {
    const fields: Array<[CborItem, CborItem]> = [];
    if (i === 0) fields.push([label(SENML_CBOR_LABELS.bn), { kind: 'text', value: '/' }]);
    fields.push([label(SENML_CBOR_LABELS.n), { kind: 'text', value: e.path.slice(1) }], valueField(e));
    return { kind: 'map', entries: fields };
  });
  return writeCbor({ kind: 'array', items: records });
}

/** The server side, driven by hand: answers POST /bs with 2.04 and GET /bspack with `pack`, sends requests to the client. */
class HandDrivenBootstrapServer {
  readonly bootstrapRequests: InboundRequest[] = [];
  readonly packRequests: InboundRequest[] = [];
  pack?: CoapResponse;
  private client?: Peer;

  constructor(
    readonly transport: Transport & { address(): { address: string; port: number } },
    readonly coap: CoapEndpoint,
  ) {
    coap.setRequestHandler((req) => {
      if (req.method === 'POST' && req.uriPath.join('/') === 'bs') {
        this.bootstrapRequests.push(req);
        this.client = req.peer;
        return { code: '2.04', payload: Buffer.alloc(0) };
      }
      if (req.method === 'GET' && req.uriPath.join('/') === 'bspack') {
        this.packRequests.push(req);
        return this.pack ?? { code: '4.04', payload: Buffer.alloc(0) };
      }
      return { code: '4.04', payload: Buffer.alloc(0) };
    });
  }

  static async udp(): Promise<HandDrivenBootstrapServer> {
    const transport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
    return new HandDrivenBootstrapServer(transport, new CoapEndpoint(transport, { ackTimeout: 0.1, maxRetransmit: 1 }));
  }

  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.transport.address().port };
  }

  /** Sends a request to the client that sent the last Bootstrap-Request; resolves with its answer or 'timeout'. */
  send(req: CoapRequest): Promise<CoapResponse | 'timeout'> {
    const client = this.client;
    if (!client) throw new Error('no Bootstrap-Request received yet');
    return new Promise((resolve, reject) => {
      this.coap.request(client, req, {
        onResponse: resolve,
        onTimeout: () => resolve('timeout'),
        onReset: () => reject(new Error('reset')),
        onError: reject,
      });
    });
  }

  async answered(req: CoapRequest): Promise<CoapResponse> {
    const res = await this.send(req);
    if (res === 'timeout') throw new Error(`${req.method} /${req.uriPath.join('/')} timed out`);
    return res;
  }

  discover(path: string[] = []): Promise<CoapResponse> {
    return this.answered({ method: 'GET', uriPath: path, accept: ContentFormat.LINK });
  }

  write(path: string, entries: Entry[], format: number = ContentFormat.TLV): Promise<CoapResponse> {
    return this.answered({ method: 'PUT', uriPath: path.split('/').slice(1), contentFormat: format, payload: encoded(format, path, entries) });
  }

  delete(path: string): Promise<CoapResponse> {
    return this.answered({ method: 'DELETE', uriPath: path === '/' ? [] : path.split('/').slice(1) });
  }

  finish(): Promise<CoapResponse> {
    return this.answered({ method: 'POST', uriPath: ['bs'] });
  }

  async close(): Promise<void> {
    await this.coap.close();
    await this.transport.close();
  }
}

describe('BootstrapTestClient over UDP', () => {
  let server: HandDrivenBootstrapServer;
  const clients: BootstrapTestClient[] = [];

  beforeEach(async () => {
    server = await HandDrivenBootstrapServer.udp();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await server.close();
  });

  async function bootstrapping(options: Omit<BootstrapClientOptions, 'endpoint' | 'server'> & { endpoint?: string }): Promise<BootstrapTestClient> {
    const client = await BootstrapTestClient.start({ endpoint: 'dev-1', server: server.address, ...options });
    clients.push(client);
    expect((await client.requestBootstrap()).code).toBe('2.04');
    return client;
  }

  it('1.1: Bootstrap-Request carries ep and pct; Discover lists the version, every instance, ssid and uri (§6.1.7.1)', async () => {
    await bootstrapping({ version: '1.1', pct: ContentFormat.SENML_CBOR, extraObjects: OLD_ACCOUNT, supportedObjects: [5] });
    expect(server.bootstrapRequests[0].uriQuery).toEqual(['ep=dev-1', `pct=${ContentFormat.SENML_CBOR}`]);
    expect(server.bootstrapRequests[0].confirmable).toBe(true);

    const res = await server.discover();
    expect(res.code).toBe('2.05');
    expect(res.contentFormat).toBe(ContentFormat.LINK);
    expect(res.payload.toString()).toBe('</>;lwm2m=1.1,</0/0>,</0/1>;ssid=1;uri="coap://old.example.com:5683",</1/0>;ssid=1,</2>,</3/0>,</5>');
    expect((await server.discover(['1'])).payload.toString()).toBe('</1/0>;ssid=1');
    expect((await server.discover(['4'])).code).toBe('4.04');
    expect((await server.discover(['1', '0'])).code).toBe('4.00');
  });

  it('1.1: Bootstrap-Read of /1 answers the spec TLV example; other objects 4.01, a missing instance 4.04', async () => {
    const client = await bootstrapping({ version: '1.1', extraObjects: OLD_ACCOUNT });
    const read = await server.answered({ method: 'GET', uriPath: ['1'] });
    expect(read.code).toBe('2.05');
    expect(read.contentFormat).toBe(ContentFormat.TLV);
    expect(read.payload).toEqual(SPEC_SERVER_TLV);
    expect((await server.answered({ method: 'GET', uriPath: ['1', '0'] })).payload).toEqual(SPEC_SERVER_TLV.subarray(3));
    const senml = await server.answered({ method: 'GET', uriPath: ['1', '0'], accept: ContentFormat.SENML_JSON });
    expect(senml.contentFormat).toBe(ContentFormat.SENML_JSON);
    expect(JSON.parse(senml.payload.toString())).toContainEqual({ n: '1', v: 86400 });
    expect((await server.answered({ method: 'GET', uriPath: ['2'] })).code).toBe('2.05');
    expect((await server.answered({ method: 'GET', uriPath: ['1', '9'] })).code).toBe('4.04');
    expect((await server.answered({ method: 'GET', uriPath: ['0'] })).code).toBe('4.01');
    expect((await server.answered({ method: 'GET', uriPath: ['3', '0'] })).code).toBe('4.01');
    expect((await server.answered({ method: 'GET', uriPath: [] })).code).toBe('4.01');
    expect((await server.answered({ method: 'GET', uriPath: ['1'], accept: ContentFormat.TEXT })).code).toBe('4.06');
    expect(client.steps).toEqual(Array(9).fill('read'));
  });

  it('Bootstrap-Delete of "/" and "/0" spares the bootstrap account and /3/0; naming them, or a resource, is 4.00', async () => {
    const client = await bootstrapping({ version: '1.1', extraObjects: [...OLD_ACCOUNT, { path: '/5/0/1', type: 'string', value: 'coap://fw' }, { path: '/3/1/0', type: 'string', value: 'x' }] });
    expect(client.instancePaths()).toEqual(['/0/0', '/0/1', '/1/0', '/3/0', '/3/1', '/5/0']);
    expect((await server.delete('/0')).code).toBe('2.02');
    expect(client.instancePaths()).toEqual(['/0/0', '/1/0', '/3/0', '/3/1', '/5/0']);
    expect((await server.delete('/')).code).toBe('2.02');
    expect(client.instancePaths()).toEqual(['/0/0', '/3/0']);
    expect(client.objects('/0/0').map((e) => e.path)).toEqual(['/0/0/0', '/0/0/1', '/0/0/2', '/0/0/3', '/0/0/4', '/0/0/5']);
    expect((await server.delete('/0/0')).code).toBe('4.00');
    expect((await server.delete('/3/0')).code).toBe('4.00');
    expect((await server.delete('/3/0/1')).code).toBe('4.00');
    expect((await server.delete('/1/7')).code).toBe('2.02');
    expect(client.instancePaths()).toEqual(['/0/0', '/3/0']);
  });

  it('a whole bootstrap: Discover, Delete, TLV Writes of Security, Server and ACL, Finish 2.04; dmServer() gives the account', async () => {
    const client = await bootstrapping({ version: '1.1', extraObjects: OLD_ACCOUNT });
    expect((await server.discover()).code).toBe('2.05');
    expect((await server.delete('/')).code).toBe('2.02');
    expect((await server.write('/0/1', NEW_SECURITY)).code).toBe('2.04');
    expect((await server.write('/1/0', NEW_SERVER)).code).toBe('2.04');
    expect((await server.write('/2/0', NEW_ACL)).code).toBe('2.04');
    expect((await server.finish()).code).toBe('2.04');
    await expect(client.finished).resolves.toEqual({ code: '2.04' });

    expect(client.steps).toEqual(['discover', 'delete', 'write', 'write', 'write', 'finish']);
    expect(client.requests[2]).toEqual({ method: 'PUT', path: '/0/1', contentFormat: ContentFormat.TLV, accept: undefined, step: 'write', code: '2.04' });
    expect(client.objects('/2/0')).toEqual(NEW_ACL);
    expect(client.objects('/1/0')).toEqual(NEW_SERVER);
    const dm = client.dmServer();
    expect(dm).toEqual({
      uri: 'coaps://gw.example.com:5684',
      shortServerId: 101,
      lifetime: 300,
      binding: 'U',
      mode: 0,
      securityInstanceId: 1,
      serverInstanceId: 0,
      address: { host: 'gw.example.com', port: 5684 },
      identity: 'dev-1',
      key: PSK_KEY,
      dtls: { identity: 'dev-1', key: PSK_KEY.toString('latin1') },
    });
    // What node-dtls-client does with the key string gives the key bytes back.
    expect(Buffer.from(dm?.dtls?.key ?? '', 'ascii')).toEqual(PSK_KEY);
  });

  it('a Write replaces the instance, a resource Write replaces one resource, an object Write takes the spec TLV', async () => {
    const client = await bootstrapping({ version: '1.1' });
    expect((await server.write('/1/0', [...NEW_SERVER, { path: '/1/0/2', type: 'integer', value: 5 }])).code).toBe('2.04');
    expect((await server.write('/1/0', NEW_SERVER)).code).toBe('2.04');
    expect(client.objects('/1/0').map((e) => e.path)).toEqual(['/1/0/0', '/1/0/1', '/1/0/6', '/1/0/7']);
    const lifetime = await server.answered({ method: 'PUT', uriPath: ['1', '0', '1'], contentFormat: ContentFormat.TEXT, payload: Buffer.from('600') });
    expect(lifetime.code).toBe('2.04');
    expect(client.objects('/1/0/1')).toEqual([{ path: '/1/0/1', type: 'integer', value: 600 }]);
    const object = await server.answered({ method: 'PUT', uriPath: ['1'], contentFormat: ContentFormat.TLV, payload: SPEC_SERVER_TLV });
    expect(object.code).toBe('2.04');
    expect(client.objects('/1')).toEqual([
      { path: '/1/0/0', type: 'integer', value: 1 },
      { path: '/1/0/1', type: 'integer', value: 86400 },
      { path: '/1/0/6', type: 'boolean', value: true },
      { path: '/1/0/7', type: 'string', value: 'U' },
    ]);
  });

  it('Finish is 4.06 without a Server instance, or with one whose ssid has no DM Security instance', async () => {
    const client = await bootstrapping({ version: '1.1' });
    expect((await server.finish()).code).toBe('4.06');
    expect((await server.write('/1/0', NEW_SERVER)).code).toBe('2.04');
    expect((await server.finish()).code).toBe('4.06');
    const bootstrapFlagged = NEW_SECURITY.map((e) => (e.path === '/0/1/1' ? { ...e, value: true } : e));
    expect((await server.write('/0/1', bootstrapFlagged)).code).toBe('2.04');
    expect((await server.finish()).code).toBe('4.06');
    expect(client.dmServer()).toBeUndefined();
    expect((await server.write('/0/1', NEW_SECURITY)).code).toBe('2.04');
    expect((await server.finish()).code).toBe('2.04');
    await expect(client.finished).resolves.toEqual({ code: '4.06' });
  });

  it('1.2: Writes in SenML CBOR and in the spec LwM2M CBOR example; 4.15 for a format the client lacks, 4.00 for bad bytes', async () => {
    const client = await bootstrapping({ version: '1.2' });
    expect((await server.write('/0/1', NEW_SECURITY, ContentFormat.SENML_CBOR)).code).toBe('2.04');
    expect(client.objects('/0/1')).toEqual(NEW_SECURITY);
    const cbor = await server.answered({ method: 'PUT', uriPath: ['1', '0'], contentFormat: ContentFormat.LWM2M_CBOR, payload: SPEC_SERVER_LWM2M_CBOR });
    expect(cbor.code).toBe('2.04');
    expect(client.dmServer()).toMatchObject({ shortServerId: 101, lifetime: 86400, binding: 'U' });
    expect((await server.answered({ method: 'PUT', uriPath: ['1', '0'], contentFormat: 9999, payload: Buffer.from([1]) })).code).toBe('4.15');
    expect((await server.answered({ method: 'PUT', uriPath: ['1', '0'], payload: SPEC_SERVER_TLV })).code).toBe('4.00');
    expect((await server.answered({ method: 'PUT', uriPath: ['1', '0'], contentFormat: ContentFormat.TLV, payload: hex('C8 00 09 01') })).code).toBe('4.00');
    expect((await server.answered({ method: 'PUT', uriPath: ['4', '0'], contentFormat: ContentFormat.TLV, payload: Buffer.alloc(0) })).code).toBe('4.04');
    expect((await server.answered({ method: 'PUT', uriPath: [], contentFormat: ContentFormat.TLV, payload: Buffer.alloc(0) })).code).toBe('4.00');
    expect(client.dmServer()).toMatchObject({ shortServerId: 101, lifetime: 86400 });
  });

  it('1.0: no pct, Discover without lwm2m, ssid and uri, no Bootstrap-Read (4.05), no SenML (4.15)', async () => {
    const client = await bootstrapping({ version: '1.0', pct: ContentFormat.SENML_CBOR, extraObjects: OLD_ACCOUNT });
    expect(server.bootstrapRequests[0].uriQuery).toEqual(['ep=dev-1']);
    expect((await server.discover()).payload.toString()).toBe('</0/0>,</0/1>,</1/0>,</2>,</3/0>');
    expect((await server.answered({ method: 'GET', uriPath: ['1'] })).code).toBe('4.05');
    expect((await server.write('/1/0', NEW_SERVER, ContentFormat.SENML_CBOR)).code).toBe('4.15');
    expect((await server.write('/1/0', NEW_SERVER, ContentFormat.TLV)).code).toBe('2.04');
    expect(client.steps).toEqual(['discover', 'read', 'write', 'write']);
  });

  it('fail answers the first request of its step with its code; behaviour.fail is flipped at run time', async () => {
    const client = await bootstrapping({ version: '1.1', fail: { step: 'finish', code: '5.00' } });
    expect((await server.write('/0/1', NEW_SECURITY)).code).toBe('2.04');
    expect((await server.write('/1/0', NEW_SERVER)).code).toBe('2.04');
    expect((await server.finish()).code).toBe('5.00');
    expect((await server.finish()).code).toBe('2.04');
    await expect(client.finished).resolves.toEqual({ code: '5.00' });
    client.behaviour.fail = { step: 'discover', code: '4.04', count: 2 };
    expect((await server.discover()).code).toBe('4.04');
    expect((await server.discover()).code).toBe('4.04');
    expect((await server.discover()).code).toBe('2.05');
  });

  it('silentAt drops that step below CoAP: the server times out, the client records the drops and answers other steps', async () => {
    const client = await bootstrapping({ version: '1.1', silentAt: 'discover' });
    expect(await server.send({ method: 'GET', uriPath: [], accept: ContentFormat.LINK })).toBe('timeout');
    expect(client.dropped.length).toBeGreaterThanOrEqual(1);
    expect(new Set(client.dropped.map((r) => `${r.method} ${r.path} ${r.accept} ${r.step}`))).toEqual(new Set([`GET / ${ContentFormat.LINK} discover`]));
    expect((await server.delete('/')).code).toBe('2.02');
    expect(client.steps).toEqual(['delete']);
    client.behaviour.silentAt = undefined;
    expect((await server.discover()).code).toBe('2.05');
  });

  it('a request that is no bootstrap operation (Execute, Create) is answered 4.05 and is no step', async () => {
    const client = await bootstrapping({ version: '1.1' });
    expect((await server.answered({ method: 'POST', uriPath: ['3', '0', '4'] })).code).toBe('4.05');
    expect(client.steps).toEqual([]);
    expect(client.requests).toEqual([{ method: 'POST', path: '/3/0/4', contentFormat: undefined, accept: undefined, step: undefined, code: '4.05' }]);
  });

  it('1.2 Bootstrap-Pack-Request: GET /bspack?ep= (Accept SenML CBOR), the pack is applied as writes', async () => {
    const client = await BootstrapTestClient.start({ endpoint: 'dev-2', server: server.address, version: '1.2' });
    clients.push(client);
    server.pack = { code: '2.05', contentFormat: ContentFormat.SENML_CBOR, payload: senmlCborPack([...NEW_SECURITY, ...NEW_SERVER, ...NEW_ACL]) };
    const res = await client.requestPack();
    expect(res.code).toBe('2.05');
    expect(server.packRequests[0].uriQuery).toEqual(['ep=dev-2']);
    expect(server.packRequests[0].accept).toBe(ContentFormat.SENML_CBOR);
    expect(client.instancePaths()).toEqual(['/0/0', '/0/1', '/1/0', '/2/0', '/3/0']);
    expect(client.objects('/0/1')).toEqual(NEW_SECURITY);
    expect(client.dmServer()).toMatchObject({ shortServerId: 101, identity: 'dev-1', key: PSK_KEY });

    server.pack = { code: '2.05', contentFormat: ContentFormat.TLV, payload: SPEC_SERVER_TLV };
    await expect(client.requestPack()).rejects.toThrow('not SenML CBOR');
    server.pack = { code: '4.01', payload: Buffer.alloc(0) };
    expect((await client.requestPack()).code).toBe('4.01');
  });
});

describe('BootstrapTestClient over DTLS PSK', () => {
  const loaded = loadNativeDtls();
  if (!loaded.ok) throw new Error(`the DTLS addon must be built by npm ci: ${loaded.reason}`);

  it('sends the Bootstrap-Request in a PSK session; its factory bootstrap account is PSK with that identity and key', async () => {
    const transport = await DtlsTransport.bind(loaded.binding, {
      host: '127.0.0.1',
      port: 0,
      ciphers: 'PSK-AES128-CCM8',
      verifyPeer: false,
      psk: { lookupPsk: (identity) => (identity === 'bs-dev' ? { identity, key: Buffer.from('secret-bs') } : undefined) },
      sessionTimeoutMs: 60_000,
      maxSessions: 10,
    });
    const server = new HandDrivenBootstrapServer(transport, new CoapEndpoint(transport, { ackTimeout: 0.5, maxRetransmit: 2 }));
    const port = transport.address().port;
    const client = await BootstrapTestClient.start({ endpoint: 'bs-dev', server: { host: '127.0.0.1', port }, version: '1.1', dtls: { identity: 'bs-dev', key: 'secret-bs' } });
    try {
      expect((await client.requestBootstrap()).code).toBe('2.04');
      expect(server.bootstrapRequests[0].peer.identity).toMatchObject({ kind: 'psk', name: 'bs-dev' });
      expect((await server.discover()).payload.toString()).toBe('</>;lwm2m=1.1,</0/0>,</1>,</2>,</3/0>');
      expect(client.objects('/0/0')).toEqual([
        { path: '/0/0/0', type: 'string', value: `coaps://127.0.0.1:${port}` },
        { path: '/0/0/1', type: 'boolean', value: true },
        { path: '/0/0/2', type: 'integer', value: 0 },
        { path: '/0/0/3', type: 'opaque', value: Buffer.from('bs-dev') },
        { path: '/0/0/4', type: 'opaque', value: Buffer.alloc(0) },
        { path: '/0/0/5', type: 'opaque', value: Buffer.from('secret-bs') },
      ]);
      expect((await server.write('/0/1', NEW_SECURITY)).code).toBe('2.04');
      expect((await server.write('/1/0', NEW_SERVER)).code).toBe('2.04');
      expect((await server.finish()).code).toBe('2.04');
      await expect(client.finished).resolves.toEqual({ code: '2.04' });
    } finally {
      await client.close();
      await server.close();
    }
  });
});
