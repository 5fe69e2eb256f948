import { ContentFormat } from '../codec/content-format';
import { DeliveryMethod, FirmwareState, firmwareResources, updateResultName } from './firmware-resources';
import type { TargetResources, TargetVerdict, UpdateTarget } from './update-target';

/** Update Result 11 (object 5 1.1, deferred): the device will update later; the job waits. */
const DEFERRED = 11;

/**
 * Firmware Update (OMA object 5, instance 0): Package /5/0/0 or Package URI /5/0/1, Update /5/0/2
 * once State /5/0/3 is Downloaded, success on Update Result /5/0/5 = 1 (then Firmware Version
 * /3/0/3 is read); any other result >= 2 but Deferred fails the job.
 */
const target: UpdateTarget = {
  kind: 'firmware',
  operation: 'update',
  instance: { objectId: 5, instanceId: 0 },
  path: '/5/0',
  delivers: true,
  packageResource: 0,
  packageUriResource: 1,
  execute: { resourceId: 2, name: 'Update /5/0/2', args: '' },
  redeliverOnReregister: true,
  stateNames: { downloaded: 'downloaded', executing: 'updating' },
  eventFields: {},
  resources: firmwareResources,
  startProblem(r: TargetResources): string | undefined {
    if (r.state !== undefined && r.state !== FirmwareState.IDLE) return `the device's firmware update is not idle (State ${r.state}); send firmware-cancel to reset it first`;
    return undefined;
  },
  whileDownloading(r: TargetResources): TargetVerdict {
    if (r.result !== undefined && r.result >= 2) return { failed: r.result };
    return r.state === FirmwareState.DOWNLOADED ? 'ready' : 'wait';
  },
  afterExecute(r: TargetResources): TargetVerdict {
    if (r.result === 1) return 'succeeded';
    if (r.result !== undefined && r.result >= 2 && r.result !== DEFERRED) return { failed: r.result };
    return 'wait';
  },
  resultName: updateResultName,
  finalRead: { op: { type: 'read', path: { objectId: 3, instanceId: 0, resourceId: 3 }, query: [] }, what: 'the read of Firmware Version /3/0/3' },
  successFields(entries, known) {
    const version = entries[0]?.value;
    return { updateResult: 1, result: updateResultName(1), pkgName: known.pkgName, pkgVersion: known.pkgVersion, firmwareVersion: typeof version === 'string' ? version : undefined };
  },
  cancelOperation(_executed: boolean, _push: boolean, known: TargetResources) {
    // A push-only device may not take a Package URI: the empty Package resets it instead (object 5).
    if (known.delivery === DeliveryMethod.PUSH) {
      return { op: { type: 'write', path: { objectId: 5, instanceId: 0, resourceId: 0 }, query: [], replace: true, node: { kind: 'single', id: 0, type: 'opaque', value: Buffer.alloc(0) }, format: ContentFormat.OPAQUE }, what: 'Package' };
    }
    return { op: { type: 'write', path: { objectId: 5, instanceId: 0, resourceId: 1 }, query: [], replace: true, node: { kind: 'single', id: 1, type: 'string', value: '' }, format: ContentFormat.TEXT }, what: 'Package URI' };
  },
};

export const FIRMWARE_TARGET: UpdateTarget = Object.freeze(target);
