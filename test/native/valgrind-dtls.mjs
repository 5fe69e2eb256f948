/* global process, Buffer, console, setTimeout, setImmediate, global */
// Exercises the DTLS addon in-process for scripts/valgrind-dtls.sh (valgrind memcheck): every
// suite, certificates, data both ways, alerts, garbage, loss and retransmission, close, free,
// use after free, callbacks that throw, 1000 spoofed ClientHellos, and handles dropped to the GC;
// compacted server sessions (native/dtls_record.c) in every suite: many records both ways, big
// datagrams, reordering, replays, forgeries, alerts both ways, close both ways, finalizers.
// Plain node (no jest, no ts-node) so valgrind sees only node and the addon.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mod = { exports: {} };
process.dlopen(mod, path.join(root, 'native/build/Release/lwm2m_dtls.node'));
const dtls = mod.exports;
const fixture = (name) => fs.readFileSync(path.join(root, 'test/fixtures/dtls', name));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const OK = 0, DONE = 1, CLOSED = 2, FAILED = -1;

const PSK_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const SUITES = ['PSK-AES128-CCM8', 'PSK-AES128-GCM-SHA256', 'PSK-AES128-CBC-SHA256', 'ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-AES128-GCM-SHA256'];

function serverOptions(ciphers, extra = {}) {
  return {
    ciphers, cert: fixture('server.pem'), key: fixture('server.key.pem'), ca: fixture('ca.pem'), verifyPeer: true,
    cookieSecret: Buffer.alloc(32, 7), psk: (_id, identity) => (identity === 'dev-psk-1' ? PSK_KEY : null), ...extra,
  };
}
function clientOptions(ciphers, extra = {}) {
  return {
    ciphers, cert: fixture('client.pem'), key: fixture('client.key.pem'), ca: fixture('ca.pem'), verifyPeer: true,
    pskIdentity: 'dev-psk-1', pskKey: PSK_KEY, ...extra,
  };
}

/** A client and a server context passing datagrams in memory. */
function link(suite, serverExtra = {}, clientExtra = {}) {
  const l = { toServer: [], toClient: [], serverData: [], clientData: [], serverResults: [], clientResults: [] };
  l.sctx = dtls.createContext({ mode: 'server', ...serverOptions(suite, serverExtra), send: (_id, d) => l.toClient.push(d), data: (_id, p) => l.serverData.push(p.toString()) });
  l.cctx = dtls.createContext({ mode: 'client', ...clientOptions(suite, clientExtra), send: (_id, d) => l.toServer.push(d), data: (_id, p) => l.clientData.push(p.toString()) });
  l.connect = () => { l.client = dtls.connect(l.cctx, 2); };
  l.pump = (dropToClient = false) => {
    for (const d of l.toServer.splice(0)) {
      if (!l.server) {
        const r = dtls.listen(l.sctx, d, '192.0.2.1:5684', 1);
        if (Buffer.isBuffer(r)) l.toClient.push(r);
        else if (r) l.server = r;
      } else l.serverResults.push(dtls.receive(l.server, d));
    }
    const out = l.toClient.splice(0);
    if (!dropToClient) for (const d of out) l.clientResults.push(dtls.receive(l.client, d));
  };
  l.run = () => { for (let i = 0; i < 20 && (l.toServer.length || l.toClient.length); i++) l.pump(); };
  l.handshake = () => { l.connect(); l.run(); return l; };
  return l;
}

function exchange(l) {
  assert.ok(l.serverResults.includes(DONE) && l.clientResults.includes(DONE), 'handshake');
  assert.equal(dtls.write(l.client, Buffer.from('ping')), true);
  assert.equal(dtls.write(l.server, Buffer.from('pong')), true);
  l.run();
  assert.deepEqual(l.serverData, ['ping']);
  assert.deepEqual(l.clientData, ['pong']);
  dtls.peerInfo(l.server);
  dtls.peerInfo(l.client);
}

