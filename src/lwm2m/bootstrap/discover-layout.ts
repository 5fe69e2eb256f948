import { parseLinkFormat, type Link } from '../codec/link-format';
import type { BootstrapVersion } from './bootstrap-config';

/**
 * What a Bootstrap-Discover answer on "/" (OMA LwM2M TS Core 1.1/1.2 §6.1.7.3) tells the bootstrap
 * server before it writes: the client's enabler version and which Security, Server and ACL
 * instances exist. Instance ids ascending, without duplicates.
 */
export interface DiscoverLayout {
  /** From `lwm2m=` on `</>`; undefined when absent or not one of 1.0, 1.1, 1.2. */
  version?: BootstrapVersion;
  /** The Security instance without `ssid` (the Bootstrap-Server Account), if the answer shows one. */
  bootstrapAccountInstance?: number;
  securityInstances: number[];
  serverInstances: number[];
  aclInstances: number[];
}

/** Ids kept per object: a device cannot make the gateway hold more than this from one answer. */
export const MAX_DISCOVERED_INSTANCES = 1000;

const MAX_ID = 65535;
const VERSIONS: readonly BootstrapVersion[] = ['1.0', '1.1', '1.2'];
const SECURITY = 0;
const SERVER = 1;
const ACL = 2;

/**
 * The layout of a parsed Bootstrap-Discover payload. The device is not trusted: links that are not
 * `</>`, `</O>` or `</O/I>` with ids up to 65535 are skipped, and nothing here throws.
 */
export function parseDiscoverLayout(links: readonly Link[]): DiscoverLayout {
  let version: BootstrapVersion | undefined;
  const instances = new Map<number, Set<number>>([
    [SECURITY, new Set()],
    [SERVER, new Set()],
    [ACL, new Set()],
  ]);
  let bootstrapAccountInstance: number | undefined;
  for (const link of links) {
    const ids = linkIds(link.uri);
    if (ids === undefined) continue;
    if (ids.length === 0) {
      const declared = link.attributes.lwm2m;
      if (version === undefined && typeof declared === 'string') version = VERSIONS.find((v) => v === declared);
      continue;
    }
    if (ids.length !== 2) continue;
    const [objectId, instanceId] = ids;
    const known = instances.get(objectId);
    if (known === undefined || known.size >= MAX_DISCOVERED_INSTANCES) continue;
    known.add(instanceId);
    // TS Core 1.1 §6.1.7.3: DM accounts carry ssid (and uri); the bootstrap account carries neither.
    // With several candidates the lowest is taken, so the outcome does not depend on link order.
    if (objectId === SECURITY && !Object.hasOwn(link.attributes, 'ssid')) {
      bootstrapAccountInstance = bootstrapAccountInstance === undefined ? instanceId : Math.min(bootstrapAccountInstance, instanceId);
    }
  }
  const sorted = (objectId: number): number[] => [...(instances.get(objectId) ?? [])].sort((a, b) => a - b);
  const layout: DiscoverLayout = {
    securityInstances: sorted(SECURITY),
    serverInstances: sorted(SERVER),
    aclInstances: sorted(ACL),
  };
  if (version !== undefined) layout.version = version;
  if (bootstrapAccountInstance !== undefined) layout.bootstrapAccountInstance = bootstrapAccountInstance;
  return layout;
}

/** [] for "/", [O] or [O, I]; undefined for anything else. A trailing "/" is tolerated ("</0/1/>"). */
function linkIds(uri: string): number[] | undefined {
  if (typeof uri !== 'string' || uri.length > 16) return undefined;
  const match = /^\/(?:(\d{1,5})(?:\/(\d{1,5}))?\/?)?$/.exec(uri);
  if (match === null) return undefined;
  const ids = [match[1], match[2]].filter((id): id is string => id !== undefined).map(Number);
  return ids.every((id) => id <= MAX_ID) ? ids : undefined;
}

/**
 * A Bootstrap-Discover answer's text as a layout. LwM2M 1.0 clients (TS 1.0.2 §5.2.7.3, as Anjay
 * sends it) put the version first as a bare attribute, `lwm2m="1.0",</0>,</0/1>,...`; 1.1 and later
 * carry it on the root link `</>;lwm2m=1.1`. Throws what parseLinkFormat throws.
 */
export function parseDiscoverAnswer(text: string): DiscoverLayout {
  const bare = BARE_VERSION.exec(text);
  const layout = parseDiscoverLayout(parseLinkFormat(bare ? text.slice(bare[0].length) : text));
  if (bare && layout.version === undefined) {
    const declared = VERSIONS.find((v) => v === bare[1]);
    if (declared !== undefined) layout.version = declared;
  }
  return layout;
}

const BARE_VERSION = /^\s*lwm2m="?(1\.[0-9])"?\s*(?:,|$)/;
