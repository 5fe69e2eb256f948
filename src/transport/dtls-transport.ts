import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PskEntry, PskLookup } from './dtls/credentials';
import { RECEIVE_CLOSED, RECEIVE_FAILED, RECEIVE_HANDSHAKE_DONE, type DtlsContext, type DtlsPeerInfo, type DtlsSession, type NativeDtls } from './dtls/native-binding';
import { clientHelloHasCookie, isHandshakeRecord, isInitialClientHello } from './dtls/record-header';
import { type Peer, type PeerIdentity, type Transport, peerKey } from './transport';

export interface DtlsTransportOptions {
  host: string;
  port: number;
  recvBufferSize?: number;
  /** OpenSSL cipher list (see dtls/cipher-suites.ts). */
  ciphers: string;
  /** PEM server certificate chain and key, for the ECDHE-ECDSA suites. */
  cert?: Buffer;
  key?: Buffer;
  /** PEM CAs that verify client certificates. */
  ca?: Buffer;
  /** Require a verified client certificate in certificate handshakes (`verify_peer`). */
  verifyPeer: boolean;
  psk: PskLookup;
  /** An established session idle this long is closed (close_notify). */
  sessionTimeoutMs: number;
  /** Sessions beyond this are refused after the cookie exchange. */
  maxSessions: number;
  /**
   * Unfinished handshakes past the cookie exchange (each holds ~50 KB of OpenSSL state until it
   * finishes or times out), in total and per source address (IP); more are refused like
   * `maxSessions`. Defaults 10,000 and 100.
   */
  maxHandshakes?: number;
  maxHandshakesPerSource?: number;
  /**
   * A handshake not finished after this long is dropped, and so is an established session that has
   * carried no application data this long after its handshake (until its first record a session
   * stays on OpenSSL at ~33 KB, see the addon's compaction; a device sends its Register at once).
   * Default 30 s.
   */
  handshakeTimeoutMs?: number;
  mtu?: number;
}

/** Why a session ended, for logs and stats. */
export type SessionEndReason =
  | 'closed_by_peer'
  | 'idle'
  | 'failed'
  | 'replaced'
  | 'identity_moved'
  | 'refused_full'
  /** Too many unfinished handshakes, in total or from the source address. */
  | 'refused_handshakes'
  | 'shutdown';

/** One peer's DTLS session as JavaScript keeps it: the native handle plus the socket-side facts. */
interface PeerSession {
  readonly id: number;
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly handle: DtlsSession;
  established: boolean;
  /** Counted among the unfinished handshakes (from creation until established or ended). */
  halfOpen: boolean;
  identity?: PeerIdentity;
  /** The PSK entry the handshake used, captured when OpenSSL asked for the key. */
  pskEntry?: PskEntry;
  lastActivity: number;
  startedAt: number;
  /** When the handshake finished (0 before). */
  establishedAt: number;
  /** Whether any application data has come through since. */
  carriedData: boolean;
  timer?: NodeJS.Timeout;
}

/** Why a handshake did not finish, for metrics: an error or alert, no answer in time, or refused at a limit. */
export type HandshakeFailure = 'failed' | 'timeout' | 'refused_full' | 'refused_handshakes';

