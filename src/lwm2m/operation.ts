import type { LwM2mPath } from './path';
import type { Node } from './node';

/** Downlink operations of the Device Management & Service Enablement and Information Reporting interfaces. */
export type Lwm2mOperation =
  | { type: 'read'; path: LwM2mPath; query: string[]; accept?: number }
  | { type: 'discover'; path: LwM2mPath; query: string[] }
  | { type: 'write'; path: LwM2mPath; query: string[]; replace: boolean; node: Node; format: number }
  | { type: 'write-attr'; path: LwM2mPath; query: string[]; attributes: [string, string][] }
  | { type: 'execute'; path: LwM2mPath; query: string[]; args: string }
  | { type: 'create'; path: LwM2mPath; query: string[]; node: Node; format: number }
  | { type: 'delete'; path: LwM2mPath; query: string[] }
  | { type: 'observe'; path: LwM2mPath; query: string[]; accept?: number }
  | { type: 'cancel-observe'; path: LwM2mPath; query: string[]; accept?: number; /** The observation's token (RFC 7641 §3.6). */ token?: Buffer };

export type Lwm2mOperationType = Lwm2mOperation['type'];
