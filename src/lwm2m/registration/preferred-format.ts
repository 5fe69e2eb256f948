import { ContentFormat, isSupportedFormat } from '../codec';
import type { Registration } from './registration';

/**
 * The content format to write and create in for a device when a command names none. What the
 * device announced (`ct` on its root link) decides, best first; without an announcement its LwM2M
 * version does: TLV for 1.0 (mandatory there), SenML CBOR for 1.1 and 1.2; LwM2M CBOR only when a
 * 1.2 device announces it. A format the codecs cannot encode yet is skipped.
 */
export function preferredFormat(reg: Pick<Registration, 'lwm2mVersion' | 'contentFormats'>): number {
  const announced = reg.contentFormats;
  if (announced.length > 0) {
    const order = reg.lwm2mVersion === '1.2' ? BEST_FIRST_1_2 : BEST_FIRST;
    const pick = order.find((f) => announced.includes(f) && isSupportedFormat(f));
    if (pick !== undefined) return pick;
  }
  if (reg.lwm2mVersion !== '1.0' && isSupportedFormat(ContentFormat.SENML_CBOR)) return ContentFormat.SENML_CBOR;
  return ContentFormat.TLV;
}

const BEST_FIRST: readonly number[] = [ContentFormat.SENML_CBOR, ContentFormat.TLV, ContentFormat.SENML_JSON, ContentFormat.OMA_JSON];
const BEST_FIRST_1_2: readonly number[] = [ContentFormat.LWM2M_CBOR, ...BEST_FIRST];
