import type { CoapResponse, InboundRequest } from '../../src/coap';
import { decodeEntries } from '../../src/lwm2m/codec';
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { ObjectModel } from '../../src/lwm2m/model/object-model';
import type { Entry } from '../../src/lwm2m/node';
import { parsePath, pathIds } from '../../src/lwm2m/path';
import { coapDownload } from './coap-download';
import type { DeviceRequestHandler, TestDevice } from './test-device';
import { readBoundedBody } from '../../src/limits/bounded-body';

/** Software Management (object 9) Update State /9/x/7. */
export const SoftwareState = { INITIAL: 0, DOWNLOAD_STARTED: 1, DOWNLOADED: 2, DELIVERED: 3, INSTALLED: 4 } as const;
export type SoftwareStateValue = (typeof SoftwareState)[keyof typeof SoftwareState];

/** Software Management Update Result /9/x/9 (OMA object 9). */
export const SoftwareUpdateResult = {
  INITIAL: 0,
  DOWNLOADING: 1,
  INSTALLED: 2,
  DELIVERED: 3,
  NOT_ENOUGH_STORAGE: 50,
  OUT_OF_MEMORY: 51,
  CONNECTION_LOST: 52,
  INTEGRITY_FAILURE: 53,
  UNSUPPORTED_PACKAGE: 54,
  INVALID_URI: 56,
  UPDATE_ERROR: 57,
  INSTALL_FAILED: 58,
  UNINSTALL_FAILED: 59,
} as const;

/** The simulated storage: a larger package (pushed or pulled) ends with Update Result 50. */
export const MAX_PACKAGE_BYTES = 4 * 1024 * 1024;
const MAX_URI_BYTES = 255;
const MAX_HISTORY = 1000;
/** Object 9 has no protocol-support resource: any scheme a downloader could speak is taken, others are an invalid URI (56). */
const PULL_SCHEMES = new Set(['coap:', 'coaps:', 'coap+tcp:', 'coaps+tcp:', 'http:', 'https:']);

/** User Name /9/x/14 and Password /9/x/15, as last written (empty when not). */
export interface PullCredentials {
  userName: string;
  password: string;
}

export interface SoftwareObjectOptions {
  /** The instances simulated, /9/x for each x; default [0]. Every instance runs its own state machine. */
  instances?: number[];
  /** PkgName /9/x/0 and PkgVersion /9/x/1 at start (the software in place); default ''. */
  pkgName?: string;
  pkgVersion?: string;
  /** PkgName and PkgVersion after a successful install; unchanged when not given. */
  newPkgName?: string;
  newPkgVersion?: string;
  /** Start in INSTALLED (software already in place) instead of INITIAL. */
  installed?: boolean;
  /** Activation State /9/x/12 at start; only with `installed`. */
  active?: boolean;
  /** Activation State right after a successful install; default false (Activate enables it). */
  activeAfterInstall?: boolean;
  /** Update Supported Objects /9/x/8 at start; default false (object 9). */
  updateSupportedObjects?: boolean;
  /** An Update Result to end every download with instead of the package, e.g. 50, 51, 52 or 56 (back to INITIAL). */
  failDownloadWith?: number;
  /** An Update Result to end the integrity check with instead of DELIVERED, e.g. 53 or 54 (back to INITIAL). */
  failCheckWith?: number;
  /** An Update Result to end Install with instead of success, e.g. 58 (the state stays DELIVERED). */
  failInstallWith?: number;
  /** An Update Result to end Uninstall with instead of success, e.g. 59 (the state stays INSTALLED). */
  failUninstallWith?: number;
  /** Time from the Package URI write to the download (pull only: a push arrives whole). */
  downloadDelayMs?: number;
  /** Time spent in DOWNLOADED before the integrity check ends. */
  checkDelayMs?: number;
  /** Time from the Install execute to its outcome; Update State stays DELIVERED meanwhile. */
  installDelayMs?: number;
  /** How a pull download gets the package; default: CoAP GET (Block2) over UDP, or fetch() for http(s) with Basic auth from User Name. */
  fetch?: (uri: string, credentials: PullCredentials) => Promise<Buffer>;
  /** Called after a successful install; with Update Supported Objects true a real client then sends an Update if its objects changed. */
  onInstalled?: (device: TestDevice, instanceId: number) => void;
}

