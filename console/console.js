// @ts-check
import { showDeviceList } from './device-list.js';
import { showDevicePage } from './device-page.js';
import { onStreamState, startEventStream } from './event-stream.js';

/**
 * The console's entry: the connection state in the header, and the hash routes `#/` (devices) and
 * `#/clients/<endpoint>` (one device).
 */

const STATE_TEXT = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', offline: 'offline' };

const view = /** @type {HTMLElement} */ (document.getElementById('view'));
const connection = /** @type {HTMLElement} */ (document.getElementById('connection'));

/** @type {() => void} */
let stopView = () => {};

function route() {
  stopView();
  const match = /^#\/clients\/(.+)$/.exec(location.hash);
  let endpoint;
  try {
    endpoint = match ? decodeURIComponent(match[1]) : undefined;
  } catch {
    endpoint = undefined; // a malformed escape: back to the list
  }
  document.title = endpoint ? `${endpoint} · lwm2m-gateway` : 'Devices · lwm2m-gateway';
  stopView = endpoint ? showDevicePage(view, endpoint) : showDeviceList(view);
  window.scrollTo(0, 0);
}

onStreamState((state) => {
  connection.dataset.state = state;
  connection.textContent = STATE_TEXT[state];
});
startEventStream();
window.addEventListener('hashchange', route);
route();
