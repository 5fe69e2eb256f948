import type { DeviceProfile } from './device-profile';

/** What a profile is chosen by: the registration and what the auth hook said of the device. */
export interface ProfileCandidate {
  readonly endpoint: string;
  readonly clientAttrs: Readonly<Record<string, string>>;
  /** Object ids of which the registration lists an instance (see objectIdsOf). */
  readonly objectIds: ReadonlySet<number>;
}

/** The first profile whose every condition holds, or undefined. */
export function selectProfile(profiles: readonly DeviceProfile[], candidate: ProfileCandidate): DeviceProfile | undefined {
  return profiles.find((profile) => matches(profile, candidate));
}

function matches(profile: DeviceProfile, candidate: ProfileCandidate): boolean {
  const { endpoint, clientAttrs, objectIds } = profile.match;
  if (endpoint !== undefined && !endpoint.matches(candidate.endpoint)) return false;
  for (const [attr, wanted] of clientAttrs) {
    if (!Object.hasOwn(candidate.clientAttrs, attr) || candidate.clientAttrs[attr] !== wanted) return false;
  }
  return objectIds.every((id) => candidate.objectIds.has(id));
}

/**
 * The object ids of which a registration's object list ("/3303/0", "/3303", ...) names an
 * instance: an object listed without one is supported but has nothing to read yet.
 */
export function objectIdsOf(objectList: readonly string[]): Set<number> {
  const ids = new Set<number>();
  for (const link of objectList) {
    const m = /^\/?(\d{1,5})\/(\d{1,5})\/?$/.exec(link);
    if (m !== null && Number(m[1]) <= 65535) ids.add(Number(m[1]));
  }
  return ids;
}
