import type { FastifyReply } from 'fastify';
import type { ApiError } from '../http/http-server';

/** The `{clientid}` path parameter: the endpoint name (bounded like lwm2m.max_endpoint_length's ceiling). */
export const CLIENT_PARAMS = {
  type: 'object',
  required: ['clientid'],
  properties: {
    clientid: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: 'the endpoint name',
    },
  },
} as const;

/** 404 for an endpoint that is not registered here (EMQX's code). */
export function clientNotFound(reply: FastifyReply, clientid: string): FastifyReply {
  return reply.code(404).send({
    code: 'CLIENT_NOT_FOUND',
    message: `client ${JSON.stringify(clientid.slice(0, 256))} is not registered`,
  } satisfies ApiError);
}
