/** DTLS record layer facts read straight off a datagram (RFC 6347 §4.1, §4.2.2). */
const CONTENT_TYPE_CHANGE_CIPHER_SPEC = 20;
const CONTENT_TYPE_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const RECORD_HEADER_LENGTH = 13;

/**
 * A ClientHello in epoch 0: a client starting a fresh handshake. From an address that already has an
 * established session it means the device restarted and lost its keys (RFC 6347 §4.2.8).
 */
export function isInitialClientHello(datagram: Buffer): boolean {
  return (
    datagram.length > RECORD_HEADER_LENGTH &&
    datagram[0] === CONTENT_TYPE_HANDSHAKE &&
    datagram[3] === 0 &&
    datagram[4] === 0 &&
    datagram[RECORD_HEADER_LENGTH] === HANDSHAKE_CLIENT_HELLO
  );
}

/** Record header, handshake header, client_version and random: the session id's length follows. */
const CLIENT_HELLO_SESSION_ID_OFFSET = RECORD_HEADER_LENGTH + 12 + 2 + 32;

/**
 * An unfragmented initial ClientHello with a non-empty cookie (RFC 6347 §4.2.1): the second
 * ClientHello of the cookie exchange, which starts a handshake if the cookie is valid.
 */
export function clientHelloHasCookie(datagram: Buffer): boolean {
  if (!isInitialClientHello(datagram) || datagram.length <= CLIENT_HELLO_SESSION_ID_OFFSET) return false;
  const fragmentOffset = datagram.readUIntBE(RECORD_HEADER_LENGTH + 6, 3);
  if (fragmentOffset !== 0) return false;
  const cookieAt = CLIENT_HELLO_SESSION_ID_OFFSET + 1 + datagram[CLIENT_HELLO_SESSION_ID_OFFSET];
  return cookieAt < datagram.length && datagram[cookieAt] > 0;
}

/** The datagram starts with a handshake or ChangeCipherSpec record (any epoch): handshake traffic. */
export function isHandshakeRecord(datagram: Buffer): boolean {
  return datagram.length > RECORD_HEADER_LENGTH && (datagram[0] === CONTENT_TYPE_HANDSHAKE || datagram[0] === CONTENT_TYPE_CHANGE_CIPHER_SPEC);
}
