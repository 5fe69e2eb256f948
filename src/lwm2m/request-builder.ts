import { OptionNumber, encodeBlock, encodeUint, type CoapOption, type CoapRequest } from '../coap';
import { encodeNode } from './codec';
import { encodeSenmlJsonEntries, encodeSenmlPathList } from './composite';
import { ContentFormat } from './codec/content-format';
import type { ModelLookup } from './model/types';
import type { Lwm2mOperation } from './operation';
import { pathIds } from './path';

/** Uri-Path segments of a path on a device whose objects live under `alternatePath`. */
export function uriPathOf(ids: number[], alternatePath: string): string[] {
  const segments = ids.map(String);
  if (alternatePath === '/' || alternatePath === '') return segments;
  return [...alternatePath.split('/').filter((s) => s !== ''), ...segments];
}

/** The CoAP request that carries an LwM2M operation (OMA TS Core §6.4, §6.3 and §6.4.x). */
export function buildCoapRequest(op: Lwm2mOperation, alternatePath: string, model: ModelLookup): CoapRequest {
  const uriPath = uriPathOf(pathIds(op.path), alternatePath);
  const uriQuery = op.query.length > 0 ? [...op.query] : undefined;
  switch (op.type) {
    case 'read':
      return { method: 'GET', uriPath, uriQuery, accept: op.accept };
    case 'discover':
      return { method: 'GET', uriPath, uriQuery, accept: ContentFormat.LINK };
    case 'write':
      return {
        method: op.replace ? 'PUT' : 'POST',
        uriPath,
        uriQuery,
        contentFormat: op.format,
        payload: encodeNode(op.format, op.path, op.node, model),
      };
    case 'write-attr':
      return {
        method: 'PUT',
        uriPath,
        uriQuery: [...(uriQuery ?? []), ...op.attributes.map(([k, v]) => `${k}=${v}`)],
      };
    case 'execute':
      return op.args === ''
        ? { method: 'POST', uriPath, uriQuery }
        : { method: 'POST', uriPath, uriQuery, contentFormat: ContentFormat.TEXT, payload: Buffer.from(op.args, 'utf8') };
    case 'create':
      return {
        method: 'POST',
        uriPath,
        uriQuery,
        contentFormat: op.format,
        payload: encodeNode(op.format, op.path, op.node, model),
      };
    case 'delete':
      return { method: 'DELETE', uriPath, uriQuery };
    case 'write-block': {
      const options: CoapOption[] = [{ number: OptionNumber.Block1, value: encodeBlock({ num: op.num, more: op.more, szx: op.szx }) }];
      if (op.num === 0) options.push({ number: OptionNumber.Size1, value: encodeUint(op.size) });
      return { method: 'PUT', uriPath, uriQuery, contentFormat: op.format, payload: op.payload, options };
    }
    case 'observe':
      return { method: 'GET', uriPath, uriQuery, accept: op.accept, observe: 0 };
    case 'cancel-observe':
      return { method: 'GET', uriPath, uriQuery, accept: op.accept, observe: 1, token: op.token };
    case 'read-composite':
      return { method: 'FETCH', uriPath, uriQuery, accept: op.accept, contentFormat: ContentFormat.SENML_JSON, payload: encodeSenmlPathList(op.paths) };
    case 'write-composite':
      return { method: 'iPATCH', uriPath, uriQuery, contentFormat: ContentFormat.SENML_JSON, payload: encodeSenmlJsonEntries(op.entries) };
    case 'observe-composite':
      return {
        method: 'FETCH',
        uriPath,
        uriQuery,
        accept: op.accept,
        contentFormat: ContentFormat.SENML_JSON,
        payload: encodeSenmlPathList(op.paths),
        observe: 0,
      };
    case 'cancel-observe-composite':
      return {
        method: 'FETCH',
        uriPath,
        uriQuery,
        accept: op.accept,
        contentFormat: ContentFormat.SENML_JSON,
        payload: encodeSenmlPathList(op.paths),
        observe: 1,
        token: op.token,
      };
  }
}
