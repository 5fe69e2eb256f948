import type { CoapResponse, InboundRequest } from '../../src/coap';
import { decodeEntries } from '../../src/lwm2m/codec';
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { ObjectModel } from '../../src/lwm2m/model/object-model';
import type { Entry } from '../../src/lwm2m/node';
import { formatPath, parsePath } from '../../src/lwm2m/path';
import { coapDownload } from './coap-download';
import type { DeviceRequestHandler, TestDevice } from './test-device';
import { readBoundedBody } from '../../src/limits/bounded-body';

/** Firmware Update (object 5) State /5/0/3. */
export const FirmwareState = { IDLE: 0, DOWNLOADING: 1, DOWNLOADED: 2, UPDATING: 3 } as const;
export type FirmwareStateValue = (typeof FirmwareState)[keyof typeof FirmwareState];

/** Firmware Update Update Result /5/0/5 (OMA object 5). */
export const UpdateResult = {
  INITIAL: 0,
  SUCCESS: 1,
  NOT_ENOUGH_FLASH: 2,
  OUT_OF_RAM: 3,
  CONNECTION_LOST: 4,
  INTEGRITY_FAILURE: 5,
  UNSUPPORTED_PACKAGE: 6,
  INVALID_URI: 7,
  UPDATE_FAILED: 8,
  UNSUPPORTED_PROTOCOL: 9,
} as const;

/** The simulated flash: a larger image (pushed or pulled) ends with Update Result 2. */
export const MAX_FIRMWARE_BYTES = 4 * 1024 * 1024;
const MAX_URI_BYTES = 255;
const MAX_HISTORY = 1000;

/** Firmware Update Protocol Support /5/0/8 values by URI scheme. */
const PROTOCOL_BY_SCHEME: Record<string, number> = { 'coap:': 0, 'coaps:': 1, 'http:': 2, 'https:': 3, 'coap+tcp:': 4, 'coaps+tcp:': 5 };

export interface FirmwareObjectOptions {
  /** Firmware Update Protocol Support /5/0/8; default [0, 1] (CoAP, CoAPS). */
  protocols?: number[];
  /** Delivery Method /5/0/9: 0 pull only, 1 push only, 2 both (default). */
  delivery?: 0 | 1 | 2;
  /** An Update Result to end the update with instead of success, e.g. 5 (integrity check failure). */
  failWith?: number;
  downloadDelayMs?: number;
  updateDelayMs?: number;
  /** Firmware Version /3/0/3 after a successful update. */
  newVersion?: string;
  pkgName?: string;
  pkgVersion?: string;
  /** How a pull download gets the image; default: CoAP GET (Block2) over UDP, or fetch() for http(s). */
  fetch?: (uri: string) => Promise<Buffer>;
  /** Called after a successful update (a real device reboots and registers again). */
  onReboot?: (device: TestDevice) => void;
}

class ImageTooLarge extends Error {}

/**
 * A simulated Firmware Update object (OMA LwM2M object 5, instance 0) for a TestDevice: plug
 * `handler` into `TestDeviceOptions.handlers`. Its readable resources live in the device's value map
 * (so reads, discover and observe work as for any other object); writes of Package / Package URI and
 * the Update execute drive the state machine, and every change notifies observers of /5/0/3, /5/0/5
 * and /5/0.
 */
export class FirmwareObject {
  received: Buffer | undefined;
  readonly history: { state: number; result: number }[] = [];
  packageUri = '';
  private state: FirmwareStateValue = FirmwareState.IDLE;
  private result: number = UpdateResult.INITIAL;
  private readonly protocols: number[];
  private readonly delivery: 0 | 1 | 2;
  private readonly model = ObjectModel.withBuiltins();
  private device: TestDevice | undefined;
  /** Bumped by every reset, so a download or update started before it ends silently. */
  private generation = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  readonly handler: DeviceRequestHandler = (req, device) => this.handle(req, device);

  constructor(private readonly options: FirmwareObjectOptions = {}) {
    this.protocols = [...(options.protocols ?? [0, 1])];
    this.delivery = options.delivery ?? 2;
    if (this.protocols.some((p) => !Number.isInteger(p) || p < 0 || p > 5)) throw new RangeError('protocols: each must be 0..5');
  }

