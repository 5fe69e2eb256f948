import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from './management-context';

/** The web console at / (being built). */
export function registerConsole(_app: FastifyInstance, _context: ManagementContext): void {}
