import { loadSchema } from '../package-root';

interface CommandSchema {
  readonly properties: { readonly msgType: { readonly enum: readonly string[] } };
}

/** The command msgTypes of the MQTT contract, as schemas/command.schema.json lists them: the HTTP command route's and the metrics' bounded set. */
export const COMMAND_MSG_TYPES: readonly string[] = (loadSchema('command.schema.json') as CommandSchema).properties.msgType.enum;
