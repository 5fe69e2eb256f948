import type { CoapResponse, InboundRequest } from '../coap';
import { peerKey } from '../transport/transport';
import { CodecError, ContentFormat, decodeEntries, isSupportedFormat } from './codec';
import type { ModelLookup } from './model/types';
import type { Entry } from './node';
import { sameIdentity } from './registration/admission';
import type { Registration } from './registration/registration';
import type { RegistrationStore } from './registration/registration-store';

const EMPTY = Buffer.alloc(0);
const answer = (code: string): CoapResponse => ({ code, payload: EMPTY });

/** The formats a Send may carry (TS Core 1.1 §6.4.5: SenML, or LwM2M CBOR in 1.2), all rooted paths. */
const SEND_FORMATS: readonly number[] = [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR];

export type SendOutcome = { response: CoapResponse; reg?: Registration; entries?: Entry[] };

/**
 * The Information Reporting interface's Send (LwM2M 1.1, `POST /dp`): values the device pushes
 * without an observation. Only a registered device may send (found by its address, with the same
 * DTLS credential); 2.04 when the payload decodes, 4.00 when it does not, 4.15 for a format that
 * cannot carry it, 4.04 from a device that is not registered.
 */
export function handleSendRequest(req: InboundRequest, store: RegistrationStore, model: ModelLookup): SendOutcome {
  if (req.method !== 'POST') return { response: answer('4.05') };
  const reg = store.byPeer(peerKey(req.peer));
  if (!reg || !sameIdentity(reg.peer, req.peer)) return { response: answer('4.04') };
  const format = req.contentFormat;
  if (format === undefined || !SEND_FORMATS.includes(format) || !isSupportedFormat(format)) return { response: answer('4.15') };
  try {
    const entries = decodeEntries(format, req.payload, {}, model);
    return { response: answer('2.04'), reg, entries };
  } catch (err) {
    if (err instanceof CodecError) return { response: answer('4.00') };
    throw err;
  }
}
