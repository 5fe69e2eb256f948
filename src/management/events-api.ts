import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from './management-context';

/** Server-Sent Events at /api/v5/gateways/lwm2m/events (being built). */
export function registerEventsApi(_app: FastifyInstance, _context: ManagementContext): void {}
