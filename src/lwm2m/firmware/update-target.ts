import type { Entry } from '../node';
import type { Lwm2mOperation } from '../operation';
import type { JsonValue } from '../store/json';

/** What a job updates: the firmware (object 5) or a software component (object 9). */
export type UpdateKind = 'firmware' | 'software';

/** What a job does: object 5's update; object 9's install (a package), uninstall, activate, deactivate. */
export type UpdateOperation = 'update' | 'install' | 'uninstall' | 'activate' | 'deactivate';

/** What a read or notification of the target instance told. */
export interface TargetResources {
  state?: number;
  result?: number;
  /** Object 5: Firmware Update Protocol Support, when the device has the resource. */
  protocols?: number[];
  /** Object 5: Delivery Method. */
  delivery?: number;
  pkgName?: string;
  pkgVersion?: string;
  /** Object 9: Activation State. */
  active?: boolean;
}

/** What the device's values say about the job: go on waiting, execute now, it succeeded, or it failed with a result. */
export type TargetVerdict = 'wait' | 'ready' | 'succeeded' | { readonly failed: number };

/** A request a job sends for a purpose, and the words its errors name it by. */
export interface NamedOperation {
  readonly op: Lwm2mOperation;
  readonly what: string;
}

/**
 * The object-specific part of an update job: which instance and resources, which state the device
 * must be in to start, when the package is ready for the execute, and what success and failure look
 * like. The job's state machine (check → deliver → download → execute → wait) is the same for all.
 */
export interface UpdateTarget {
  readonly kind: UpdateKind;
  readonly operation: UpdateOperation;
  readonly instance: { readonly objectId: number; readonly instanceId: number };
  /** The instance's path, e.g. "/5/0". */
  readonly path: string;
  /** Whether a package is delivered before the execute (firmware update, software install). */
  readonly delivers: boolean;
  /** The Package (push) and Package URI (pull) resources. */
  readonly packageResource: number;
  readonly packageUriResource: number;
  /** The resource executed once the package is ready (or at once when nothing is delivered), its name and argument. */
  readonly execute: { readonly resourceId: number; readonly name: string; readonly args: string };
  /** A device that registers again mid-download has lost the package (firmware: it rebooted). */
  readonly redeliverOnReregister: boolean;
  /** The published names of "the package is with the device" and "the execute is under way". */
  readonly stateNames: { readonly downloaded: string; readonly executing: string };
  /** Fields every event of the job carries besides the common ones (software: operation, instance). */
  readonly eventFields: Readonly<Record<string, JsonValue>>;
  /** The target's values among decoded entries (a read of the instance, or a notification). */
  resources(entries: readonly Entry[]): TargetResources;
  /** Why the operation cannot start on the instance as read, or undefined. */
  startProblem(r: TargetResources): string | undefined;
  /** While the package is downloaded and checked. */
  whileDownloading(r: TargetResources): TargetVerdict;
  /** After the execute was sent (`answered`: the device answered it with success). */
  afterExecute(r: TargetResources, answered: boolean): TargetVerdict;
  /** The name of a result value, as published. */
  resultName(result: number): string;
  /** The read made on success, and what it adds to the success event. */
  readonly finalRead: NamedOperation;
  successFields(entries: readonly Entry[], known: TargetResources): Record<string, JsonValue | undefined>;
  /** What resets the device's state machine when the job is cancelled at this point; undefined: nothing to reset. */
  cancelOperation(executed: boolean, push: boolean, known: TargetResources): NamedOperation | undefined;
}

export function integerValue(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}
