import type { LwM2mPath } from './path';
import type { Entry, Node } from './node';

/** Downlink operations of the Device Management & Service Enablement and Information Reporting interfaces. */
export type Lwm2mOperation =
  | { type: 'read'; path: LwM2mPath; query: string[]; accept?: number }
  | { type: 'discover'; path: LwM2mPath; query: string[] }
  | { type: 'write'; path: LwM2mPath; query: string[]; replace: boolean; node: Node; format: number }
  | { type: 'write-attr'; path: LwM2mPath; query: string[]; attributes: [string, string][] }
  | { type: 'execute'; path: LwM2mPath; query: string[]; args: string }
  | { type: 'create'; path: LwM2mPath; query: string[]; node: Node; format: number }
  | { type: 'delete'; path: LwM2mPath; query: string[] }
  /**
   * One block of a resource write the caller sends block by block (RFC 7959 Block1, §2.5): `payload`
   * is block `num` of a body of `size` bytes in `format`; the device answers 2.31 (echoing the block,
   * perhaps with a smaller size) or, after the last, the write's own code.
   */
  | { type: 'write-block'; path: LwM2mPath; query: string[]; format: number; payload: Buffer; num: number; szx: number; more: boolean; size: number }
  | { type: 'observe'; path: LwM2mPath; query: string[]; accept?: number }
  | { type: 'cancel-observe'; path: LwM2mPath; query: string[]; accept?: number; /** The observation's token (RFC 7641 §3.6). */ token?: Buffer }
  // Composite operations (TS Core 1.1 §6.3.8–§6.3.10) address the root: `path` is always `{}`.
  | { type: 'read-composite'; path: LwM2mPath; query: string[]; paths: LwM2mPath[]; accept: number }
  | { type: 'write-composite'; path: LwM2mPath; query: string[]; entries: Entry[] }
  | { type: 'observe-composite'; path: LwM2mPath; query: string[]; paths: LwM2mPath[]; accept: number }
  | { type: 'cancel-observe-composite'; path: LwM2mPath; query: string[]; paths: LwM2mPath[]; accept: number; token?: Buffer };

export type Lwm2mOperationType = Lwm2mOperation['type'];
