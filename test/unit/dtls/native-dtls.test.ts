import v8 from 'node:v8';
import vm from 'node:vm';
import {
  loadNativeDtls,
  RECEIVE_CLOSED,
  RECEIVE_FAILED,
  RECEIVE_HANDSHAKE_DONE,
  RECEIVE_OK,
  type DtlsSession,
} from '../../../src/transport/dtls/native-binding';
import {
  CERT_SUITES,
  clientOptions,
  Endpoint,
  fixture,
  Link,
  native,
  PSK_IDENTITY,
  PSK_SUITES,
  serverOptions,
  sleep,
} from './harness';

const dtls = native();

const HANDSHAKE = 22; // DTLS record content type

/** The addon's errors come from node's realm, not jest's: compare names, not classes. */
function expectError(fn: () => unknown, name: string): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeDefined();
  expect((error as Error).name).toBe(name);
}

function established(suite: string, serverExtra = {}, clientExtra = {}): Link {
  const link = new Link(dtls, serverOptions(suite, serverExtra), clientOptions(suite, clientExtra));
  link.handshake();
  expect(link.client.done).toBe(true);
  expect(link.server.done).toBe(true);
  return link;
}

/** A ClientHello without cookie, as a fresh client sends it. */
function clientHello(): Buffer {
  const client = new Endpoint(dtls, 'client', clientOptions('PSK-AES128-CCM8'));
  client.session = dtls.connect(client.ctx, 9);
  const [hello] = client.take();
  dtls.free(client.session);
  return hello;
}

describe('loading', () => {
  it('loads the addon built by npm ci, over the OpenSSL inside node', () => {
    const loaded = loadNativeDtls();
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.opensslVersion).toMatch(/^OpenSSL 3\./);
    expect(loaded.opensslVersion).toBe(dtls.opensslVersion());
    expect(loaded.opensslVersion).toContain(process.versions.openssl.replace(/\+.*/, ''));
  });
});

describe.each([...PSK_SUITES, ...CERT_SUITES])('%s', (suite) => {
  it('handshakes and carries data both ways', () => {
    const link = established(suite);
    expect(link.hellos).toHaveLength(1); // one HelloVerifyRequest, then the session
    expect(dtls.write(link.client.session!, Buffer.from('ping'))).toBe(true);
    expect(dtls.write(link.server.session!, Buffer.from('pong'))).toBe(true);
    link.run();
    expect(link.server.received).toEqual(['ping']);
    expect(link.client.received).toEqual(['pong']);
    expect(dtls.timeoutMs(link.client.session!)).toBe(-1);
    expect(dtls.timeoutMs(link.server.session!)).toBe(-1);
    expect(dtls.lastError(link.server.session!)).toBe('');

    const server = dtls.peerInfo(link.server.session!);
    const client = dtls.peerInfo(link.client.session!);
    expect(server).toMatchObject({ cipher: suite, version: 'DTLSv1.2' });
    expect(client).toMatchObject({ cipher: suite, version: 'DTLSv1.2' });
    if (suite.startsWith('PSK')) {
      expect(server.pskIdentity).toBe(PSK_IDENTITY);
      expect(server.certSubjectCn).toBeUndefined();
    } else {
      expect(server.pskIdentity).toBeUndefined();
      expect(server.certSubjectCn).toBe('dev-cert-1');
      expect(server.certSanUris).toEqual(['urn:dev:dev-cert-1']);
      expect(client.certSubjectCn).toBe('localhost');
      expect(client.certSanUris).toBeUndefined(); // DNS and IP names only
    }
    dtls.free(link.client.session!);
    dtls.free(link.server.session!);
  });

  it('survives a lost flight through handleTimeout', async () => {
    const link = new Link(dtls, serverOptions(suite), clientOptions(suite));
    link.connect();
    link.toServer(); // ClientHello → HelloVerifyRequest
    link.toClient(); // → ClientHello with cookie
    link.toServer(); // → session; its first flight…
    expect(link.server.session).toBeDefined();
    link.toClient(() => false); // …is lost
    const wait = dtls.timeoutMs(link.client.session!);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1000);
    expect(dtls.handleTimeout(link.client.session!)).toBe(true); // not expired yet: nothing
    expect(link.client.outbox).toHaveLength(0);
    await sleep(wait + 5);
    expect(dtls.handleTimeout(link.client.session!)).toBe(true);
    expect(link.client.outbox.length).toBeGreaterThan(0); // the ClientHello again
    link.run();
    expect(link.client.done).toBe(true);
    expect(link.server.done).toBe(true);
  });
});

