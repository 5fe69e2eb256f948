import { ContentFormat } from '../codec/content-format';
import type { Entry } from '../node';
import { integerValue, type NamedOperation, type TargetResources, type TargetVerdict, type UpdateTarget } from './update-target';

/** Software Management (OMA object 9) Update State /9/x/7. */
export const SoftwareState = { INITIAL: 0, DOWNLOAD_STARTED: 1, DOWNLOADED: 2, DELIVERED: 3, INSTALLED: 4 } as const;

const STATE_NAMES = ['INITIAL', 'DOWNLOAD STARTED', 'DOWNLOADED', 'DELIVERED', 'INSTALLED'];

/** Update Result /9/x/9 values (object 9 1.0), as published; 4..49 and 60..200 are reserved. */
const RESULT_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'initial',
  1: 'downloading',
  2: 'installed',
  3: 'delivered',
  50: 'not_enough_storage',
  51: 'out_of_memory',
  52: 'connection_lost',
  53: 'integrity_check_failure',
  54: 'unsupported_package_type',
  56: 'invalid_uri',
  57: 'update_error',
  58: 'installation_failure',
  59: 'uninstallation_failure',
});

/** Update Result values from here on are failures (object 9). */
const FIRST_FAILURE = 50;

export function softwareResultName(result: number): string {
  return RESULT_NAMES[result] ?? `unknown_${result}`;
}

function stateName(state: number | undefined): string {
  return state === undefined ? 'unknown' : `${state} ${STATE_NAMES[state] ?? 'unknown'}`;
}

/** The object 9 values of one instance among decoded entries (a read of /9/x, or a notification). */
export function softwareResources(entries: readonly Entry[], instanceId: number): TargetResources {
  const prefix = `/9/${instanceId}/`;
  const out: TargetResources = {};
  for (const e of entries) {
    if (!e.path.startsWith(prefix)) continue;
    const rest = e.path.slice(prefix.length);
    switch (rest) {
      case '0':
        if (typeof e.value === 'string') out.pkgName = e.value;
        break;
      case '1':
        if (typeof e.value === 'string') out.pkgVersion = e.value;
        break;
      case '7':
        out.state = integerValue(e.value);
        break;
      case '9':
        out.result = integerValue(e.value);
        break;
      case '12':
        if (typeof e.value === 'boolean') out.active = e.value;
        break;
    }
  }
  return out;
}

function failure(result: number | undefined): TargetVerdict | undefined {
  return result !== undefined && result >= FIRST_FAILURE ? { failed: result } : undefined;
}

/** The operations of object 9 a job runs, and their executable resource. */
const EXECUTES = {
  install: { resourceId: 4, name: 'Install', executing: 'installing' },
  uninstall: { resourceId: 6, name: 'Uninstall', executing: 'uninstalling' },
  activate: { resourceId: 10, name: 'Activate', executing: 'activating' },
  deactivate: { resourceId: 11, name: 'Deactivate', executing: 'deactivating' },
} as const;

export type SoftwareOperation = keyof typeof EXECUTES;

/**
 * A job on one Software Management instance /9/x (OMA object 9):
 * - install: Package /9/x/2 or Package URI /9/x/3 in state INITIAL, Install /9/x/4 once Update State
 *   /9/x/7 is DELIVERED, success when it is INSTALLED; Update Result /9/x/9 >= 50 fails;
 * - uninstall (Uninstall /9/x/6, argument 1 with `forUpdate`): success when Update State is INITIAL;
 * - activate / deactivate (/9/x/10, /9/x/11): success when Activation State /9/x/12 follows.
 * Only what the device says after the execute is answered decides a short operation, so a value
 * from before (an old failure result) is never taken for its outcome.
 */
