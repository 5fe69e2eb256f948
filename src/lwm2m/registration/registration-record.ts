import type { RegistrationRecord } from '../store/registrations';
import type { Registration } from './registration';

/** A registration as stored data (the store copies and freezes it). */
export function toRegistrationRecord(reg: Registration): RegistrationRecord {
  const record: { -readonly [K in keyof RegistrationRecord]: RegistrationRecord[K] } = {
    id: reg.id,
    endpoint: reg.endpoint,
    lifetime: reg.lifetime,
    lwm2mVersion: reg.lwm2mVersion,
    binding: reg.binding,
    queueMode: reg.queueMode,
    query: reg.query,
    alternatePath: reg.alternatePath,
    objectList: reg.objectList,
    contentFormats: reg.contentFormats,
    peer: reg.peer.identity ? { address: reg.peer.address, port: reg.peer.port, identity: reg.peer.identity } : { address: reg.peer.address, port: reg.peer.port },
    registeredAt: reg.registeredAt,
    lastUpdate: reg.lastUpdate,
  };
  if (reg.linkAttributes) record.linkAttributes = reg.linkAttributes;
  if (reg.attributes) record.attributes = reg.attributes;
  return record;
}

/** A stored registration as a live one: plain mutable copies (the record is frozen). */
export function fromRegistrationRecord(record: RegistrationRecord): Registration {
  const identity = record.peer.identity;
  const reg: Registration = {
    id: record.id,
    endpoint: record.endpoint,
    lifetime: record.lifetime,
    lwm2mVersion: record.lwm2mVersion,
    binding: record.binding,
    queueMode: record.queueMode,
    query: { ...record.query },
    alternatePath: record.alternatePath,
    objectList: [...record.objectList],
    contentFormats: [...record.contentFormats],
    peer: identity
      ? { address: record.peer.address, port: record.peer.port, identity: { kind: identity.kind, name: identity.name, endpoints: [...identity.endpoints] } }
      : { address: record.peer.address, port: record.peer.port },
    registeredAt: record.registeredAt,
    lastUpdate: record.lastUpdate,
  };
  if (record.linkAttributes) {
    reg.linkAttributes = Object.fromEntries(Object.entries(record.linkAttributes).map(([k, v]) => [k, { ...v }]));
  }
  if (record.attributes) reg.attributes = { ...record.attributes };
  return reg;
}
