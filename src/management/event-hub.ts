import type { Logger } from 'pino';
import type { GatewayMessage } from '../gateway/gateway';
import type { RegistrationCandidate } from '../lwm2m/registration/admission';
import { formatSseEvent, type SseStream } from '../http/sse-stream';
import { messageEvent, refusedEvent, type GatewayEvent } from './event-format';

/** How often an idle stream gets a comment line, so that proxies and clients keep it open. */
export const KEEP_ALIVE_MS = 15_000;

/** What the hub listens to: the gateway's published messages and its server's refused registrations (a Lwm2mMqttGateway). */
export interface EventSource {
  onMessage(listener: (message: GatewayMessage) => void): () => void;
  readonly engine: {
    readonly server: {
      on(event: 'refused', listener: (candidate: RegistrationCandidate, code: string, reason: string) => void): unknown;
      off(event: 'refused', listener: (candidate: RegistrationCandidate, code: string, reason: string) => void): unknown;
    };
  };
}

/** A stream and the endpoint it follows (undefined: every endpoint). */
interface Consumer {
  readonly stream: SseStream;
  readonly endpoint: string | undefined;
}

/**
 * The event streams' one subscription to the gateway: it listens to the gateway's messages and
 * refused registrations only while a stream is open (otherwise a publish costs the gateway one
 * check), builds each event's text once, and writes it to every stream whose filter it matches.
 */
export class EventHub {
  private readonly consumers = new Set<Consumer>();
  private nextId = 1;
  private unsubscribe: (() => void) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly onRefused = (candidate: RegistrationCandidate, code: string, reason: string): void => this.dispatch(refusedEvent(candidate, code, reason));

  constructor(
    private readonly gateway: EventSource,
    private readonly log: Logger,
    private readonly keepAliveMs = KEEP_ALIVE_MS,
  ) {}

  get size(): number {
    return this.consumers.size;
  }

  /** Sends the gateway's events from now on to `stream` (only those of `endpoint`, when given), until it closes. */
  add(stream: SseStream, endpoint: string | undefined): void {
    const consumer: Consumer = { stream, endpoint };
    this.consumers.add(consumer);
    if (this.consumers.size === 1) this.subscribe();
    stream.onClose(() => {
      this.consumers.delete(consumer);
      if (this.consumers.size === 0) this.unsubscribeAll();
    });
  }

  /** Ends every stream (the server is closing: open streams would hold it open). */
  closeAll(): void {
    // Deleting from a Set while iterating it is well defined: each consumer is visited once.
    for (const consumer of this.consumers) consumer.stream.close();
  }

  private subscribe(): void {
    this.unsubscribe = this.gateway.onMessage((message) => this.dispatch(messageEvent(message)));
    this.gateway.engine.server.on('refused', this.onRefused);
    this.keepAlive = setInterval(() => {
      for (const consumer of this.consumers) consumer.stream.comment('keep-alive');
    }, this.keepAliveMs);
    this.keepAlive.unref();
    this.log.debug('event streams: listening to the gateway');
  }

  private unsubscribeAll(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.gateway.engine.server.off('refused', this.onRefused);
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.log.debug('event streams: no consumer, not listening to the gateway');
  }

  private dispatch(event: GatewayEvent): void {
    let text: Buffer | undefined;
    // A stream dropped while written to leaves the set during the loop: well defined for a Set.
    for (const consumer of this.consumers) {
      if (consumer.endpoint !== undefined && consumer.endpoint !== event.endpoint) continue;
      text ??= formatSseEvent(this.nextId++, event.kind, event.data);
      consumer.stream.send(text);
    }
  }
}
