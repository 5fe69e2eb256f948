import type { Device } from '../lwm2m/device/device';

/** One registered device as the clients API shows it: EMQX's LwM2M client fields, then the gateway's own. */
export interface ClientView {
  clientid: string;
  endpoint_name: string;
  username: string | null;
  mountpoint: string | null;
  proto_name: 'LwM2M';
  proto_ver: string;
  ip_address: string;
  port: number;
  lifetime: number;
  keepalive: number;
  connected: true;
  created_at: string;
  connected_at: string;
  binding: string;
  queue_mode: boolean;
  awake: boolean;
  object_list: string[];
  dtls: { kind: 'psk' | 'x509'; name: string } | null;
  last_seen: string | null;
  queued_commands: number;
  observations: number;
}

const NULLABLE_STRING = { type: ['string', 'null'] } as const;

/** The JSON Schema of a ClientView (OpenAPI document and fast serialisation). */
export const CLIENT_VIEW_SCHEMA = {
  type: 'object',
  properties: {
    clientid: { type: 'string' },
    endpoint_name: { type: 'string' },
    username: NULLABLE_STRING,
    mountpoint: NULLABLE_STRING,
    proto_name: { type: 'string' },
    proto_ver: { type: 'string' },
    ip_address: { type: 'string' },
    port: { type: 'integer' },
    lifetime: {
      type: 'integer',
      description: 'registration lifetime, seconds',
    },
    keepalive: {
      type: 'integer',
      description: 'the lifetime, as EMQX reports it',
    },
    connected: { type: 'boolean' },
    created_at: {
      type: 'string',
      format: 'date-time',
      description: 'registered at',
    },
    connected_at: {
      type: 'string',
      format: 'date-time',
      description: 'last Register or Update',
    },
    binding: { type: 'string' },
    queue_mode: { type: 'boolean' },
    awake: {
      type: 'boolean',
      description: 'a queue-mode device spoke within lwm2m.qmode_time_window (always true otherwise)',
    },
    object_list: { type: 'array', items: { type: 'string' } },
    dtls: {
      type: ['object', 'null'],
      properties: {
        kind: { type: 'string', enum: ['psk', 'x509'] },
        name: { type: 'string' },
      },
    },
    last_seen: {
      ...NULLABLE_STRING,
      format: 'date-time',
      description: 'last message from the device',
    },
    queued_commands: { type: 'integer' },
    observations: { type: 'integer' },
  },
} as const;

/** An epoch-milliseconds time as RFC 3339 (EMQX's format); null for the engine's "not yet" markers. */
function rfc3339(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

/** A device as its API record; `qmodeWindowSeconds` is the engine's queue-mode awake window. */
export function clientView<C>(device: Device<C>, qmodeWindowSeconds: number, now: number): ClientView {
  const reg = device.reg;
  const identity = reg.peer.identity;
  return {
    clientid: reg.endpoint,
    endpoint_name: reg.endpoint,
    // EMQX's LwM2M channel takes the username from the `imei` query parameter, else the endpoint name.
    username: reg.query.imei ?? reg.endpoint,
    mountpoint: device.label ?? null,
    proto_name: 'LwM2M',
    proto_ver: reg.lwm2mVersion,
    ip_address: reg.peer.address,
    port: reg.peer.port,
    lifetime: reg.lifetime,
    keepalive: reg.lifetime,
    connected: true,
    created_at: new Date(reg.registeredAt).toISOString(),
    connected_at: new Date(reg.lastUpdate).toISOString(),
    binding: reg.binding,
    queue_mode: reg.queueMode,
    awake: device.isAwake(now, qmodeWindowSeconds),
    object_list: reg.objectList.slice(),
    dtls: identity ? { kind: identity.kind, name: identity.name } : null,
    last_seen: rfc3339(device.lastSeen),
    queued_commands: device.queue.size,
    observations: device.observations().length,
  };
}
