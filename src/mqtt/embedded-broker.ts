import net from 'node:net';
import Aedes from 'aedes';

/**
 * The in-process MQTT broker (aedes on a TCP server) used when no external broker is configured.
 * Sessions and retained messages live in memory: they do not survive close().
 */
export class EmbeddedBroker {
  /** The aedes instance, for hooks (authenticate, authorizePublish, ...) and broker-level events. */
  readonly aedes: Aedes;
  readonly host: string;
  /** The port actually bound (differs from the one asked for when that was 0). */
  readonly port: number;
  private readonly server: net.Server;
  // aedes only knows clients that completed CONNECT; close() must also drop the half-open ones.
  private readonly sockets = new Set<net.Socket>();
  private closing: Promise<void> | undefined;

  private constructor(aedes: Aedes, server: net.Server, host: string, port: number) {
    this.aedes = aedes;
    this.server = server;
    this.host = host;
    this.port = port;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens on host:port (port 0: any free port, see `port`). */
  static start(host: string, port: number): Promise<EmbeddedBroker> {
    const aedes = new Aedes();
    // noDelay: forwarding many small publishes to subscribers must not wait for Nagle's algorithm.
    const server = net.createServer({ noDelay: true }, (socket) => aedes.handle(socket));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        aedes.close();
        reject(err);
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        // Once listening, an error (EMFILE on accept) loses only that connection: not worth a crash.
        server.on('error', () => undefined);
        const address = server.address() as net.AddressInfo;
        resolve(new EmbeddedBroker(aedes, server, host, address.port));
      });
    });
  }

  /** Disconnects every client, stops listening and closes aedes; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= Promise.all([
      new Promise<void>((resolve) => this.server.close(() => resolve())),
      new Promise<void>((resolve) => this.aedes.close(() => resolve())),
      Promise.resolve().then(() => {
        for (const socket of this.sockets) socket.destroy();
      }),
    ]).then(() => undefined);
    return this.closing;
  }
}
