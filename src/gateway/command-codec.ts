import type { ContextCodec, RevivedRequest } from '../lwm2m/device/device-persistence';
import type { RequestHandler } from '../lwm2m/device/device-request';
import type { Registration } from '../lwm2m/registration/registration';
import type { JsonValue } from '../lwm2m/store';
import { CommandError, type CommandParser, type DownlinkCommand, type JsonObject } from './command-parser';

/**
 * How the MQTT translator's commands are stored with the requests that wait and the observations
 * they made: the command as received (its fields are what answers echo) and whether the gateway
 * made it (auto-observe; a client's fields cannot say so, hence outside them). After a restart the
 * command is parsed again against the registration, as when it arrived.
 */
export function commandCodec(parser: CommandParser, handler: RequestHandler<DownlinkCommand>): ContextCodec<DownlinkCommand> {
  return {
    handler,
    toJson: (cmd) => ({ fields: cmd.fields as JsonValue, auto: cmd.auto === true }),
    revive: (json: JsonValue, reg: Registration): RevivedRequest<DownlinkCommand> | undefined => {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
      const stored = json as { readonly fields?: JsonValue; readonly auto?: JsonValue };
      if (typeof stored.fields !== 'object' || stored.fields === null || Array.isArray(stored.fields)) return undefined;
      let cmd: DownlinkCommand;
      try {
        // A mutable copy: the store's records are frozen, and answers may add to what they echo.
        cmd = parser.parse(JSON.parse(JSON.stringify(stored.fields)) as JsonObject, reg);
      } catch (err) {
        if (err instanceof CommandError) return undefined;
        throw err;
      }
      if (stored.auto === true) cmd.auto = true;
      return { op: cmd.op, ttl: cmd.ttl, context: cmd, auto: cmd.auto };
    },
  };
}
