import v8 from 'node:v8';
import vm from 'node:vm';
import {
  RECEIVE_CLOSED,
  RECEIVE_FAILED,
  RECEIVE_HANDSHAKE_DONE,
  RECEIVE_OK,
  type DtlsPeerInfo,
  type DtlsSession,
} from '../../../src/transport/dtls/native-binding';
import {
  CERT_SUITES,
  clientOptions,
  diagnostics,
  Endpoint,
  Link,
  native,
  PSK_SUITES,
  recordsOf,
  serverOptions,
  sleep,
  type RecordHeader,
} from './harness';

// Server sessions free their SSL once the client's first application data has been read
// ("compaction", native/dtls.c) and go on with the addon's own record layer (dtls_record.c).
// The clients here are uncompacted OpenSSL sessions, so every exchange checks the compact
// layer against OpenSSL's: keys, nonces, MACs, padding, sequence numbers, replay window.

const dtls = native();
const diag = diagnostics(dtls);
const SUITES = [...PSK_SUITES, ...CERT_SUITES];
const APPLICATION_DATA = 23;
const ALERT = 21;
const HANDSHAKE = 22;

function expectError(fn: () => unknown, name: string): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect((error as Error | undefined)?.name).toBe(name);
}

/** A printable payload of `size` bytes that starts with its index. */
function payload(i: number, size: number): string {
  const head = `${i}:`;
  return (head + 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(size / 26))).slice(0, Math.max(size, head.length));
}

function explicitNonce(record: RecordHeader): bigint {
  return record.bytes.readBigUInt64BE(13);
}

function epoch1Seqs(datagrams: Buffer[]): number[] {
  return datagrams.flatMap((d) => recordsOf(d).filter((r) => r.epoch === 1).map((r) => r.seq));
}

interface Compacted {
  link: Link;
  client: DtlsSession;
  server: DtlsSession;
  infoBefore: DtlsPeerInfo;
  /** The client's last handshake flight (holds its Finished). */
  finalFlight: Buffer[];
}

/** A handshake, then the client's first record, which makes the server compact its session. */
function compacted(suite: string): Compacted {
  const link = new Link(dtls, serverOptions(suite), clientOptions(suite));
  link.connect();
  let finalFlight: Buffer[] = [];
  for (let round = 0; round < 20 && !link.server.done; round++) {
    finalFlight = [...link.client.outbox];
    link.toServer();
    link.toClient();
  }
  link.run();
  expect(link.client.done && link.server.done).toBe(true);
  const server = link.server.session!;
  const client = link.client.session!;
  expect(diag.sessionStats(server)).toMatchObject({ ssl: true, compacted: false });
  expect(diag.sessionStats(client)).toMatchObject({ ssl: true, compacted: false });
  const infoBefore = dtls.peerInfo(server);
  expect(dtls.write(client, Buffer.from('hello'))).toBe(true);
  link.run();
  expect(link.server.received).toEqual(['hello']);
  expect(diag.sessionStats(server)).toMatchObject({ ssl: false, compacted: true });
  expect(diag.sessionStats(client)).toMatchObject({ ssl: true, compacted: false }); // clients never compact
  return { link, client, server, infoBefore, finalFlight };
}

