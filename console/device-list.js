// @ts-check
import { getClient, listClients, MAX_LISTED } from './api.js';
import { ago, el, replaceChildren } from './dom.js';
import { onGatewayEvent, onStreamState } from './event-stream.js';

/** @typedef {import('./api.js').ClientView} ClientView */

/**
 * @param {ClientView} client
 * @returns {string}
 */
function queueState(client) {
  if (!client.queueMode) return 'off';
  if (client.awake === undefined) return 'on';
  return client.awake ? 'awake' : 'asleep';
}

/**
 * The device list (`#/`): loaded from the clients API, then kept live from the event stream
 * (register adds, update refreshes, deregister removes). Returns what stops it.
 * @param {HTMLElement} view
 * @returns {() => void}
 */
export function showDeviceList(view) {
  /** @type {Map<string, { client: ClientView, row: HTMLTableRowElement }>} */
  const rows = new Map();
  let total = 0;
  const body = el('tbody');
  const count = el('span', { class: 'count' });
  const empty = el('p', { class: 'empty' }, 'No device is registered.');
  const status = el('p', { class: 'status', role: 'status' });
  replaceChildren(
    view,
    el(
      'section',
      { class: 'panel' },
      el('div', { class: 'panel-head' }, el('h1', {}, 'Devices'), count),
      el(
        'table',
        { class: 'grid devices' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Endpoint'), el('th', {}, 'Address'), el('th', {}, 'LwM2M'), el('th', {}, 'Binding'), el('th', {}, 'Queue mode'), el('th', {}, 'Last seen'))),
        body,
      ),
      empty,
      status,
    ),
  );

  const showCount = () => {
    const shown = rows.size;
    total = Math.max(total, shown);
    count.textContent = total > shown ? `${shown} of ${total} registered shown` : `${shown} registered`;
    empty.hidden = shown > 0;
  };

  /** @param {ClientView} client */
  const cells = (client) => [
    el('td', {}, el('a', { class: 'endpoint-link', href: `#/clients/${encodeURIComponent(client.endpoint)}` }, client.endpoint)),
    el('td', { class: 'mono' }, client.address),
    el('td', {}, client.lwm2mVersion),
    el('td', {}, client.binding),
    el('td', {}, el('span', { class: `tag tag-${queueState(client)}` }, queueState(client))),
    el('td', { class: 'last-seen', 'data-time': client.lastSeen === undefined ? undefined : String(client.lastSeen) }, ago(client.lastSeen, Date.now())),
  ];

  /** @param {ClientView} client */
  const upsert = (client) => {
    const known = rows.get(client.endpoint);
    if (known) {
      known.client = client;
      replaceChildren(known.row, ...cells(client));
      return;
    }
    if (rows.size >= MAX_LISTED) {
      total += 1;
      return showCount();
    }
    const row = el('tr', { 'data-endpoint': client.endpoint }, ...cells(client));
    rows.set(client.endpoint, { client, row });
    // Kept in endpoint order: the row goes before the first one whose endpoint sorts after it.
    const after = [...body.rows].find((r) => (r.dataset.endpoint ?? '') > client.endpoint);
    body.insertBefore(row, after ?? null);
    total += 1;
    showCount();
  };

  /** @param {string} endpoint */
  const remove = (endpoint) => {
    const known = rows.get(endpoint);
    if (!known) return;
    known.row.remove();
    rows.delete(endpoint);
    total = Math.max(0, total - 1);
    showCount();
  };

  // One detail request per device at a time; events arriving meanwhile ask for one more afterwards.
  /** @type {Map<string, boolean>} */
  const refreshing = new Map();
  /** @param {string} endpoint */
  const refresh = async (endpoint) => {
    if (refreshing.has(endpoint)) return void refreshing.set(endpoint, true);
    refreshing.set(endpoint, false);
    try {
      const client = await getClient(endpoint);
      if (client) upsert(client);
      else remove(endpoint);
    } catch (err) {
      status.textContent = `Could not load ${endpoint}: ${/** @type {Error} */ (err).message}`;
    }
    const again = refreshing.get(endpoint);
    refreshing.delete(endpoint);
    if (again) void refresh(endpoint);
  };

  const load = async () => {
    try {
      const { clients, total: all } = await listClients();
      for (const endpoint of [...rows.keys()]) if (!clients.some((c) => c.endpoint === endpoint)) remove(endpoint);
      for (const client of clients) upsert(client);
      total = all;
      status.textContent = '';
      showCount();
    } catch (err) {
      status.textContent = `Could not load the devices: ${/** @type {Error} */ (err).message}`;
    }
  };

  const stopEvents = onGatewayEvent((event) => {
    if (event.endpoint === null) return;
    if (event.kind === 'deregister') remove(event.endpoint);
    else if (event.kind === 'register' || event.kind === 'update') void refresh(event.endpoint);
  });
  // Events missed while the stream was down are made up for by loading the list again.
  let wasLive = false;
  const stopState = onStreamState((state) => {
    if (state === 'live' && wasLive) void load();
    if (state === 'live') wasLive = true;
  });
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const { client, row } of rows.values()) {
      const cell = row.querySelector('.last-seen');
      if (cell) cell.textContent = ago(client.lastSeen, now);
    }
  }, 5000);
  showCount();
  void load();
  return () => {
    stopEvents();
    stopState();
    clearInterval(ticker);
  };
}
