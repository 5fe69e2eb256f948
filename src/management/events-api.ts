import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_ERROR_SCHEMA, type ApiError } from '../http/http-server';
import { SseStream } from '../http/sse-stream';
import { DEFAULT_MAX_ENDPOINT_LENGTH, endpointNameProblem } from '../lwm2m/registration/registration-service';
import { EventHub } from './event-hub';
import type { ManagementContext } from './management-context';

export const EVENTS_PATH = '/api/v5/gateways/lwm2m/events';

interface EventsQuery {
  endpoint_name?: string;
}

/**
 * Server-Sent Events at /api/v5/gateways/lwm2m/events: every message the gateway publishes on MQTT
 * (register, update, deregister, notify, send, response) and every refused registration, as it
 * happens, optionally for one endpoint. At most `events.maxConsumers` streams; a stream that does
 * not keep up is dropped rather than slowing anything down.
 */
export function registerEventsApi(app: FastifyInstance, context: ManagementContext): void {
  const hub = new EventHub(context.gateway, context.log);
  const { maxConsumers, maxBuffered } = context.events;
  // Open streams would keep the server from closing.
  app.addHook('preClose', (done) => {
    hub.closeAll();
    done();
  });

  app.get<{ Querystring: EventsQuery }>(
    EVENTS_PATH,
    {
      schema: {
        tags: ['events'],
        summary: 'Live events (Server-Sent Events): messages published on MQTT and refused registrations',
        description:
          'text/event-stream; each event is `id`, `event` (register, update, deregister, notify, send, response, refused) and `data`: ' +
          '`{"endpoint_name", "topic", "message"}` with the JSON published on MQTT, or for refused `{"endpoint_name", "peer", "code", "reason"}`. ' +
          'A comment line `: keep-alive` every 15 s. A consumer that does not read is dropped (http.events.max_buffered).',
        querystring: {
          type: 'object',
          properties: { endpoint_name: { type: 'string', minLength: 1, maxLength: DEFAULT_MAX_ENDPOINT_LENGTH, description: 'Only the events of this endpoint' } },
        },
        response: {
          200: { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          400: API_ERROR_SCHEMA,
          503: API_ERROR_SCHEMA,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: EventsQuery }>, reply: FastifyReply) => {
      const endpoint = request.query.endpoint_name;
      const problem = endpoint === undefined ? undefined : endpointNameProblem(endpoint, DEFAULT_MAX_ENDPOINT_LENGTH);
      if (problem !== undefined) return reply.code(400).send({ code: 'BAD_REQUEST', message: `querystring/endpoint_name: ${problem}` } satisfies ApiError);
      if (hub.size >= maxConsumers) {
        return reply.code(503).send({ code: 'TOO_MANY_CONSUMERS', message: `${maxConsumers} event streams are open (http.events.max_consumers)` } satisfies ApiError);
      }
      reply.hijack();
      let consumer = 'unknown';
      const stream = SseStream.open(reply.raw, {
        maxBuffered,
        onDrop: (reason) => context.log.warn({ consumer, endpoint_name: endpoint, reason }, 'event stream dropped: the consumer does not keep up'),
      });
      if (!stream) return;
      consumer = stream.remote;
      hub.add(stream, endpoint);
      context.log.info({ consumer, endpoint_name: endpoint, streams: hub.size }, 'event stream opened');
      stream.onClose(() => context.log.info({ consumer, streams: hub.size }, 'event stream closed'));
    },
  );
}
