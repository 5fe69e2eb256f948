import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';

/** JSON logs to stdout; asynchronous so that logging never blocks the datagram path. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { name: 'lwm2m-gateway' } }, pino.destination({ dest: 1, sync: false }));
}
