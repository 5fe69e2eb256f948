/** The command an HTTP request carries, as the bytes of an MQTT command: from the JSON body, or from EMQX's query parameters. */
import { MAX_COMMAND_DEPTH, nestsDeeperThan } from '../gateway/json-depth';


/** EMQX's form: the command in the query string (`/read?path=`, `/write?path=&type=&value=`, `/observe?path=&enable=`), answered 204 at once. */
export interface CommandQuery {
  path?: string;
  enable?: boolean;
  type?: string;
  value?: string;
}

/** A value from the query string as the command's JSON wants it for its type (the parser checks it). */
function typedValue(type: string, text: string): string | number | boolean {
  if (type === 'Integer' || type === 'Unsigned Integer' || type === 'Float' || type === 'Time') {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? n : text;
  }
  if (type === 'Boolean') return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
  return text;
}

/**
 * The command from EMQX's query parameters, or an error text naming the field. `observe` with
 * `enable=false` is a cancel-observe (EMQX's `/observe?enable=`).
 */
export function commandFromQuery(msgType: string, query: CommandQuery & { path: string }): Record<string, unknown> | string {
  const data: Record<string, unknown> = { path: query.path };
  let type = msgType;
  if (msgType === 'observe' && query.enable === false) type = 'cancel-observe';
  if (msgType === 'write') {
    if (query.type === undefined) return 'querystring/type is required with querystring/path for write';
    if (query.value === undefined) return 'querystring/value is required with querystring/path for write';
    data.type = query.type;
    data.value = typedValue(query.type, query.value);
  }
  return { msgType: type, data };
}

/** The body with the URL's msgType, or an error text. Too deep a body goes as it is: the gateway refuses it as it would on MQTT. */
export function withMsgType(body: Buffer | undefined, msgType: string): Buffer | string {
  if (body === undefined || body.length === 0) return Buffer.from(JSON.stringify({ msgType }));
  if (nestsDeeperThan(body, MAX_COMMAND_DEPTH)) return body;
  let command: unknown;
  try {
    command = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return `body is not JSON: ${(err as Error).message}`;
  }
  if (typeof command !== 'object' || command === null || Array.isArray(command)) return 'body must be a JSON object (the MQTT command)';
  const fields = command as Record<string, unknown>;
  if (fields.msgType === undefined) return Buffer.from(JSON.stringify({ msgType, ...fields }));
  if (fields.msgType !== msgType) return `body/msgType must be the URL's msgType "${msgType}" (or left out)`;
  return body;
}
