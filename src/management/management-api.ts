import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { packageVersion } from '../package-root';
import { registerClientsApi } from './clients-api';
import { registerConsole } from './console-route';
import { registerEventsApi } from './events-api';
import { FIRMWARE_IMAGE_PATH, FIRMWARE_IMAGE_UPLOAD_BODY, registerFirmwareImagesApi } from './firmware-images-api';
import { registerHealthApi } from './health-api';
import type { ManagementContext } from './management-context';
import { contractComponents } from './openapi-schemas';

/** The parts of the generated OpenAPI document this module completes. */
interface OpenApiDocument {
  components?: { schemas?: Record<string, unknown> };
  paths?: Record<string, { post?: { requestBody?: unknown; responses?: Record<string, { content?: unknown }> }; put?: { requestBody?: unknown } }>;
}

const COMMAND_PATH = '/api/v5/gateways/lwm2m/clients/{clientid}/{msgType}';
import { registerMetricsRoute } from './metrics-route';

/** Every route of the management plane on one HTTP server, with the OpenAPI document made from their schemas. */
export async function registerManagementApi(app: FastifyInstance, context: ManagementContext): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'lwm2m-gateway management API', version: packageVersion(), description: "EMQX's LwM2M gateway API (/api/v5/gateways/lwm2m/...) and more." },
      components: { securitySchemes: { basicAuth: { type: 'http', scheme: 'basic' } } },
      security: [{ basicAuth: [] }],
    },
    // The synchronous command route reads its body as bytes (the gateway applies MQTT's limits), so its
    // route schema cannot name the command's shape: the document gets the MQTT contract's own schemas.
    transformObject: (documents) => {
      if (!('openapiObject' in documents)) return documents.swaggerObject;
      const generated = documents.openapiObject;
      const doc = generated as OpenApiDocument;
      const components = (doc.components ??= {});
      components.schemas = { ...components.schemas, ...contractComponents('command.schema.json', 'Command'), ...contractComponents('uplink.schema.json', 'UplinkMessage') };
      const post = doc.paths?.[COMMAND_PATH]?.post;
      if (post) {
        post.requestBody = { required: false, content: { 'application/json': { schema: { $ref: '#/components/schemas/Command' } } } };
        const ok = post.responses?.['200'];
        if (ok) ok.content = { 'application/json': { schema: { $ref: '#/components/schemas/UplinkMessage' } } };
      }
      // The image upload streams its body, so its route has no body schema either.
      const upload = doc.paths?.[FIRMWARE_IMAGE_PATH]?.put;
      if (upload) upload.requestBody = FIRMWARE_IMAGE_UPLOAD_BODY;
      return generated;
    },
  });
  registerHealthApi(app, context);
  registerMetricsRoute(app, context);
  registerClientsApi(app, context);
  registerEventsApi(app, context);
  registerFirmwareImagesApi(app, context);
  registerConsole(app, context);
  app.get('/api/v5/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
