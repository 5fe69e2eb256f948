import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TYPE_NAMES } from '../gateway/value-json';
import { API_ERROR_SCHEMA, type ApiError } from '../http/http-server';
import { clientNotFound, CLIENT_PARAMS } from './client-params';
import { COMMAND_MSG_TYPES } from '../gateway/command-msg-types';
import { commandFromQuery, withMsgType, type CommandQuery } from './command-body';
import type { ManagementContext } from './management-context';

interface CommandParams {
  clientid: string;
  msgType: string;
}

const TIMEOUT_SCHEMA = {
  type: 'object',
  required: ['code', 'message', 'state'],
  properties: {
    code: { const: 'TIMEOUT' },
    message: { type: 'string' },
    state: { enum: ['queued', 'sent'] },
  },
} as const;

const ANSWER_SCHEMA = {
  type: 'object',
  description: 'The answer as published on up/resp',
  additionalProperties: true,
  properties: {
    msgType: { type: 'string' },
    data: {
      type: 'object',
      additionalProperties: true,
      properties: {
        reqPath: { type: ['string', 'null'] },
        code: { type: 'string' },
        codeMsg: { type: 'string' },
      },
    },
  },
} as const;

function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ code: 'BAD_REQUEST', message } satisfies ApiError);
}

/**
 * `POST /api/v5/gateways/lwm2m/clients/{clientid}/{msgType}`: a command with the body of an MQTT
 * `dn` command, answered synchronously with what up/resp gets (504 after http.command_timeout). The
 * body is read as bytes in this plugin only, so that gateway.command applies MQTT's size, depth and
 * JSON limits to it. Register it in its own plugin scope (it replaces the content-type parsers).
 */
export async function registerCommandRoute(scope: FastifyInstance, context: ManagementContext): Promise<void> {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body));
  scope.post<{
    Params: CommandParams;
    Querystring: CommandQuery;
    Body: Buffer | undefined;
  }>(
    '/api/v5/gateways/lwm2m/clients/:clientid/:msgType',
    {
      schema: {
        tags: ['LwM2M clients'],
        summary: 'Send a command to a device and wait for its answer',
        description:
          "The body is the JSON command of MQTT's dn topic (msgType may be left out; if given it must be the URL's). The answer is the one published on up/resp. " +
          "EMQX's form: no body, the command in the query string (read?path=, write?path=&type=&value=, observe?path=&enable=): sent, answered 204 at once, its answer published on MQTT and kept for lookup.",
        params: {
          ...CLIENT_PARAMS,
          required: ['clientid', 'msgType'],
          properties: {
            ...CLIENT_PARAMS.properties,
            msgType: { type: 'string', enum: COMMAND_MSG_TYPES },
          },
        },
        querystring: {
          type: 'object',
          properties: {
            path: {
              type: 'string',
              minLength: 1,
              maxLength: 1024,
              description: "EMQX's form: the path the command acts on",
            },
            enable: {
              type: 'boolean',
              description: "EMQX's form, observe: true to observe, false to cancel",
            },
            type: {
              type: 'string',
              enum: TYPE_NAMES,
              description: "EMQX's form, write: the value's type",
            },
            value: {
              type: 'string',
              maxLength: 65536,
              description: "EMQX's form, write: the value",
            },
          },
        },
        // No `type`: the body may be absent (EMQX's form); the route checks the bytes itself, which reach the gateway unparsed.
        body: { description: 'The MQTT command, e.g. {"reqID":1,"data":{"path":"/3/0/0"}}' },
        response: {
          200: ANSWER_SCHEMA,
          204: { type: 'null', description: "EMQX's form: sent" },
          400: API_ERROR_SCHEMA,
          404: API_ERROR_SCHEMA,
          504: TIMEOUT_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      const { clientid, msgType } = request.params;
      if (!context.gateway.engine.device(clientid)) return clientNotFound(reply, clientid);
      const body = request.body;
      const query = request.query;
      if (query.path !== undefined) {
        if (body !== undefined && body.length > 0) return badRequest(reply, "give the command either as the JSON body or as EMQX's query parameters (querystring/path), not both");
        const command = commandFromQuery(msgType, {
          ...query,
          path: query.path,
        });
        if (typeof command === 'string') return badRequest(reply, command);
        const ticket = context.gateway.command(clientid, Buffer.from(JSON.stringify(command)), { answer: () => undefined });
        if (!ticket) return clientNotFound(reply, clientid);
        return reply.code(204).send();
      }
      const payload = withMsgType(body, msgType);
      if (typeof payload === 'string') return badRequest(reply, payload);
      return waitForAnswer(context, clientid, payload, reply);
    },
  );
}

/** Sends the command and answers with its answer, or 504 after the command timeout; a caller gone meanwhile just loses the answer. */
async function waitForAnswer(context: ManagementContext, endpoint: string, payload: Buffer, reply: FastifyReply): Promise<FastifyReply> {
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (respond: () => void): void => {
    if (done) return;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    reply.raw.off('close', onClose);
    respond();
    settle();
  };
  const onClose = (): void => {
    // The caller left before the answer: nothing is sent; the answer still goes to MQTT and the lookup record.
    if (!reply.raw.writableFinished) finish(() => reply.hijack());
  };
  reply.raw.on('close', onClose);
  const ticket = context.gateway.command(endpoint, payload, {
    answer: (text) => finish(() => void reply.code(200).type('application/json; charset=utf-8').send(text)),
  });
  if (!ticket) {
    finish(() => void clientNotFound(reply, endpoint));
    return reply;
  }
  if (!done) {
    timer = setTimeout(() => {
      const state = ticket.state === 'queued' ? 'queued' : 'sent';
      finish(
        () =>
          void reply.code(504).send({
            code: 'TIMEOUT',
            message: `no answer from ${endpoint} within http.command_timeout (${context.commandTimeoutMs} ms); it is still ${state} and its answer will go to MQTT`,
            state,
          }),
      );
    }, context.commandTimeoutMs);
  }
  await settled;
  return reply;
}
