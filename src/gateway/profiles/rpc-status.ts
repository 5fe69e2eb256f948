import type { JsonObject } from '../command-parser';

/** How an RPC call ended; `code` is the CoAP code ("2.04"), or `coap_timeout` / `coap_reset`. */
export interface RpcStatus {
  readonly status: 'succeeded' | 'failed' | 'timeout';
  readonly code: string;
}

const CODE = /^[245]\.\d\d$/;

/**
 * The status of an RPC call from the gateway's answer to its command on up/resp (the whole message:
 * a timeout is told by msgType, not by a code). Undefined for `ack`, which only says that the
 * answer follows separately. Timeouts are `coap_timeout` (the device never answered) and `5.04`
 * (the command expired in a sleeping device's queue).
 */
export function rpcStatus(answer: Readonly<JsonObject>): RpcStatus | undefined {
  const msgType = answer.msgType;
  if (msgType === 'ack') return undefined;
  if (msgType === 'coap_timeout') return { status: 'timeout', code: 'coap_timeout' };
  if (msgType === 'coap_reset') return { status: 'failed', code: 'coap_reset' };
  const data = answer.data;
  const code = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as JsonObject).code : undefined;
  if (typeof code !== 'string' || !CODE.test(code)) return { status: 'failed', code: 'unknown' };
  if (code === '5.04') return { status: 'timeout', code };
  return { status: code.startsWith('2.') ? 'succeeded' : 'failed', code };
}