/** One entry of the history: every change of Update State, Update Result or Activation State. */
export interface SoftwareTransition {
  state: SoftwareStateValue;
  result: number;
  active: boolean;
}

/** What one instance /9/x holds, for the test to look at. */
export interface SoftwareInstanceStatus {
  readonly id: number;
  readonly state: SoftwareStateValue;
  readonly result: number;
  readonly active: boolean;
  readonly pkgName: string;
  readonly pkgVersion: string;
  /** The last package pushed or pulled; kept once installed, dropped by a failure, a cancel or Uninstall. */
  readonly received: Buffer | undefined;
  /** The last Package URI written, '' after a cancel. */
  readonly packageUri: string;
  readonly credentials: Readonly<PullCredentials>;
  readonly updateSupportedObjects: boolean;
  readonly history: readonly SoftwareTransition[];
}

interface Instance {
  id: number;
  state: SoftwareStateValue;
  result: number;
  active: boolean;
  pkgName: string;
  pkgVersion: string;
  received: Buffer | undefined;
  packageUri: string;
  credentials: PullCredentials;
  updateSupportedObjects: boolean;
  history: SoftwareTransition[];
  /** An Install is under way (Update State still DELIVERED, as in Anjay). */
  installing: boolean;
  /** Bumped by every cancel, so a download, check or install started before it ends silently. */
  generation: number;
  timers: Set<NodeJS.Timeout>;
}

class PackageTooLarge extends Error {}
class PackageNotFound extends Error {}

/**
 * A simulated Software Management object (OMA LwM2M object 9, version 1.0) for a TestDevice: plug
 * `handler` into `TestDeviceOptions.handlers`. Its readable resources live in the device's value map
 * (so reads, discover and observe work as for any other object); writes of Package / Package URI and
 * the Install, Uninstall, Activate and Deactivate executes drive the state machine, and every change
 * notifies observers of the changed resources, of /9/x and of /9.
 *
 * Where object 9 leaves the answer open this follows Anjay's sw_mgmt module: an operation the state
 * does not allow is 4.05 (Install outside DELIVERED, Activate / Deactivate outside INSTALLED, a new
 * package outside INITIAL, Uninstall in INITIAL or while downloading); a Package URI that is no URI
 * or has no download scheme is 4.00 with Update Result 56. Unlike Anjay, an empty Package or Package
 * URI cancels back to INITIAL with Update Result 0 in any state, as object 5 does (object 9 names no
 * cancel); in INSTALLED that leaves the software in place, as Uninstall '1' does.
 */
export class SoftwareObject {
  private readonly instances = new Map<number, Instance>();
  private readonly model = ObjectModel.withBuiltins();
  private device: TestDevice | undefined;

  readonly handler: DeviceRequestHandler = (req, device) => this.handle(req, device);

  constructor(private readonly options: SoftwareObjectOptions = {}) {
    const ids = options.instances ?? [0];
    if (ids.length === 0 || new Set(ids).size !== ids.length || ids.some((id) => !Number.isInteger(id) || id < 0 || id > 65534)) {
      throw new RangeError('instances: distinct ids 0..65534, at least one');
    }
    if (options.active && !options.installed) throw new RangeError('active: only with installed');
    for (const id of ids) {
      this.instances.set(id, {
        id,
        state: options.installed ? SoftwareState.INSTALLED : SoftwareState.INITIAL,
        result: SoftwareUpdateResult.INITIAL,
        active: options.active ?? false,
        pkgName: options.pkgName ?? '',
        pkgVersion: options.pkgVersion ?? '',
        received: undefined,
        packageUri: '',
        credentials: { userName: '', password: '' },
        updateSupportedObjects: options.updateSupportedObjects ?? false,
        history: [],
        installing: false,
        generation: 0,
        timers: new Set(),
      });
    }
  }

  /** The readable resources, e.g. for `TestDeviceOptions.entries` so the register links list /9/x. */
  entries(): Entry[] {
    return [...this.instances.values()].flatMap((i) => instanceEntries(i));
  }

  /** One instance's state; the first one when `id` is not given. */
  instance(id?: number): SoftwareInstanceStatus {
    return this.lookup(id);
  }

