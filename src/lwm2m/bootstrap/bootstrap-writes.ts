import { ContentFormat, encodeNode } from '../codec';
import type { ModelLookup, ResourceType } from '../model/types';
import type { ObjectInstanceNode, ResourceNode, Value } from '../node';
import { formatPath, type LwM2mPath } from '../path';
import {
  SECURITY_MODE_VALUE,
  type AclInstance,
  type BootstrapConfig,
  type BootstrapVersion,
  type OscoreContext,
  type SecurityAccount,
  type ServerAccount,
} from './bootstrap-config';
import type { DiscoverLayout } from './discover-layout';

/*
 * The Bootstrap-Writes of one configuration (OMA LwM2M TS Core 1.1/1.2 §6.1.7, Bootstrap-Write):
 * one write per object instance, so that a device refusing one names exactly which. Payloads
 * never reach logs: Security instances carry the PSK or private key.
 */

/** One Bootstrap-Write: PUT `target` with `payload` in `format`. */
export interface BootstrapWrite {
  path: LwM2mPath;
  format: number;
  payload: Buffer;
  /** "/0/1" for logs and events. */
  target: string;
}

/** One object instance to write, before encoding (the Bootstrap-Pack encodes these as one payload). */
export interface BootstrapInstance {
  objectId: number;
  node: ObjectInstanceNode;
  /** "/0/1". */
  target: string;
  /** Where it comes from in the configuration, for errors: "servers[1] security". */
  origin: string;
}

/** Formats a Bootstrap-Write may use: those that carry a whole object instance (not text, opaque, plain CBOR). */
export const WRITABLE_FORMATS: ReadonlySet<number> = new Set([
  ContentFormat.TLV,
  ContentFormat.SENML_CBOR,
  ContentFormat.SENML_JSON,
  ContentFormat.LWM2M_CBOR,
  ContentFormat.OMA_JSON,
]);

/**
 * The content format of the writes: `forced` (configuration) if given, else the device's `pct`
 * when writable, else TLV for 1.0 and 1.1 (the format 1.0 clients all decode) and SenML CBOR for
 * 1.2 (what 1.2 clients such as Anjay ask for in their Bootstrap-Request's pct).
 */
export function bootstrapFormat(version: BootstrapVersion, preferred: number | undefined, forced: number | undefined): number {
  if (forced !== undefined) return forced;
  if (preferred !== undefined && WRITABLE_FORMATS.has(preferred)) return preferred;
  return version === '1.2' ? ContentFormat.SENML_CBOR : ContentFormat.TLV;
}

/**
 * The encoded writes, in order: bootstrap account, then per server its OSCORE instance (if any;
 * before the Security instance that links to it), Security and Server instance, then ACLs.
 */
export function planBootstrapWrites(
  config: BootstrapConfig,
  layout: DiscoverLayout | undefined,
  format: number,
  model: ModelLookup,
): BootstrapWrite[] {
  return bootstrapInstances(config, layout, model).map((instance) => {
    const path: LwM2mPath = { objectId: instance.objectId, instanceId: instance.node.id };
    return { path, format, payload: encodeNode(format, path, instance.node, model), target: instance.target };
  });
}

const SECURITY = 0;
const SERVER = 1;
const ACL = 2;
const OSCORE = 21;
/** /0/x/17 OSCORE Security Mode: the object link to the server's /21 instance (TS Core 1.1+). */
const OSCORE_SECURITY_MODE = 17;
/** COSE algorithm ids the OSCORE object defaults to (RFC 8613 §3.2): AES-CCM-16-64-128, HKDF SHA-256. */
const DEFAULT_AEAD_ALGORITHM = 10;
const DEFAULT_HMAC_ALGORITHM = -10;
/** 65535 is MAX_ID, reserved by TS Core (never an instance id), so the highest is 65534. */
const MAX_INSTANCE_ID = 65534;

/** Resource types as OMA defines objects 0, 1, 2 and 21; the passed model's types win where it has them. */
const SPEC_TYPES: Readonly<Record<number, Readonly<Record<number, ResourceType>>>> = {
  [SECURITY]: {
    0: 'string',
    1: 'boolean',
    2: 'integer',
    3: 'opaque',
    4: 'opaque',
    5: 'opaque',
    10: 'integer',
    11: 'integer',
    12: 'integer',
    [OSCORE_SECURITY_MODE]: 'objlnk',
  },
  [SERVER]: { 0: 'integer', 1: 'integer', 2: 'integer', 3: 'integer', 5: 'integer', 6: 'boolean', 7: 'string' },
  [ACL]: { 0: 'integer', 1: 'integer', 2: 'integer', 3: 'integer' },
  // Object 21 "LWM2M OSCORE" version 2.0, as the built-in model has it (keys and ids opaque).
  [OSCORE]: { 0: 'opaque', 1: 'opaque', 2: 'opaque', 3: 'integer', 4: 'integer', 5: 'opaque', 6: 'opaque' },
};

