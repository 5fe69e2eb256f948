import type { FastifyInstance } from 'fastify';
import { API_ERROR_SCHEMA, type ApiError } from '../http/http-server';
import { AnswerRecord } from './answer-record';
import { CLIENT_PARAMS, clientNotFound } from './client-params';
import { clientFilter, CLIENT_LIST_QUERY_SCHEMA, FilterError, type ClientListQuery } from './client-filter';
import { clientView, CLIENT_VIEW_SCHEMA, type ClientView } from './client-view';
import { registerCommandRoute } from './command-route';
import { compositeObservationKey } from '../lwm2m/composite';
import type { Device } from '../lwm2m/device/device';
import { formatPath, parsePath } from '../lwm2m/path';
import type { ManagementContext } from './management-context';

const PREFIX = '/api/v5/gateways/lwm2m/clients';
const TAGS = ['LwM2M clients'];

const LIST_SCHEMA = {
  type: 'object',
  required: ['data', 'meta'],
  properties: {
    data: { type: 'array', items: CLIENT_VIEW_SCHEMA },
    meta: {
      type: 'object',
      required: ['page', 'limit', 'count', 'hasnext'],
      properties: {
        page: { type: 'integer' },
        limit: { type: 'integer' },
        count: { type: 'integer' },
        hasnext: { type: 'boolean' },
      },
    },
  },
} as const;

const LOOKUP_SCHEMA = {
  type: 'object',
  required: ['clientid', 'path', 'action', 'code', 'codeMsg'],
  properties: {
    clientid: { type: 'string' },
    path: { type: 'string' },
    action: { type: 'string' },
    code: { type: 'string', description: '6.01 before any answer' },
    codeMsg: {
      type: 'string',
      description: 'reply_not_received before any answer',
    },
    content: { description: "the answer's content, as on MQTT" },
  },
} as const;

/** Answers the lookup record does not keep (see the recording below). */
const OBSERVE_ACTIONS: ReadonlySet<string> = new Set(['observe', 'observe-composite']);

/**
 * A lookup of an observation: 2.05 while the engine holds it open (its values arrive as
 * notifications on up/notify), else nothing. A composite one is named by its sorted paths, joined by ",".
 */
function observationAnswer(device: Device<unknown>, path: string): { code: string; codeMsg: string } | undefined {
  let wanted: string;
  try {
    const paths = path.split(',').map(parsePath);
    wanted = paths.length > 1 ? compositeObservationKey(paths) : formatPath(paths[0]);
  } catch {
    return undefined; // not a path: nothing observes it
  }
  return device.observations().some((o) => o.key === wanted) ? { code: '2.05', codeMsg: 'content' } : undefined;
}

interface ClientParams {
  clientid: string;
}

interface LookupQuery {
  path: string;
  action: string;
}

/** EMQX's LwM2M gateway client API under /api/v5/gateways/lwm2m/clients. */
export function registerClientsApi(app: FastifyInstance, context: ManagementContext): void {
  const { gateway } = context;
  const engine = gateway.engine;
  const answers = new AnswerRecord();
  const stopRecording = gateway.onMessage((message) => {
    const endpoint = message.endpoint;
    if (endpoint === undefined) return;
    if (message.kind === 'response' && typeof message.msgType === 'string') {
      // Observe answers are not kept: every observed device would hold one (~490 B each measured by
      // bench --only mem, against issue 11's 2 KB per observed device); a lookup of an observation
      // is answered from the engine's open observations instead.
      if (!OBSERVE_ACTIONS.has(message.msgType)) answers.record(endpoint, message.msgType, message.reqPath ?? '/', message.payload);
    }
    // A new or ended registration starts with no answers.
    else if (message.kind === 'deregister' || message.kind === 'register') answers.forget(endpoint);
  }, ['response', 'register', 'deregister']);
  app.addHook('onClose', async () => stopRecording());

  app.get<{ Querystring: ClientListQuery }>(
    PREFIX,
    {
      schema: {
        tags: TAGS,
        summary: 'Registered devices, paginated and filtered (EMQX)',
        querystring: CLIENT_LIST_QUERY_SCHEMA,
        response: { 200: LIST_SCHEMA, 400: API_ERROR_SCHEMA },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const page = query.page ?? 1;
      const limit = query.limit ?? 100;
      let matches: ReturnType<typeof clientFilter>;
      try {
        matches = clientFilter(query);
      } catch (err) {
        if (err instanceof FilterError)
          return reply.code(400).send({
            code: 'BAD_REQUEST',
            message: err.message,
          } satisfies ApiError);
        throw err;
      }
      // The page is built during the one scan that counts: rows are made only for the page's devices.
      const skip = (page - 1) * limit;
      const now = Date.now();
      const window = engine.options.qmodeTimeWindow;
      const data: ClientView[] = [];
      let count = 0;
      for (const device of engine.all()) {
        if (!matches(device)) continue;
        if (count >= skip && count < skip + limit) data.push(clientView(device, window, now));
        count++;
      }
      return {
        data,
        meta: { page, limit, count, hasnext: count > skip + limit },
      };
    },
  );

  app.get<{ Params: ClientParams }>(
    `${PREFIX}/:clientid`,
    {
      schema: {
        tags: TAGS,
        summary: 'One registered device (EMQX, and more)',
        params: CLIENT_PARAMS,
        response: {
          200: CLIENT_VIEW_SCHEMA,
          400: API_ERROR_SCHEMA,
          404: API_ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      const device = engine.device(request.params.clientid);
      if (!device) return clientNotFound(reply, request.params.clientid);
      return clientView(device, engine.options.qmodeTimeWindow, Date.now());
    },
  );

  app.delete<{ Params: ClientParams }>(
    `${PREFIX}/:clientid`,
    {
      schema: {
        tags: TAGS,
        summary: 'End a registration (kick)',
        description: 'up/deregister is published with reason "kicked"; the device hears of it at its next Update and registers again.',
        params: CLIENT_PARAMS,
        response: {
          204: { type: 'null', description: 'kicked' },
          400: API_ERROR_SCHEMA,
          404: API_ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      const { clientid } = request.params;
      if (!engine.device(clientid) || !engine.server.registrations.kick(clientid)) return clientNotFound(reply, clientid);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: ClientParams; Querystring: LookupQuery }>(
    `${PREFIX}/:clientid/lookup`,
    {
      schema: {
        tags: TAGS,
        summary: 'The last answer to a command (EMQX lookup)',
        description: 'action is the msgType of the answer (read, write, discover, observe, ...); composite commands are kept under path "/".',
        params: CLIENT_PARAMS,
        querystring: {
          type: 'object',
          required: ['path', 'action'],
          properties: {
            path: { type: 'string', minLength: 1, maxLength: 1024 },
            action: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
        response: {
          200: LOOKUP_SCHEMA,
          400: API_ERROR_SCHEMA,
          404: API_ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      const { clientid } = request.params;
      const { path, action } = request.query;
      const device = engine.device(clientid);
      if (!device) return clientNotFound(reply, clientid);
      const found = OBSERVE_ACTIONS.has(action) ? observationAnswer(device, path) : answers.lookup(clientid, action, path);
      return {
        clientid,
        path,
        action,
        ...(found ?? { code: '6.01', codeMsg: 'reply_not_received' }),
      };
    },
  );

  // EMQX's POST .../observe?path=&enable= and .../read?path= are the command route's query-string form.
  void app.register(async (scope) => registerCommandRoute(scope, context));
}