export interface DtlsTransportStats {
  sessions: number;
  /** Unfinished handshakes past the cookie exchange (replacement handshakes included). */
  halfOpen: number;
  handshakes: number;
  handshakeFailures: number;
  /** handshakeFailures by why. */
  handshakeFailuresBy: Readonly<Record<HandshakeFailure, number>>;
  cookieExchanges: number;
  dropped: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_HANDSHAKES = 10_000;
const DEFAULT_MAX_HANDSHAKES_PER_SOURCE = 100;

/**
 * CoAP over DTLS 1.2 (RFC 6347) for LwM2M: the UDP socket, the per-peer session map and all timers
 * live here; the native addon holds one OpenSSL `SSL` per peer. New peers go through the stateless
 * cookie exchange first (`listen`), so a spoofed ClientHello costs one HelloVerifyRequest and no state.
 *
 * Emits `datagram` (plaintext, peer) with the peer's authenticated identity, `error` (err), and for
 * logs `session` (peer, info) when a handshake completes and `sessionEnd` (peer, reason, detail).
 */
export class DtlsTransport extends EventEmitter implements Transport {
  readonly scheme = 'coaps';
  private readonly byKey = new Map<string, PeerSession>();
  private readonly byId = new Map<number, PeerSession>();
  private readonly byIdentity = new Map<string, PeerSession>();
  /** Handshakes of restarted clients, beside their address's established session until they finish. */
  private readonly replacements = new Map<string, PeerSession>();
  private readonly context: DtlsContext;
  private nextId = 1;
  /** The session a native call is running for, so callbacks find a session not yet in the maps. */
  private current: PeerSession | undefined;
  /** The address a `listen` call runs for: its handshake flight goes there before a session exists. */
  private listening: { id: number; address: string; port: number } | undefined;
  /** Plaintexts decrypted during a native call, emitted once it returned (no re-entry into OpenSSL). */
  private readonly inbox: Buffer[] = [];
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly handshakeTimeoutMs: number;
  private closed = false;
  /** Unfinished handshakes, in total and per source address (entries removed at zero). */
  private halfOpen = 0;
  private readonly halfOpenBySource = new Map<string, number>();
  private readonly maxHandshakes: number;
  private readonly maxHandshakesPerSource: number;
  private readonly counters = { handshakes: 0, handshakeFailures: 0, cookieExchanges: 0, dropped: 0 };
  private readonly failuresBy: Record<HandshakeFailure, number> = { failed: 0, timeout: 0, refused_full: 0, refused_handshakes: 0 };

  private constructor(
    private readonly native: NativeDtls,
    private readonly socket: dgram.Socket,
    private readonly options: DtlsTransportOptions,
  ) {
    super();
    this.context = native.createContext({
      mode: 'server',
      ciphers: options.ciphers,
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      verifyPeer: options.verifyPeer,
      cookieSecret: randomBytes(32),
      mtu: options.mtu,
      send: (id, datagram) => this.sendRecord(id, datagram),
      data: (_id, plaintext) => {
        this.inbox.push(plaintext);
      },
      psk: (id, identity) => this.lookupPsk(id, identity),
    });
    socket.on('message', (bytes, rinfo) => this.onDatagram(bytes, rinfo.address, rinfo.port));
    socket.on('error', (err) => this.emit('error', err));
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.maxHandshakes = options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES;
    this.maxHandshakesPerSource = options.maxHandshakesPerSource ?? DEFAULT_MAX_HANDSHAKES_PER_SOURCE;
    const sweepMs = Math.max(100, Math.min(5_000, options.sessionTimeoutMs / 4, this.handshakeTimeoutMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), sweepMs);
    this.sweepTimer.unref();
  }