  /** The readable resources, e.g. for `TestDeviceOptions.entries` so the register links list /5/0. */
  entries(): Entry[] {
    const entries: Entry[] = [
      { path: '/5/0/1', type: 'string', value: this.packageUri },
      { path: '/5/0/3', type: 'integer', value: this.state },
      { path: '/5/0/5', type: 'integer', value: this.result },
      { path: '/5/0/9', type: 'integer', value: this.delivery },
      ...this.protocols.map((p, i): Entry => ({ path: `/5/0/8/${i}`, type: 'integer', value: p })),
    ];
    if (this.options.pkgName !== undefined) entries.push({ path: '/5/0/6', type: 'string', value: this.options.pkgName });
    if (this.options.pkgVersion !== undefined) entries.push({ path: '/5/0/7', type: 'string', value: this.options.pkgVersion });
    return entries;
  }

  get currentState(): number {
    return this.state;
  }

  get updateResult(): number {
    return this.result;
  }

  /** Stops a pending download or update (call before closing the device). */
  stop(): void {
    this.generation += 1;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private handle(req: InboundRequest, device: TestDevice): CoapResponse | undefined {
    if (req.uriPath[0] !== '5') return undefined;
    this.attach(device);
    let path: string;
    try {
      path = formatPath(parsePath(req.uriPath.join('/')));
    } catch {
      return undefined;
    }
    if (path === '/5/0/0') return req.method === 'PUT' || req.method === 'POST' ? this.writePackage(req) : answer('4.05');
    if (path === '/5/0/1' && (req.method === 'PUT' || req.method === 'POST')) return this.writePackageUri(req);
    if (path === '/5/0/2') return req.method === 'POST' ? this.executeUpdate() : answer('4.05');
    // Writes to the object or instance, or to read-only resources, would bypass the state machine.
    if (req.method !== 'GET' && req.method !== 'FETCH' && !(req.method === 'PUT' && req.payload.length === 0)) return answer('4.05');
    return undefined;
  }

  /** Mirrors the resources into the device's value map the first time the device asks us anything. */
  private attach(device: TestDevice): void {
    if (this.device === device) return;
    this.device = device;
    this.sync();
  }

  private sync(): void {
    const device = this.device;
    if (!device) return;
    for (const path of [...device.values.keys()]) if (path.startsWith('/5/0/')) device.values.delete(path);
    for (const e of this.entries()) device.values.set(e.path, e);
  }

  /** Package /5/0/0 (push): the CoAP layer has reassembled Block1; an empty write resets to Idle. */
  private writePackage(req: InboundRequest): CoapResponse {
    if (this.delivery === 0) return answer('4.05');
    let image: Buffer;
    if (req.contentFormat === undefined || req.contentFormat === ContentFormat.OPAQUE) {
      image = req.payload;
    } else {
      try {
        const value = decodeEntries(req.contentFormat, req.payload, parsePath('/5/0/0'), this.model)[0]?.value;
        if (!Buffer.isBuffer(value)) return answer('4.00');
        image = value;
      } catch {
        return answer('4.00');
      }
    }
    // Object 5: writing an empty Package (or '\0') resets the state machine to Idle, result 0.
    if (image.length === 0 || (image.length === 1 && image[0] === 0)) {
      this.reset();
      return answer('2.04');
    }
    if (this.state !== FirmwareState.IDLE) return answer('4.05');
    if (image.length > MAX_FIRMWARE_BYTES) {
      this.change(FirmwareState.IDLE, UpdateResult.NOT_ENOUGH_FLASH);
      return answer('2.04');
    }
    this.received = Buffer.from(image);
    this.change(FirmwareState.DOWNLOADED, UpdateResult.INITIAL);
    return answer('2.04');
  }

  /** Package URI /5/0/1 (pull): the write is answered at once; the outcome shows in State and Update Result. */
  private writePackageUri(req: InboundRequest): CoapResponse {
    if (this.delivery === 1) return answer('4.05');
    let uri: string;
    try {
      const value = decodeEntries(req.contentFormat ?? ContentFormat.TEXT, req.payload, parsePath('/5/0/1'), this.model)[0]?.value;
      if (typeof value !== 'string') return answer('4.00');
      uri = value;
    } catch {
      return answer('4.00');
    }
    if (uri === '') {
      this.reset();
      return answer('2.04');
    }
    if (Buffer.byteLength(uri) > MAX_URI_BYTES) return answer('4.00');
    if (this.state !== FirmwareState.IDLE) return answer('4.05');
    this.packageUri = uri;
    let scheme: string;
    try {
      scheme = new URL(uri).protocol;
    } catch {
      this.change(FirmwareState.IDLE, UpdateResult.INVALID_URI);
      return answer('2.04');
    }
    const protocol = PROTOCOL_BY_SCHEME[scheme];
    if (protocol === undefined || !this.protocols.includes(protocol)) {
      this.change(FirmwareState.IDLE, UpdateResult.UNSUPPORTED_PROTOCOL);
      return answer('2.04');
    }
    this.change(FirmwareState.DOWNLOADING, UpdateResult.INITIAL);
    const generation = this.generation;
    this.after(this.options.downloadDelayMs ?? 0, () => void this.download(uri, generation));
    return answer('2.04');
  }

  private async download(uri: string, generation: number): Promise<void> {
    let image: Buffer;
    try {
      image = await (this.options.fetch ?? fetchImage)(uri);
    } catch (err) {
      if (generation !== this.generation) return;
      this.change(FirmwareState.IDLE, err instanceof ImageTooLarge ? UpdateResult.NOT_ENOUGH_FLASH : UpdateResult.CONNECTION_LOST);
      return;
    }
    if (generation !== this.generation) return;
    if (image.length > MAX_FIRMWARE_BYTES) {
      this.change(FirmwareState.IDLE, UpdateResult.NOT_ENOUGH_FLASH);
      return;
    }
    this.received = image;
    this.change(FirmwareState.DOWNLOADED, UpdateResult.INITIAL);
  }

  /**
   * Update /5/0/2: "only executable when the value of the State Resource is Downloaded" (object 5);
   * otherwise 4.05 Method Not Allowed, as Anjay and Leshan clients answer. A failed update returns to
   * Downloaded (object 5 1.0, State: "If the Update Resource failed, the state returns at Downloaded"),
   * keeping the image so the server may retry or reset.
   */
  private executeUpdate(): CoapResponse {
    if (this.state !== FirmwareState.DOWNLOADED) return answer('4.05');
    this.change(FirmwareState.UPDATING, this.result);
    const generation = this.generation;
    this.after(this.options.updateDelayMs ?? 0, () => {
      if (generation !== this.generation) return;
      const failWith = this.options.failWith;
      if (failWith !== undefined) {
        this.change(FirmwareState.DOWNLOADED, failWith);
        return;
      }
      const device = this.device;
      if (device && this.options.newVersion !== undefined) device.values.set('/3/0/3', { path: '/3/0/3', type: 'string', value: this.options.newVersion });
      this.received = undefined;
      this.change(FirmwareState.IDLE, UpdateResult.SUCCESS);
      if (device) this.options.onReboot?.(device);
    });
    return answer('2.04');
  }

  /** Object 5: an empty Package URI or Package resets the state machine: Idle, Update Result 0. */
  private reset(): void {
    this.stop();
    this.received = undefined;
    this.packageUri = '';
    this.change(FirmwareState.IDLE, UpdateResult.INITIAL);
  }

  private after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private change(state: FirmwareStateValue, result: number): void {
    const stateChanged = state !== this.state;
    const resultChanged = result !== this.result;
    this.state = state;
    this.result = result;
    if (this.history.length >= MAX_HISTORY) this.history.shift();
    this.history.push({ state, result });
    this.sync();
    const device = this.device;
    if (!device) return;
    for (const [path, changed] of [['/5/0/3', stateChanged], ['/5/0/5', resultChanged], ['/5/0', stateChanged || resultChanged]] as const) {
      if (changed && device.observations.has(path)) device.notify(path);
    }
  }
}

function answer(code: string): CoapResponse {
  return { code, payload: Buffer.alloc(0) };
}

/** The default pull: CoAP GET through a fresh endpoint on UDP (Block2 reassembled by it), or HTTP(S) via fetch(). */
async function fetchImage(uri: string): Promise<Buffer> {
  const url = new URL(uri);
  if (url.protocol === 'http:' || url.protocol === 'https:') return httpImage(url);
  if (url.protocol !== 'coap:') throw new Error(`no default fetcher for ${url.protocol}`);
  // A larger body than the flash fails in the CoAP layer and is reported as a lost connection.
  const res = await coapDownload(uri, MAX_FIRMWARE_BYTES);
  if (res.code !== '2.05') throw new Error(`GET ${uri}: ${res.code}`);
  return res.payload;
}

async function httpImage(url: URL): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`GET ${url.href}: ${res.status}`);
  const image = await readBoundedBody(res, MAX_FIRMWARE_BYTES);
  if (image === undefined) throw new ImageTooLarge('image larger than the flash');
  return image;
}