describe.each(SUITES)('compacted %s server', (suite) => {
  it('frees the SSL on the first application data, keeping peerInfo and the sequence numbers', () => {
    const { link, server, infoBefore } = compacted(suite);
    const stats = diag.sessionStats(server);
    expect(stats.bytes).toBeGreaterThan(0);
    expect(stats.bytes).toBeLessThan(1024);
    // It writes on after the last epoch-1 record OpenSSL wrote (its Finished), without a gap.
    const written = epoch1Seqs(link.server.sent);
    expect(stats.writeSeq).toBe(Math.max(...written) + 1);
    expect(dtls.peerInfo(server)).toEqual(infoBefore);
    expect(infoBefore).toMatchObject({ cipher: suite, version: 'DTLSv1.2' });
    expect(dtls.timeoutMs(server)).toBe(-1);
    expect(dtls.handleTimeout(server)).toBe(true);
    expect(dtls.lastError(server)).toBe('');
    const lastOpenSsl = link.server.sent.flatMap(recordsOf).filter((r) => r.epoch === 1).at(-1)!;
    expect(dtls.write(server, Buffer.from('x'))).toBe(true);
    const [record] = recordsOf(link.server.outbox[0]);
    expect(record).toMatchObject({ type: APPLICATION_DATA, version: 0xfefd, epoch: 1, seq: stats.writeSeq });
    expect(diag.sessionStats(server).writeSeq).toBe(stats.writeSeq! + 1);
    // AEAD explicit nonces go on from OpenSSL's: epoch || seq for CCM, OpenSSL's counter for GCM.
    if (suite.includes('CCM8')) expect(explicitNonce(record)).toBe(record.bytes.readBigUInt64BE(3));
    if (suite.includes('GCM')) expect(explicitNonce(record)).toBe(BigInt.asUintN(64, explicitNonce(lastOpenSsl) + 1n));
  });

  it('carries 200 records each way, of 1..1200 bytes, and 16 KiB ones', () => {
    const { link, client, server } = compacted(suite);
    const up: string[] = [];
    const down: string[] = [];
    for (let i = 0; i < 200; i++) {
      up.push(payload(i, 1 + ((i * 37) % 1200)));
      down.push(payload(i, 1 + ((i * 53) % 1200)));
      expect(dtls.write(client, Buffer.from(up[i]))).toBe(true);
      expect(dtls.write(server, Buffer.from(down[i]))).toBe(true);
      if (i % 7 === 0) link.run();
    }
    link.run();
    expect(link.server.received).toEqual(['hello', ...up]);
    expect(link.client.received).toEqual(down);
    expect([...link.server.results, ...link.client.results]).not.toContain(RECEIVE_FAILED);
    const big = 'y'.repeat(16384);
    expect(dtls.write(server, Buffer.from(big))).toBe(true);
    expect(dtls.write(client, Buffer.from(big))).toBe(true);
    link.run();
    expect(link.client.received[200]).toBe(big);
    expect(link.server.received[201]).toBe(big);
    // Same record sizes as OpenSSL's for the same plaintext size (minimal CBC padding too).
    for (const n of [1, 15, 16, 17, 31, 32, 33, 100, 1200]) {
      dtls.write(server, Buffer.alloc(n, 'a'));
      dtls.write(client, Buffer.alloc(n, 'a'));
      const [ours] = recordsOf(link.server.take()[0]);
      const [theirs] = recordsOf(link.client.take()[0]);
      expect(ours.length).toBe(theirs.length);
    }
  });

  it('refuses empty and oversized writes as before', () => {
    const { link, server } = compacted(suite);
    expectError(() => dtls.write(server, Buffer.alloc(16385)), 'RangeError');
    expectError(() => dtls.write(server, Buffer.alloc(0)), 'RangeError');
    expectError(() => dtls.write(server, 'text' as never), 'TypeError');
    expect(dtls.write(server, Buffer.from('still open'))).toBe(true);
    link.run();
    expect(link.client.received).toEqual(['still open']);
  });

  it('delivers the records of one datagram in order, and drops a trailing partial record', () => {
    const { link, client, server } = compacted(suite);
    for (const p of ['a', 'bb', 'ccc', 'dddd', 'eeeee']) dtls.write(client, Buffer.from(p));
    const datagram = Buffer.concat([...link.client.take(), Buffer.from([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 99, 0, 50, 1, 2])]);
    expect(dtls.receive(server, datagram)).toBe(RECEIVE_OK);
    expect(link.server.received).toEqual(['hello', 'a', 'bb', 'ccc', 'dddd', 'eeeee']);
  });

  it('drops replays and records with a flipped bit, before and after the genuine one', () => {
    const { link, client, server } = compacted(suite);
    const readMax = diag.sessionStats(server).readMax!;
    dtls.write(client, Buffer.from('genuine'));
    const [datagram] = link.client.take();
    const [record] = recordsOf(datagram);
    expect(record.seq).toBe(readMax + 1);
    // Every byte position of the record (header, explicit nonce/IV, ciphertext, tag/MAC/padding).
    for (let pos = 0; pos < datagram.length; pos++) {
      for (const bit of [0x01, 0x80]) {
        const forged = Buffer.from(datagram);
        forged[pos] ^= bit;
        expect(dtls.receive(server, forged)).toBe(RECEIVE_OK);
      }
    }
    expect(link.server.received).toEqual(['hello']);
    expect(diag.sessionStats(server).readMax).toBe(readMax); // no forged sequence number got in
    expect(link.server.sent.length).toBeGreaterThan(0);
    expect(link.server.outbox).toHaveLength(0); // nothing answered
    expect(dtls.receive(server, datagram)).toBe(RECEIVE_OK);
    expect(dtls.receive(server, datagram)).toBe(RECEIVE_OK);
    expect(link.server.received).toEqual(['hello', 'genuine']);
    // The record that made the server compact, replayed now: dropped by the compact layer.
    expect(dtls.receive(server, link.client.sent.find((d) => recordsOf(d)[0]?.type === APPLICATION_DATA)!)).toBe(RECEIVE_OK);
    expect(link.server.received).toEqual(['hello', 'genuine']);
  });

  it('accepts reordered records once, within the 64-record window', () => {
    const { link, client, server } = compacted(suite);
    const sent: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      dtls.write(client, Buffer.from(`r${i}`));
      sent.push(...link.client.take());
    }
    const order = [3, 0, 19, 7, 1, 2, 18, 4, 6, 5, 17, 8, 16, 9, 15, 10, 14, 11, 13, 12];
    for (const i of order) expect(dtls.receive(server, sent[i])).toBe(RECEIVE_OK);
    for (const i of order) expect(dtls.receive(server, sent[i])).toBe(RECEIVE_OK); // replays
    expect(link.server.received).toEqual(['hello', ...order.map((i) => `r${i}`)]);

    // 70 more: the newest first; then the others, of which those 64 or more behind it are too old.
    const later: Buffer[] = [];
    for (let i = 0; i < 70; i++) {
      dtls.write(client, Buffer.from(`s${i}`));
      later.push(...link.client.take());
    }
    const seqs = later.map((d) => recordsOf(d)[0].seq);
    expect(seqs[69] - seqs[0]).toBe(69);
    link.server.received = [];
    dtls.receive(server, later[69]);
    for (let i = 0; i < 69; i++) dtls.receive(server, later[i]);
    expect(link.server.received).toEqual(['s69', ...later.slice(6, 69).map((_, k) => `s${k + 6}`)]);
    expect(diag.sessionStats(server).readWindow).toBe('ffffffffffffffff');
  });

  it('its records reach an OpenSSL client reordered, each exactly once', () => {
    const { link, server } = compacted(suite);
    const sent: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      dtls.write(server, Buffer.from(`d${i}`));
      sent.push(...link.server.take());
    }
    const seqs = sent.map((d) => recordsOf(d)[0].seq);
    expect(new Set(seqs).size).toBe(30);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const client = link.client.session!;
    for (const d of [...sent].reverse()) expect(dtls.receive(client, d)).toBe(RECEIVE_OK);
    for (const d of sent) expect(dtls.receive(client, d)).toBe(RECEIVE_OK);
    expect(link.client.received).toEqual(sent.map((_, i) => `d${29 - i}`));
  });

  it('drops handshake, ChangeCipherSpec, epoch-0 and other-version records silently', () => {
    const { link, client, server, finalFlight } = compacted(suite);
    expect(finalFlight.length).toBeGreaterThan(0);
    for (const d of finalFlight) expect(dtls.receive(server, d)).toBe(RECEIVE_OK); // OpenSSL would resend its flight
    expect(link.server.outbox).toHaveLength(0);
    dtls.write(client, Buffer.from('typed'));
    const [d] = link.client.take();
    for (const [pos, value] of [[0, HANDSHAKE], [0, 20], [0, 24], [4, 0], [4, 2], [2, 0xff], [1, 0x03]] as const) {
      const altered = Buffer.from(d);
      altered[pos] = value;
      expect(dtls.receive(server, altered)).toBe(RECEIVE_OK);
    }
    expect(dtls.receive(server, Buffer.from('garbage'))).toBe(RECEIVE_OK);
    expect(dtls.receive(server, Buffer.alloc(0))).toBe(RECEIVE_OK);
    expect(dtls.receive(server, Buffer.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 99, 0, 2, 2, 40]))).toBe(RECEIVE_OK);
    expect(link.server.received).toEqual(['hello']);
    expect(link.server.outbox).toHaveLength(0);
    expect(dtls.receive(server, d)).toBe(RECEIVE_OK);
    expect(link.server.received).toEqual(['hello', 'typed']);
  });

  it('server close: close_notify reaches the client', () => {
    const { link, client, server } = compacted(suite);
    dtls.close(server);
    expect(dtls.lastError(server)).toBe('sent alert: close notify');
    const [notify] = link.server.take();
    expect(recordsOf(notify)).toMatchObject([{ type: ALERT, epoch: 1 }]);
    expect(dtls.receive(client, notify)).toBe(RECEIVE_CLOSED);
    expect(dtls.lastError(client)).toBe('received alert: close notify');
    expect(dtls.write(server, Buffer.from('x'))).toBe(false);
    expect(dtls.receive(server, Buffer.from('x'))).toBe(RECEIVE_FAILED); // freed
    expect(() => dtls.peerInfo(server)).toThrow();
    dtls.free(server);
  });

  it('client close: RECEIVE_CLOSED, peerInfo still readable until free', () => {
    const { link, client, server, infoBefore } = compacted(suite);
    dtls.write(client, Buffer.from('last words'));
    dtls.close(client);
    expect(dtls.receive(server, Buffer.concat(link.client.take()))).toBe(RECEIVE_CLOSED);
    expect(link.server.received).toEqual(['hello', 'last words']);
    expect(dtls.lastError(server)).toBe('received alert: close notify');
    expect(dtls.receive(server, Buffer.from('x'))).toBe(RECEIVE_CLOSED);
    expect(dtls.write(server, Buffer.from('x'))).toBe(false);
    expect(dtls.peerInfo(server)).toEqual(infoBefore);
    dtls.close(server); // peer already closed: nothing more is sent
    expect(link.server.outbox).toHaveLength(0);
    expect(() => dtls.peerInfo(server)).toThrow();
  });

  it('fatal alerts both ways', () => {
    // The client fails on a record type it does not know and says so with a fatal alert.
    const one = compacted(suite);
    expect(diag.testSendRecord(one.server, 24, Buffer.from('what is this'))).toBe(true);
    one.link.toClient();
    expect(one.link.client.results).toContain(RECEIVE_FAILED);
    const [alert] = one.link.client.take();
    expect(recordsOf(alert)).toMatchObject([{ type: ALERT, epoch: 1 }]);
    expect(dtls.receive(one.server, alert)).toBe(RECEIVE_FAILED);
    expect(dtls.lastError(one.server)).toMatch(/^received alert: unexpected_message \(sslv3 alert unexpected message\)$/);
    expect(dtls.write(one.server, Buffer.from('x'))).toBe(false);
    expect(dtls.receive(one.server, alert)).toBe(RECEIVE_FAILED);

    // Our own fatal alert, encrypted: the client fails with it.
    const two = compacted(suite);
    expect(diag.testSendRecord(two.server, ALERT, Buffer.from([2, 40]))).toBe(true);
    two.link.toClient();
    expect(two.link.client.results.at(-1)).toBe(RECEIVE_FAILED);
    expect(dtls.lastError(two.client)).toMatch(/^received alert: handshake failure/);

    // A warning alert other than close_notify is ignored.
    const three = compacted(suite);
    expect(diag.testSendRecord(three.server, HANDSHAKE, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(true); // HelloRequest
    three.link.toClient(); // the client refuses to renegotiate with a warning alert
    expect(three.link.client.outbox.length).toBeGreaterThan(0);
    three.link.toServer();
    expect(three.link.server.results).not.toContain(RECEIVE_FAILED);
    dtls.write(three.client, Buffer.from('still here'));
    three.link.run();
    expect(three.link.server.received).toEqual(['hello', 'still here']);
  });
});

