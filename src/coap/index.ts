export { CoapEndpoint, DEFAULT_CACHE_CAPACITY, type CoapEndpointOptions, type CoapEndpointStats } from './endpoint';
export type { CoapCounters } from './coap-counters';
export { EMPTY_ACK_DELAY_MS } from './server-transactions';
export type { CoapLimit, ObserveCancelReason } from './endpoint-events';
export { DEFAULT_COAP_CONFIG, resolveCoapConfig, type CoapConfig, type CoapConfigInput, type BlockwiseConfig } from './config';
export type { CoapRequest, InboundRequest, CoapResponse, ExchangeListener, OutgoingExchange, RequestHandler } from './types';
export {
  type CoapMethod,
  ResponseCode,
  type ResponseCodeString,
  METHOD_CODES,
  codeClass,
  codeName,
  isSuccessCode,
  isRequestCode,
  isResponseCode,
  methodFromCode,
} from './codes';
export {
  OptionNumber,
  type CoapOption,
  type BlockValue,
  encodeUint,
  decodeUint,
  encodeBlock,
  decodeBlock,
  blockSize,
  szxForSize,
  isCriticalOption,
} from './options';
export { type CoapMessage, type MessageType, CoapFormatError, encodeMessage, decodeMessage, encodeEmpty, findOption, stringOptions } from './message';
export { isFreshNotification } from './observe-order';