describe('retransmission of the final flight', () => {
  it('the server resends its last flight when the client retransmits', async () => {
    const link = new Link(dtls, serverOptions('PSK-AES128-CCM8'), clientOptions('PSK-AES128-CCM8'));
    link.connect();
    for (let i = 0; i < 2; i++) {
      link.toServer();
      link.toClient();
    }
    link.toServer(); // the client's final flight: the server is done…
    expect(link.server.done).toBe(true);
    link.toClient(() => false); // …but its ChangeCipherSpec + Finished are lost
    expect(link.client.done).toBe(false);
    const wait = dtls.timeoutMs(link.client.session!);
    expect(wait).toBeGreaterThan(0);
    await sleep(wait + 5);
    expect(dtls.handleTimeout(link.client.session!)).toBe(true);
    link.run();
    expect(link.client.done).toBe(true);
    expect(dtls.write(link.client.session!, Buffer.from('after loss'))).toBe(true);
    link.run();
    expect(link.server.received).toEqual(['after loss']);
  });
});

describe('listen (stateless cookie exchange)', () => {
  it('answers a ClientHello with a HelloVerifyRequest, then makes a session on the second', () => {
    const link = new Link(dtls, serverOptions('PSK-AES128-CCM8'), clientOptions('PSK-AES128-CCM8'));
    link.connect();
    const [hello] = link.client.take();
    const hvr = dtls.listen(link.server.ctx, hello, link.peer, 1);
    expect(Buffer.isBuffer(hvr)).toBe(true);
    expect((hvr as Buffer)[0]).toBe(HANDSHAKE);
    expect((hvr as Buffer)[13]).toBe(3); // hello_verify_request
    expect(link.server.sent).toHaveLength(0); // returned, not sent
    expect(dtls.receive(link.client.session!, hvr as Buffer)).toBe(RECEIVE_OK);
    const [hello2] = link.client.take();
    // The cookie is bound to the address: from elsewhere it is only answered with a new HVR.
    expect(Buffer.isBuffer(dtls.listen(link.server.ctx, hello2, '192.0.2.99:5684', 1))).toBe(true);
    const session = dtls.listen(link.server.ctx, hello2, link.peer, 1);
    expect(session).not.toBeNull();
    expect(Buffer.isBuffer(session)).toBe(false);
    expect(link.server.outbox.length).toBeGreaterThan(0); // ServerHello … ServerHelloDone
    expect(dtls.lastError(session as DtlsSession)).toBe('');
    dtls.free(session as DtlsSession);
  });

  it('drops garbage, truncated and non-ClientHello datagrams', () => {
    const server = new Endpoint(dtls, 'server', serverOptions('PSK-AES128-CCM8'));
    const hello = clientHello();
    const notHandshake = Buffer.from(hello);
    notHandshake[0] = 23;
    const epoch1 = Buffer.from(hello);
    epoch1[4] = 1;
    const fragment = Buffer.from(hello);
    fragment[13 + 8] = 1; // fragment_offset 1
    const serverHelloType = Buffer.from(hello);
    serverHelloType[13] = 2;
    const junk = [
      Buffer.alloc(0),
      Buffer.from([22]),
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.alloc(200, 0xff),
      hello.subarray(0, 12),
      hello.subarray(0, 30),
      hello.subarray(0, hello.length - 1),
      notHandshake,
      epoch1,
      fragment,
      serverHelloType,
    ];
    for (let i = 0; i < 200; i++) junk.push(Buffer.from(Array.from({ length: 1 + ((i * 37) % 300) }, (_, k) => (i * 131 + k * 17) & 0xff)));
    for (const d of junk) expect(dtls.listen(server.ctx, d, '198.51.100.1:4000', 1)).toBeNull();
    expect(server.sent).toHaveLength(0);
    expect(Buffer.isBuffer(dtls.listen(server.ctx, hello, '198.51.100.1:4000', 1))).toBe(true); // still works
  });

  it('answers 1000 spoofed ClientHellos statelessly, each with its own cookie', () => {
    const server = new Endpoint(dtls, 'server', serverOptions('PSK-AES128-CCM8'));
    const hello = clientHello();
    const cookies = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const r = dtls.listen(server.ctx, hello, `10.${i >> 8}.${i & 255}.7:${1024 + i}`, i);
      expect(Buffer.isBuffer(r)).toBe(true);
      cookies.add((r as Buffer).subarray(13 + 12 + 3).toString('hex'));
    }
    expect(cookies.size).toBe(1000);
    expect(server.sent).toHaveLength(0); // no session ran a handshake
  });

  it('rejects bad arguments', () => {
    const server = new Endpoint(dtls, 'server', serverOptions('PSK-AES128-CCM8'));
    const client = new Endpoint(dtls, 'client', clientOptions('PSK-AES128-CCM8'));
    expectError(() => dtls.listen(client.ctx, clientHello(), '1.2.3.4:5', 1), 'TypeError');
    expectError(() => dtls.listen(server.ctx, clientHello(), '', 1), 'TypeError');
    expectError(() => dtls.listen(server.ctx, clientHello(), 'x'.repeat(200), 1), 'TypeError');
    expectError(() => dtls.listen(server.ctx, 'hello' as never, '1.2.3.4:5', 1), 'TypeError');
    expectError(() => dtls.connect(server.ctx, 1), 'TypeError');
  });
});