async function exercise() {

  // Every suite: handshake, data both ways, replay, garbage, forged record, close_notify, free.
  for (const suite of SUITES) {
    const l = link(suite).handshake();
    exchange(l);
    dtls.write(l.client, Buffer.from('once'));
    const [record] = l.toServer.splice(0);
    const forged = Buffer.from(record);
    forged[forged.length - 2] ^= 1;
    assert.equal(dtls.receive(l.server, forged), OK);
    assert.equal(dtls.receive(l.server, record), OK);
    assert.equal(dtls.receive(l.server, record), OK);
    assert.equal(dtls.receive(l.server, Buffer.from('garbage')), OK);
    assert.deepEqual(l.serverData, ['ping', 'once']);
    dtls.close(l.client);
    assert.equal(dtls.receive(l.server, l.toServer.splice(0)[0]), CLOSED);
    dtls.close(l.server);
    dtls.free(l.server);
    dtls.free(l.client);
  }

  // Failures with alerts.
  const failures = [
    ['PSK-AES128-CCM8', {}, { pskKey: Buffer.alloc(16, 1) }],
    ['PSK-AES128-CBC-SHA256', {}, { pskKey: Buffer.alloc(16, 1) }],
    ['PSK-AES128-CCM8', {}, { pskIdentity: 'stranger' }],
    ['PSK-AES128-CCM8', { psk: () => { throw new Error('psk boom'); } }, {}],
    ['PSK-AES128-CCM8', { psk: () => Buffer.alloc(1000) }, {}],
    ['ECDHE-ECDSA-AES128-CCM8', {}, { cert: fixture('rogue.pem'), key: fixture('rogue.key.pem') }],
    ['ECDHE-ECDSA-AES128-CCM8', {}, { cert: undefined, key: undefined }],
    ['ECDHE-ECDSA-AES128-CCM8', {}, { ca: fixture('rogue-ca.pem') }],
    ['PSK-AES128-CCM8', {}, { ciphers: 'PSK-AES128-GCM-SHA256' }],
  ];
  for (const [suite, s, c] of failures) {
    const l = link(suite, s, c);
    try { l.handshake(); } catch (err) { assert.match(err.message, /boom/); }
    assert.ok(l.server && dtls.lastError(l.server) !== '', `${suite} fails at the server`);
    dtls.free(l.server);
    dtls.free(l.client);
  }

  // Bad contexts.
  for (const extra of [{ cert: Buffer.from('x') }, { key: fixture('client.key.pem') }, { ciphers: 'NOPE' }, { ca: Buffer.from('x') }, { mtu: 10 }]) {
    assert.throws(() => dtls.createContext({ mode: 'server', ...serverOptions('PSK-AES128-CCM8'), ...extra, send() {}, data() {} }));
  }

  // 1000 spoofed ClientHellos and garbage through listen.
  const spoof = link('PSK-AES128-CCM8');
  spoof.connect();
  const [hello] = spoof.toServer.splice(0);
  for (let i = 0; i < 1000; i++) assert.ok(Buffer.isBuffer(dtls.listen(spoof.sctx, hello, `10.0.${i >> 8}.${i & 255}:${2000 + i}`, i)));
  for (let i = 0; i < 300; i++) {
    const junk = Buffer.from(Array.from({ length: 1 + ((i * 37) % 400) }, (_, k) => (i * 131 + k * 17) & 0xff));
    if (i % 3 === 0) junk.set(hello.subarray(0, Math.min(junk.length, 25))); // may parse as a ClientHello
    const r = dtls.listen(spoof.sctx, junk, '10.9.9.9:9', 1);
    assert.ok(r === null || (i % 3 === 0 && Buffer.isBuffer(r)));
  }
  assert.equal(spoof.toClient.length, 0);
  dtls.free(spoof.client);

  // Loss: the server's first flight and, separately, its last flight; timers in JS.
  for (const suite of ['PSK-AES128-CCM8', 'ECDHE-ECDSA-AES128-GCM-SHA256']) {
    const l = link(suite);
    l.connect();
    l.pump();
    l.pump(true);
    // Both sides' timers, as the transport runs them: under valgrind a handshake step can take
    // longer than a timer, so which side retransmits first varies.
    for (let i = 0; i < 10 && !(l.serverResults.includes(DONE) && l.clientResults.includes(DONE)); i++) {
      const waits = [l.client, l.server].filter(Boolean).map((s) => dtls.timeoutMs(s)).filter((t) => t >= 0);
      if (waits.length === 0) break;
      await sleep(Math.min(...waits) + 5);
      for (const s of [l.client, l.server]) if (s) assert.equal(dtls.handleTimeout(s), true);
      l.run();
    }
    exchange(l);
    dtls.close(l.client);
    dtls.free(l.server);
  }

  // Callbacks that throw, and reentrant calls.
  const thrower = dtls.createContext({ mode: 'client', ...clientOptions('PSK-AES128-CCM8'), send() { throw new Error('send boom'); }, data() {} });
  assert.throws(() => dtls.connect(thrower, 1), /send boom/);
  const re = {};
  const reCtx = dtls.createContext({ mode: 'client', ...clientOptions('PSK-AES128-CCM8'), send() { if (re.s) dtls.free(re.s); }, data() {} });
  re.s = dtls.connect(reCtx, 1);
  assert.throws(() => dtls.receive(re.s, dtls.listen(spoof.sctx, hello, '1.1.1.1:1', 1)), /own callback/);
  dtls.free(re.s);

  // Use after close/free; wrong handle kinds.
  const dead = link('PSK-AES128-GCM-SHA256').handshake();
  dtls.close(dead.client);
  dtls.close(dead.client);
  dtls.free(dead.client);
  assert.equal(dtls.receive(dead.client, Buffer.from('x')), FAILED);
  assert.equal(dtls.write(dead.client, Buffer.from('x')), false);
  assert.equal(dtls.handleTimeout(dead.client), false);
  assert.throws(() => dtls.peerInfo(dead.client));
  assert.throws(() => dtls.receive(dead.sctx, Buffer.from('x')));
  dtls.free(dead.server);

  // Session handles dropped without free: their finalizers free the SSLs, which lets go of the
  // contexts, which the GC then collects too. (A live session keeps its context alive, and with
  // it everything its callbacks reach: here `l`, so the sessions are taken out of `l` first.)
  for (let i = 0; i < 20; i++) {
    const l = link(SUITES[i % SUITES.length]).handshake();
    if (i % 2) exchange(l);
    l.server = l.client = undefined;
  }
}

