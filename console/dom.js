// @ts-check
/**
 * Building the DOM without HTML strings: every text goes in as textContent, so nothing a device or
 * the gateway sends can become markup.
 */

/** @typedef {string | Node | null | undefined | false} Child */

/**
 * An element with attributes (set with setAttribute; `class` included) and children (strings become text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | undefined>} [attributes]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) node.setAttribute(name, value);
  append(node, ...children);
  return node;
}

/**
 * @param {Node} parent
 * @param {...Child} children
 */
export function append(parent, ...children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/**
 * Replaces a node's children.
 * @param {Node} parent
 * @param {...Child} children
 */
export function replaceChildren(parent, ...children) {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/**
 * "12 s ago", "3 min ago", ... from an ISO time or epoch milliseconds; "—" when unknown.
 * @param {string | number | undefined | null} when
 * @param {number} now
 */
export function ago(when, now) {
  if (when === undefined || when === null || when === '') return '—';
  const t = typeof when === 'number' ? when : Date.parse(when);
  if (!Number.isFinite(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * A value as shown: strings as they are, everything else as JSON.
 * @param {unknown} value
 */
export function showValue(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
