import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../package-root';

/**
 * Types of the `lwm2m_dtls` addon (native/dtls.c, native/dtls_record.c): a DTLS 1.2 engine over
 * the OpenSSL inside the node binary. JavaScript owns the UDP socket, the per-peer session map
 * and the timers; the addon holds one OpenSSL `SSL` per peer and hands every outgoing datagram
 * to `send`, synchronously, from inside the call that produced it.
 *
 * Compaction: an established server session costs ~35 KiB inside OpenSSL. Once the client's
 * first application data has been read (so the handshake is over on both sides and no flight
 * can need retransmitting), a server session of one of the gateway's five suites (PSK- and
 * ECDHE-ECDSA-AES128-CCM8, -AES128-GCM-SHA256, PSK-AES128-CBC-SHA256) frees its SSL and keeps
 * only its keys, sequence numbers, replay window and peerInfo (well under 1 KiB); the addon's
 * own record layer then carries it. Nothing in this API changes: receive/write/close/free/
 * peerInfo/lastError behave as before, timeoutMs is -1 and handleTimeout true (no handshake
 * timer). Client sessions and other suites keep their SSL.
 *
 * Diagnostics, for tests only and not part of `NativeDtls`: the addon also exports
 * `sessionStats(session)` ({ ssl, compacted, bytes, writeSeq?, readMax?, readWindow? }) and
 * `testSendRecord(session, contentType, payload)` (a compacted session seals and sends one
 * record of any content type); see test/unit/dtls/harness.ts.
 *
 * Callback exceptions: a callback that throws counts as done (`send`, `data`) or as a refusal
 * (`psk` returning null); the first exception is rethrown by the addon call that ran the
 * callback, once the session state is consistent (a `receive` that rethrows loses its return
 * value: check the session with `lastError`). Calling the addon on a session from inside one of
 * that session's own callbacks throws `ERR_DTLS_REENTRANT`.
 */

export interface DtlsContextOptions {
  mode: 'server' | 'client';
  /**
   * OpenSSL cipher list, e.g. `'PSK-AES128-CCM8:ECDHE-ECDSA-AES128-CCM8'`. DTLS 1.2 only
   * (min = max = DTLS1_2_VERSION). CCM8 suites are allowed although OpenSSL 3.0 rates them
   * below its default security level; everything else keeps security level 1.
   */
  ciphers: string;
  /** PEM chain (leaf first): the server's certificate (ECDHE-ECDSA suites), or a client's. Goes with `key`. */
  cert?: Buffer;
  /** PEM private key of `cert` (not encrypted). */
  key?: Buffer;
  /** PEM CA certificates that verify the peer's certificate. */
  ca?: Buffer;
  /**
   * server: request a client certificate in certificate handshakes and fail without a valid one
   * (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); PSK handshakes are not affected.
   * client: verify the server certificate against `ca`.
   */
  verifyPeer: boolean;
  /**
   * server: secret (16..64 bytes) of the stateless cookie, HMAC-SHA256 over the peer address
   * string. Default: 32 random bytes per context.
   */
  cookieSecret?: Buffer;
  /** Path MTU for handshake fragmentation (SSL_OP_NO_QUERY_MTU + DTLS_set_link_mtu, less 28 bytes of IPv4+UDP); 256..65535, default 1280. */
  mtu?: number;
  /** client PSK: identity (at most 128 bytes of UTF-8) offered when the server picks a PSK suite. */
  pskIdentity?: string;
  /** client PSK key; goes with `pskIdentity`. */
  pskKey?: Buffer;
  /** Called synchronously from inside listen/connect/receive/write/handleTimeout/close with each datagram the session wants sent; `id` is the session's id. */
  send(id: number, datagram: Buffer): void;
  /** Called synchronously with each decrypted application-data record. */
  data(id: number, plaintext: Buffer): void;
  /**
   * server: PSK lookup for a PSK handshake, called synchronously (the identity is decoded as
   * UTF-8); return the key (1..512 bytes), or null to refuse (the handshake then fails with an
   * unknown_psk_identity alert). Without it the server offers no PSK suite.
   */
  psk?(id: number, identity: string): Buffer | null;
}

/**
 * A configured OpenSSL SSL_CTX and its callbacks: an opaque, frozen object wrapping the C
 * context (not a bare napi external, so that callbacks whose closures reach the context handle
 * do not keep it alive forever). Freed once unreachable and no live session (one holding an
 * SSL from it, or compacted) uses it: a live session keeps its context, its callbacks and
 * whatever they reach alive, so free or close every session when shutting a transport down.
 */
export type DtlsContext = { readonly __brand: 'DtlsContext' };
/** One peer's SSL, or its compacted record state (napi external; its finalizer frees either if JS drops it without `free`/`close`). */
export type DtlsSession = { readonly __brand: 'DtlsSession' };

/** `receive`: nothing notable (including dropped garbage, bad MACs and replays). */
export const RECEIVE_OK = 0;
/** `receive`: this datagram completed the handshake. */
export const RECEIVE_HANDSHAKE_DONE = 1;
/** `receive`: the peer sent close_notify. */
export const RECEIVE_CLOSED = 2;
/** `receive`: fatal error or alert, or the session was already dead: call `free`. */
export const RECEIVE_FAILED = -1;

export type ReceiveResult = typeof RECEIVE_OK | typeof RECEIVE_HANDSHAKE_DONE | typeof RECEIVE_CLOSED | typeof RECEIVE_FAILED;

