import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from './management-context';

/** EMQX's LwM2M gateway client API under /api/v5/gateways/lwm2m/clients (being built). */
export function registerClientsApi(_app: FastifyInstance, _context: ManagementContext): void {}
