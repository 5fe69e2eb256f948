import { EventEmitter } from 'node:events';
import type { BootstrapServer } from './bootstrap/bootstrap-server';
import type { CoapEndpoint, CoapResponse, InboundRequest } from '../coap';
import { DecodingListener, type Lwm2mExchange, type Lwm2mExchangeListener } from './exchange';
import type { ModelLookup } from './model/types';
import type { Lwm2mOperation } from './operation';
import type { RegistrationCandidate } from './registration/admission';
import type { Registration } from './registration/registration';
import { RegistrationService, type RegistrationPolicy } from './registration/registration-service';
import { RegistrationStore } from './registration/registration-store';
import { buildCoapRequest } from './request-builder';
import { handleSendRequest } from './send-request';

const NOT_FOUND: CoapResponse = { code: '4.04', payload: Buffer.alloc(0) };

/**
 * The LwM2M server: serves the Registration interface on one or more CoAP endpoints
 * (UDP, later DTLS) and sends downlink operations to registered clients through the
 * endpoint each one registered on. Re-emits `registered`, `updated`, `deregistered`, `refused`;
 * emits `send` (reg, entries) for an LwM2M Send (`POST /dp`), and `notServed` (req) for a request
 * outside /rd answered 4.04 (a Send from a peer with no registration, an unknown path), for logs.
 */
export class Lwm2mServer extends EventEmitter {
  readonly store = new RegistrationStore();
  readonly registrations: RegistrationService;
  private readonly channels = new Map<string, CoapEndpoint>();
  /** The endpoint of each scheme: a registration restored from the store speaks there until it speaks again. */
  private readonly byScheme = new Map<string, CoapEndpoint>();
  /** The bootstrap server, when it also answers `POST /bs` on these endpoints (bootstrap.on_dm_listeners). */
  private bootstrap: BootstrapServer | undefined;
  private resources: ((endpoint: CoapEndpoint, req: InboundRequest) => CoapResponse | undefined) | undefined;
  /** While state is restored, requests wait for it (an Update must find its registration). */
  private restoring: Promise<void> | undefined;

  constructor(
    readonly model: ModelLookup,
    policy: RegistrationPolicy,
  ) {
    super();
    this.registrations = new RegistrationService(this.store, policy);
    this.registrations.on('registered', (reg: Registration, replaced?: Registration) => {
      if (replaced) this.channels.delete(replaced.id);
      this.emit('registered', reg, replaced);
    });
    this.registrations.on('updated', (reg: Registration, carriedLinks: boolean) => this.emit('updated', reg, carriedLinks));
    this.registrations.on('refused', (candidate: RegistrationCandidate, code: string, reason: string) => this.emit('refused', candidate, code, reason));
    this.registrations.on('deregistered', (reg: Registration, reason: string) => {
      this.channels.delete(reg.id);
      this.emit('deregistered', reg, reason);
    });
  }

  /** Serves LwM2M on a CoAP endpoint. */
  attach(endpoint: CoapEndpoint): void {
    if (!this.byScheme.has(endpoint.transport.scheme)) this.byScheme.set(endpoint.transport.scheme, endpoint);
    endpoint.setRequestHandler((req) => (this.restoring ? this.restoring.then(() => this.handleRequest(endpoint, req)) : this.handleRequest(endpoint, req)));
  }

  /** Serves Bootstrap-Requests (`/bs`, `/bspack`) next to the Registration interface. */
  serveBootstrap(server: BootstrapServer | undefined): void {
    this.bootstrap = server;
  }

  /**
   * Serves resources of the gateway's own next to the Registration interface (firmware images that
   * devices download, under `/fw/...`): asked first for every request; undefined passes it on.
   */
  serveResources(handler: ((endpoint: CoapEndpoint, req: InboundRequest) => CoapResponse | undefined) | undefined): void {
    this.resources = handler;
  }

  /** Requests wait until `restored` settles (the registrations it brings back are then known). */
  holdUntil(restored: Promise<unknown>): void {
    const done = restored.then(
      () => undefined,
      () => undefined,
    );
    this.restoring = done;
    void done.then(() => {
      if (this.restoring === done) this.restoring = undefined;
    });
  }

