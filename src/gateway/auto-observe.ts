import { formatPath, parsePath } from '../lwm2m/path';
import type { Registration } from '../lwm2m/registration/registration';
import { NO_QUERY, type DownlinkCommand } from './command-parser';

/** Objects that `auto_observe: true` leaves alone (security, server, access control, ... ). */
const AUTO_OBSERVE_EXCLUDED = new Set([0, 1, 2, 4, 5, 6, 7, 9, 15]);

/** The paths `auto_observe` observes on a registration: every object but the excluded, or the configured paths the device has. */
export function autoObservePaths(setting: boolean | readonly string[], reg: Registration): string[] {
  if (setting === false) return [];
  if (setting === true) {
    return reg.objectList.filter((p) => {
      const objectId = Number(p.split('/')[1]);
      return Number.isInteger(objectId) && !AUTO_OBSERVE_EXCLUDED.has(objectId);
    });
  }
  const present = (p: string) => reg.objectList.some((o) => p === o || p.startsWith(o + '/') || o.startsWith(p + '/'));
  return setting.map((p) => formatPath(parsePath(p))).filter(present);
}

/** The observe commands of a registration, up to `room` (the rest are counted as dropped). */
export function autoObserveCommands(setting: boolean | readonly string[], reg: Registration, room: number): { commands: DownlinkCommand[]; dropped: number } {
  const paths = autoObservePaths(setting, reg);
  const commands = paths.slice(0, room).map(
    (path): DownlinkCommand => ({
      fields: { msgType: 'observe', data: { path }, is_auto_observe: true },
      msgType: 'observe',
      reqPath: path,
      op: { type: 'observe', path: parsePath(path), query: NO_QUERY },
      ttl: Number.POSITIVE_INFINITY,
      auto: true,
      context: undefined,
      handler: undefined,
    }),
  );
  return { commands, dropped: Math.max(0, paths.length - room) };
}
