// @ts-check
/**
 * The gateway's live events (Server-Sent Events on /api/v5/gateways/lwm2m/events): one stream for
 * the whole page, told to every part that listens.
 */

export const EVENT_KINDS = /** @type {const} */ (['register', 'update', 'deregister', 'notify', 'send', 'response', 'refused', 'bootstrap']);

/**
 * @typedef {{ kind: string, id: string, endpoint: string | null, topic?: string, message?: Record<string, unknown>, peer?: string, code?: string, reason?: string }} GatewayEvent
 * @typedef {'connecting' | 'live' | 'reconnecting' | 'offline'} StreamState
 */

/** @type {Set<(event: GatewayEvent) => void>} */
const listeners = new Set();
/** @type {Set<(state: StreamState) => void>} */
const stateListeners = new Set();
/** @type {EventSource | undefined} */
let source;
/** @type {StreamState} */
let state = 'connecting';

/** @param {StreamState} next */
function setState(next) {
  if (next === state) return;
  state = next;
  for (const listener of stateListeners) listener(next);
}

/**
 * @param {string} kind
 * @param {MessageEvent} message
 */
function dispatch(kind, message) {
  /** @type {unknown} */
  let data;
  try {
    data = JSON.parse(String(message.data));
  } catch {
    return; // not the contract's JSON: nothing to show
  }
  if (typeof data !== 'object' || data === null) return;
  const d = /** @type {Record<string, unknown>} */ (data);
  /** @type {GatewayEvent} */
  const event = {
    kind,
    id: message.lastEventId,
    endpoint: typeof d.endpoint_name === 'string' ? d.endpoint_name : null,
    topic: typeof d.topic === 'string' ? d.topic : undefined,
    message: typeof d.message === 'object' && d.message !== null ? /** @type {Record<string, unknown>} */ (d.message) : undefined,
    peer: typeof d.peer === 'string' ? d.peer : undefined,
    code: typeof d.code === 'string' ? d.code : undefined,
    reason: typeof d.reason === 'string' ? d.reason : undefined,
  };
  for (const listener of listeners) listener(event);
}

/** How long to wait before opening a stream the browser gave up on (it was refused, not just cut). */
const RETRY_MS = 5000;

/** Opens the stream (once); the browser reconnects by itself after a cut, this after a refusal. */
export function startEventStream() {
  if (source) return;
  open();
}

function open() {
  const stream = new EventSource('/api/v5/gateways/lwm2m/events');
  source = stream;
  stream.addEventListener('open', () => setState('live'));
  stream.addEventListener('error', () => {
    if (stream.readyState !== EventSource.CLOSED) return setState('reconnecting');
    setState('offline');
    setTimeout(open, RETRY_MS);
  });
  for (const kind of EVENT_KINDS) stream.addEventListener(kind, (message) => dispatch(kind, /** @type {MessageEvent} */ (message)));
}

/**
 * @param {(event: GatewayEvent) => void} listener
 * @returns {() => void} stops listening
 */
export function onGatewayEvent(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Told the stream's state now and at every change.
 * @param {(state: StreamState) => void} listener
 * @returns {() => void}
 */
export function onStreamState(listener) {
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}
