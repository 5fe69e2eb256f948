import type { LwM2mPath } from '../../lwm2m/path';
import type { EndpointGlob } from './endpoint-glob';
import type { Template } from './profile-template';

/**
 * How one kind of device is presented to a platform: which devices it applies to, their device id
 * and tenant, named telemetry and attributes, RPC methods and what to observe. Built by
 * parseProfiles, frozen.
 */
export interface DeviceProfile {
  readonly name: string;
  readonly match: ProfileMatch;
  readonly deviceId: Template;
  /** Endpoint → device id (`device_id_map`): an endpoint in it takes that id instead of the template's. */
  readonly deviceIdMap: ReadonlyMap<string, string> | undefined;
  readonly tenant: Template;
  /** Keys of numeric_values and string_values: `${name}`, `${path}`, `${endpoint}`, `${device_id}`. */
  readonly metricKey: Template;
  readonly observe: ObservePlanConfig;
  /** Normalised path ("/3303/0/5700") → metric name. */
  readonly telemetry: ReadonlyMap<string, string>;
  /** Normalised path → attribute name, read once on register. */
  readonly attributes: ReadonlyMap<string, string>;
  /** Method → the one operation it runs. */
  readonly rpc: ReadonlyMap<string, RpcOperation>;
}

/** Every condition given must hold; none given matches every device. */
export interface ProfileMatch {
  readonly endpoint: EndpointGlob | undefined;
  /** Attribute → the value the auth hook's client_attrs must hold. */
  readonly clientAttrs: ReadonlyMap<string, string>;
  /** Object ids the registration must have an instance of. */
  readonly objectIds: readonly number[];
}

export type ObserveStrategy = 'single' | 'composite' | 'composite_by_object';

/** Notification attributes (write-attr), in the order they are sent. */
export const NOTIFICATION_ATTRIBUTES = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax'] as const;
export type NotificationAttribute = (typeof NOTIFICATION_ATTRIBUTES)[number];

export interface ObservedPath {
  /** Normalised: "/3303/0/5700". */
  readonly path: string;
  readonly parsed: LwM2mPath;
  /** Written (write-attr) before the observation; empty for none. */
  readonly attributes: Readonly<Partial<Record<NotificationAttribute, number>>>;
}

export interface ObservePlanConfig {
  readonly strategy: ObserveStrategy;
  readonly paths: readonly ObservedPath[];
}

export type RpcOperation =
  | { readonly kind: 'execute'; readonly path: string; readonly args: string | undefined }
  /** `type`: the contract's type name ("String"), when the profile gives one; else the object model's. */
  | { readonly kind: 'write'; readonly path: string; readonly type: string | undefined }
  | { readonly kind: 'read'; readonly path: string };
