import type { DeviceProfile } from './device-profile';
import type { ProfileCandidate } from './profile-selector';
import { renderTemplate } from './profile-template';
import { topicLevelProblem } from './topic-level';

export interface DeviceIdentity {
  readonly deviceId: string;
  readonly tenant: string;
}

/** A tenant template that renders empty (the hook returned no tenant) means this one. */
export const DEFAULT_TENANT = 'default';

/**
 * The device id and tenant a profile gives a device: the device_id_map's id for its endpoint, else
 * the device_id template's; the tenant template's, `default` when it renders empty. Both become
 * MQTT topic levels, so a value that cannot be one is a problem (the device is then refused),
 * never a topic with a wildcard in it.
 */
export function deviceIdentity(profile: DeviceProfile, candidate: Pick<ProfileCandidate, 'endpoint' | 'clientAttrs'>): DeviceIdentity | { problem: string } {
  const values = { names: { endpoint: candidate.endpoint }, clientAttrs: candidate.clientAttrs };
  const mapped = profile.deviceIdMap?.get(candidate.endpoint);
  const deviceId = mapped ?? renderTemplate(profile.deviceId, values);
  const idProblem = topicLevelProblem(deviceId);
  if (idProblem !== undefined) {
    const from = mapped !== undefined ? 'device_id_map' : `device_id "${profile.deviceId.source}"`;
    return { problem: `profile ${profile.name}: the device id (from ${from}) ${idProblem}` };
  }
  const rendered = renderTemplate(profile.tenant, values);
  const tenant = rendered === '' ? DEFAULT_TENANT : rendered;
  const tenantProblem = topicLevelProblem(tenant);
  if (tenantProblem !== undefined) return { problem: `profile ${profile.name}: the tenant (from tenant "${profile.tenant.source}") ${tenantProblem}` };
  return { deviceId, tenant };
}
