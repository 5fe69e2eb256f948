/* global process, Buffer, console, global */
// Memory per idle established server session of the DTLS addon, in-process: RSS growth over N
// handshakes (default 10,000) with one data exchange each (client → server, which compacts the
// server session, and server → client), the client sides freed, server sessions kept.
//
//   node --expose-gc test/native/session-memory.mjs [suite] [count] [addon.node]
//
// Prints RSS before/after (after a forced GC) and the growth per session. The JS side (session
// handles in an array, napi externals) is part of the figure; it is small (about 100 bytes).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const suite = process.argv[2] ?? 'PSK-AES128-CCM8';
const count = Number(process.argv[3] ?? 10000);
const addon = process.argv[4] ?? path.join(root, 'native/build/Release/lwm2m_dtls.node');
const mod = { exports: {} };
process.dlopen(mod, path.resolve(addon));
const dtls = mod.exports;
const fixture = (name) => fs.readFileSync(path.join(root, 'test/fixtures/dtls', name));
const PSK_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

let toServer = [];
let toClient = [];
let serverData = 0;
let clientData = 0;
const sctx = dtls.createContext({
  mode: 'server', ciphers: suite, cert: fixture('server.pem'), key: fixture('server.key.pem'), ca: fixture('ca.pem'),
  verifyPeer: true, cookieSecret: Buffer.alloc(32, 7), psk: () => PSK_KEY,
  send: (_id, d) => toClient.push(d), data: () => serverData++,
});
const cctx = dtls.createContext({
  mode: 'client', ciphers: suite, cert: fixture('client.pem'), key: fixture('client.key.pem'), ca: fixture('ca.pem'),
  verifyPeer: true, pskIdentity: 'dev-psk-1', pskKey: PSK_KEY,
  send: (_id, d) => toServer.push(d), data: () => clientData++,
});

const servers = [];
const ping = Buffer.from('ping: a small LwM2M-sized payload');

function one(i) {
  const client = dtls.connect(cctx, i);
  let server;
  const peer = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:5684`;
  for (let round = 0; round < 20 && (toServer.length || toClient.length); round++) {
    for (const d of toServer.splice(0)) {
      if (server === undefined) {
        const r = dtls.listen(sctx, d, peer, i);
        if (Buffer.isBuffer(r)) toClient.push(r);
        else if (r) server = r;
      } else dtls.receive(server, d);
    }
    for (const d of toClient.splice(0)) dtls.receive(client, d);
  }
  assert.ok(server, 'session');
  assert.equal(dtls.write(client, ping), true);
  for (const d of toServer.splice(0)) dtls.receive(server, d);
  assert.equal(dtls.write(server, ping), true);
  for (const d of toClient.splice(0)) dtls.receive(client, d);
  dtls.free(client);
  return server;
}

function usage() {
  for (let i = 0; i < 3; i++) global.gc();
  return process.memoryUsage();
}

for (let i = 0; i < 200; i++) dtls.free(one(1e6 + i)); // warm-up: code, one-time allocations
const before = usage();
const started = Date.now();
for (let i = 0; i < count; i++) servers.push(one(i));
const ms = Date.now() - started;
const after = usage();
assert.equal(serverData, count + 200);
assert.equal(clientData, count + 200);
const per = (key) => Math.round((after[key] - before[key]) / count);
const stats = typeof dtls.sessionStats === 'function' ? dtls.sessionStats(servers[0]) : undefined;
console.log(JSON.stringify({
  suite, count, ms, rssBefore: before.rss, rssAfter: after.rss,
  rssPerSession: per('rss'), heapUsedPerSession: per('heapUsed'), heapTotalPerSession: per('heapTotal'),
  compacted: stats?.compacted ?? false, addonBytesPerSession: stats?.bytes,
}));
for (const s of servers) dtls.free(s);
const freed = usage();
console.log(JSON.stringify({ rssAfterFree: freed.rss, retainedPerSession: Math.round((freed.rss - before.rss) / count) }));
