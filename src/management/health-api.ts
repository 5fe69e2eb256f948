import type { FastifyInstance } from 'fastify';
import type { HealthPart, ManagementContext } from './management-context';

const PART_SCHEMA = { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } } as const;
const READY_SCHEMA = {
  type: 'object',
  required: ['status', 'checks'],
  properties: { status: { enum: ['ready', 'not_ready'] }, checks: { type: 'object', additionalProperties: PART_SCHEMA } },
} as const;

/**
 * `/health/live`: the process answers. `/health/ready`: every part (listeners bound, broker connected,
 * store reachable, state restored) is, 200, else 503 naming the parts that fail. Never behind a key:
 * orchestrators probe them.
 */
export function registerHealthApi(app: FastifyInstance, context: ManagementContext): void {
  const started = Date.now();
  app.get(
    '/health/live',
    {
      schema: {
        tags: ['health'],
        summary: 'The process is up',
        response: { 200: { type: 'object', required: ['status', 'uptime_s'], properties: { status: { const: 'live' }, uptime_s: { type: 'number' } } } },
      },
    },
    async () => ({ status: 'live', uptime_s: Math.round((Date.now() - started) / 1000) }),
  );
  app.get('/health/ready', { schema: { tags: ['health'], summary: 'Listeners bound, broker connected, store reachable', response: { 200: READY_SCHEMA, 503: READY_SCHEMA } } }, async (_request, reply) => {
    let checks: Record<string, HealthPart>;
    try {
      checks = await context.health();
    } catch (err) {
      checks = { health: { ok: false, detail: `health check failed: ${(err as Error).message}` } };
    }
    const ok = Object.values(checks).every((part) => part.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
  });
}
