import { hasControlCharacter } from '../limits/control-characters';

/** Values for the mountpoint placeholders of one device. */
export interface MountpointVars {
  endpoint_name: string;
  clientid: string;
  username: string;
  peerhost: string;
  client_attrs: Record<string, string>;
  /** The device id its profile gives it (README "Device profiles"), else the endpoint name. */
  device_id: string;
}

const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * The mountpoint's placeholder values for a device (EMQX: clientid from the query's device_id,
 * username from imei; `${device_id}` is the profile's device id, see DeviceMountpoint).
 */
export function mountpointVars(endpoint: string, query: Readonly<Record<string, string>>, peerhost: string, attributes?: Readonly<Record<string, string>>, deviceId?: string): MountpointVars {
  return {
    endpoint_name: endpoint,
    clientid: query.device_id ?? endpoint,
    username: query.imei ?? endpoint,
    peerhost,
    client_attrs: attributes ?? NO_ATTRIBUTES,
    device_id: deviceId ?? endpoint,
  };
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_.]+)\}/g;

export const DEFAULT_MAX_TOPIC_VALUE_LENGTH = 256;

/** The value of a placeholder, undefined for an unknown one (the configuration refuses those; see mountpointTemplateProblem). */
function placeholderValue(name: string, vars: MountpointVars): string | undefined {
  if (name.startsWith('client_attrs.')) {
    const attribute = name.slice('client_attrs.'.length);
    return Object.hasOwn(vars.client_attrs, attribute) ? vars.client_attrs[attribute] : undefined;
  }
  switch (name) {
    case 'endpoint_name':
    case 'clientid':
    case 'username':
    case 'peerhost':
    case 'device_id':
      return vars[name];
    default:
      return undefined;
  }
}

/**
 * A value as one topic level. `/` is legal in LwM2M endpoint names (and in query values) but would
 * split the level, so it is written `%2F`, and `%` itself `%25` so that two names never share a
 * topic: endpoint `a/b` has topics under `lwm2m/a%2Fb/`.
 */
export function escapeTopicLevel(value: string): string {
  if (value.indexOf('/') < 0 && value.indexOf('%') < 0) return value;
  return value.replace(/%/g, '%25').replace(/\//g, '%2F');
}

/** Renders `${...}` placeholders, each value escaped as one topic level (unknown ones, which the configuration refuses, would stay as text). */
export function renderMountpoint(template: string, vars: MountpointVars): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = placeholderValue(name, vars);
    return value === undefined ? whole : escapeTopicLevel(value);
  });
}

/**
 * Why these values cannot be rendered into topics, or undefined: a value of a placeholder the
 * template uses is empty, holds an MQTT wildcard (`#`, `+`), NUL or another control character, or
 * is longer than `maxLength` bytes. (Subscribers would see a wildcard topic, and brokers drop the
 * connection of a client that publishes one.)
 */
export function mountpointProblem(template: string, vars: MountpointVars, maxLength = DEFAULT_MAX_TOPIC_VALUE_LENGTH): string | undefined {
  for (const m of template.matchAll(PLACEHOLDER)) {
    const value = placeholderValue(m[1], vars);
    if (value === undefined) continue;
    const what = `\${${m[1]}}`;
    if (value === '') return `${what} is empty`;
    // MQTT wildcards, NUL and the other control characters are never inside a topic level.
    if (value.includes('#') || value.includes('+') || hasControlCharacter(value)) return `${what} contains an MQTT wildcard (# +) or a control character`;
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > maxLength) return `${what} is ${bytes} bytes, longer than ${maxLength}`;
  }
  return undefined;
}

function isKnownPlaceholder(name: string): boolean {
  return ['endpoint_name', 'clientid', 'username', 'peerhost', 'device_id'].includes(name) || name.startsWith('client_attrs.');
}

/**
 * Why a mountpoint template cannot be used, or undefined: it holds a `${...}` that renderMountpoint
 * would leave as literal text (`${endpoint}`), so every device would share one topic.
 */
export function mountpointTemplateProblem(template: string): string | undefined {
  const unknown = [...template.matchAll(/\$\{([^}]*)\}/g)]
    .map((m) => m[1])
    // The name must also fit PLACEHOLDER, else it is never rendered; `client_attrs.` needs a name.
    .filter((name) => !/^[A-Za-z0-9_.]+$/.test(name) || !isKnownPlaceholder(name) || name === 'client_attrs.');
  if (unknown.length === 0) return undefined;
  const names = [...new Set(unknown)].map((name) => `\${${name}}`);
  return `unknown placeholder${names.length > 1 ? 's' : ''} ${names.join(', ')} (known: \${endpoint_name}, \${clientid}, \${username}, \${peerhost}, \${device_id}, \${client_attrs.NAME})`;
}

/** The template with every level that holds a known placeholder replaced by `+`: what to subscribe to. */
export function mountpointWildcard(template: string): string {
  return template
    .split('/')
    .map((level) => {
      for (const m of level.matchAll(PLACEHOLDER)) if (isKnownPlaceholder(m[1])) return '+';
      return level;
    })
    .join('/');
}

/**
 * Splits an incoming topic into (mountpoint as rendered, rest), using the template's shape:
 * every level with a placeholder matches one topic level. Undefined when the topic does not fit.
 */
export function createMountpointSplitter(template: string): (topic: string) => { prefix: string; rest: string } | undefined {
  const wildcard = mountpointWildcard(template);
  const pattern = wildcard
    .split('/')
    .map((level) => (level === '+' ? '[^/]+' : level.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  const re = new RegExp(`^(${pattern})(.*)$`, 's');
  return (topic) => {
    const m = re.exec(topic);
    return m ? { prefix: m[1], rest: m[2] } : undefined;
  };
}

/** MQTT topic filter matching (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  return createTopicMatcher(filter)(topic);
}

/** A matcher for one filter, split once: it runs for every incoming command. */
export function createTopicMatcher(filter: string): (topic: string) => boolean {
  const f = filter.split('/');
  return (topic) => levelsMatch(f, topic.split('/'));
}

function levelsMatch(f: readonly string[], t: readonly string[]): boolean {
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
