/** Values for the mountpoint placeholders of one device. */
export interface MountpointVars {
  endpoint_name: string;
  clientid: string;
  username: string;
  peerhost: string;
  client_attrs: Record<string, string>;
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_.]+)\}/g;

/** Renders `${...}` placeholders; unknown ones stay as literal text (contract A). */
export function renderMountpoint(template: string, vars: MountpointVars): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    if (name.startsWith('client_attrs.')) {
      const value = vars.client_attrs[name.slice('client_attrs.'.length)];
      return value ?? whole;
    }
    switch (name) {
      case 'endpoint_name':
      case 'clientid':
      case 'username':
      case 'peerhost':
        return vars[name];
      default:
        return whole;
    }
  });
}

function isKnownPlaceholder(name: string): boolean {
  return ['endpoint_name', 'clientid', 'username', 'peerhost'].includes(name) || name.startsWith('client_attrs.');
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