describe('sequence numbers across compaction', () => {
  it('continues after records OpenSSL wrote before compacting, and after a resent final flight', async () => {
    const suite = 'PSK-AES128-GCM-SHA256';
    const link = new Link(dtls, serverOptions(suite), clientOptions(suite));
    link.connect();
    for (let i = 0; i < 2; i++) {
      link.toServer();
      link.toClient();
    }
    link.toServer(); // the client's final flight: the server is done…
    expect(link.server.done).toBe(true);
    link.toClient(() => false); // …but its ChangeCipherSpec + Finished are lost
    await sleep(dtls.timeoutMs(link.client.session!) + 5);
    expect(dtls.handleTimeout(link.client.session!)).toBe(true); // the client resends its flight
    link.run(); // the server resends its own (new sequence numbers)
    expect(link.client.done).toBe(true);
    const server = link.server.session!;
    const client = link.client.session!;
    for (const p of ['early 1', 'early 2', 'early 3']) expect(dtls.write(server, Buffer.from(p))).toBe(true); // OpenSSL writes these
    link.run();
    expect(diag.sessionStats(server).compacted).toBe(false);
    const before = epoch1Seqs(link.server.sent);
    expect(new Set(before).size).toBe(before.length);
    expect(Math.max(...before)).toBeGreaterThanOrEqual(4); // two Finished, three records
    dtls.write(client, Buffer.from('go'));
    link.run();
    expect(diag.sessionStats(server)).toMatchObject({ compacted: true, writeSeq: Math.max(...before) + 1 });
    for (let i = 0; i < 5; i++) dtls.write(server, Buffer.from(`late ${i}`));
    link.run();
    expect(link.client.received).toEqual(['early 1', 'early 2', 'early 3', 'late 0', 'late 1', 'late 2', 'late 3', 'late 4']);
    const all = link.server.sent.flatMap(recordsOf).filter((r) => r.epoch === 1);
    expect(new Set(all.map((r) => r.seq)).size).toBe(all.length); // no sequence number used twice
    expect(new Set(all.map(explicitNonce)).size).toBe(all.length); // nor GCM nonce
    const nonces = all.map(explicitNonce);
    for (let i = 1; i < nonces.length; i++) expect(nonces[i]).toBe(BigInt.asUintN(64, nonces[i - 1] + 1n)); // one counter
  });

  it('the shadow window ignores forged records before compaction, and keeps the accepted ones', () => {
    const suite = 'PSK-AES128-CCM8';
    const link = new Link(dtls, serverOptions(suite), clientOptions(suite));
    link.handshake();
    const server = link.server.session!;
    const client = link.client.session!;
    const forged = (seq: number) => {
      const d = Buffer.alloc(13 + 40, 0x5a);
      d.set([23, 0xfe, 0xfd, 0, 1]);
      d.writeUIntBE(seq, 5, 6);
      d.writeUInt16BE(40, 11);
      return d;
    };
    for (const seq of [0xffffffffffff, 1000, 5]) expect(dtls.receive(server, forged(seq))).toBe(RECEIVE_OK);
    expect(diag.sessionStats(server)).toMatchObject({ ssl: true, compacted: false, readMax: 0, readWindow: '0000000000000000' });
    // The first data datagram holds two records: both pass OpenSSL and enter the shadow window.
    dtls.write(client, Buffer.from('one'));
    dtls.write(client, Buffer.from('two'));
    const first = Buffer.concat(link.client.take());
    const [r1, r2] = recordsOf(first);
    expect(dtls.receive(server, first)).toBe(RECEIVE_OK);
    expect(link.server.received).toEqual(['one', 'two']);
    expect(diag.sessionStats(server)).toMatchObject({ compacted: true, readMax: r2.seq });
    expect(r2.seq).toBe(r1.seq + 1);
    for (const r of [r1, r2]) expect(dtls.receive(server, Buffer.from(r.bytes))).toBe(RECEIVE_OK); // replays
    expect(link.server.received).toEqual(['one', 'two']);
    dtls.write(client, Buffer.from('three'));
    link.run();
    expect(link.server.received).toEqual(['one', 'two', 'three']);
  });

  it('a final flight that carries epoch-1 records beside the Finished: only authentic ones count', () => {
    const suite = 'PSK-AES128-GCM-SHA256';
    const link = new Link(dtls, serverOptions(suite), clientOptions(suite));
    link.connect();
    const forged = Buffer.alloc(13 + 40, 0x5a);
    forged.set([23, 0xfe, 0xfd, 0, 1]);
    forged.writeUIntBE(9, 5, 6);
    forged.writeUInt16BE(40, 11);
    for (let round = 0; round < 20 && !link.server.done; round++) {
      // Every datagram to the server gets a forged epoch-1 application record appended.
      link.client.outbox = link.client.outbox.map((d) => Buffer.concat([d, forged]));
      link.toServer();
      link.toClient();
    }
    link.run();
    expect(link.server.done && link.client.done).toBe(true);
    expect(diag.sessionStats(link.server.session!)).toMatchObject({ ssl: true, readMax: 0, readWindow: '0000000000000000' });
    dtls.write(link.client.session!, Buffer.from('data'));
    link.run();
    expect(link.server.received).toEqual(['data']);
    expect(diag.sessionStats(link.server.session!)).toMatchObject({ compacted: true, readMax: 1 });
  });
});

