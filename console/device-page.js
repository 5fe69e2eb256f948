// @ts-check
import { ApiError, getClient, getObjectModel, runCommand } from './api.js';
import { ago, el, replaceChildren, showValue } from './dom.js';
import { onGatewayEvent } from './event-stream.js';

/**
 * @typedef {import('./api.js').ClientView} ClientView
 * @typedef {import('./api.js').ObjectModel} ObjectModel
 * @typedef {import('./api.js').ResourceModel} ResourceModel
 * @typedef {import('./api.js').CommandAnswer} CommandAnswer
 * @typedef {import('./event-stream.js').GatewayEvent} GatewayEvent
 */

/** Log entries kept on the page (newest first); older ones are dropped. */
const LOG_LIMIT = 200;
/** Object list entries shown: a device may announce many, a page of thousands helps no one. */
const OBJECT_LIST_LIMIT = 200;
/** A logged message longer than this is cut. */
const LOG_TEXT_LIMIT = 2000;
/** Security, Server, Access Control: shown folded. */
const SETUP_OBJECTS = new Set([0, 1, 2]);
/** Answers and events whose `content` holds values (a discover's holds links). */
const VALUE_MESSAGES = new Set(['read', 'observe', 'notify', 'read-composite', 'observe-composite', 'send']);

/**
 * `/O/I/R/RI` split into numbers; undefined when not a path.
 * @param {unknown} path
 * @returns {number[] | undefined}
 */
function pathIds(path) {
  if (typeof path !== 'string' || !/^(\/\d{1,5}){1,4}$/.test(path)) return undefined;
  return path.slice(1).split('/').map(Number);
}

/**
 * The JSON value a write sends for what was typed, by the resource's type.
 * @param {string} type
 * @param {string} input
 * @returns {string | number | boolean}
 */
function valueOf(type, input) {
  switch (type) {
    case 'integer':
    case 'unsigned':
    case 'float':
    case 'time': {
      const n = Number(input.trim());
      if (input.trim() === '' || !Number.isFinite(n)) throw new Error(`"${input}" is not a number`);
      return n;
    }
    case 'boolean': {
      const t = input.trim().toLowerCase();
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0') return false;
      throw new Error(`"${input}" is not true or false`);
    }
    default:
      return input;
  }
}

/**
 * "2.05 content", or the answer's error.
 * @param {CommandAnswer} answer
 */
function outcome(answer) {
  const data = answer.data ?? {};
  const text = `${data.code ?? '?'} ${data.codeMsg ?? ''}`.trim();
  return data.error ? `${text}: ${data.error}` : text;
}

/** @param {CommandAnswer} answer */
function succeeded(answer) {
  return typeof answer.data?.code === 'string' && answer.data.code.startsWith('2.');
}

/**
 * @param {unknown} err
 * @returns {string}
 */
function failure(err) {
  if (err instanceof ApiError) {
    const state = typeof err.body === 'object' && err.body !== null && 'state' in err.body ? ` (command ${String(/** @type {{state: unknown}} */ (err.body).state)})` : '';
    return `${err.code}: ${err.message}${state}`;
  }
  return /** @type {Error} */ (err).message;
}

/**
 * A device's page (`#/clients/<endpoint>`): its registration, its object tree (from the object list,
 * named by the objects API) with read, write, execute and observe per resource, the values as they
 * come (answers and notifications), and a live log of its messages. Returns what stops it.
 * @param {HTMLElement} view
 * @param {string} endpoint
 * @returns {() => void}
 */
