/**
 * A fake LwM2M server and a recording request handler for the device-management engine's unit
 * tests: the server emits the registration events and records what the engine sends, and the test
 * answers each request through its Lwm2mExchangeListener, in LwM2M terms (decoded responses).
 */
import { EventEmitter } from 'node:events';
import type { Device } from '../../../../src/lwm2m/device/device';
import { DeviceManager, type DeviceManagerOptions } from '../../../../src/lwm2m/device/device-manager';
import type { DeviceRequest, RequestHandler, RequestOutcome } from '../../../../src/lwm2m/device/device-request';
import type { Lwm2mExchange, Lwm2mExchangeListener } from '../../../../src/lwm2m/exchange';
import type { Lwm2mServer } from '../../../../src/lwm2m/lwm2m-server';
import type { Lwm2mOperation } from '../../../../src/lwm2m/operation';
import { parsePath } from '../../../../src/lwm2m/path';
import type { Registration } from '../../../../src/lwm2m/registration/registration';
import type { Lwm2mResponse } from '../../../../src/lwm2m/response';

export class FakeExchange implements Lwm2mExchange {
  cancelled = 0;
  constructor(readonly token: Buffer) {}
  cancel(): void {
    this.cancelled++;
  }
}

export interface SentRequest {
  reg: Registration;
  op: Lwm2mOperation;
  listener: Lwm2mExchangeListener;
  exchange: FakeExchange;
}

export class FakeServer extends EventEmitter {
  readonly registrations = { setNameCheck: (): void => undefined };
  readonly sent: SentRequest[] = [];
  /** Called before a request is recorded: a test makes send() throw with it. */
  failSend: ((op: Lwm2mOperation) => void) | undefined;
  private nextToken = 0x100;

  send(reg: Registration, op: Lwm2mOperation, listener: Lwm2mExchangeListener): Lwm2mExchange {
    this.failSend?.(op);
    const token = Buffer.alloc(2);
    token.writeUInt16BE(this.nextToken++);
    const exchange = new FakeExchange(token);
    this.sent.push({ reg, op, listener, exchange });
    return exchange;
  }

  /** The paths of the requests sent so far, in order (`type path` for anything but a read). */
  sentPaths(): string[] {
    return this.sent.map((s) => opLabel(s.op));
  }
}

function opLabel(op: Lwm2mOperation): string {
  const ids = [op.path.objectId, op.path.instanceId, op.path.resourceId, op.path.resourceInstanceId].filter((id) => id !== undefined);
  const path = '/' + ids.join('/');
  return op.type === 'read' ? path : `${op.type} ${path}`;
}

export type HandlerEvent<C> =
  | { kind: 'answered'; device: Device<C>; request: DeviceRequest<C>; context: C; outcome: RequestOutcome }
  | { kind: 'notified'; device: Device<C>; request: DeviceRequest<C>; context: C; response: Lwm2mResponse }
  | { kind: 'failed'; device: Device<C>; request: DeviceRequest<C>; context: C; err: unknown; notification: boolean };

/** Records every call the engine makes; `throwOn` makes `answered` (or `notified`) throw for chosen contexts. */
export class RecordingHandler<C = string> implements RequestHandler<C> {
  readonly events: HandlerEvent<C>[] = [];
  throwOnAnswer: ((context: C, outcome: RequestOutcome) => boolean) | undefined;
  throwOnNotify: ((context: C) => boolean) | undefined;
  /** Shared with other recorders (e.g. the engine's events) to check what happens in which order. */
  constructor(readonly log: string[] = []) {}

  answered(device: Device<C>, request: DeviceRequest<C>, outcome: RequestOutcome, _rttMs: number): void {
    this.events.push({ kind: 'answered', device, request, context: request.context, outcome });
    this.log.push(`answered ${String(request.context)} ${outcome.kind}`);
    if (this.throwOnAnswer?.(request.context, outcome)) throw new Error(`handler broke on ${String(request.context)}`);
  }

  notified(device: Device<C>, request: DeviceRequest<C>, response: Lwm2mResponse): void {
    this.events.push({ kind: 'notified', device, request, context: request.context, response });
    this.log.push(`notified ${String(request.context)} ${response.code}`);
    if (this.throwOnNotify?.(request.context)) throw new Error(`handler broke on a notification of ${String(request.context)}`);
  }

