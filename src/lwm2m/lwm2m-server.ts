import { EventEmitter } from 'node:events';
import type { CoapEndpoint, CoapResponse, ExchangeListener, InboundRequest, OutgoingExchange } from '../coap';
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
    endpoint.setRequestHandler((req) => this.handleRequest(endpoint, req));
  }

  private handleRequest(endpoint: CoapEndpoint, req: InboundRequest): CoapResponse | Promise<CoapResponse> {
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
    if (res.code === '2.01' && res.locationPath) this.channels.set(res.locationPath[1], endpoint);
    else if (res.code === '2.04') this.channels.set(req.uriPath[1], endpoint);
    return res;
  }

  startExpiry(intervalMs?: number): void {
    this.store.startExpiry(intervalMs);
  }

  /** Sends an operation to a registered client; throws CodecError when the payload cannot be encoded. */
  send(reg: Registration, op: Lwm2mOperation, listener: ExchangeListener): OutgoingExchange {
    const endpoint = this.channels.get(reg.id);
    if (!endpoint) throw new Error(`no channel for registration ${reg.id}`);
    return endpoint.request(reg.peer, buildCoapRequest(op, reg.alternatePath, this.model), listener);
  }

  close(): void {
    this.store.stopExpiry();
  }
}