describe('established sessions', () => {
  it.each([...PSK_SUITES, ...CERT_SUITES])('%s drops replays, garbage and forged records silently', (suite) => {
    const link = established(suite);
    const server = link.server.session!;
    expect(dtls.write(link.client.session!, Buffer.from('once'))).toBe(true);
    const [record] = link.client.take();
    const forged = Buffer.from(record);
    forged[forged.length - 3] ^= 0x40; // same epoch and sequence number, bad MAC
    expect(dtls.receive(server, forged)).toBe(RECEIVE_OK);
    expect(dtls.receive(server, record)).toBe(RECEIVE_OK);
    expect(dtls.receive(server, record)).toBe(RECEIVE_OK); // replay
    expect(dtls.receive(server, Buffer.from('garbage'))).toBe(RECEIVE_OK);
    expect(dtls.receive(server, Buffer.alloc(0))).toBe(RECEIVE_OK);
    expect(dtls.receive(server, clientHello())).toBe(RECEIVE_OK); // epoch 0 after the handshake
    const alert = Buffer.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 99, 0, 2, 2, 40]); // plaintext fatal alert
    expect(dtls.receive(server, alert)).toBe(RECEIVE_OK);
    expect(link.server.received).toEqual(['once']);
    expect(dtls.write(link.client.session!, Buffer.from('twice'))).toBe(true);
    link.run();
    expect(link.server.received).toEqual(['once', 'twice']);
  });

  it('delivers several records of one datagram, one data call each', () => {
    const link = established('PSK-AES128-GCM-SHA256');
    dtls.write(link.client.session!, Buffer.from('a'));
    dtls.write(link.client.session!, Buffer.from('bb'));
    expect(dtls.receive(link.server.session!, Buffer.concat(link.client.take()))).toBe(RECEIVE_OK);
    expect(link.server.received).toEqual(['a', 'bb']);
  });

  it('carries a 16 KiB datagram and refuses larger or empty ones', () => {
    const link = established('PSK-AES128-CCM8');
    const big = Buffer.alloc(16384, 'x');
    expect(dtls.write(link.client.session!, big)).toBe(true);
    link.run();
    expect(link.server.received[0]).toHaveLength(16384);
    expectError(() => dtls.write(link.client.session!, Buffer.alloc(16385)), 'RangeError');
    expectError(() => dtls.write(link.client.session!, Buffer.alloc(0)), 'RangeError');
    expect(dtls.write(link.client.session!, Buffer.from('still open'))).toBe(true);
  });

  it('close sends close_notify: RECEIVE_CLOSED on the other side', () => {
    const link = established('ECDHE-ECDSA-AES128-CCM8');
    const client = link.client.session!;
    const server = link.server.session!;
    dtls.close(client);
    const [notify] = link.client.take();
    expect(notify).toBeDefined();
    expect(dtls.receive(server, notify)).toBe(RECEIVE_CLOSED);
    expect(dtls.lastError(server)).toBe('received alert: close notify');
    expect(dtls.lastError(client)).toBe('sent alert: close notify');
    expect(dtls.write(server, Buffer.from('x'))).toBe(false);
    expect(dtls.receive(server, notify)).toBe(RECEIVE_CLOSED);
    expect(dtls.peerInfo(server).certSubjectCn).toBe('dev-cert-1'); // still readable until free
    dtls.close(server); // peer already closed: nothing more is sent
    expect(link.server.outbox).toHaveLength(0);
  });

  it('write before the handshake is done returns false', () => {
    const link = new Link(dtls, serverOptions('PSK-AES128-CCM8'), clientOptions('PSK-AES128-CCM8'));
    link.connect();
    expect(dtls.write(link.client.session!, Buffer.from('early'))).toBe(false);
    expect(() => dtls.peerInfo(link.client.session!)).toThrow(/established/);
  });

  it('fragments the handshake to the MTU', () => {
    const link = established('ECDHE-ECDSA-AES128-GCM-SHA256', { mtu: 300 }, { mtu: 300 });
    for (const d of [...link.server.sent, ...link.client.sent]) expect(d.length).toBeLessThanOrEqual(300 - 28);
    const big = established('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(Math.max(...big.server.sent.map((d) => d.length))).toBeGreaterThan(300);
  });
});

