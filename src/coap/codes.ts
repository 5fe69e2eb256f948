/** CoAP codes as the "c.dd" strings coap-packet reads and writes (RFC 7252 §12.1). */

export type CoapMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH' | 'PATCH' | 'iPATCH';

export const EMPTY_CODE = '0.00';

export const METHOD_CODES: Readonly<Record<CoapMethod, string>> = {
  GET: '0.01',
  POST: '0.02',
  PUT: '0.03',
  DELETE: '0.04',
  FETCH: '0.05', // RFC 8132
  PATCH: '0.06',
  iPATCH: '0.07',
};

const METHOD_BY_CODE: ReadonlyMap<string, CoapMethod> = new Map(
  (Object.keys(METHOD_CODES) as CoapMethod[]).map((m) => [METHOD_CODES[m], m]),
);

export const ResponseCode = {
  Created: '2.01',
  Deleted: '2.02',
  Valid: '2.03',
  Changed: '2.04',
  Content: '2.05',
  Continue: '2.31', // RFC 7959
  BadRequest: '4.00',
  Unauthorized: '4.01',
  BadOption: '4.02',
  Forbidden: '4.03',
  NotFound: '4.04',
  MethodNotAllowed: '4.05',
  NotAcceptable: '4.06',
  RequestEntityIncomplete: '4.08', // RFC 7959
  Conflict: '4.09',
  PreconditionFailed: '4.12',
  RequestEntityTooLarge: '4.13',
  UnsupportedContentFormat: '4.15',
  TooManyRequests: '4.29', // RFC 8516
  InternalServerError: '5.00',
  NotImplemented: '5.01',
  BadGateway: '5.02',
  ServiceUnavailable: '5.03',
  GatewayTimeout: '5.04',
  ProxyingNotSupported: '5.05',
} as const;

export type ResponseCodeString = (typeof ResponseCode)[keyof typeof ResponseCode];

const NAME_BY_CODE: ReadonlyMap<string, string> = new Map(
  Object.entries(ResponseCode).map(([name, code]) => [code, name]),
);

/** The class digit of a "c.dd" code (0 request/empty, 2 success, 4 client error, 5 server error). */
export function codeClass(code: string): number {
  return code.charCodeAt(0) - 48;
}

export function isRequestCode(code: string): boolean {
  return codeClass(code) === 0 && code !== EMPTY_CODE;
}

export function isResponseCode(code: string): boolean {
  const c = codeClass(code);
  return c >= 2 && c <= 5;
}

export function isSuccessCode(code: string): boolean {
  return codeClass(code) === 2;
}

/** The method of a request code, or undefined for an unknown method (answered 4.05, §5.8). */
export function methodFromCode(code: string): CoapMethod | undefined {
  return METHOD_BY_CODE.get(code);
}

/** Human-readable name for logs: "GET", "Content", or the code itself when unassigned. */
export function codeName(code: string): string {
  return METHOD_BY_CODE.get(code) ?? NAME_BY_CODE.get(code) ?? (code === EMPTY_CODE ? 'Empty' : code);
}