  /** Takes back a registration from the store, without events: its device's next Update finds it. */
  restoreRegistration(reg: Registration): void {
    this.store.add(reg);
  }

  private handleRequest(endpoint: CoapEndpoint, req: InboundRequest): CoapResponse | Promise<CoapResponse> {
    if (this.resources !== undefined) {
      const served = this.resources(endpoint, req);
      if (served !== undefined) return served;
    }
    if (this.bootstrap !== undefined) {
      const bootstrap = this.bootstrap.handle(endpoint, req);
      if (bootstrap !== undefined) return bootstrap;
    }
    if (req.uriPath.length === 1 && req.uriPath[0] === 'dp') {
      const sent = handleSendRequest(req, this.store, this.model);
      if (sent.reg && sent.entries) this.emit('send', sent.reg, sent.entries);
      else if (sent.response.code === NOT_FOUND.code) this.notServed(req);
      return sent.response;
    }
    const res = this.registrations.handle(req, endpoint.transport.scheme);
    if (!res) {
      this.notServed(req);
      return NOT_FOUND;
    }
    if (res instanceof Promise) return res.then((r) => this.trackChannel(endpoint, req, r));
    return this.trackChannel(endpoint, req, res);
  }

  private notServed(req: InboundRequest): void {
    if (this.listenerCount('notServed') > 0) this.emit('notServed', req);
  }

  /** Remembers which endpoint (UDP or DTLS) a registration last spoke on: downlink goes there. */
  private trackChannel(endpoint: CoapEndpoint, req: InboundRequest, res: CoapResponse): CoapResponse {
    if (res.code === '2.01' && res.locationPath) this.setChannel(res.locationPath[1], req, endpoint);
    else if (res.code === '2.04') this.setChannel(req.uriPath[1], req, endpoint);
    return res;
  }

  /**
   * Only a registration that speaks on another endpoint than its scheme's default has an entry:
   * channelOf() falls back to that default, and an entry per registration cost ~40 B per idle
   * device at 10k (issue 11: memory per device) for the common case of one endpoint per scheme.
   * The peer's identity is the registration's (an update from another identity is refused).
   */
  private setChannel(id: string, req: InboundRequest, endpoint: CoapEndpoint): void {
    if (endpoint === this.byScheme.get(req.peer.identity ? 'coaps' : 'coap')) this.channels.delete(id);
    else this.channels.set(id, endpoint);
  }

  startExpiry(intervalMs?: number): void {
    this.store.startExpiry(intervalMs);
  }

  /**
   * Sends an operation to a registered client; its answers reach `listener` decoded. Throws
   * CodecError when the payload cannot be encoded.
   */
  send(reg: Registration, op: Lwm2mOperation, listener: Lwm2mExchangeListener): Lwm2mExchange {
    return this.channelOf(reg).request(reg.peer, buildCoapRequest(op, reg.alternatePath, this.model), new DecodingListener(op, this.model, listener));
  }

  /**
   * Listens again to an observation made before a restart (`op` is the observe operation that
   * made it, `token` its token): the device's next notification is taken, not answered by RST.
   * Undefined when the token is already in use.
   */
  resumeObservation(reg: Registration, op: Lwm2mOperation, token: Buffer, listener: Lwm2mExchangeListener): Lwm2mExchange | undefined {
    const req = { ...buildCoapRequest(op, reg.alternatePath, this.model), token };
    return this.channelOf(reg).resumeObservation(reg.peer, req, new DecodingListener(op, this.model, listener));
  }

  /** Where a registration's downlink goes: the endpoint it last spoke on, or (restored) its scheme's. */
  private channelOf(reg: Registration): CoapEndpoint {
    const endpoint = this.channels.get(reg.id) ?? this.byScheme.get(reg.peer.identity ? 'coaps' : 'coap');
    if (!endpoint) throw new Error(`no channel for registration ${reg.id}`);
    return endpoint;
  }

  close(): void {
    this.store.stopExpiry();
  }
}
