import type { JsonObject, JsonValue } from '../store/json';
import { FIRMWARE_TARGET } from './firmware-target';
import { softwareTarget, type SoftwareOperation } from './software-target';
import type { UpdateKind, UpdateOperation, UpdateTarget } from './update-target';

/**
 * Where an update job is (stored, so that a restarted gateway goes on from there):
 * - `check`: reading the target instance (/5/0: State, protocols, delivery method; /9/x: Update State);
 * - `deliver`: writing Package URI (pull) or Package block by block (push);
 * - `download`: waiting for the package to be ready (object 5: Downloaded; object 9: DELIVERED);
 * - `update`: the execute sent (Update /5/0/2; Install, Uninstall, Activate or Deactivate of /9/x);
 * - `updating`: the execute answered, waiting for the outcome.
 */
export type UpdateStep = 'check' | 'deliver' | 'download' | 'update' | 'updating';

export type DeliveryMethodName = 'push' | 'pull';

/** A download scheme the gateway serves an image over itself. */
export type ServedScheme = 'coap' | 'coaps' | 'http' | 'https';

export interface JobImage {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/** An update job's stored state. */
export interface UpdateJobState {
  readonly id: string;
  readonly endpoint: string;
  readonly kind: UpdateKind;
  /** firmware: update; software: install, uninstall, activate or deactivate. */
  readonly operation: UpdateOperation;
  /** The target's instance: 0 for firmware, x of /9/x for software. */
  readonly instanceId: number;
  /** Uninstall with argument 1 (the software stays for the package that upgrades it). */
  readonly forUpdate?: boolean;
  /** How the package is delivered; undefined for operations without one. */
  readonly method?: DeliveryMethodName;
  /** Package URI of a package on another server (pull). */
  readonly uri?: string;
  /** An image of the gateway's store (push, or pull from the gateway). */
  readonly image?: JobImage;
  /** Pull of an image: the scheme the gateway serves it over, and the download path's token. */
  readonly scheme?: ServedScheme;
  readonly token?: string;
  step: UpdateStep;
  /** Push: bytes the device has taken, and the block size (SZX) in use. */
  offset: number;
  szx: number;
  /** Push: transfers started over from the first block (the device lost the body). */
  restarts: number;
  readonly createdAt: number;
  /** ms since epoch; the job fails past it. */
  readonly deadline: number;
  /** The command's reqID, echoed in every event of the job. */
  readonly reqID?: JsonValue;
}

const STEPS: ReadonlySet<string> = new Set(['check', 'deliver', 'download', 'update', 'updating']);
const SCHEMES: ReadonlySet<string> = new Set(['coap', 'coaps', 'http', 'https']);
const SOFTWARE_OPERATIONS: ReadonlySet<string> = new Set(['install', 'uninstall', 'activate', 'deactivate']);

/** The object-specific part of a job. */
export function targetOf(state: Pick<UpdateJobState, 'kind' | 'operation' | 'instanceId' | 'forUpdate'>): UpdateTarget {
  return state.kind === 'firmware' ? FIRMWARE_TARGET : softwareTarget(state.operation as SoftwareOperation, state.instanceId, state.forUpdate === true);
}

export function jobStateJson(state: UpdateJobState): JsonObject {
  const out: Record<string, JsonValue> = {
    id: state.id,
    endpoint: state.endpoint,
    step: state.step,
    offset: state.offset,
    szx: state.szx,
    restarts: state.restarts,
    createdAt: state.createdAt,
    deadline: state.deadline,
  };
  if (state.method !== undefined) out.method = state.method;
  if (state.kind === 'software') {
    out.operation = state.operation;
    out.instanceId = state.instanceId;
    if (state.forUpdate) out.forUpdate = true;
  }
  if (state.uri !== undefined) out.uri = state.uri;
  if (state.image) out.image = { name: state.image.name, size: state.image.size, sha256: state.image.sha256 };
  if (state.scheme !== undefined) out.scheme = state.scheme;
  if (state.token !== undefined) out.token = state.token;
  if (state.reqID !== undefined) out.reqID = state.reqID;
  return out;
}

function count(value: JsonValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * A stored job's state read back, or undefined when it is not one (a damaged or foreign record).
 * Firmware records carry no operation or instance (object 5 has one of each).
 */
export function parseJobState(data: JsonObject, endpoint: string, kind: UpdateKind): UpdateJobState | undefined {
  const { id, method, uri, image, scheme, token, step, reqID, operation, forUpdate } = data;
  const instanceId = kind === 'firmware' ? 0 : count(data.instanceId);
  if (instanceId === undefined || instanceId > 65534) return undefined;
  if (kind === 'software' && (typeof operation !== 'string' || !SOFTWARE_OPERATIONS.has(operation))) return undefined;
  if (forUpdate !== undefined && typeof forUpdate !== 'boolean') return undefined;
  const op = (kind === 'firmware' ? 'update' : operation) as UpdateOperation;
  const delivers = op === 'update' || op === 'install';
  const offset = count(data.offset);
  const szx = count(data.szx);
  const restarts = count(data.restarts);
  const createdAt = count(data.createdAt);
  const deadline = count(data.deadline);
  if (typeof id !== 'string' || typeof step !== 'string' || !STEPS.has(step)) return undefined;
  if (delivers ? method !== 'push' && method !== 'pull' : method !== undefined) return undefined;
  if (offset === undefined || szx === undefined || szx > 6 || restarts === undefined || createdAt === undefined || deadline === undefined) return undefined;
  if (uri !== undefined && typeof uri !== 'string') return undefined;
  if (scheme !== undefined && (typeof scheme !== 'string' || !SCHEMES.has(scheme))) return undefined;
  if (token !== undefined && (typeof token !== 'string' || !/^[0-9a-f]{32}$/.test(token))) return undefined;
  let jobImage: JobImage | undefined;
  if (image !== undefined) {
    if (image === null || typeof image !== 'object' || Array.isArray(image)) return undefined;
    const { name, sha256 } = image as JsonObject;
    const size = count((image as JsonObject).size);
    if (typeof name !== 'string' || typeof sha256 !== 'string' || size === undefined) return undefined;
    jobImage = { name, size, sha256 };
  }
  if (delivers ? (uri === undefined) === (jobImage === undefined) : uri !== undefined || jobImage !== undefined) return undefined;
  return {
    id,
    endpoint,
    kind,
    operation: op,
    instanceId,
    forUpdate: forUpdate === true ? true : undefined,
    method: method as DeliveryMethodName | undefined,
    uri,
    image: jobImage,
    scheme: scheme as ServedScheme | undefined,
    token,
    step: step as UpdateStep,
    offset,
    szx,
    restarts,
    createdAt,
    deadline,
    reqID,
  };
}
