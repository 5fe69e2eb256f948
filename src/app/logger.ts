import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';

/**
 * JSON logs to stdout, with ISO 8601 timestamps ("time":"2024-05-01T12:00:00.000Z": readable and
 * sortable without tooling); asynchronous so that logging never blocks the datagram path.
 */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { name: 'lwm2m-gateway' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: false }));
}