  /** Update State of the first instance. */
  get currentState(): SoftwareStateValue {
    return this.lookup().state;
  }

  /** Update Result of the first instance. */
  get updateResult(): number {
    return this.lookup().result;
  }

  /** Activation State of the first instance. */
  get activationState(): boolean {
    return this.lookup().active;
  }

  /** The package the first instance received. */
  get received(): Buffer | undefined {
    return this.lookup().received;
  }

  /** The transitions of the first instance. */
  get history(): readonly SoftwareTransition[] {
    return this.lookup().history;
  }

  /** Stops pending downloads, checks and installs (call before closing the device). */
  stop(): void {
    for (const inst of this.instances.values()) this.cancelPending(inst);
  }

  private lookup(id?: number): Instance {
    const inst = id === undefined ? this.instances.values().next().value : this.instances.get(id);
    if (!inst) throw new Error(`no simulated instance /9/${id}`);
    return inst;
  }

  private handle(req: InboundRequest, device: TestDevice): CoapResponse | undefined {
    if (req.uriPath[0] !== '9') return undefined;
    let ids: number[];
    try {
      ids = pathIds(parsePath(req.uriPath.join('/')));
    } catch {
      return undefined;
    }
    const inst = ids.length >= 2 ? this.instances.get(ids[1]) : undefined;
    // Another instance may be simulated by another handler, or be the device's own.
    if (ids.length >= 2 && !inst) return undefined;
    this.attach(device);
    // Write-Attributes (PUT, no payload, no format, a query) is the device's business on any path.
    if (isWriteAttributes(req)) return undefined;
    const write = req.method === 'PUT' || req.method === 'POST';
    if (inst && ids.length === 3) {
      switch (ids[2]) {
        case 2:
          return write ? this.writePackage(inst, req) : answer('4.05');
        case 3:
          return write ? this.writePackageUri(inst, req) : answer('4.05');
        case 4:
          return req.method === 'POST' ? this.install(inst) : answer('4.05');
        case 6:
          return req.method === 'POST' ? this.uninstall(inst, req.payload.toString()) : answer('4.05');
        case 8:
          if (write) return this.writeUpdateSupportedObjects(inst, req);
          break;
        case 10:
        case 11:
          return req.method === 'POST' ? this.activate(inst, ids[2] === 10) : answer('4.05');
        case 14:
        case 15:
          return write ? this.writeCredential(inst, ids[2], req) : answer('4.05');
      }
    }
    // Writes to the object or instance, or to read-only resources, would bypass the state machine.
    if (req.method !== 'GET' && req.method !== 'FETCH') return answer('4.05');
    return undefined;
  }

  /** Mirrors the resources into the device's value map the first time the device asks us anything. */
  private attach(device: TestDevice): void {
    if (this.device === device) return;
    this.device = device;
    for (const inst of this.instances.values()) this.sync(inst);
  }

  private sync(inst: Instance): void {
    const device = this.device;
    if (!device) return;
    const prefix = `/9/${inst.id}/`;
    for (const path of [...device.values.keys()]) if (path.startsWith(prefix)) device.values.delete(path);
    for (const e of instanceEntries(inst)) device.values.set(e.path, e);
  }

  /** One resource value as written, decoded for its type; undefined when it does not decode. */
  private decode(inst: Instance, resourceId: number, req: InboundRequest, fallback: number): Entry['value'] | undefined {
    try {
      return decodeEntries(req.contentFormat ?? fallback, req.payload, parsePath(`/9/${inst.id}/${resourceId}`), this.model)[0]?.value;
    } catch {
      return undefined;
    }
  }

