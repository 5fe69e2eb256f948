import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { packageVersion } from '../package-root';
import { registerClientsApi } from './clients-api';
import { registerConsole } from './console-route';
import { registerEventsApi } from './events-api';
import { registerHealthApi } from './health-api';
import type { ManagementContext } from './management-context';
import { registerMetricsRoute } from './metrics-route';

/** Every route of the management plane on one HTTP server, with the OpenAPI document made from their schemas. */
export async function registerManagementApi(app: FastifyInstance, context: ManagementContext): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'lwm2m-gateway management API', version: packageVersion(), description: "EMQX's LwM2M gateway API (/api/v5/gateways/lwm2m/...) and more." },
      components: { securitySchemes: { basicAuth: { type: 'http', scheme: 'basic' } } },
      security: [{ basicAuth: [] }],
    },
  });
  registerHealthApi(app, context);
  registerMetricsRoute(app, context);
  registerClientsApi(app, context);
  registerEventsApi(app, context);
  registerConsole(app, context);
  app.get('/api/v5/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