/** Compacted server sessions: the server frees its SSL on the client's first record. */
function compaction() {
  for (const suite of SUITES) {
    const l = link(suite).handshake();
    // Before compaction: forged epoch-1 records (one with the highest sequence number) pass the shadow window.
    for (const seq of [0xffffffffffff, 77]) {
      const forged = Buffer.alloc(13 + 64, 0x33);
      forged.set([23, 0xfe, 0xfd, 0, 1]);
      forged.writeUIntBE(seq, 5, 6);
      forged.writeUInt16BE(64, 11);
      assert.equal(dtls.receive(l.server, forged), OK);
    }
    assert.equal(dtls.sessionStats(l.server).ssl, true);
    // The first data datagram is big (several records, > 2 KiB): shadow and OpenSSL read it.
    for (let i = 0; i < 3; i++) dtls.write(l.client, Buffer.alloc(1000, 0x61 + i));
    assert.equal(dtls.receive(l.server, Buffer.concat(l.toServer.splice(0))), OK);
    assert.equal(l.serverData.length, 3);
    const stats = dtls.sessionStats(l.server);
    assert.ok(stats.compacted && !stats.ssl, `${suite} compacted`);
    const info = dtls.peerInfo(l.server);
    assert.equal(info.cipher, suite);
    // Many records both ways, some in big datagrams, of many sizes.
    for (let i = 0; i < 60; i++) {
      assert.equal(dtls.write(l.client, Buffer.alloc(1 + ((i * 211) % 1500), 0x41 + (i % 26))), true);
      assert.equal(dtls.write(l.server, Buffer.alloc(1 + ((i * 307) % 1500), 0x41 + (i % 26))), true);
      if (i % 5 === 4) {
        const up = l.toServer.splice(0);
        assert.equal(dtls.receive(l.server, Buffer.concat(up)), OK);
        for (const d of up) assert.equal(dtls.receive(l.server, d), OK); // replays
      }
    }
    l.run();
    assert.equal(l.serverData.length, 63);
    assert.equal(l.clientData.length, 60);
    assert.equal(dtls.write(l.server, Buffer.alloc(16384, 0x7a)), true);
    assert.equal(dtls.write(l.client, Buffer.alloc(16384, 0x7a)), true);
    l.run();
    // Reordered and forged (every byte flipped once) records.
    const sent = [];
    for (let i = 0; i < 10; i++) {
      dtls.write(l.client, Buffer.from(`r${i}`));
      sent.push(...l.toServer.splice(0));
    }
    for (const d of [...sent].reverse()) {
      for (let pos = 0; pos < d.length; pos += 3) {
        const f = Buffer.from(d);
        f[pos] ^= 0x10;
        assert.equal(dtls.receive(l.server, f), OK);
      }
      assert.equal(dtls.receive(l.server, d), OK);
    }
    assert.equal(l.serverData.length, 64 + 10);
    assert.equal(dtls.receive(l.server, Buffer.from('garbage')), OK);
    assert.equal(dtls.timeoutMs(l.server), -1);
    assert.equal(dtls.handleTimeout(l.server), true);
    assert.deepEqual(dtls.peerInfo(l.server), info);
    assert.throws(() => dtls.write(l.server, Buffer.alloc(16385)));
    if (SUITES.indexOf(suite) % 2 === 0) {
      dtls.close(l.client);
      assert.equal(dtls.receive(l.server, l.toServer.splice(0)[0]), CLOSED);
      dtls.close(l.server); // nothing more to send
    } else {
      dtls.close(l.server);
      assert.equal(dtls.receive(l.client, l.toClient.splice(0)[0]), CLOSED);
    }
    dtls.free(l.server);
    dtls.free(l.client);

    // Alerts: a record type the client refuses (it answers with a fatal alert), and ours to it.
    const a = link(suite).handshake();
    exchange(a);
    assert.equal(dtls.testSendRecord(a.server, 24, Buffer.from('unknown')), true);
    a.pump();
    assert.equal(dtls.receive(a.server, a.toServer.splice(0)[0]), FAILED);
    assert.match(dtls.lastError(a.server), /^received alert: unexpected_message/);
    const b = link(suite).handshake();
    exchange(b);
    assert.equal(dtls.testSendRecord(b.server, 21, Buffer.from([2, 40])), true);
    b.pump();
    assert.equal(b.clientResults.at(-1), FAILED);
    for (const s of [a.server, a.client, b.server, b.client]) dtls.free(s);
  }
  // Compacted sessions dropped without free: their finalizers free the record state.
  for (let i = 0; i < 10; i++) {
    const l = link(SUITES[i % SUITES.length]).handshake();
    exchange(l);
    assert.equal(dtls.sessionStats(l.server).compacted, true);
    l.server = l.client = undefined;
  }
}

async function main() {
  console.log(`lwm2m_dtls over ${dtls.opensslVersion()}`);
  await exercise();
  compaction();
  // Collect every handle before exit: node frees its 40-byte napi_create_external bookkeeping
  // only for externals the GC finalized (those alive at exit get their finalizer run, but that
  // block shows up as "definitely lost" inside napi_create_external, with or without this addon).
  for (let i = 0; i < 5; i++) {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  console.log('valgrind-dtls: all checks passed');
}

await main().catch((err) => {
  console.error(err);
  process.exit(1);
});