export function showDevicePage(view, endpoint) {
  /** resource path (`/O/I/R`) → instance id (-1 for a single resource) → value */
  /** @type {Map<string, Map<number, unknown>>} */
  const values = new Map();
  /** resource path → its row's value cell */
  /** @type {Map<string, HTMLElement>} */
  const valueCells = new Map();
  /** Observed paths (the device's observations as the gateway knows them, then this page's). */
  /** @type {Set<string>} */
  const observed = new Set();
  /** @type {Map<string, HTMLButtonElement>} */
  const observeButtons = new Map();
  /** @type {ClientView | undefined} */
  let client;
  let gone = false;

  const summary = el('section', { class: 'panel summary' });
  const tree = el('section', { class: 'panel objects' }, el('p', { class: 'muted' }, 'Loading…'));
  const logList = el('ol', { class: 'log-list' });
  const banner = el('p', { class: 'banner', role: 'status', hidden: '' });
  replaceChildren(
    view,
    el('nav', { class: 'crumbs' }, el('a', { href: '#/' }, 'Devices'), ' / ', el('span', {}, endpoint)),
    banner,
    summary,
    el('div', { class: 'columns' }, tree, el('section', { class: 'panel log' }, el('div', { class: 'panel-head' }, el('h2', {}, 'Live log'), el('span', { class: 'count' }, 'this device\'s messages')), logList)),
  );

  /** @param {string} text */
  const showBanner = (text) => {
    banner.textContent = text;
    banner.hidden = text === '';
  };

  /** @param {string} resourcePath */
  const paint = (resourcePath) => {
    const cell = valueCells.get(resourcePath);
    const instances = values.get(resourcePath);
    if (!cell || !instances) return;
    const single = instances.get(-1);
    cell.textContent =
      instances.size === 1 && instances.has(-1) ? showValue(single) : [...instances.entries()].sort((a, b) => a[0] - b[0]).map(([id, v]) => `${id}: ${showValue(v)}`).join(' · ');
    cell.classList.remove('flash');
    void cell.offsetWidth; // restarts the highlight animation
    cell.classList.add('flash');
  };

  /**
   * Takes the values of an answer or event (`content: [{path, value}]`): each resource named gets the instances given.
   * @param {unknown} content
   */
  const applyContent = (content) => {
    if (!Array.isArray(content)) return;
    /** @type {Map<string, Map<number, unknown>>} */
    const fresh = new Map();
    for (const item of content) {
      if (typeof item !== 'object' || item === null) continue;
      const ids = pathIds(/** @type {{path?: unknown}} */ (item).path);
      if (!ids || ids.length < 3) continue;
      const resourcePath = `/${ids[0]}/${ids[1]}/${ids[2]}`;
      let instances = fresh.get(resourcePath);
      if (!instances) fresh.set(resourcePath, (instances = new Map()));
      instances.set(ids.length === 4 ? ids[3] : -1, /** @type {{value?: unknown}} */ (item).value);
    }
    for (const [resourcePath, instances] of fresh) {
      values.set(resourcePath, instances);
      ensureRow(resourcePath);
      paint(resourcePath);
    }
  };

  /** @param {string} path */
  const paintObserved = (path) => {
    const button = observeButtons.get(path);
    if (!button) return;
    const on = observed.has(path);
    button.textContent = on ? 'Cancel observe' : 'Observe';
    button.classList.toggle('active', on);
    button.closest('tr')?.classList.toggle('observed', on);
  };

  /**
   * Runs a command from a button, showing its outcome next to it and taking the values it brings.
   * @param {string} msgType
   * @param {Record<string, unknown>} data
   * @param {HTMLElement} status
   * @returns {Promise<CommandAnswer | undefined>}
   */
  const command = async (msgType, data, status) => {
    status.textContent = `${msgType}…`;
    status.className = 'row-status pending';
    try {
      const answer = await runCommand(endpoint, msgType, data);
      status.textContent = outcome(answer);
      status.className = `row-status ${succeeded(answer) ? 'ok' : 'error'}`;
      if (succeeded(answer) && VALUE_MESSAGES.has(msgType)) applyContent(answer.data?.content);
      return answer;
    } catch (err) {
      status.textContent = failure(err);
      status.className = 'row-status error';
      return undefined;
    }
  };

  /**
   * @param {string} label
   * @param {string} action
   * @param {() => void} onClick
   */
  const button = (label, action, onClick) => {
    const b = el('button', { type: 'button', 'data-action': action }, label);
    b.addEventListener('click', onClick);
    return b;
  };

  /** instance path (`/O/I`) → the body of its resource table */
  /** @type {Map<string, HTMLTableSectionElement>} */
  const instanceBodies = new Map();

  /**
   * A resource's row: name, operations, value, and the actions its operations allow.
   * @param {string} path
   * @param {ResourceModel | undefined} resource
   */
  const resourceRow = (path, resource) => {
    const ids = /** @type {number[]} */ (pathIds(path));
    const operations = resource?.operations ?? '';
    const value = el('td', { class: 'value' });
    valueCells.set(path, value);
    const status = el('span', { class: 'row-status' });
    const actions = el('div', { class: 'actions' });
    if (resource === undefined || operations.includes('R')) {
      actions.append(button('Read', 'read', () => void command('read', { path }, status)));
    }
    if (operations.includes('W') && !resource?.multiple) {
      const input = el('input', { type: 'text', 'aria-label': `value for ${path}`, placeholder: resource?.type ?? 'value', 'data-input': 'write' });
      const write = () => {
        let typed;
        try {
          typed = valueOf(resource?.type ?? 'string', input.value);
        } catch (err) {
          status.textContent = /** @type {Error} */ (err).message;
          status.className = 'row-status error';
          return;
        }
        void command('write', { path, value: typed }, status).then((answer) => {
          if (answer && succeeded(answer)) {
            values.set(path, new Map([[-1, typed]]));
            paint(path);
          }
        });
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') write();
      });
      actions.append(input, button('Write', 'write', write));
    }
    if (operations === 'E') actions.append(button('Execute', 'execute', () => void command('execute', { path, args: '' }, status)));
    if (resource === undefined || operations.includes('R')) {
      const observe = button('Observe', 'observe', () => {
        const on = observed.has(path);
        void command(on ? 'cancel-observe' : 'observe', { path }, status).then((answer) => {
          if (!answer || !succeeded(answer)) return;
          if (on) observed.delete(path);
          else observed.add(path);
          paintObserved(path);
        });
      });
      observeButtons.set(path, observe);
      actions.append(observe);
    }
    actions.append(status);
    const row = el(
      'tr',
      { 'data-path': path },
      el('td', { class: 'mono muted' }, String(ids[2])),
      el('td', {}, resource?.name ?? `Resource ${ids[2]}`, resource?.units ? el('span', { class: 'muted' }, ` (${resource.units})`) : null),
      el('td', { class: 'mono' }, operations || '—', resource?.multiple ? el('span', { class: 'muted', title: 'multiple instances' }, ' ×n') : null),
      value,
      el('td', {}, actions),
    );
    paintObserved(path);
    return row;
  };

  /**
   * A resource not in the model (or of an object the model lacks) gets a row when a value for it arrives.
   * @param {string} resourcePath
   */
  const ensureRow = (resourcePath) => {
    if (valueCells.has(resourcePath)) return;
    const ids = /** @type {number[]} */ (pathIds(resourcePath));
    const body = instanceBodies.get(`/${ids[0]}/${ids[1]}`);
    if (!body) return;
    const row = resourceRow(resourcePath, undefined);
    const after = [...body.rows].find((r) => (pathIds(r.dataset.path)?.[2] ?? -1) > ids[2]);
    body.insertBefore(row, after ?? null);
  };

  /**
   * An object instance: its resources as the model defines them.
   * @param {number} objectId
   * @param {number} instanceId
   * @param {ObjectModel | undefined} model
   */
  const instanceSection = (objectId, instanceId, model) => {
    const path = `/${objectId}/${instanceId}`;
    const body = el('tbody');
    instanceBodies.set(path, body);
    for (const resource of model?.resources ?? []) body.append(resourceRow(`${path}/${resource.id}`, resource));
    const status = el('span', { class: 'row-status' });
    return el(
      'div',
      { class: 'instance', 'data-path': path },
      el('div', { class: 'instance-head' }, el('h3', {}, `Instance ${instanceId}`, el('span', { class: 'mono muted' }, ` ${path}`)), button('Read all', 'read-instance', () => void command('read', { path }, status)), status),
      el('table', { class: 'grid resources' }, el('thead', {}, el('tr', {}, el('th', {}, 'ID'), el('th', {}, 'Resource'), el('th', {}, 'Ops'), el('th', {}, 'Value'), el('th', {}, 'Actions'))), body),
    );
  };

  /** The object tree from the object list: objects in id order, each with its instances. */
  const renderTree = async () => {
    if (!client) return;
    /** @type {Map<number, number[]>} */
    const objects = new Map();
    for (const entry of client.objectList.slice(0, OBJECT_LIST_LIMIT)) {
      const ids = pathIds(entry);
      if (!ids || ids.length > 2) continue;
      const instances = objects.get(ids[0]) ?? [];
      if (ids.length === 2 && !instances.includes(ids[1])) instances.push(ids[1]);
      objects.set(ids[0], instances);
    }
    const ordered = [...objects.entries()].sort((a, b) => a[0] - b[0]);
    const models = await Promise.all(ordered.map(([id]) => getObjectModel(id).catch(() => undefined)));
    instanceBodies.clear();
    valueCells.clear();
    observeButtons.clear();
    const sections = ordered.map(([objectId, instances], i) => {
      const model = models[i];
      const status = el('span', { class: 'row-status' });
      const section = el(
        'details',
        { class: 'object', 'data-object': String(objectId) },
        el(
          'summary',
          { class: 'object-head' },
          el('h2', {}, model?.name ?? `Object ${objectId}`, el('span', { class: 'mono muted' }, ` /${objectId}`), model ? el('span', { class: 'muted small' }, ` v${model.version}`) : el('span', { class: 'muted small' }, " (not in the gateway's model)")),
          el('span', { class: 'muted small' }, instances.length === 1 ? '1 instance' : `${instances.length} instances`),
        ),
        instances.length === 0 ? el('div', { class: 'instance-head' }, button('Read object', 'read-object', () => void command('read', { path: `/${objectId}` }, status)), status) : null,
        ...instances.sort((a, b) => a - b).map((instanceId) => instanceSection(objectId, instanceId, model)),
      );
      // The objects that set the device up for its servers (Security, Server, Access Control) start
      // folded: they are long and rarely what one came for.
      section.open = !SETUP_OBJECTS.has(objectId);
      return section;
    });
    replaceChildren(
      tree,
      el('div', { class: 'panel-head' }, el('h2', {}, 'Objects'), el('span', { class: 'count' }, client.objectList.length > OBJECT_LIST_LIMIT ? `first ${OBJECT_LIST_LIMIT} of ${client.objectList.length}` : `${client.objectList.length} in the object list`)),
      ...(sections.length > 0 ? sections : [el('p', { class: 'empty' }, 'The device announced no object.')]),
    );
    for (const resourcePath of values.keys()) {
      ensureRow(resourcePath);
      paint(resourcePath);
    }
  };

  const renderSummary = () => {
    if (!client) return;
    const now = Date.now();
    /** @type {[string, string][]} */
    const facts = [
      ['Address', client.address],
      ['LwM2M', client.lwm2mVersion],
      ['Binding', client.binding],
      ['Queue mode', client.queueMode ? (client.awake === undefined ? 'on' : client.awake ? 'on, awake' : 'on, asleep') : 'off'],
      ['Lifetime', client.lifetime === undefined ? '—' : `${client.lifetime} s`],
      ['Registered', ago(client.registeredAt, now)],
      ['Last seen', ago(client.lastSeen, now)],
    ];
    replaceChildren(
      summary,
      el('h1', { class: 'endpoint' }, endpoint),
      el('dl', { class: 'facts' }, ...facts.map(([name, value]) => el('div', {}, el('dt', {}, name), el('dd', {}, value)))),
    );
  };

  /** Loads the registration (and, when the object list changed or on first load, the tree). */
  const load = async () => {
    let fresh;
    try {
      fresh = await getClient(endpoint);
    } catch (err) {
      return showBanner(`Could not load the device: ${failure(err)}`);
    }
    if (!fresh) {
      gone = true;
      view.classList.add('gone');
      if (!client) replaceChildren(tree, el('p', { class: 'empty' }, 'This device is not registered.'));
      return showBanner(`${endpoint} is not registered.`);
    }
    const treeChanged = !client || client.objectList.join(',') !== fresh.objectList.join(',');
    client = fresh;
    gone = false;
    view.classList.remove('gone');
    showBanner('');
    renderSummary();
    if (treeChanged) {
      await renderTree();
      await loadObservations();
    }
  };

  /** The observations the gateway holds for the device (answered by the gateway, the device is not asked). */
  const loadObservations = async () => {
    try {
      const answer = await runCommand(endpoint, 'observe-read-all', {});
      if (!succeeded(answer) || !Array.isArray(answer.data?.content)) return;
      for (const item of answer.data.content) {
        if (typeof item === 'object' && item !== null && typeof item.path === 'string') observed.add(item.path);
      }
      for (const path of observeButtons.keys()) paintObserved(path);
    } catch {
      // Only the buttons' labels depend on it.
    }
  };

  /** @param {GatewayEvent} event */
  const log = (event) => {
    const time = new Date().toLocaleTimeString([], { hour12: false });
    let text = event.kind === 'refused' ? `${event.peer ?? '?'} refused ${event.code ?? ''} ${event.reason ?? ''}` : JSON.stringify(event.message ?? {});
    if (text.length > LOG_TEXT_LIMIT) text = `${text.slice(0, LOG_TEXT_LIMIT)}…`;
    logList.prepend(
      el('li', { 'data-kind': event.kind }, el('span', { class: 'log-time mono' }, time), el('span', { class: `tag tag-${event.kind}` }, event.kind), event.topic ? el('span', { class: 'log-topic mono muted' }, event.topic) : null, el('code', { class: 'log-text' }, text)),
    );
    while (logList.childElementCount > LOG_LIMIT) logList.lastElementChild?.remove();
  };

  const stopEvents = onGatewayEvent((event) => {
    if (event.endpoint !== endpoint) return;
    log(event);
    const message = event.message ?? {};
    const data = /** @type {Record<string, unknown>} */ (typeof message.data === 'object' && message.data !== null ? message.data : {});
    const msgType = typeof message.msgType === 'string' ? message.msgType : event.kind;
    if (event.kind === 'deregister') {
      gone = true;
      view.classList.add('gone');
      showBanner(`${endpoint} deregistered (${typeof data.reason === 'string' ? data.reason : 'deregister'}).`);
    } else if (event.kind === 'register' || event.kind === 'update') {
      if (event.kind === 'register') observed.clear(); // a new registration starts with no observation
      void load();
    } else if (VALUE_MESSAGES.has(msgType) && (typeof data.code !== 'string' || data.code.startsWith('2.'))) {
      applyContent(data.content);
    }
    if (msgType === 'cancel-observe' && typeof data.reqPath === 'string' && typeof data.code === 'string' && data.code.startsWith('2.')) {
      observed.delete(data.reqPath);
      paintObserved(data.reqPath);
    } else if (msgType === 'observe' && typeof data.reqPath === 'string' && typeof data.code === 'string' && data.code.startsWith('2.')) {
      observed.add(data.reqPath);
      paintObserved(data.reqPath);
    }
  });
  const ticker = setInterval(() => {
    if (!gone) renderSummary();
  }, 5000);
  void load();
  return () => {
    stopEvents();
    clearInterval(ticker);
  };
}