  /** Package /9/x/2 (push): the CoAP layer has reassembled Block1; an empty write cancels to INITIAL. */
  private writePackage(inst: Instance, req: InboundRequest): CoapResponse {
    let pkg: Buffer;
    if (req.contentFormat === undefined || req.contentFormat === ContentFormat.OPAQUE) {
      pkg = req.payload;
    } else {
      const value = this.decode(inst, 2, req, ContentFormat.OPAQUE);
      if (!Buffer.isBuffer(value)) return answer('4.00');
      pkg = value;
    }
    if (pkg.length === 0) {
      this.cancel(inst);
      return answer('2.04');
    }
    if (inst.state !== SoftwareState.INITIAL) return answer('4.05');
    // A push arrives whole, so the download starts and ends at once (observers still see both states).
    this.change(inst, SoftwareState.DOWNLOAD_STARTED, SoftwareUpdateResult.DOWNLOADING);
    const failWith = pkg.length > MAX_PACKAGE_BYTES ? SoftwareUpdateResult.NOT_ENOUGH_STORAGE : this.options.failDownloadWith;
    if (failWith !== undefined) {
      this.change(inst, SoftwareState.INITIAL, failWith);
      return answer('2.04');
    }
    this.downloaded(inst, Buffer.from(pkg));
    return answer('2.04');
  }

  /** Package URI /9/x/3 (pull): the write is answered at once; the outcome shows in Update State and Result. */
  private writePackageUri(inst: Instance, req: InboundRequest): CoapResponse {
    const uri = this.decode(inst, 3, req, ContentFormat.TEXT);
    if (typeof uri !== 'string') return answer('4.00');
    if (uri === '') {
      this.cancel(inst);
      return answer('2.04');
    }
    if (Buffer.byteLength(uri) > MAX_URI_BYTES) return answer('4.00');
    if (inst.state !== SoftwareState.INITIAL) return answer('4.05');
    inst.packageUri = uri;
    let scheme: string | undefined;
    try {
      scheme = new URL(uri).protocol;
    } catch {
      scheme = undefined;
    }
    if (scheme === undefined || !PULL_SCHEMES.has(scheme)) {
      this.change(inst, SoftwareState.INITIAL, SoftwareUpdateResult.INVALID_URI);
      return answer('4.00');
    }
    this.change(inst, SoftwareState.DOWNLOAD_STARTED, SoftwareUpdateResult.DOWNLOADING);
    const generation = inst.generation;
    this.after(inst, this.options.downloadDelayMs ?? 0, () => void this.download(inst, uri, generation));
    return answer('2.04');
  }

  private async download(inst: Instance, uri: string, generation: number): Promise<void> {
    if (generation !== inst.generation) return;
    const forced = this.options.failDownloadWith;
    if (forced !== undefined) {
      this.change(inst, SoftwareState.INITIAL, forced);
      return;
    }
    let pkg: Buffer;
    try {
      pkg = await (this.options.fetch ?? fetchPackage)(uri, { ...inst.credentials });
    } catch (err) {
      if (generation !== inst.generation) return;
      // As Anjay maps its downloader's errors: 4.04 / 404 is an invalid URI, anything else a lost connection.
      const result =
        err instanceof PackageTooLarge ? SoftwareUpdateResult.NOT_ENOUGH_STORAGE
        : err instanceof PackageNotFound ? SoftwareUpdateResult.INVALID_URI
        : SoftwareUpdateResult.CONNECTION_LOST;
      this.change(inst, SoftwareState.INITIAL, result);
      return;
    }
    if (generation !== inst.generation) return;
    if (pkg.length > MAX_PACKAGE_BYTES) {
      this.change(inst, SoftwareState.INITIAL, SoftwareUpdateResult.NOT_ENOUGH_STORAGE);
      return;
    }
    this.downloaded(inst, pkg);
  }

  /**
   * DOWNLOADED, then the integrity check: DELIVERED with Update Result 3, or back to INITIAL with the
   * forced failure. Update Result stays 1 in DOWNLOADED: the package is not verified yet.
   */
  private downloaded(inst: Instance, pkg: Buffer): void {
    inst.received = pkg;
    this.change(inst, SoftwareState.DOWNLOADED, SoftwareUpdateResult.DOWNLOADING);
    const generation = inst.generation;
    this.after(inst, this.options.checkDelayMs ?? 0, () => {
      if (generation !== inst.generation) return;
      const failWith = this.options.failCheckWith;
      if (failWith !== undefined) {
        inst.received = undefined;
        this.change(inst, SoftwareState.INITIAL, failWith);
        return;
      }
      this.change(inst, SoftwareState.DELIVERED, SoftwareUpdateResult.DELIVERED);
    });
  }