describe('handshake failures', () => {
  it('a wrong PSK key fails at the server with bad record mac, and the client hears it', () => {
    for (const suite of PSK_SUITES) {
      const link = new Link(dtls, serverOptions(suite), clientOptions(suite, { pskKey: Buffer.alloc(16, 0x55) }));
      link.handshake();
      expect(link.server.results).toContain(RECEIVE_FAILED);
      expect(dtls.lastError(link.server.session!)).toMatch(/^sent alert: bad record mac/);
      expect(link.client.results).toContain(RECEIVE_FAILED);
      expect(dtls.lastError(link.client.session!)).toMatch(/^received alert: bad record mac/);
      expect(link.server.done || link.client.done).toBe(false);
    }
  });

  it('an unknown PSK identity fails', () => {
    const link = new Link(dtls, serverOptions('PSK-AES128-CCM8'), clientOptions('PSK-AES128-CCM8', { pskIdentity: 'stranger' }));
    link.handshake();
    expect(link.server.results).toEqual([RECEIVE_FAILED]);
    expect(dtls.lastError(link.server.session!)).toMatch(/^sent alert: unknown PSK identity/);
    expect(dtls.lastError(link.client.session!)).toMatch(/^received alert: unknown PSK identity/);
    expect(dtls.receive(link.server.session!, Buffer.from('more'))).toBe(RECEIVE_FAILED);
    expect(dtls.handleTimeout(link.server.session!)).toBe(false);
    expect(dtls.timeoutMs(link.server.session!)).toBe(-1);
  });

  it('a psk callback returning a bad value refuses the identity', () => {
    for (const psk of [() => Buffer.alloc(0), () => Buffer.alloc(600), () => 'key' as never, () => undefined as never]) {
      const link = new Link(dtls, serverOptions('PSK-AES128-CCM8', { psk }), clientOptions('PSK-AES128-CCM8'));
      link.handshake();
      expect(link.server.results).toEqual([RECEIVE_FAILED]);
      expect(dtls.lastError(link.server.session!)).toMatch(/unknown PSK identity|psk callback returned/);
    }
  });

  it('a client certificate from another CA fails', () => {
    const link = new Link(
      dtls,
      serverOptions('ECDHE-ECDSA-AES128-CCM8'),
      clientOptions('ECDHE-ECDSA-AES128-CCM8', { cert: fixture('rogue.pem'), key: fixture('rogue.key.pem') }),
    );
    link.handshake();
    expect(link.server.results).toEqual([RECEIVE_FAILED]);
    expect(dtls.lastError(link.server.session!)).toMatch(/^sent alert: unknown CA \(certificate verify failed/);
    expect(dtls.lastError(link.client.session!)).toMatch(/^received alert: unknown CA/);
  });

  it('no client certificate fails when verifyPeer is set, passes when it is not', () => {
    const noCert = { cert: undefined, key: undefined };
    const link = new Link(dtls, serverOptions('ECDHE-ECDSA-AES128-CCM8'), clientOptions('ECDHE-ECDSA-AES128-CCM8', noCert));
    link.handshake();
    expect(link.server.results).toEqual([RECEIVE_FAILED]);
    expect(dtls.lastError(link.server.session!)).toMatch(/^sent alert: handshake failure \(peer did not return a certificate\)/);
    const lax = established('ECDHE-ECDSA-AES128-CCM8', { verifyPeer: false }, noCert);
    expect(dtls.peerInfo(lax.server.session!).certSubjectCn).toBeUndefined();
  });

  it('the client refuses a server certificate its CA did not sign', () => {
    const link = new Link(dtls, serverOptions('ECDHE-ECDSA-AES128-CCM8'), clientOptions('ECDHE-ECDSA-AES128-CCM8', { ca: fixture('rogue-ca.pem') }));
    link.handshake();
    expect(link.client.results).toContain(RECEIVE_FAILED);
    expect(dtls.lastError(link.client.session!)).toMatch(/^sent alert: unknown CA \(certificate verify failed/);
    expect(link.server.results).toEqual([RECEIVE_FAILED]);
  });

  it('no shared cipher: listen returns the session dead, with the reason', () => {
    const link = new Link(dtls, serverOptions('PSK-AES128-CCM8'), clientOptions('PSK-AES128-GCM-SHA256'));
    link.handshake();
    expect(link.server.session).toBeDefined();
    expect(dtls.lastError(link.server.session!)).toMatch(/handshake failure \(no shared cipher\)/);
    expect(dtls.receive(link.server.session!, Buffer.from('x'))).toBe(RECEIVE_FAILED);
    expect(link.client.results).toContain(RECEIVE_FAILED);
  });

  it('a server without psk callback offers no PSK suite', () => {
    const link = new Link(dtls, serverOptions('PSK-AES128-CCM8', { psk: undefined }), clientOptions('PSK-AES128-CCM8'));
    link.handshake();
    expect(dtls.lastError(link.server.session!)).toMatch(/no shared cipher/);
  });
});

describe('createContext', () => {
  const base = serverOptions('PSK-AES128-CCM8:ECDHE-ECDSA-AES128-CCM8');
  const make = (extra: object) => () => new Endpoint(dtls, 'server', { ...base, ...extra });

  it('throws OpenSSL reasons for bad PEM, cipher lists and key mismatches', () => {
    expect(make({ cert: Buffer.from('not a certificate') })).toThrow(/^cert: no start line/);
    expect(make({ key: Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n') })).toThrow(/^key: /);
    expect(make({ key: fixture('client.key.pem') })).toThrow(/^key: key values mismatch/);
    expect(make({ ciphers: 'NOT-A-CIPHER' })).toThrow(/^ciphers: no cipher match/);
    expect(make({ ca: Buffer.from('nothing') })).toThrow(/^ca: no certificate found/);
  });

  it('throws TypeErrors for bad options', () => {
    expectError(() => dtls.createContext({ ...base, mode: 'peer' as never, send: () => {}, data: () => {} }), 'TypeError');
    expectError(make({ cookieSecret: Buffer.alloc(8) }), 'TypeError');
    expectError(make({ mtu: 100 }), 'TypeError');
    expectError(make({ mtu: 1000.5 }), 'TypeError');
    expect(make({ cert: undefined })).toThrow(/go together/);
    expectError(make({ verifyPeer: 'yes' }), 'TypeError');
    expectError(make({ psk: 'key' }), 'TypeError');
    expect(() => dtls.createContext({ ...base, mode: 'server', send: undefined as never, data: () => {} })).toThrow(/send/);
    expect(() => new Endpoint(dtls, 'client', clientOptions('PSK-AES128-CCM8', { pskKey: undefined }))).toThrow(/go together/);
    expectError(() => dtls.createContext(null as never), 'TypeError');
  });

  it('accepts a CA bundle and a chain', () => {
    const bundle = Buffer.concat([fixture('ca.pem'), fixture('rogue-ca.pem')]);
    const chain = Buffer.concat([fixture('server.pem'), fixture('ca.pem')]);
    const link = established('ECDHE-ECDSA-AES128-CCM8', { ca: bundle, cert: chain }, { ca: bundle });
    expect(dtls.peerInfo(link.client.session!).certSubjectCn).toBe('localhost');
  });
});

describe('callbacks that throw, reentrancy, dead handles', () => {
  it('rethrows a send exception after the call; the session stays usable', () => {
    let fail = true;
    const throwing = dtls.createContext({
      mode: 'client',
      ...clientOptions('PSK-AES128-CCM8'),
      send: () => {
        if (fail) throw new Error('send boom');
      },
      data: () => {},
    });
    expect(() => dtls.connect(throwing, 1)).toThrow('send boom');
    fail = false;
    const session = dtls.connect(throwing, 2);
    expect(dtls.timeoutMs(session)).toBeGreaterThan(0);
  });

  it('rethrows a data exception after all records were processed', () => {
    const received: string[] = [];
    const out: Buffer[] = [];
    const ctx = dtls.createContext({
      mode: 'server',
      ...serverOptions('PSK-AES128-CCM8'),
      send: (_id, d) => out.push(d),
      data: (_id, p) => {
        received.push(p.toString());
        if (p.toString() === 'bad') throw new Error('data boom');
      },
    });
    const client = new Endpoint(dtls, 'client', clientOptions('PSK-AES128-CCM8'));
    client.session = dtls.connect(client.ctx, 1);
    let session: DtlsSession | undefined;
    for (let i = 0; i < 10; i++) {
      for (const d of client.take()) {
        if (session === undefined) {
          const r = dtls.listen(ctx, d, '1.2.3.4:5', 1);
          if (Buffer.isBuffer(r)) out.push(r);
          else if (r !== null) session = r;
        } else dtls.receive(session, d);
      }
      for (const d of out.splice(0)) dtls.receive(client.session, d);
    }
    dtls.write(client.session, Buffer.from('bad'));
    dtls.write(client.session, Buffer.from('good'));
    expect(() => dtls.receive(session!, Buffer.concat(client.take()))).toThrow('data boom');
    expect(received).toEqual(['bad', 'good']);
    dtls.write(client.session, Buffer.from('later'));
    expect(dtls.receive(session!, Buffer.concat(client.take()))).toBe(RECEIVE_OK);
    expect(received).toEqual(['bad', 'good', 'later']);
  });

  it('a psk exception refuses the identity and is rethrown', () => {
    const link = new Link(
      dtls,
      serverOptions('PSK-AES128-CCM8', {
        psk: () => {
          throw new Error('psk boom');
        },
      }),
      clientOptions('PSK-AES128-CCM8'),
    );
    link.connect();
    link.toServer();
    link.toClient();
    link.toServer();
    link.toClient();
    expect(() => link.toServer()).toThrow('psk boom');
    expect(dtls.lastError(link.server.session!)).toMatch(/^sent alert: unknown PSK identity/);
    expect(dtls.receive(link.server.session!, Buffer.from('x'))).toBe(RECEIVE_FAILED);
  });

  it('calling into a session from its own callback throws ERR_DTLS_REENTRANT', () => {
    const own: { session?: DtlsSession } = {};
    const inner: unknown[] = [];
    const ctx = dtls.createContext({
      mode: 'client',
      ...clientOptions('PSK-AES128-CCM8'),
      send: () => {
        if (own.session !== undefined) {
          try {
            dtls.free(own.session);
          } catch (err) {
            inner.push(err);
          }
        }
      },
      data: () => {},
    });
    const session = (own.session = dtls.connect(ctx, 1));
    const server = new Endpoint(dtls, 'server', serverOptions('PSK-AES128-CCM8'));
    const hvr = dtls.listen(server.ctx, clientHello(), '1.2.3.4:5', 1) as Buffer;
    expect(dtls.receive(session, hvr)).toBe(RECEIVE_OK); // sends the second ClientHello
    expect(inner).toHaveLength(1);
    expect((inner[0] as { code?: string }).code).toBe('ERR_DTLS_REENTRANT');
    expect(dtls.timeoutMs(session)).toBeGreaterThan(0); // not freed
  });

  it('free twice, use after close and after free: no crash', () => {
    const link = established('PSK-AES128-CCM8');
    const s = link.server.session!;
    const c = link.client.session!;
    dtls.free(s);
    dtls.free(s);
    dtls.close(s);
    expect(dtls.receive(s, Buffer.from('x'))).toBe(RECEIVE_FAILED);
    expect(dtls.write(s, Buffer.from('x'))).toBe(false);
    expect(dtls.timeoutMs(s)).toBe(-1);
    expect(dtls.handleTimeout(s)).toBe(false);
    expect(typeof dtls.lastError(s)).toBe('string');
    expect(() => dtls.peerInfo(s)).toThrow();
    dtls.close(c);
    dtls.close(c);
    dtls.free(c);
    expect(dtls.write(c, Buffer.from('x'))).toBe(false);
    expect(dtls.receive(c, Buffer.from('x'))).toBe(RECEIVE_FAILED);
  });

  it('refuses handles of the wrong kind', () => {
    const link = established('PSK-AES128-CCM8');
    expectError(() => dtls.receive(link.server.ctx as never, Buffer.from('x')), 'TypeError');
    expectError(() => dtls.receive({} as never, Buffer.from('x')), 'TypeError');
    expectError(() => dtls.free(undefined as never), 'TypeError');
    expectError(() => dtls.listen(link.server.session as never, Buffer.from('x'), '1.2.3.4:5', 1), 'TypeError');
    expectError(() => dtls.connect(link.client.session as never, 1), 'TypeError');
    expectError(() => dtls.receive(link.server.session!, 'x' as never), 'TypeError');
  });
});

describe('garbage collection', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;

  /** Collects garbage until `done()` or `rounds` rounds; FinalizationRegistry callbacks run in between. */
  async function collect(done: () => boolean, rounds = 20): Promise<void> {
    for (let i = 0; i < rounds && !done(); i++) {
      gc();
      await sleep(5);
    }
  }

  it('collects a context whose callbacks reach its own handle once no session holds it', async () => {
    const collected = new Set<string>();
    const registry = new FinalizationRegistry<string>((name) => collected.add(name));
    (() => {
      // The usual shape: a transport object holds the context, and the callbacks close over it.
      const transport: { ctx?: unknown; sessions: DtlsSession[] } = { sessions: [] };
      transport.ctx = dtls.createContext({
        mode: 'client',
        ...clientOptions('PSK-AES128-CCM8'),
        send: () => transport.sessions.length,
        data: () => transport.ctx,
      });
      const session = dtls.connect(transport.ctx as never, 1);
      transport.sessions.push(session);
      dtls.free(session); // a freed session no longer holds the context
      registry.register(transport.ctx as object, 'freed');
    })();
    await collect(() => collected.has('freed'));
    expect(collected.has('freed')).toBe(true);
  });

  it('keeps a context alive while one of its sessions holds an SSL', async () => {
    const collected = new Set<string>();
    const registry = new FinalizationRegistry<string>((name) => collected.add(name));
    const sent: Buffer[] = [];
    const session = (() => {
      const ctx = dtls.createContext({ mode: 'client', ...clientOptions('PSK-AES128-CCM8'), send: (_id, d) => sent.push(d), data: () => {} });
      registry.register(ctx as object, 'live');
      return dtls.connect(ctx, 1);
    })();
    await collect(() => collected.has('live'), 5);
    expect(collected.has('live')).toBe(false);
    // Its callbacks still work: a HelloVerifyRequest makes the client send its second ClientHello.
    const server = new Endpoint(dtls, 'server', serverOptions('PSK-AES128-CCM8'));
    const hvr = dtls.listen(server.ctx, sent[0], '1.2.3.4:5', 1) as Buffer;
    expect(dtls.receive(session, hvr)).toBe(RECEIVE_OK);
    expect(sent).toHaveLength(2);
    dtls.free(session);
    await collect(() => collected.has('live'));
    expect(collected.has('live')).toBe(true);
  });
});

describe('constants', () => {
  it('match the addon', () => {
    expect([RECEIVE_OK, RECEIVE_HANDSHAKE_DONE, RECEIVE_CLOSED, RECEIVE_FAILED]).toEqual([0, 1, 2, -1]);
  });
});
