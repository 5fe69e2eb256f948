/** LwM2M resource data types (OMA TS Core, appendix C). `none` is for executable resources. */
export type ResourceType =
  | 'string'
  | 'integer'
  | 'unsigned'
  | 'float'
  | 'boolean'
  | 'opaque'
  | 'time'
  | 'objlnk'
  | 'corelnk'
  | 'none';

/** R, W, RW, E, or '' (none), as written in the OMA XML. */
export type Operations = '' | 'R' | 'W' | 'RW' | 'E';

export interface ResourceDefinition {
  id: number;
  name: string;
  operations: Operations;
  multiple: boolean;
  mandatory: boolean;
  type: ResourceType;
  units?: string;
  rangeEnumeration?: string;
}

export interface ObjectDefinition {
  id: number;
  name: string;
  /** ObjectVersion, "1.0" when the XML gives none. */
  version: string;
  /** LWM2MVersion, "1.0" when the XML gives none. */
  lwm2mVersion: string;
  urn?: string;
  multiple: boolean;
  mandatory: boolean;
  resources: Record<number, ResourceDefinition>;
}

/** What codecs need from the model: the declared type of a resource, if known. */
export interface ModelLookup {
  resourceDefinition(objectId: number, resourceId: number): ResourceDefinition | undefined;
}