export function softwareTarget(operation: SoftwareOperation, instanceId: number, forUpdate = false): UpdateTarget {
  const path = `/9/${instanceId}`;
  const exec = EXECUTES[operation];
  const name = `${exec.name} ${path}/${exec.resourceId}`;
  const resource = (resourceId: number) => ({ objectId: 9, instanceId, resourceId });
  const target: UpdateTarget = {
    kind: 'software',
    operation,
    instance: { objectId: 9, instanceId },
    path,
    delivers: operation === 'install',
    packageResource: 2,
    packageUriResource: 3,
    execute: { resourceId: exec.resourceId, name, args: operation === 'uninstall' && forUpdate ? '1' : '' },
    redeliverOnReregister: false,
    stateNames: { downloaded: 'delivered', executing: exec.executing },
    eventFields: operation === 'uninstall' ? { operation, instance: instanceId, forUpdate } : { operation, instance: instanceId },
    resources: (entries) => softwareResources(entries, instanceId),
    startProblem(r) {
      const { state } = r;
      if (state === undefined) return `the device did not report Update State ${path}/7`;
      switch (operation) {
        case 'install':
          if (state === SoftwareState.INSTALLED) return `software is installed on ${path} (PkgName "${r.pkgName ?? ''}", PkgVersion "${r.pkgVersion ?? ''}"): send software-uninstall first ("forUpdate":true keeps it in place for the new package)`;
          if (state !== SoftwareState.INITIAL) return `Update State of ${path} is ${stateName(state)}, not INITIAL: send software-cancel or software-uninstall to reset it first`;
          return undefined;
        case 'uninstall':
          if (forUpdate && state !== SoftwareState.INSTALLED) return `Uninstall for update needs software installed on ${path} (Update State is ${stateName(state)})`;
          if (state !== SoftwareState.INSTALLED && state !== SoftwareState.DELIVERED) return `nothing to uninstall on ${path}: Update State is ${stateName(state)}, not INSTALLED or DELIVERED`;
          return undefined;
        default:
          if (state !== SoftwareState.INSTALLED) return `${exec.name} needs software installed on ${path} (Update State is ${stateName(state)}, not INSTALLED)`;
          return undefined;
      }
    },
    whileDownloading(r) {
      return failure(r.result) ?? (r.state === SoftwareState.DELIVERED ? 'ready' : 'wait');
    },
    afterExecute(r, answered) {
      switch (operation) {
        case 'install':
          // A failed install stays DELIVERED with its result; INSTALLED is the success (Update Result 2).
          if (r.state === SoftwareState.INSTALLED) return 'succeeded';
          return failure(r.result) ?? 'wait';
        case 'uninstall':
          if (!answered) return 'wait';
          if (r.state === SoftwareState.INITIAL) return 'succeeded';
          return failure(r.result) ?? 'wait';
        default:
          if (!answered) return 'wait';
          return r.active === (operation === 'activate') ? 'succeeded' : 'wait';
      }
    },
    resultName: softwareResultName,
    finalRead: { op: { type: 'read', path: { objectId: 9, instanceId }, query: [] }, what: `the read of ${path}` },
    successFields(entries, known) {
      const now = { ...known, ...softwareResources(entries, instanceId) };
      // Only an install's Update Result is its outcome: after Uninstall, Anjay 3.14 keeps an earlier failure's (58).
      const result = operation === 'install' ? now.result : undefined;
      return {
        updateResult: result,
        result: result === undefined ? undefined : softwareResultName(result),
        pkgName: now.pkgName,
        pkgVersion: now.pkgVersion,
        activationState: now.active,
      };
    },
    cancelOperation(executed, push, known): NamedOperation | undefined {
      if (operation !== 'install') return undefined;
      // A delivered package is removed by Uninstall (object 9); before that an empty Package or Package URI resets the download.
      if (executed || known.state === SoftwareState.DELIVERED) return { op: { type: 'execute', path: resource(6), query: [], args: '' }, what: `Uninstall ${path}/6` };
      if (push) return { op: { type: 'write', path: resource(2), query: [], replace: true, node: { kind: 'single', id: 2, type: 'opaque', value: Buffer.alloc(0) }, format: ContentFormat.OPAQUE }, what: `Package ${path}/2` };
      return { op: { type: 'write', path: resource(3), query: [], replace: true, node: { kind: 'single', id: 3, type: 'string', value: '' }, format: ContentFormat.TEXT }, what: `Package URI ${path}/3` };
    },
  };
  return Object.freeze(target);
}