interface PendingInstance {
  objectId: number;
  origin: string;
  /** The rewrite of the Bootstrap-Server Account (Security, Bootstrap-Server true). */
  bootstrapAccount: boolean;
  /** Configured (or, for the bootstrap account, discovered) instance id; chosen below when absent. */
  instanceId?: number;
  resources: () => ResourceNode[];
}

/**
 * The object instances of a configuration with their instance ids: the configured one, else the
 * lowest id no other write of the same object uses and, for Security, not the bootstrap account's
 * (the discovered one; 0 when the discover showed none or did not happen, since that is where
 * devices keep it). Throws an Error naming the entries for two writes at one path, a server
 * account over the discovered bootstrap account, or a bootstrap account rewrite at another
 * instance than the discovered one.
 */
export function bootstrapInstances(config: BootstrapConfig, layout: DiscoverLayout | undefined, model: ModelLookup): BootstrapInstance[] {
  const discoveredAccount = layout?.bootstrapAccountInstance;
  const pending: PendingInstance[] = [];
  if (config.bootstrapAccount !== undefined) {
    const account = config.bootstrapAccount;
    pending.push({
      objectId: SECURITY,
      origin: 'bootstrap_server',
      bootstrapAccount: true,
      instanceId: account.instanceId ?? discoveredAccount ?? 0,
      resources: () => securityResources(account, undefined),
    });
  }
  config.servers.forEach((server, index) => {
    let oscoreLink: PendingInstance | undefined;
    if (server.oscore !== undefined) {
      const context = server.oscore;
      oscoreLink = {
        objectId: OSCORE,
        origin: `servers[${index}] oscore`,
        bootstrapAccount: false,
        instanceId: context.instanceId,
        resources: () => oscoreResources(context),
      };
      pending.push(oscoreLink);
    }
    pending.push({
      objectId: SECURITY,
      origin: `servers[${index}] security`,
      bootstrapAccount: false,
      instanceId: server.security.instanceId,
      // The OSCORE instance precedes this one in `pending`, so its id is settled when this runs.
      resources: () => securityResources(server.security, server.shortServerId, oscoreLink?.instanceId),
    });
    pending.push({
      objectId: SERVER,
      origin: `servers[${index}] server`,
      bootstrapAccount: false,
      instanceId: server.serverInstanceId,
      resources: () => serverResources(server),
    });
  });
  config.acls.forEach((acl, index) => {
    const origin = `acls[${index}]`;
    pending.push({ objectId: ACL, origin, bootstrapAccount: false, instanceId: acl.instanceId, resources: () => aclResources(acl, origin) });
  });

  // Configured ids first, so that a chosen id never takes one a later entry asks for.
  const owners = new Map<string, string>();
  for (const item of pending) {
    if (item.instanceId === undefined) continue;
    checkInstanceId(item.instanceId, item.origin);
    claim(owners, item.objectId, item.instanceId, item.origin);
    if (item.objectId !== SECURITY || discoveredAccount === undefined) continue;
    if (!item.bootstrapAccount && item.instanceId === discoveredAccount) {
      throw new Error(`${item.origin} would overwrite the bootstrap account the device reported at /0/${discoveredAccount}`);
    }
    // Bootstrap-Delete never removes the existing account: a rewrite elsewhere would leave the
    // device with two, which TS Core's Bootstrap Interface forbids ("at most one LwM2M
    // Bootstrap-Server Account").
    if (item.bootstrapAccount && item.instanceId !== discoveredAccount) {
      throw new Error(`bootstrap_server instance_id ${item.instanceId} is not /0/${discoveredAccount}, where the device reported its bootstrap account`);
    }
  }
  const reservedSecurity = new Set([discoveredAccount ?? 0]);
  // A 1.0 Discover marks no instance as the bootstrap account (no ssid anywhere): every Security
  // instance it listed is kept clear, so that a guess at the account can never overwrite it.
  if (layout?.version === '1.0') for (const id of layout.securityInstances) reservedSecurity.add(id);
  const instances: BootstrapInstance[] = [];
  for (const item of pending) {
    let instanceId = item.instanceId;
    if (instanceId === undefined) {
      instanceId = lowestFree(owners, item.objectId, item.objectId === SECURITY ? reservedSecurity : undefined, item.origin);
      claim(owners, item.objectId, instanceId, item.origin);
      item.instanceId = instanceId;
    }
    const node: ObjectInstanceNode = { kind: 'instance', id: instanceId, resources: new Map() };
    for (const resource of item.resources()) {
      node.resources.set(resource.id, { ...resource, type: model.resourceDefinition(item.objectId, resource.id)?.type ?? resource.type });
    }
    instances.push({ objectId: item.objectId, node, target: formatPath({ objectId: item.objectId, instanceId }), origin: item.origin });
  }
  return instances;
}

