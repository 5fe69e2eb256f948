// @ts-check
/**
 * The management API as the console uses it. Same origin, so the browser sends the HTTP Basic
 * credentials it was given for the page (`credentials: 'same-origin'`).
 */

const BASE = '/api/v5/gateways/lwm2m';
/** The list shows at most this many devices (pages of PAGE_SIZE): a browser table of more helps no one. */
export const MAX_LISTED = 1000;
const PAGE_SIZE = 100;

/**
 * A device as the console shows it, whatever optional fields the API gives.
 * @typedef {{
 *   endpoint: string,
 *   address: string,
 *   lwm2mVersion: string,
 *   binding: string,
 *   queueMode: boolean,
 *   awake: boolean | undefined,
 *   lastSeen: string | number | undefined,
 *   lifetime: number | undefined,
 *   registeredAt: string | number | undefined,
 *   objectList: string[],
 * }} ClientView
 */

/**
 * @typedef {{ id: number, name: string, operations: '' | 'R' | 'W' | 'RW' | 'E', type: string, multiple: boolean, mandatory: boolean, units?: string }} ResourceModel
 * @typedef {{ id: number, name: string, version: string, urn?: string, multiple: boolean, resources: ResourceModel[] }} ObjectModel
 */

/** An answer of the API other than 2xx: its status and `{code, message}`. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {unknown} body
   */
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
async function call(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  /** @type {unknown} */
  let parsed;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = /** @type {{code?: unknown, message?: unknown}} */ (parsed ?? {});
    throw new ApiError(
      response.status,
      typeof error.code === 'string' ? error.code : `HTTP_${response.status}`,
      typeof error.message === 'string' ? error.message : response.statusText,
      parsed,
    );
  }
  return parsed;
}

/**
 * @param {Record<string, unknown>} raw
 * @param {string[]} names
 * @returns {unknown}
 */
function field(raw, names) {
  for (const name of names) if (raw[name] !== undefined && raw[name] !== null) return raw[name];
  return undefined;
}

/**
 * @param {unknown} value
 * @returns {string}
 */
function text(value) {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/**
 * A device of the clients API (EMQX's field names, with this gateway's additions) as the console shows it.
 * @param {unknown} item
 * @returns {ClientView | undefined}
 */
export function clientView(item) {
  if (typeof item !== 'object' || item === null) return undefined;
  const raw = /** @type {Record<string, unknown>} */ (item);
  const endpoint = text(field(raw, ['endpoint_name', 'clientid']));
  if (endpoint === '') return undefined;
  const ip = text(field(raw, ['ip_address', 'address']));
  const port = text(field(raw, ['port']));
  const queue = field(raw, ['queue_mode']);
  const awake = field(raw, ['awake', 'is_awake']);
  const objects = field(raw, ['object_list', 'objectList']);
  const lastSeen = field(raw, ['last_seen', 'last_seen_at', 'lastSeen']);
  const registered = field(raw, ['created_at', 'registered_at']);
  const lifetime = field(raw, ['lifetime']);
  return {
    endpoint,
    address: ip === '' ? '—' : port === '' ? ip : ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`,
    lwm2mVersion: text(field(raw, ['lwm2m_version', 'proto_ver'])) || '—',
    binding: text(field(raw, ['binding'])) || '—',
    queueMode: queue === true || (typeof queue === 'string' && queue !== '' && queue !== 'false'),
    awake: typeof awake === 'boolean' ? awake : undefined,
    lastSeen: typeof lastSeen === 'string' || typeof lastSeen === 'number' ? lastSeen : undefined,
    lifetime: typeof lifetime === 'number' ? lifetime : undefined,
    registeredAt: typeof registered === 'string' || typeof registered === 'number' ? registered : undefined,
    objectList: Array.isArray(objects) ? objects.filter((o) => typeof o === 'string') : [],
  };
}

/**
 * The registered devices, page after page, up to MAX_LISTED; `total` is how many the gateway has.
 * @returns {Promise<{ clients: ClientView[], total: number }>}
 */
export async function listClients() {
  /** @type {ClientView[]} */
  const clients = [];
  let total = 0;
  for (let page = 1; clients.length < MAX_LISTED; page++) {
    const body = /** @type {{data?: unknown, meta?: {count?: unknown}}} */ (await call('GET', `${BASE}/clients?page=${page}&limit=${PAGE_SIZE}`));
    const items = Array.isArray(body?.data) ? body.data : [];
    total = typeof body?.meta?.count === 'number' ? body.meta.count : clients.length + items.length;
    for (const item of items) {
      const view = clientView(item);
      if (view) clients.push(view);
    }
    if (items.length < PAGE_SIZE || clients.length >= total) break;
  }
  return { clients: clients.slice(0, MAX_LISTED), total };
}

/**
 * One device, undefined when it is not registered.
 * @param {string} endpoint
 * @returns {Promise<ClientView | undefined>}
 */
export async function getClient(endpoint) {
  try {
    return clientView(await call('GET', `${BASE}/clients/${encodeURIComponent(endpoint)}`));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** @type {Map<number, Promise<ObjectModel | undefined>>} */
const objectModels = new Map();

/**
 * An object's definition (names, operations, types), asked once per object; undefined when the gateway's model lacks it.
 * @param {number} objectId
 * @returns {Promise<ObjectModel | undefined>}
 */
export function getObjectModel(objectId) {
  let model = objectModels.get(objectId);
  if (model === undefined) {
    model = call('GET', `${BASE}/objects/${objectId}`).then(
      (body) => /** @type {ObjectModel} */ (body),
      (err) => {
        if (err instanceof ApiError && err.status === 404) return undefined;
        objectModels.delete(objectId); // a transient failure is asked again next time
        throw err;
      },
    );
    objectModels.set(objectId, model);
  }
  return model;
}

let nextRequestId = 1;

/**
 * @typedef {{ reqID?: number, msgType?: string, data?: { reqPath?: string | null, code?: string, codeMsg?: string, content?: unknown, error?: string } }} CommandAnswer
 */

/**
 * Runs a command on a device (the MQTT contract's JSON, through the synchronous command route) and
 * returns its answer, as published on up/resp.
 * @param {string} endpoint
 * @param {string} msgType
 * @param {Record<string, unknown>} data
 * @returns {Promise<CommandAnswer>}
 */
export async function runCommand(endpoint, msgType, data) {
  const reqID = nextRequestId++;
  return /** @type {CommandAnswer} */ (await call('POST', `${BASE}/clients/${encodeURIComponent(endpoint)}/${encodeURIComponent(msgType)}`, { reqID, data }));
}