  /**
   * Install /9/x/4: "only executable when the value of the State Resource is DELIVERED" (object 9);
   * otherwise, or while an install is under way, 4.05. A failed install stays DELIVERED (object 9,
   * Update State), keeping the package so the server may retry or uninstall.
   */
  private install(inst: Instance): CoapResponse {
    if (inst.state !== SoftwareState.DELIVERED || inst.installing) return answer('4.05');
    inst.installing = true;
    const generation = inst.generation;
    this.after(inst, this.options.installDelayMs ?? 0, () => {
      if (generation !== inst.generation) return;
      inst.installing = false;
      const failWith = this.options.failInstallWith;
      if (failWith !== undefined) {
        this.change(inst, SoftwareState.DELIVERED, failWith);
        return;
      }
      this.change(inst, SoftwareState.INSTALLED, SoftwareUpdateResult.INSTALLED, {
        active: this.options.activeAfterInstall ?? false,
        pkgName: this.options.newPkgName,
        pkgVersion: this.options.newPkgVersion,
      });
      const device = this.device;
      if (device) this.options.onInstalled?.(device, inst.id);
    });
    return answer('2.04');
  }

  /**
   * Uninstall /9/x/6 with no argument or '0': in INSTALLED the software is removed (PkgName and
   * PkgVersion ''), in DELIVERED the package (an install under way is abandoned, as in Anjay); with
   * '1' (ForUpdate, INSTALLED only) the software stays for the package that will upgrade it. Either
   * way Update State and Update Result go back to INITIAL / 0 (object 9). Other arguments are 4.00.
   */
  private uninstall(inst: Instance, arg: string): CoapResponse {
    if (arg !== '' && arg !== '0' && arg !== '1') return answer('4.00');
    const forUpdate = arg === '1';
    const installed = inst.state === SoftwareState.INSTALLED;
    if (!installed && (forUpdate || inst.state !== SoftwareState.DELIVERED)) return answer('4.05');
    const failWith = this.options.failUninstallWith;
    if (installed && failWith !== undefined) {
      this.change(inst, SoftwareState.INSTALLED, failWith);
      return answer('2.04');
    }
    this.cancelPending(inst);
    inst.received = undefined;
    const removed = installed && !forUpdate ? { pkgName: '', pkgVersion: '' } : {};
    this.change(inst, SoftwareState.INITIAL, SoftwareUpdateResult.INITIAL, removed);
    return answer('2.04');
  }

  /** Activate /9/x/10 and Deactivate /9/x/11: INSTALLED only, else 4.05 (as Anjay). */
  private activate(inst: Instance, active: boolean): CoapResponse {
    if (inst.state !== SoftwareState.INSTALLED) return answer('4.05');
    this.change(inst, SoftwareState.INSTALLED, inst.result, { active });
    return answer('2.04');
  }

  /** Update Supported Objects /9/x/8: a boolean, writable in any state. */
  private writeUpdateSupportedObjects(inst: Instance, req: InboundRequest): CoapResponse {
    const value = this.decode(inst, 8, req, ContentFormat.TEXT);
    if (typeof value !== 'boolean') return answer('4.00');
    inst.updateSupportedObjects = value;
    this.sync(inst);
    return answer('2.04');
  }

  /** User Name /9/x/14 and Password /9/x/15: write-only, kept for the next pull. */
  private writeCredential(inst: Instance, resourceId: number, req: InboundRequest): CoapResponse {
    const value = this.decode(inst, resourceId, req, ContentFormat.TEXT);
    if (typeof value !== 'string' || Buffer.byteLength(value) > MAX_URI_BYTES) return answer('4.00');
    if (resourceId === 14) inst.credentials.userName = value;
    else inst.credentials.password = value;
    return answer('2.04');
  }

  /** An empty Package or Package URI: whatever is under way is dropped, INITIAL with Update Result 0. */
  private cancel(inst: Instance): void {
    this.cancelPending(inst);
    inst.received = undefined;
    inst.packageUri = '';
    this.change(inst, SoftwareState.INITIAL, SoftwareUpdateResult.INITIAL);
  }

  private cancelPending(inst: Instance): void {
    inst.generation += 1;
    inst.installing = false;
    for (const t of inst.timers) clearTimeout(t);
    inst.timers.clear();
  }

