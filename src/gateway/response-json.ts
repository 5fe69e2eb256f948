import { formatLink } from '../lwm2m/codec';
import { isSuccess, type Lwm2mResponse } from '../lwm2m/response';
import { responseData, type ResponseData } from './uplink-messages';
import { entriesToJson } from './value-json';

/**
 * A device's decoded answer as the `data` of an MQTT answer or notification. A payload the engine
 * could not decode is no successful read: its answer has code 5.02 (bad gateway: an invalid
 * response from upstream, RFC 7252 §5.9.3.3) and no `content`, with the device's code in
 * `deviceCode`, the format and the decoder's message in `error`, and the payload as base64 (never
 * lose data).
 */
export function responseJson(reqPath: string | null, res: Lwm2mResponse): ResponseData {
  if (!isSuccess(res.code)) return responseData(reqPath, res.code);
  const u = res.undecodable;
  if (u) return responseData(reqPath, '5.02', { error: `cannot decode the device's ${u.format} payload: ${u.message}`, deviceCode: res.code, payload: u.payload.toString('base64') });
  if (res.links) return responseData(reqPath, res.code, { content: res.links.map(formatLink) });
  if (res.content) return responseData(reqPath, res.code, { content: entriesToJson(res.content) });
  return responseData(reqPath, res.code);
}