function checkInstanceId(id: number, origin: string): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_INSTANCE_ID) {
    throw new Error(`${origin}: instance id ${id} is not an integer in 0..${MAX_INSTANCE_ID}`);
  }
}

function claim(owners: Map<string, string>, objectId: number, instanceId: number, origin: string): void {
  const key = `/${objectId}/${instanceId}`;
  const owner = owners.get(key);
  if (owner !== undefined) throw new Error(`${owner} and ${origin} both write ${key}`);
  owners.set(key, origin);
}

function lowestFree(owners: Map<string, string>, objectId: number, reserved: ReadonlySet<number> | undefined, origin: string): number {
  for (let id = 0; id <= MAX_INSTANCE_ID; id++) {
    if (!reserved?.has(id) && !owners.has(`/${objectId}/${id}`)) return id;
  }
  throw new Error(`${origin}: no free instance id left in /${objectId}`);
}

/** /0/x: a DM account when `shortServerId` is given, else the bootstrap account; `oscoreInstance` links /21/y. */
function securityResources(account: SecurityAccount, shortServerId: number | undefined, oscoreInstance?: number): ResourceNode[] {
  const bootstrap = shortServerId === undefined;
  const resources = [
    single(SECURITY, 0, account.uri),
    single(SECURITY, 1, bootstrap),
    single(SECURITY, 2, SECURITY_MODE_VALUE[account.mode]),
    single(SECURITY, 3, account.publicKeyOrIdentity),
    single(SECURITY, 4, account.serverPublicKey),
    single(SECURITY, 5, account.secretKey),
  ];
  if (shortServerId !== undefined) resources.push(single(SECURITY, 10, shortServerId));
  if (account.clientHoldOffTime !== undefined) resources.push(single(SECURITY, 11, account.clientHoldOffTime));
  if (bootstrap && account.bootstrapAccountTimeout !== undefined) resources.push(single(SECURITY, 12, account.bootstrapAccountTimeout));
  if (oscoreInstance !== undefined) {
    resources.push(single(SECURITY, OSCORE_SECURITY_MODE, { objectId: OSCORE, instanceId: oscoreInstance }));
  }
  return resources;
}

/** /21/x: one OSCORE context, defaults filled in so that the device needs none of its own. */
function oscoreResources(context: OscoreContext): ResourceNode[] {
  const resources = [
    single(OSCORE, 0, context.masterSecret),
    single(OSCORE, 1, context.senderId),
    single(OSCORE, 2, context.recipientId),
    single(OSCORE, 3, context.aeadAlgorithm ?? DEFAULT_AEAD_ALGORITHM),
    single(OSCORE, 4, context.hmacAlgorithm ?? DEFAULT_HMAC_ALGORITHM),
    single(OSCORE, 5, context.masterSalt ?? Buffer.alloc(0)),
  ];
  if (context.idContext !== undefined) resources.push(single(OSCORE, 6, context.idContext));
  return resources;
}

function serverResources(server: ServerAccount): ResourceNode[] {
  const resources = [single(SERVER, 0, server.shortServerId), single(SERVER, 1, server.lifetime)];
  if (server.defaultMinPeriod !== undefined) resources.push(single(SERVER, 2, server.defaultMinPeriod));
  if (server.defaultMaxPeriod !== undefined) resources.push(single(SERVER, 3, server.defaultMaxPeriod));
  if (server.disableTimeout !== undefined) resources.push(single(SERVER, 5, server.disableTimeout));
  resources.push(single(SERVER, 6, server.notificationStoring), single(SERVER, 7, server.binding));
  return resources;
}

function aclResources(acl: AclInstance, origin: string): ResourceNode[] {
  const entries = new Map<number, Value>();
  for (const [shortServerId, bits] of acl.acl) {
    // A resource instance id twice would make the payload ambiguous (TLV) or refused (SenML).
    if (entries.has(shortServerId)) throw new Error(`${origin}: the ACL names short server id ${shortServerId} twice`);
    entries.set(shortServerId, bits);
  }
  return [
    single(ACL, 0, acl.objectId),
    single(ACL, 1, acl.objectInstanceId),
    { kind: 'multiple', id: 2, type: SPEC_TYPES[ACL][2], instances: entries },
    single(ACL, 3, acl.owner),
  ];
}

function single(objectId: number, resourceId: number, value: Value): ResourceNode {
  return { kind: 'single', id: resourceId, type: SPEC_TYPES[objectId][resourceId], value };
}
