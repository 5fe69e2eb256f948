import type { Entry } from '../../lwm2m/node';
import type { DeviceProfile } from './device-profile';
import { mappedName, pointValue } from './point-value';

/** A device's attributes (manufacturer, model, ...), read once on register. `attributes` has no prototype. */
export interface AttributesMessage {
  device_id: string;
  attributes: Record<string, number | string | boolean>;
}

/**
 * The attributes in a read's entries, by the profile's attribute names: numbers, strings and
 * booleans as JSON has them (see pointValue for the rest). Undefined when no entry is mapped.
 */
export function attributesMessage(profile: DeviceProfile, deviceId: string, entries: readonly Entry[]): AttributesMessage | undefined {
  const attributes = Object.create(null) as Record<string, number | string | boolean>;
  let any = false;
  for (const entry of entries) {
    const name = mappedName(profile.attributes, entry.path);
    if (name === undefined) continue;
    attributes[name] = pointValue(entry.value).value;
    any = true;
  }
  return any ? { device_id: deviceId, attributes } : undefined;
}
