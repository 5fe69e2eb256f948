import type { FastifyInstance } from 'fastify';
import { API_ERROR_SCHEMA, type ApiError } from '../http/http-server';
import type { ObjectDefinition } from '../lwm2m/model/types';
import type { ManagementContext } from './management-context';

const RESOURCE_SCHEMA = {
  type: 'object',
  required: ['id', 'name', 'operations', 'type', 'multiple', 'mandatory'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    operations: { enum: ['', 'R', 'W', 'RW', 'E'] },
    type: { enum: ['string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk', 'none'] },
    multiple: { type: 'boolean' },
    mandatory: { type: 'boolean' },
    units: { type: 'string' },
    range_enumeration: { type: 'string' },
  },
} as const;

const OBJECT_SCHEMA = {
  type: 'object',
  required: ['id', 'name', 'version', 'lwm2m_version', 'multiple', 'mandatory', 'resources'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    version: { type: 'string' },
    lwm2m_version: { type: 'string' },
    urn: { type: 'string' },
    multiple: { type: 'boolean' },
    mandatory: { type: 'boolean' },
    resources: { type: 'array', items: RESOURCE_SCHEMA },
  },
} as const;

/** The API's view of an object definition: snake_case like the rest of the API, resources in id order. */
function objectView(def: ObjectDefinition): Record<string, unknown> {
  return {
    id: def.id,
    name: def.name,
    version: def.version,
    lwm2m_version: def.lwm2mVersion,
    ...(def.urn !== undefined ? { urn: def.urn } : {}),
    multiple: def.multiple,
    mandatory: def.mandatory,
    resources: Object.values(def.resources)
      .sort((a, b) => a.id - b.id)
      .map((r) => ({
        id: r.id,
        name: r.name,
        operations: r.operations,
        type: r.type,
        multiple: r.multiple,
        mandatory: r.mandatory,
        ...(r.units !== undefined && r.units !== '' ? { units: r.units } : {}),
        ...(r.rangeEnumeration !== undefined && r.rangeEnumeration !== '' ? { range_enumeration: r.rangeEnumeration } : {}),
      })),
  };
}

/**
 * `GET /api/v5/gateways/lwm2m/objects/{objectId}`: an object's definition from the gateway's model
 * (the OMA registry and lwm2m.xml_dir), so a client such as the console can name objects and resources
 * and know which operations and types they have.
 */
export function registerObjectsApi(app: FastifyInstance, context: ManagementContext): void {
  const model = context.model;
  app.get<{ Params: { objectId: number } }>(
    '/api/v5/gateways/lwm2m/objects/:objectId',
    {
      schema: {
        tags: ['objects'],
        summary: "An LwM2M object's definition (names, operations, types of its resources)",
        params: { type: 'object', required: ['objectId'], properties: { objectId: { type: 'integer', minimum: 0, maximum: 65535 } } },
        response: { 200: OBJECT_SCHEMA, 404: API_ERROR_SCHEMA },
      },
    },
    async (request, reply) => {
      const id = request.params.objectId;
      const def = model.get(id);
      if (def === undefined) {
        return reply.code(404).send({ code: 'OBJECT_NOT_FOUND', message: `object ${id} is not in the gateway's model (add its XML to lwm2m.xml_dir)` } satisfies ApiError);
      }
      return objectView(def);
    },
  );
}
