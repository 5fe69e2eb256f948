/**
 * decodeResponse: a device's CoAP answer to an operation, in LwM2M terms — content for the reads and
 * observations, links for discover, `undecodable` (payload kept) when the codec cannot read it, no
 * content for error codes, and the Observe number carried through.
 */
import type { CoapResponse } from '../../../src/coap';
import { DecodingListener, type Lwm2mExchangeListener } from '../../../src/lwm2m/exchange';
import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';
import type { Lwm2mOperation } from '../../../src/lwm2m/operation';
import { parsePath } from '../../../src/lwm2m/path';
import { decodeResponse } from '../../../src/lwm2m/response-decoder';
import type { Lwm2mResponse } from '../../../src/lwm2m/response';

/** A slice of the Device object (3): enough for the examples below. */
const DEVICE_TYPES: Record<number, [ResourceType, boolean]> = {
  0: ['string', false],
  1: ['string', false],
  6: ['integer', true],
  9: ['integer', false],
  13: ['time', false],
};
const model: ModelLookup = {
  resourceDefinition(objectId, resourceId) {
    const def = objectId === 3 ? DEVICE_TYPES[resourceId] : undefined;
    return def && { id: resourceId, name: `r${resourceId}`, operations: 'R', multiple: def[1], mandatory: false, type: def[0] };
  },
};

const read = (path: string, accept?: number): Lwm2mOperation => ({ type: 'read', path: parsePath(path), query: [], accept });
const observe = (path: string): Lwm2mOperation => ({ type: 'observe', path: parsePath(path), query: [] });
const discover = (path: string): Lwm2mOperation => ({ type: 'discover', path: parsePath(path), query: [] });
const res = (code: string, payload: string | Buffer, contentFormat?: number, observeSeq?: number): CoapResponse => ({
  code,
  payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload,
  contentFormat,
  observe: observeSeq,
});

describe('decodeResponse', () => {
  it('decodes a text/plain read of a resource, typed by the model', () => {
    expect(decodeResponse(read('/3/0/0'), res('2.05', 'Open Mobile Alliance', 0), model)).toEqual({
      code: '2.05',
      content: [{ path: '/3/0/0', type: 'string', value: 'Open Mobile Alliance' }],
    });
    expect(decodeResponse(read('/3/0/9'), res('2.05', '100', 0), model)).toEqual({
      code: '2.05',
      content: [{ path: '/3/0/9', type: 'integer', value: 100 }],
    });
  });

  it('takes a payload without Content-Format as text/plain', () => {
    expect(decodeResponse(read('/3/0/9'), res('2.05', '42'), model).content).toEqual([{ path: '/3/0/9', type: 'integer', value: 42 }]);
  });

  it('decodes a SenML JSON (110) read of an instance (OMA TS Core, Device object example)', () => {
    const senml = [
      { bn: '/3/0/', n: '0', vs: 'Open Mobile Alliance' },
      { n: '1', vs: 'Lightweight M2M Client' },
      { n: '6/0', v: 1 },
      { n: '6/1', v: 5 },
      { n: '9', v: 100 },
      { n: '13', v: 1367491215 },
    ];
    expect(decodeResponse(read('/3/0', 110), res('2.05', JSON.stringify(senml), 110), model)).toEqual({
      code: '2.05',
      content: [
        { path: '/3/0/0', type: 'string', value: 'Open Mobile Alliance' },
        { path: '/3/0/1', type: 'string', value: 'Lightweight M2M Client' },
        { path: '/3/0/6/0', type: 'integer', value: 1 },
        { path: '/3/0/6/1', type: 'integer', value: 5 },
        { path: '/3/0/9', type: 'integer', value: 100 },
        { path: '/3/0/13', type: 'time', value: 1367491215 },
      ],
    });
  });

  it('decodes a discover answer (link format) to links', () => {
    const body = '</3/0>;pmin=10,</3/0/1>,</3/0/6>;dim=2,</3/0/9>;gt=50;st=1';
    expect(decodeResponse(discover('/3/0'), res('2.05', body, 40), model)).toEqual({
      code: '2.05',
      links: [
        { uri: '/3/0', attributes: { pmin: '10' } },
        { uri: '/3/0/1', attributes: {} },
        { uri: '/3/0/6', attributes: { dim: '2' } },
        { uri: '/3/0/9', attributes: { gt: '50', st: '1' } },
      ],
    });
  });

  it('an empty discover answer has no links; a broken one is undecodable link format (40), payload kept', () => {
    expect(decodeResponse(discover('/3'), res('2.05', '  ', 40), model)).toEqual({ code: '2.05', links: [] });
    const broken = Buffer.from('</3/0;pmin=10', 'utf8');
    const decoded = decodeResponse(discover('/3'), res('2.05', broken, 40), model);
    expect(decoded.links).toBeUndefined();
    expect(decoded.undecodable?.format).toBe('link format (40)');
    expect(decoded.undecodable?.message).toEqual(expect.any(String));
    expect(decoded.undecodable?.payload).toEqual(broken);
  });

  it('reports a TLV payload it cannot decode as undecodable, with the format name and the payload kept', () => {
    // A resource header announcing 8 bytes of value, with one.
    const payload = Buffer.from([0xc8, 0x00, 0x08, 0x41]);
    const decoded = decodeResponse(read('/3/0/0', 11542), res('2.05', payload, 11542), model);
    expect(decoded.code).toBe('2.05');
    expect(decoded.content).toBeUndefined();
    expect(decoded.undecodable).toEqual({ format: 'TLV (11542)', message: expect.any(String), payload });
    expect(decoded.undecodable?.message.length).toBeGreaterThan(0);
  });

  it('names a format it has no name for by its number', () => {
    const payload = Buffer.from('x');
    expect(decodeResponse(read('/3/0/0'), res('2.05', payload, 65000), model).undecodable).toEqual({
      format: 'content format 65000',
      message: expect.stringContaining('65000'),
      payload,
    });
  });

  it('an empty success payload is empty content', () => {
    expect(decodeResponse(read('/3/0/0', 110), res('2.05', Buffer.alloc(0), 110), model)).toEqual({ code: '2.05', content: [] });
  });

  it('gives no content, links or undecodable for an error code, whatever the payload', () => {
    expect(decodeResponse(read('/3/0/0'), res('4.04', 'Not Found', 0), model)).toEqual({ code: '4.04' });
    expect(decodeResponse(discover('/3'), res('4.05', '</3/0>', 40), model)).toEqual({ code: '4.05' });
    expect(decodeResponse(read('/3/0/0', 11542), res('5.00', Buffer.from([0xc8]), 11542), model)).toEqual({ code: '5.00' });
  });

  it('carries the Observe number, also on an error code and on an undecodable notification', () => {
    expect(decodeResponse(observe('/3/0/9'), res('2.05', '100', 0, 12), model)).toEqual({
      code: '2.05',
      content: [{ path: '/3/0/9', type: 'integer', value: 100 }],
      observe: 12,
    });
    expect(decodeResponse(observe('/3/0/9'), res('2.05', '100', 0, 0), model).observe).toBe(0);
    expect(decodeResponse(observe('/3/0/9'), res('4.04', '', undefined, 3), model)).toEqual({ code: '4.04', observe: 3 });
    expect(decodeResponse(observe('/3/0/0'), res('2.05', Buffer.from([0xc8]), 11542, 5), model)).toMatchObject({ code: '2.05', observe: 5 });
    expect(decodeResponse(read('/3/0/9'), res('2.05', '100', 0), model)).not.toHaveProperty('observe');
  });

  it('gives the code only for operations without content (write, execute, delete)', () => {
    const execute: Lwm2mOperation = { type: 'execute', path: parsePath('/3/0/4'), query: [], args: '' };
    expect(decodeResponse(execute, res('2.04', 'ignored', 0), model)).toEqual({ code: '2.04' });
    expect(decodeResponse({ type: 'delete', path: parsePath('/1024/0'), query: [] }, res('2.02', ''), model)).toEqual({ code: '2.02' });
  });

  it('throws a failure that is not the codec\'s (a bug), for the exchange to report', () => {
    const broken: ModelLookup = {
      resourceDefinition: () => {
        throw new TypeError('model exploded');
      },
    };
    expect(() => decodeResponse(read('/3/0/9'), res('2.05', '100', 0), broken)).toThrow('model exploded');
  });
});