describe('other suites and callbacks', () => {
  it('a suite the compact layer does not know stays with OpenSSL', () => {
    const suite = 'PSK-AES256-GCM-SHA384';
    const link = new Link(dtls, serverOptions(suite), clientOptions(suite));
    link.handshake();
    expect(link.server.results).toContain(RECEIVE_HANDSHAKE_DONE);
    for (let i = 0; i < 3; i++) {
      dtls.write(link.client.session!, Buffer.from(`up ${i}`));
      dtls.write(link.server.session!, Buffer.from(`down ${i}`));
      link.run();
    }
    expect(link.server.received).toEqual(['up 0', 'up 1', 'up 2']);
    expect(link.client.received).toEqual(['down 0', 'down 1', 'down 2']);
    expect(diag.sessionStats(link.server.session!)).toMatchObject({ ssl: true, compacted: false });
  });

  it('rethrows a data exception after the datagram, and a reentrant call throws', () => {
    const received: string[] = [];
    const out: Buffer[] = [];
    const own: { session?: DtlsSession; freeFromSend?: boolean } = {};
    const inner: unknown[] = [];
    const ctx = dtls.createContext({
      mode: 'server',
      ...serverOptions('PSK-AES128-CCM8'),
      send: (_id, d) => {
        out.push(d);
        if (own.session !== undefined && own.freeFromSend) {
          try {
            dtls.free(own.session);
          } catch (err) {
            inner.push(err);
          }
        }
      },
      data: (_id, p) => {
        received.push(p.toString());
        if (p.toString() === 'bad') throw new Error('data boom');
      },
    });
    const client = new Endpoint(dtls, 'client', clientOptions('PSK-AES128-CCM8'));
    client.session = dtls.connect(client.ctx, 1);
    for (let i = 0; i < 10; i++) {
      for (const d of client.take()) {
        if (own.session === undefined) {
          const r = dtls.listen(ctx, d, '1.2.3.4:5', 1);
          if (Buffer.isBuffer(r)) out.push(r);
          else if (r !== null) own.session = r;
        } else dtls.receive(own.session, d);
      }
      for (const d of out.splice(0)) dtls.receive(client.session, d);
    }
    const session = own.session!;
    dtls.write(client.session, Buffer.from('first'));
    dtls.receive(session, Buffer.concat(client.take()));
    expect(diag.sessionStats(session).compacted).toBe(true);
    dtls.write(client.session, Buffer.from('bad'));
    dtls.write(client.session, Buffer.from('good'));
    expect(() => dtls.receive(session, Buffer.concat(client.take()))).toThrow('data boom');
    expect(received).toEqual(['first', 'bad', 'good']);
    own.freeFromSend = true;
    expect(dtls.write(session, Buffer.from('reply'))).toBe(true); // its send callback tries free()
    expect((inner[0] as { code?: string }).code).toBe('ERR_DTLS_REENTRANT');
    expect(diag.sessionStats(session).compacted).toBe(true); // not freed
    for (const d of out.splice(0)) dtls.receive(client.session, d);
    expect(client.received).toEqual(['reply']);
  });

  it('a compacted session keeps its context alive; freeing it lets the context go', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const collected = new Set<string>();
    const registry = new FinalizationRegistry<string>((name) => collected.add(name));
    const toClient: Buffer[] = [];
    const client = new Endpoint(dtls, 'client', clientOptions('PSK-AES128-GCM-SHA256'));
    const session = (() => {
      const ctx = dtls.createContext({
        mode: 'server',
        ...serverOptions('PSK-AES128-GCM-SHA256'),
        send: (_id, d) => toClient.push(d),
        data: () => {},
      });
      registry.register(ctx as object, 'ctx');
      client.session = dtls.connect(client.ctx, 1);
      let s: DtlsSession | undefined;
      for (let i = 0; i < 10; i++) {
        for (const d of client.take()) {
          if (s === undefined) {
            const r = dtls.listen(ctx, d, '1.2.3.4:5', 1);
            if (Buffer.isBuffer(r)) toClient.push(r);
            else if (r !== null) s = r;
          } else dtls.receive(s, d);
        }
        for (const d of toClient.splice(0)) dtls.receive(client.session, d);
      }
      dtls.write(client.session, Buffer.from('compact'));
      dtls.receive(s!, Buffer.concat(client.take()));
      return s!;
    })();
    expect(diag.sessionStats(session).compacted).toBe(true);
    for (let i = 0; i < 5; i++) {
      gc();
      await sleep(5);
    }
    expect(collected.has('ctx')).toBe(false);
    expect(dtls.write(session, Buffer.from('alive'))).toBe(true); // its send callback still works
    for (const d of toClient.splice(0)) dtls.receive(client.session!, d);
    expect(client.received).toEqual(['alive']);
    dtls.free(session);
    for (let i = 0; i < 20 && !collected.has('ctx'); i++) {
      gc();
      await sleep(5);
    }
    expect(collected.has('ctx')).toBe(true);
  });
});
