import type { JsonObject, JsonValue } from '../store/json';

/**
 * Where a firmware job is (stored, so that a restarted gateway goes on from there):
 * - `check`: reading /5/0 (State, protocols, delivery method);
 * - `deliver`: writing Package URI (pull) or Package block by block (push);
 * - `download`: waiting for State Downloaded;
 * - `update`: Update /5/0/2 sent;
 * - `updating`: waiting for Update Result.
 */
export type FirmwareStep = 'check' | 'deliver' | 'download' | 'update' | 'updating';

export type DeliveryMethodName = 'push' | 'pull';

/** A download scheme the gateway serves an image over itself. */
export type ServedScheme = 'coap' | 'coaps' | 'http' | 'https';

export interface JobImage {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/** A firmware job's stored state. */
export interface FirmwareJobState {
  readonly id: string;
  readonly endpoint: string;
  readonly method: DeliveryMethodName;
  /** Package URI of a package on another server (pull). */
  readonly uri?: string;
  /** An image of the gateway's store (push, or pull from the gateway). */
  readonly image?: JobImage;
  /** Pull of an image: the scheme the gateway serves it over, and the download path's token. */
  readonly scheme?: ServedScheme;
  readonly token?: string;
  step: FirmwareStep;
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

export function jobStateJson(state: FirmwareJobState): JsonObject {
  const out: Record<string, JsonValue> = {
    id: state.id,
    endpoint: state.endpoint,
    method: state.method,
    step: state.step,
    offset: state.offset,
    szx: state.szx,
    restarts: state.restarts,
    createdAt: state.createdAt,
    deadline: state.deadline,
  };
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

/** A stored job's state read back, or undefined when it is not one (a damaged or foreign record). */
export function parseJobState(data: JsonObject, endpoint: string): FirmwareJobState | undefined {
  const { id, method, uri, image, scheme, token, step, reqID } = data;
  const offset = count(data.offset);
  const szx = count(data.szx);
  const restarts = count(data.restarts);
  const createdAt = count(data.createdAt);
  const deadline = count(data.deadline);
  if (typeof id !== 'string' || (method !== 'push' && method !== 'pull') || typeof step !== 'string' || !STEPS.has(step)) return undefined;
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
  if ((uri === undefined) === (jobImage === undefined)) return undefined;
  return {
    id,
    endpoint,
    method,
    uri,
    image: jobImage,
    scheme: scheme as ServedScheme | undefined,
    token,
    step: step as FirmwareStep,
    offset,
    szx,
    restarts,
    createdAt,
    deadline,
    reqID,
  };
}