/** What the handshake established. */
export interface DtlsPeerInfo {
  /** OpenSSL cipher name, e.g. `PSK-AES128-CCM8`. */
  cipher: string;
  /** `DTLSv1.2`. */
  version: string;
  /** The PSK identity of a PSK handshake. */
  pskIdentity?: string;
  /** Subject CN of the peer certificate, when one was presented and verified. */
  certSubjectCn?: string;
  /** URIs of the verified peer certificate's subjectAltName, when it has any. */
  certSanUris?: string[];
}

export interface NativeDtls {
  /** OpenSSL's version string, e.g. `OpenSSL 3.0.19 27 Jan 2026`. */
  opensslVersion(): string;
  /** Throws an Error with OpenSSL's reason on a bad PEM, cipher list or key mismatch, TypeError on bad options. */
  createContext(options: DtlsContextOptions): DtlsContext;
  /**
   * server, stateless (RFC 6347 §4.2.1): runs one datagram from an address that has no session
   * through DTLSv1_listen on a per-context listener SSL. Returns
   * - a Buffer: a HelloVerifyRequest to send to `peer` (nothing is kept);
   * - a new DtlsSession with the given id: the ClientHello carried a valid cookie, the
   *   handshake has been advanced and its flight sent through `send` (a fresh listener SSL
   *   replaces the one that became the session). If that first step already failed (e.g. no
   *   shared cipher; the alert went out through `send`), the session is returned dead with a
   *   non-empty `lastError`: free it;
   * - null: not a ClientHello, garbage, a fragment: drop it.
   *
   * `peer` is the address string the cookie is bound to ("1.2.3.4:5683"; 1..95 bytes).
   */
  listen(ctx: DtlsContext, datagram: Buffer, peer: string, id: number): Buffer | DtlsSession | null;
  /** client: creates a session and sends its ClientHello through `send`. Throws if OpenSSL cannot start (e.g. no usable cipher). */
  connect(ctx: DtlsContext, id: number): DtlsSession;
  /**
   * Feeds one datagram (may hold several records); application data goes to `data`.
   * RECEIVE_HANDSHAKE_DONE when this datagram completed the handshake; RECEIVE_CLOSED when the
   * peer sent close_notify; RECEIVE_FAILED on a fatal error or alert (the session is dead: call
   * `free`). Garbage, bad MACs and replayed records are dropped silently (RECEIVE_OK), as
   * RFC 6347 §4.1.2.7 says, with one exception: a peer Finished that does not decrypt (a wrong
   * PSK) fails the handshake at once with 'bad record mac' instead of stalling it.
   */
  receive(session: DtlsSession, datagram: Buffer): ReceiveResult;
  /** Encrypts one application datagram (1..16384 bytes, else RangeError) and sends it through `send`; false when the handshake is not done or the session failed or closed. */
  write(session: DtlsSession, plaintext: Buffer): boolean;
  /** ms until the handshake retransmission timer fires (DTLSv1_get_timeout, rounded up), or -1 when none runs (always after compaction). */
  timeoutMs(session: DtlsSession): number;
  /**
   * DTLSv1_handle_timeout: retransmits the last flight through `send` if the timer has expired
   * (nothing happens before that); false when the retransmissions are exhausted (the session is
   * dead) or the session is already dead.
   */
  handleTimeout(session: DtlsSession): boolean;
  /**
   * Why the session failed or closed: "sent alert: <description>" / "received alert:
   * <description>" (e.g. "received alert: close notify", "sent alert: unknown PSK identity"),
   * possibly followed by OpenSSL's reason in parentheses, or OpenSSL's reason string alone
   * (e.g. "read timeout expired"); '' when none.
   */
  lastError(session: DtlsSession): string;
  /** After the handshake (throws before it or after free): cipher, version, the PSK identity, or the verified peer certificate's subject CN and SAN URIs. */
  peerInfo(session: DtlsSession): DtlsPeerInfo;
  /** Sends close_notify through `send` (when established) and frees the SSL (or compacted state); the handle is dead afterwards (later calls throw or return failure). */
  close(session: DtlsSession): void;
  /** Frees the SSL (or compacted state) without sending anything. Idempotent. */
  free(session: DtlsSession): void;
}

export type LoadNativeDtlsResult = { ok: true; binding: NativeDtls; opensslVersion: string } | { ok: false; reason: string };

const FUNCTIONS: readonly (keyof NativeDtls)[] = [
  'opensslVersion', 'createContext', 'listen', 'connect', 'receive', 'write',
  'timeoutMs', 'handleTimeout', 'lastError', 'peerInfo', 'close', 'free',
];

let cached: LoadNativeDtlsResult | undefined;

/** Path of the addon that `npm ci` builds (native/build.js). */
export function nativeDtlsPath(): string {
  return path.join(packageRoot(), 'native', 'build', 'Release', 'lwm2m_dtls.node');
}

/** Loads the addon once; never throws (the gateway then serves plain UDP only). */
export function loadNativeDtls(): LoadNativeDtlsResult {
  if (cached !== undefined) return cached;
  cached = load();
  return cached;
}

function load(): LoadNativeDtlsResult {
  try {
    const file = nativeDtlsPath();
    if (!fs.existsSync(file)) return { ok: false, reason: `${file} not found (run npm run build:native)` };
    const mod: { exports: Record<string, unknown> } = { exports: {} };
    process.dlopen(mod, file);
    const missing = FUNCTIONS.filter((name) => typeof mod.exports[name] !== 'function');
    if (missing.length > 0) return { ok: false, reason: `${file} lacks ${missing.join(', ')}` };
    const binding = mod.exports as unknown as NativeDtls;
    return { ok: true, binding, opensslVersion: binding.opensslVersion() };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}
