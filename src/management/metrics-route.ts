import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from './management-context';

/** `/metrics`: the Prometheus text exposition (the app's prom-client registry). */
export function registerMetricsRoute(app: FastifyInstance, context: ManagementContext): void {
  const metrics = context.metrics;
  if (!metrics) return;
  app.get('/metrics', { schema: { tags: ['metrics'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_request, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });
}
