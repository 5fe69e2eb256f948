/**
 * The soak's HTTP auth service (the gateway's `auth.http.url`): answers `{"result":"allow"}` at
 * once, except for endpoints whose name starts with `slow-`, whose request it reads and then holds
 * without ever answering (until the gateway gives up and closes the socket, or the soak ends).
 * The gateway's body template sends `{"clientid":"${endpoint_name}"}`. Loopback only.
 */
import http from 'node:http';
import type net from 'node:net';

export interface AuthCounters {
  requests: number;
  allowed: number;
  held: number;
  /** Held requests whose socket the gateway closed (its timeout). */
  abandonedByGateway: number;
  /** Most requests held open at once: bounded by auth.http.max_in_flight if the limit works. */
  maxHeldAtOnce: number;
  /** Most requests of any kind open at once. */
  maxOpenAtOnce: number;
  badRequests: number;
}

export class SoakAuthServer {
  readonly counters: AuthCounters = { requests: 0, allowed: 0, held: 0, abandonedByGateway: 0, maxHeldAtOnce: 0, maxOpenAtOnce: 0, badRequests: 0 };
  private heldNow = 0;
  private openNow = 0;
  private readonly heldResponses = new Set<http.ServerResponse>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static start(): Promise<SoakAuthServer> {
    let auth: SoakAuthServer | undefined;
    const server = http.createServer((req, res) => auth?.handle(req, res));
    server.keepAliveTimeout = 30_000;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        auth = new SoakAuthServer(server, (server.address() as net.AddressInfo).port);
        resolve(auth);
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/auth`;
  }

  get heldOpen(): number {
    return this.heldNow;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.counters.requests++;
    this.openNow++;
    this.counters.maxOpenAtOnce = Math.max(this.counters.maxOpenAtOnce, this.openNow);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.openNow--;
    };
    res.once('close', finish);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 64 * 1024) chunks.push(chunk);
    });
    req.on('end', () => {
      let clientid = '';
      try {
        clientid = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { clientid?: unknown }).clientid ?? '');
      } catch {
        this.counters.badRequests++;
      }
      if (clientid.startsWith('slow-')) {
        this.counters.held++;
        this.heldNow++;
        this.counters.maxHeldAtOnce = Math.max(this.counters.maxHeldAtOnce, this.heldNow);
        this.heldResponses.add(res);
        res.once('close', () => {
          this.heldNow--;
          this.heldResponses.delete(res);
          if (!this.closing) this.counters.abandonedByGateway++;
        });
        return;
      }
      this.counters.allowed++;
      const body = '{"result":"allow"}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  }

  private closing = false;

  close(): Promise<void> {
    this.closing = true;
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