  private after(inst: Instance, ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      inst.timers.delete(timer);
      run();
    }, ms);
    inst.timers.add(timer);
  }

  /**
   * Sets Update State and Result, and with them Activation State (false outside INSTALLED: its state
   * machine only lives there) and the package name and version. A change of State, Result or
   * Activation State is recorded; any change is notified to observers of the changed resources, /9/x and /9.
   */
  private change(inst: Instance, state: SoftwareStateValue, result: number, set: { active?: boolean; pkgName?: string; pkgVersion?: string } = {}): void {
    const active = state === SoftwareState.INSTALLED && (set.active ?? inst.active);
    const pkgName = set.pkgName ?? inst.pkgName;
    const pkgVersion = set.pkgVersion ?? inst.pkgVersion;
    const transition = state !== inst.state || result !== inst.result || active !== inst.active;
    const changed = [
      state !== inst.state && '7',
      result !== inst.result && '9',
      active !== inst.active && '12',
      pkgName !== inst.pkgName && '0',
      pkgVersion !== inst.pkgVersion && '1',
    ].filter((r): r is string => r !== false);
    if (changed.length === 0) return;
    inst.state = state;
    inst.result = result;
    inst.active = active;
    inst.pkgName = pkgName;
    inst.pkgVersion = pkgVersion;
    if (transition) {
      if (inst.history.length >= MAX_HISTORY) inst.history.shift();
      inst.history.push({ state, result, active });
    }
    this.sync(inst);
    const device = this.device;
    if (!device) return;
    for (const path of [...changed.map((r) => `/9/${inst.id}/${r}`), `/9/${inst.id}`, '/9']) {
      if (device.observations.has(path)) device.notify(path);
    }
  }
}

function instanceEntries(inst: Instance): Entry[] {
  const base = `/9/${inst.id}`;
  return [
    { path: `${base}/0`, type: 'string', value: inst.pkgName },
    { path: `${base}/1`, type: 'string', value: inst.pkgVersion },
    { path: `${base}/7`, type: 'integer', value: inst.state },
    { path: `${base}/8`, type: 'boolean', value: inst.updateSupportedObjects },
    { path: `${base}/9`, type: 'integer', value: inst.result },
    { path: `${base}/12`, type: 'boolean', value: inst.active },
  ];
}

function isWriteAttributes(req: InboundRequest): boolean {
  return req.method === 'PUT' && req.payload.length === 0 && req.contentFormat === undefined && (req.uriQuery?.length ?? 0) > 0;
}

function answer(code: string): CoapResponse {
  return { code, payload: Buffer.alloc(0) };
}

/** The default pull: CoAP GET through a fresh endpoint on UDP (Block2 reassembled by it), or HTTP(S) via fetch(). */
async function fetchPackage(uri: string, credentials: PullCredentials): Promise<Buffer> {
  const url = new URL(uri);
  if (url.protocol === 'http:' || url.protocol === 'https:') return httpPackage(url, credentials);
  if (url.protocol !== 'coap:') throw new Error(`no default fetcher for ${url.protocol}`);
  // A larger body than the storage fails in the CoAP layer and is reported as a lost connection.
  const res = await coapDownload(uri, MAX_PACKAGE_BYTES);
  if (res.code === '4.04') throw new PackageNotFound(`GET ${uri}: 4.04`);
  if (res.code !== '2.05') throw new Error(`GET ${uri}: ${res.code}`);
  return res.payload;
}

/** HTTP(S) GET, with Basic authentication when a User Name was written (object 9: "for access to SW Update Package in pull mode"). */
async function httpPackage(url: URL, credentials: PullCredentials): Promise<Buffer> {
  const headers: Record<string, string> = {};
  if (credentials.userName !== '') {
    headers.authorization = `Basic ${Buffer.from(`${credentials.userName}:${credentials.password}`).toString('base64')}`;
  }
  const res = await fetch(url, { headers });
  if (res.status === 404) throw new PackageNotFound(`GET ${url.href}: 404`);
  if (!res.ok || !res.body) throw new Error(`GET ${url.href}: ${res.status}`);
  const pkg = await readBoundedBody(res, MAX_PACKAGE_BYTES);
  if (pkg === undefined) throw new PackageTooLarge('package larger than the storage');
  return pkg;
}