  failed(device: Device<C>, request: DeviceRequest<C>, err: unknown, notification: boolean): void {
    this.events.push({ kind: 'failed', device, request, context: request.context, err, notification });
    this.log.push(`failed ${String(request.context)}`);
  }

  answers(): { context: C; outcome: RequestOutcome }[] {
    return this.events.flatMap((e) => (e.kind === 'answered' ? [{ context: e.context, outcome: e.outcome }] : []));
  }

  /** `context:kind` of every answer, in order. */
  answerKinds(): string[] {
    return this.answers().map((a) => `${String(a.context)}:${a.outcome.kind}`);
  }
}

export function registration(endpoint: string, queueMode = false, id = `id-${endpoint}`): Registration {
  const now = Date.now();
  return {
    id,
    endpoint,
    lifetime: 3600,
    lwm2mVersion: '1.1',
    binding: queueMode ? 'UQ' : 'U',
    queueMode,
    query: {},
    alternatePath: '/',
    objectList: ['/3/0'],
    contentFormats: [],
    peer: { address: '127.0.0.1', port: 5683 },
    registeredAt: now,
    lastUpdate: now,
  };
}

export const read = (path: string): Lwm2mOperation => ({ type: 'read', path: parsePath(path), query: [] });
export const observe = (path: string): Lwm2mOperation => ({ type: 'observe', path: parsePath(path), query: [] });
export const cancelObserve = (path: string): Lwm2mOperation => ({ type: 'cancel-observe', path: parsePath(path), query: [] });
export const observeComposite = (...paths: string[]): Lwm2mOperation => ({ type: 'observe-composite', path: {}, query: [], paths: paths.map(parsePath), accept: 110 });
export const cancelObserveComposite = (...paths: string[]): Lwm2mOperation => ({ type: 'cancel-observe-composite', path: {}, query: [], paths: paths.map(parsePath), accept: 110 });

export const CONTENT = (text = 'x', observeSeq?: number): Lwm2mResponse =>
  observeSeq === undefined
    ? { code: '2.05', content: [{ path: '/3/0/0', type: 'string', value: text }] }
    : { code: '2.05', content: [{ path: '/3/0/0', type: 'string', value: text }], observe: observeSeq };

/** Lets setImmediate callbacks (the engine's deferred dispatches) run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export const DEFAULT_OPTIONS: DeviceManagerOptions = { qmodeTimeWindow: 10, maxQueuedRequests: 100, expirySweepMs: 3_600_000 };

/** One engine over a fake server, with a handler and a request maker for string contexts. */
export class Harness {
  readonly server = new FakeServer();
  readonly log: string[] = [];
  readonly handler = new RecordingHandler<string>(this.log);
  readonly manager: DeviceManager<string>;

  constructor(options: Partial<DeviceManagerOptions> = {}) {
    this.manager = new DeviceManager<string>(this.server as unknown as Lwm2mServer, { ...DEFAULT_OPTIONS, ...options });
  }

  /** Registers the device and lets the engine release it (the 2.01 has gone out). */
  async register(reg: Registration, replaced?: Registration): Promise<Device<string>> {
    this.server.emit('registered', reg, replaced);
    await tick();
    return this.device(reg.endpoint);
  }

  device(endpoint: string): Device<string> {
    const device = this.manager.device(endpoint);
    if (!device) throw new Error(`no device ${endpoint}`);
    return device;
  }

  request(context: string, op: Lwm2mOperation, extra: Partial<DeviceRequest<string>> = {}): DeviceRequest<string> {
    return { op, ttl: Infinity, context, handler: this.handler, ...extra };
  }

  /** Submits a request and expects it accepted. */
  submit(device: Device<string>, context: string, op: Lwm2mOperation = read('/3/0/0'), extra: Partial<DeviceRequest<string>> = {}): DeviceRequest<string> {
    const request = this.request(context, op, extra);
    const refusal = this.manager.submit(device, request);
    if (refusal) throw new Error(`refused: ${refusal.error}`);
    return request;
  }

  /** The n-th request sent (0-based). */
  sent(n: number): SentRequest {
    const s = this.server.sent[n];
    if (!s) throw new Error(`request ${n} was not sent (${this.server.sent.length} sent)`);
    return s;
  }

  close(): void {
    this.manager.close();
  }
}
