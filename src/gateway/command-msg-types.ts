/** The command msgTypes of the MQTT contract (schemas/command.schema.json): the HTTP command route's and the metrics' bounded set. */
export const COMMAND_MSG_TYPES = [
  'read',
  'discover',
  'write',
  'write-attr',
  'execute',
  'create',
  'delete',
  'observe',
  'cancel-observe',
  'read-composite',
  'write-composite',
  'observe-composite',
  'cancel-observe-composite',
  'discover-all',
  'observe-read-all',
  'observe-cancel-all',
] as const;
