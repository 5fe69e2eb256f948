import type { ResourceType } from './model/types';

/** An object link value: "O:I". */
export interface ObjectLink {
  objectId: number;
  instanceId: number;
}

/**
 * A typed resource value. Integers and unsigned integers are numbers while they fit in 2^53,
 * bigint beyond; time is seconds since the epoch (number); opaque is a Buffer; corelnk a string.
 */
export type Value = string | number | bigint | boolean | Buffer | ObjectLink;

/** A value with the type it was decoded as (or is to be encoded as). */
export interface TypedValue {
  type: ResourceType;
  value: Value;
}

export interface SingleResourceNode {
  kind: 'single';
  id: number;
  type: ResourceType;
  value: Value;
}

export interface MultipleResourceNode {
  kind: 'multiple';
  id: number;
  type: ResourceType;
  /** Resource instance id → value, in decoding order. */
  instances: Map<number, Value>;
}

export type ResourceNode = SingleResourceNode | MultipleResourceNode;

export interface ResourceInstanceNode {
  kind: 'resourceInstance';
  id: number;
  type: ResourceType;
  value: Value;
}

export interface ObjectInstanceNode {
  kind: 'instance';
  id: number;
  resources: Map<number, ResourceNode>;
}

export interface ObjectNode {
  kind: 'object';
  id: number;
  instances: Map<number, ObjectInstanceNode>;
}

/** The tree every content format decodes to and encodes from. */
export type Node = ObjectNode | ObjectInstanceNode | ResourceNode | ResourceInstanceNode;

/** One leaf of a decoded payload, with its absolute path: the MQTT `content` entry shape. */
export interface Entry {
  path: string;
  type: ResourceType;
  value: Value;
  /** Seconds since the epoch, when the format carried a time (SenML, OMA JSON). */
  time?: number;
}
