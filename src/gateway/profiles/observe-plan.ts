import type { JsonObject } from '../command-parser';
import { NOTIFICATION_ATTRIBUTES, type DeviceProfile, type ObservedPath } from './device-profile';

/**
 * The commands that set up a profile's observations on a registration, in the gateway's own MQTT
 * command JSON: first a write-attr for each path with attributes (so the first notification
 * already follows them), then the observations by the profile's strategy:
 * - single: one `observe` per path;
 * - composite: one `observe-composite` of every path;
 * - composite_by_object: one `observe-composite` per object id, a plain `observe` for an object
 *   with one path.
 * Paths the device does not have (by its object list, "/3303/0") are left out. Like lwm2m.auto_observe's
 * commands, each carries `"is_auto_observe":true` (echoed in its answers and notifications instead
 * of a request id), and `profile` names the profile.
 */
export function observeCommands(profile: DeviceProfile, objectList: readonly string[]): JsonObject[] {
  const paths = profile.observe.paths.filter((p) => present(p.path, objectList));
  const marker = { is_auto_observe: true, profile: profile.name };
  const commands: JsonObject[] = [];
  for (const p of paths) {
    const attributes = attributesData(p);
    if (attributes !== undefined) commands.push({ msgType: 'write-attr', data: { path: p.path, ...attributes }, ...marker });
  }
  const observe = (group: readonly ObservedPath[]): JsonObject =>
    group.length === 1 ? { msgType: 'observe', data: { path: group[0].path }, ...marker } : { msgType: 'observe-composite', data: { paths: group.map((p) => p.path) }, ...marker };
  switch (profile.observe.strategy) {
    case 'single':
      for (const p of paths) commands.push(observe([p]));
      break;
    case 'composite':
      if (paths.length > 0) commands.push(observe(paths));
      break;
    case 'composite_by_object': {
      const byObject = new Map<number, ObservedPath[]>();
      for (const p of paths) {
        const id = p.parsed.objectId as number; // observe paths name at least an object (parseProfiles)
        const group = byObject.get(id);
        if (group === undefined) byObject.set(id, [p]);
        else group.push(p);
      }
      for (const group of byObject.values()) commands.push(observe(group));
      break;
    }
  }
  return commands;
}

/** As lwm2m.auto_observe decides it: the path is a listed object or instance, lies under one, or holds one. */
function present(path: string, objectList: readonly string[]): boolean {
  return objectList.some((o) => path === o || path.startsWith(o + '/') || o.startsWith(path + '/'));
}

function attributesData(p: ObservedPath): Record<string, number> | undefined {
  const data: Record<string, number> = {};
  let any = false;
  for (const name of NOTIFICATION_ATTRIBUTES) {
    const value = p.attributes[name];
    if (value === undefined) continue;
    data[name] = value;
    any = true;
  }
  return any ? data : undefined;
}