describe('DecodingListener', () => {
  function recorder(): Lwm2mExchangeListener & { calls: [string, unknown][] } {
    const calls: [string, unknown][] = [];
    return {
      calls,
      onAck: () => calls.push(['ack', undefined]),
      onResponse: (r: Lwm2mResponse) => calls.push(['response', r]),
      onResponseFailed: (e: Error) => calls.push(['responseFailed', e.message]),
      onNotification: (r: Lwm2mResponse) => calls.push(['notification', r]),
      onNotificationFailed: (e: Error) => calls.push(['notificationFailed', e.message]),
      onReset: () => calls.push(['reset', undefined]),
      onTimeout: () => calls.push(['timeout', undefined]),
      onError: (e: Error) => calls.push(['error', e.message]),
    };
  }

  it('decodes responses and notifications for the listener and passes the other events on', () => {
    const l = recorder();
    const d = new DecodingListener(observe('/3/0/9'), model, l);
    d.onAck();
    d.onResponse(res('2.05', '1', 0, 1));
    d.onNotification(res('2.05', '2', 0, 2));
    d.onReset();
    d.onTimeout();
    d.onError(new Error('transfer failed'));
    expect(l.calls).toEqual([
      ['ack', undefined],
      ['response', { code: '2.05', content: [{ path: '/3/0/9', type: 'integer', value: 1 }], observe: 1 }],
      ['notification', { code: '2.05', content: [{ path: '/3/0/9', type: 'integer', value: 2 }], observe: 2 }],
      ['reset', undefined],
      ['timeout', undefined],
      ['error', 'transfer failed'],
    ]);
  });

  it('reports a decoding failure that is not the codec\'s as onResponseFailed / onNotificationFailed', () => {
    const l = recorder();
    const broken: ModelLookup = {
      resourceDefinition: () => {
        throw new TypeError('model exploded');
      },
    };
    const d = new DecodingListener(observe('/3/0/9'), broken, l);
    d.onResponse(res('2.05', '1', 0, 1));
    d.onNotification(res('2.05', '2', 0, 2));
    expect(l.calls).toEqual([
      ['responseFailed', 'model exploded'],
      ['notificationFailed', 'model exploded'],
    ]);
  });
});
