import type { Device } from '../lwm2m/device/device';

/** The list's query string after schema validation (fastify coerces the integers). */
export interface ClientListQuery {
  page?: number;
  limit?: number;
  endpoint_name?: string;
  like_endpoint_name?: string;
  ip_address?: string;
  gte_lifetime?: number;
  lte_lifetime?: number;
  gte_created_at?: string;
  lte_created_at?: string;
}

const TIMESTAMP = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description: 'RFC 3339 date-time or epoch milliseconds',
} as const;
const NAME = { type: 'string', minLength: 1, maxLength: 256 } as const;
const SECONDS = { type: 'integer', minimum: 0, maximum: 4294967295 } as const;

/** EMQX's query parameters of `GET /gateways/lwm2m/clients`. */
export const CLIENT_LIST_QUERY_SCHEMA = {
  type: 'object',
  properties: {
    page: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
    endpoint_name: { ...NAME, description: 'exact endpoint name' },
    like_endpoint_name: {
      ...NAME,
      description: 'substring of the endpoint name',
    },
    ip_address: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: "the device's source address",
    },
    gte_lifetime: { ...SECONDS, description: 'lifetime at least, seconds' },
    lte_lifetime: { ...SECONDS, description: 'lifetime at most, seconds' },
    gte_created_at: {
      ...TIMESTAMP,
      description: 'registered at or after (RFC 3339 or epoch ms)',
    },
    lte_created_at: {
      ...TIMESTAMP,
      description: 'registered at or before (RFC 3339 or epoch ms)',
    },
  },
} as const;

/** A query value the schema let through but that means nothing; `field` names the parameter. */
export class FilterError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** A timestamp as EMQX accepts it: epoch milliseconds or an RFC 3339 date-time. */
export function parseTimestamp(field: string, text: string): number {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const ms = RFC3339.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new FilterError(field, `querystring/${field} must be an RFC 3339 date-time or epoch milliseconds`);
  return ms;
}

/** The predicate of a list query: each given filter must hold. Built once per request; checking allocates nothing. */
export function clientFilter(query: ClientListQuery): <C>(device: Device<C>) => boolean {
  const { endpoint_name: exact, like_endpoint_name: like, ip_address: ip, gte_lifetime: minLifetime, lte_lifetime: maxLifetime } = query;
  const createdFrom = query.gte_created_at === undefined ? undefined : parseTimestamp('gte_created_at', query.gte_created_at);
  const createdTo = query.lte_created_at === undefined ? undefined : parseTimestamp('lte_created_at', query.lte_created_at);
  return (device) => {
    const reg = device.reg;
    if (exact !== undefined && reg.endpoint !== exact) return false;
    if (like !== undefined && !reg.endpoint.includes(like)) return false;
    if (ip !== undefined && reg.peer.address !== ip) return false;
    if (minLifetime !== undefined && reg.lifetime < minLifetime) return false;
    if (maxLifetime !== undefined && reg.lifetime > maxLifetime) return false;
    if (createdFrom !== undefined && reg.registeredAt < createdFrom) return false;
    if (createdTo !== undefined && reg.registeredAt > createdTo) return false;
    return true;
  };
}