  /** Binds the socket; throws (before binding) when the context cannot be made, e.g. a bad key file. */
  static bind(native: NativeDtls, options: DtlsTransportOptions): Promise<DtlsTransport> {
    const type = options.host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type, recvBufferSize: options.recvBufferSize ?? 8 * 1024 * 1024 });
    let transport: DtlsTransport;
    try {
      transport = new DtlsTransport(native, socket, options);
    } catch (err) {
      socket.close();
      return Promise.reject(err as Error);
    }
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port, options.host, () => {
        socket.off('error', reject);
        resolve(transport);
      });
    });
  }

  address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  stats(): DtlsTransportStats {
    return { sessions: this.byKey.size, halfOpen: this.halfOpen, ...this.counters, handshakeFailuresBy: { ...this.failuresBy } };
  }

  /** Sends one CoAP message to a peer with an established session; dropped when there is none. */
  send(peer: Peer, bytes: Buffer): void {
    const session = this.byKey.get(peerKey(peer));
    if (!session || !session.established) {
      this.counters.dropped++;
      return;
    }
    this.current = session;
    try {
      this.native.write(session.handle, bytes);
    } finally {
      this.current = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.sweepTimer);
    for (const session of [...this.byId.values()]) this.end(session, 'shutdown', '', true);
    this.closed = true;
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  // ---- inbound ----------------------------------------------------------------------------

  private onDatagram(bytes: Buffer, address: string, port: number): void {
    const key = `${address}:${port}`;
    const session = this.byKey.get(key);
    if (!session) return this.accept(bytes, address, port, key, undefined);
    if (session.established && isInitialClientHello(bytes)) return this.accept(bytes, address, port, key, session);
    // A replacement handshake runs beside the established session until it finishes: its
    // handshake and ChangeCipherSpec records go to it, application data and alerts to the old one.
    const replacement = this.replacements.size > 0 ? this.replacements.get(key) : undefined;
    if (replacement && isHandshakeRecord(bytes)) return this.receive(replacement, bytes);
    this.receive(session, bytes);
  }

  /** A datagram from an address without a session (or a restarted client): the cookie exchange. */
  private accept(bytes: Buffer, address: string, port: number, key: string, previous: PeerSession | undefined): void {
    // A ClientHello that carries a cookie would start a handshake (and its server flight, an ECDSA
    // signature for certificate suites): a source at its limit is refused before any of that work.
    // Cookie-less ones get the stateless HelloVerifyRequest as usual.
    if (clientHelloHasCookie(bytes) && !(previous && this.replacements.has(key))) {
      const early = this.refusal(address);
      if (early !== undefined) {
        this.handshakeFailed(early.reason === 'refused_full' ? 'refused_full' : 'refused_handshakes');
        this.emit('sessionEnd', { address, port }, early.reason, early.detail);
        return;
      }
    }
    const id = this.allocateId();
    this.listening = { id, address, port };
    let result: Buffer | DtlsSession | null;
    try {
      result = this.native.listen(this.context, bytes, key, id);
    } catch (err) {
      this.emit('error', err as Error);
      return;
    } finally {
      this.listening = undefined;
    }
    if (result === null) {
      this.counters.dropped++;
      return;
    }
    if (Buffer.isBuffer(result)) {
      this.counters.cookieExchanges++;
      this.socket.send(result, port, address);
      return;
    }
    const failure = this.native.lastError(result);
    if (failure !== '') {
      // The first handshake step already failed (e.g. no shared suite); its alert has gone out.
      this.native.free(result);
      this.handshakeFailed('failed');
      this.emit('sessionEnd', { address, port }, 'failed', failure);
      return;
    }
    // A client that restarted (RFC 6347 §4.2.8) supersedes its own unfinished replacement, which
    // must not count against the new one.
    const stale = previous ? this.replacements.get(key) : undefined;
    if (stale) this.end(stale, 'failed', 'superseded by another ClientHello', false);
    const refusal = this.refusal(address);
    if (refusal !== undefined) {
      this.native.free(result);
      this.handshakeFailed(refusal.reason === 'refused_full' ? 'refused_full' : 'refused_handshakes');
      this.emit('sessionEnd', { address, port }, refusal.reason, refusal.detail);
      return;
    }
    const now = Date.now();
    const session: PeerSession = {
      id,
      key,
      address,
      port,
      handle: result,
      established: false,
      halfOpen: true,
      lastActivity: now,
      startedAt: now,
      establishedAt: 0,
      carriedData: false,
    };
    this.byId.set(id, session);
    this.halfOpen++;
    this.halfOpenBySource.set(address, (this.halfOpenBySource.get(address) ?? 0) + 1);
    if (previous) {
      // A valid cookie alone proves little (a captured ClientHello replays), so the old session
      // stays until the new handshake has finished.
      this.replacements.set(key, session);
    } else {
      this.byKey.set(key, session);
    }
    this.armHandshakeTimer(session);
  }

  /** Why a new handshake from `address` is refused, if it is: sessions or unfinished handshakes at their limit. */
  private refusal(address: string): { reason: SessionEndReason; detail: string } | undefined {
    if (this.byId.size >= this.options.maxSessions) return { reason: 'refused_full', detail: `max_sessions (${this.options.maxSessions}) reached` };
    if ((this.halfOpenBySource.get(address) ?? 0) >= this.maxHandshakesPerSource) {
      return { reason: 'refused_handshakes', detail: `max_handshakes_per_source (${this.maxHandshakesPerSource}) reached for ${address}` };
    }
    if (this.halfOpen >= this.maxHandshakes) return { reason: 'refused_handshakes', detail: `max_handshakes (${this.maxHandshakes}) reached` };
    return undefined;
  }

  /** The session's handshake no longer counts as unfinished (it finished, or the session ended). */
  private settleHandshake(session: PeerSession): void {
    if (!session.halfOpen) return;
    session.halfOpen = false;
    this.halfOpen--;
    const left = (this.halfOpenBySource.get(session.address) ?? 0) - 1;
    if (left > 0) this.halfOpenBySource.set(session.address, left);
    else this.halfOpenBySource.delete(session.address);
  }

  private receive(session: PeerSession, bytes: Buffer): void {
    session.lastActivity = Date.now();
    this.current = session;
    let status: number;
    try {
      status = this.native.receive(session.handle, bytes);
    } finally {
      this.current = undefined;
    }
    if (status === RECEIVE_HANDSHAKE_DONE) this.established(session);
    this.deliver(session);
    if (status === RECEIVE_CLOSED) this.end(session, 'closed_by_peer', '', false);
    else if (status === RECEIVE_FAILED) this.end(session, 'failed', this.native.lastError(session.handle), false);
    else if (!session.established) this.armHandshakeTimer(session);
  }

  private deliver(session: PeerSession): void {
    const inbox = this.inbox;
    if (inbox.length === 0) return;
    // Application data only counts once the handshake has authenticated the peer. Emitting cannot
    // refill the inbox: only a native receive does, and that runs from the socket alone.
    if (session.established) {
      session.carriedData = true;
      for (let i = 0; i < inbox.length; i++) {
        const peer: Peer = { address: session.address, port: session.port, identity: session.identity };
        this.emit('datagram', inbox[i], peer);
      }
    }
    inbox.length = 0;
  }

  private established(session: PeerSession): void {
    session.established = true;
    this.settleHandshake(session);
    session.establishedAt = Date.now();
    if (this.replacements.get(session.key) === session) {
      this.replacements.delete(session.key);
      const previous = this.byKey.get(session.key);
      if (previous) this.end(previous, 'replaced', 'the client restarted its session', false);
      this.byKey.set(session.key, session);
    }
    if (session.timer) clearTimeout(session.timer);
    session.timer = undefined;
    const info = this.native.peerInfo(session.handle);
    session.identity = identityOf(info, session.pskEntry);
    this.counters.handshakes++;
    if (session.identity) {
      // One session per credential: the device moved (new address) and the old session is stale.
      const identityKey = `${session.identity.kind}:${session.identity.name}`;
      const other = this.byIdentity.get(identityKey);
      if (other && other !== session) this.end(other, 'identity_moved', `identity now at ${session.key}`, true);
      this.byIdentity.set(identityKey, session);
    }
    this.emit('session', { address: session.address, port: session.port, identity: session.identity }, info);
  }

  // ---- callbacks from the addon --------------------------------------------------------------

  private sendRecord(id: number, datagram: Buffer): void {
    const target = this.current?.id === id ? this.current : (this.byId.get(id) ?? this.listening);
    if (!target || this.closed) return;
    this.socket.send(datagram, target.port, target.address);
  }

  private lookupPsk(id: number, identity: string): Buffer | null {
    const entry = this.options.psk.lookupPsk(identity);
    const session = this.current?.id === id ? this.current : this.byId.get(id);
    if (session) session.pskEntry = entry;
    return entry ? entry.key : null;
  }

  // ---- timers and endings --------------------------------------------------------------------

  private armHandshakeTimer(session: PeerSession): void {
    if (session.timer) clearTimeout(session.timer);
    session.timer = undefined;
    const ms = this.native.timeoutMs(session.handle);
    if (ms < 0) return;
    session.timer = setTimeout(() => this.retransmit(session), ms);
    session.timer.unref();
  }

  private retransmit(session: PeerSession): void {
    session.timer = undefined;
    if (this.byId.get(session.id) !== session) return;
    this.current = session;
    let alive: boolean;
    try {
      alive = this.native.handleTimeout(session.handle);
    } finally {
      this.current = undefined;
    }
    if (!alive) this.end(session, 'failed', 'handshake retransmissions exhausted', false, 'timeout');
    else if (!session.established) this.armHandshakeTimer(session);
  }

  private sweep(now: number): void {
    const idleBefore = now - this.options.sessionTimeoutMs;
    const handshakeBefore = now - this.handshakeTimeoutMs;
    for (const session of this.byId.values()) {
      if (!session.established) {
        if (session.startedAt < handshakeBefore) this.end(session, 'failed', 'handshake timed out', false, 'timeout');
      } else if (!session.carriedData && session.establishedAt < handshakeBefore) {
        this.end(session, 'idle', 'no application data since the handshake', true);
      } else if (session.lastActivity < idleBefore) {
        this.end(session, 'idle', '', true);
      }
    }
  }

  /** `failure`: what an unfinished handshake ending 'failed' counts as. */
  private end(session: PeerSession, reason: SessionEndReason, detail: string, notifyPeer: boolean, failure: HandshakeFailure = 'failed'): void {
    if (this.byId.get(session.id) !== session) return;
    this.byId.delete(session.id);
    this.settleHandshake(session);
    if (this.byKey.get(session.key) === session) this.byKey.delete(session.key);
    if (this.replacements.get(session.key) === session) this.replacements.delete(session.key);
    if (session.identity) {
      const identityKey = `${session.identity.kind}:${session.identity.name}`;
      if (this.byIdentity.get(identityKey) === session) this.byIdentity.delete(identityKey);
    }
    if (session.timer) clearTimeout(session.timer);
    session.timer = undefined;
    if (!session.established && reason === 'failed') this.handshakeFailed(failure);
    this.current = session;
    try {
      if (notifyPeer && session.established) this.native.close(session.handle);
      else this.native.free(session.handle);
    } finally {
      this.current = undefined;
    }
    this.emit('sessionEnd', { address: session.address, port: session.port, identity: session.identity }, reason, detail);
  }

  private handshakeFailed(why: HandshakeFailure): void {
    this.counters.handshakeFailures++;
    this.failuresBy[why]++;
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    return id;
  }
}

/** The credential a finished handshake proved, and the endpoints it may register. */
function identityOf(info: DtlsPeerInfo, pskEntry: PskEntry | undefined): PeerIdentity | undefined {
  if (info.pskIdentity !== undefined) {
    return { kind: 'psk', name: info.pskIdentity, endpoints: [pskEntry?.endpoint ?? info.pskIdentity] };
  }
  if (info.certSubjectCn !== undefined || (info.certSanUris && info.certSanUris.length > 0)) {
    const name = info.certSubjectCn ?? info.certSanUris![0];
    const endpoints = [...(info.certSubjectCn !== undefined ? [info.certSubjectCn] : []), ...(info.certSanUris ?? [])];
    return { kind: 'x509', name, endpoints };
  }
  return undefined;
}
