import { ResponseCode } from '../coap';

/**
 * Lower-case CoAP code names of the MQTT contract (`codeMsg`), derived from the CoAP layer's
 * ResponseCode table: "RequestEntityTooLarge" becomes "request_entity_too_large".
 */
const CODE_NAMES: ReadonlyMap<string, string> = new Map([
  ['0.00', 'empty'],
  ...Object.entries(ResponseCode).map(([name, code]): [string, string] => [code, name.replace(/(?<!^)([A-Z])/g, '_$1').toLowerCase()]),
]);

export function codeName(code: string): string {
  return CODE_NAMES.get(code) ?? 'unknown';
}
