import { formatLink } from '../lwm2m/codec';
import type { Device } from '../lwm2m/device/device';
import type { DeviceManager } from '../lwm2m/device/device-manager';
import type { DownlinkCommand, JsonObject } from './command-parser';
import { responseData, type ResponseData } from './uplink-messages';

/**
 * Commands the gateway answers from what it holds, without a request to the device (so they work
 * while a queue-mode device sleeps, and never wait behind the device's command queue):
 * - `discover-all`: the object list of the registration, as links;
 * - `observe-read-all`: the active observations, with the reqID of the observe that made each;
 * - `observe-cancel-all`: forgets every observation and answers with their count. The cancellation
 *   is reactive (RFC 7641 §3.6): the device's next notification of each is answered with RST.
 */
export const LOCAL_COMMANDS: ReadonlySet<string> = new Set(['discover-all', 'observe-read-all', 'observe-cancel-all']);

export function answerLocalCommand(msgType: string, device: Device<DownlinkCommand>, engine: DeviceManager<DownlinkCommand>): ResponseData | JsonObject {
  switch (msgType) {
    case 'discover-all': {
      const reg = device.reg;
      // The URIs come from the device: only the table's own entries count.
      const attributesOf = (uri: string) => (reg.linkAttributes && Object.hasOwn(reg.linkAttributes, uri) ? reg.linkAttributes[uri] : {});
      const links = reg.objectList.map((uri) => formatLink({ uri, attributes: attributesOf(uri) }));
      return responseData(null, '2.05', { content: links });
    }
    case 'observe-read-all':
      return { ...responseData(null, '2.05'), content: device.observations().map((o) => describeObservation(o.key, o.paths, o.request.context.fields)) };
    case 'observe-cancel-all':
      return { ...responseData(null, '2.02'), count: engine.cancelObservations(device) };
    default:
      throw new Error(`not a local command: ${msgType}`);
  }
}

/** `{path, reqID}` for an observation of one path, `{paths, reqID}` for a composite one. */
function describeObservation(key: string, paths: readonly string[] | undefined, fields: JsonObject): JsonObject {
  const entry: JsonObject = paths ? { paths: [...paths] } : { path: key };
  if (fields.reqID !== undefined) entry.reqID = fields.reqID;
  return entry;
}
