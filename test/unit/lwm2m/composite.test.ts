import { decodeEntries } from '../../../src/lwm2m/codec';
import { ContentFormat } from '../../../src/lwm2m/codec/content-format';
import { CodecError } from '../../../src/lwm2m/codec/codec-error';
import { compositeObservationKey, encodeSenmlJsonEntries, encodeSenmlPathList } from '../../../src/lwm2m/composite';
import { ObjectModel } from '../../../src/lwm2m/model/object-model';
import type { Entry } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';
import { buildCoapRequest } from '../../../src/lwm2m/request-builder';

const model = ObjectModel.withBuiltins();

describe('composite payloads', () => {
  it('a path list is SenML JSON records with names only', () => {
    expect(encodeSenmlPathList([parsePath('/3/0/9'), parsePath('1/0')]).toString()).toBe('[{"n":"/3/0/9"},{"n":"/1/0"}]');
  });

  it('values use v, vs, vb, vd (base64url, no padding) and vlo, and decode back to the same entries', () => {
    const entries: Entry[] = [
      { path: '/3/0/14', type: 'string', value: '+02:00' },
      { path: '/1/0/1', type: 'integer', value: 600 },
      { path: '/3303/0/5700', type: 'float', value: -1.5 },
      { path: '/1/0/6', type: 'boolean', value: false },
      { path: '/5/0/0', type: 'opaque', value: Buffer.from([0xfb, 0xff]) },
      { path: '/31024/0/1', type: 'objlnk', value: { objectId: 3, instanceId: 0 } },
      { path: '/3/0/13', type: 'time', value: 1700000000 },
      { path: '/3/0/7/1', type: 'integer', value: BigInt(5000) },
    ];
    const payload = encodeSenmlJsonEntries(entries);
    expect(JSON.parse(payload.toString())).toEqual([
      { n: '/3/0/14', vs: '+02:00' },
      { n: '/1/0/1', v: 600 },
      { n: '/3303/0/5700', v: -1.5 },
      { n: '/1/0/6', vb: false },
      { n: '/5/0/0', vd: '-_8' },
      { n: '/31024/0/1', vlo: '3:0' },
      { n: '/3/0/13', v: 1700000000 },
      { n: '/3/0/7/1', v: 5000 },
    ]);
    const decoded = decodeEntries(ContentFormat.SENML_JSON, payload, {}, model);
    expect(decoded.map((e) => e.path)).toEqual(entries.map((e) => e.path));
  });

  it('an integer beyond 2^53 cannot be carried by a SenML JSON number', () => {
    expect(() => encodeSenmlJsonEntries([{ path: '/1/0/1', type: 'integer', value: BigInt('9007199254740993') }])).toThrow(CodecError);
  });

  it('the observation key does not depend on the order or repetition of the paths', () => {
    const a = compositeObservationKey([parsePath('/3/0/9'), parsePath('/1/0/1')]);
    expect(a).toBe('composite:/1/0/1,/3/0/9');
    expect(compositeObservationKey([parsePath('1/0/1/'), parsePath('/3/0/9'), parsePath('/1/0/1')])).toBe(a);
  });

  it('composite requests address the root, under the alternate path', () => {
    const paths = [parsePath('/3/0/9')];
    expect(buildCoapRequest({ type: 'read-composite', path: {}, query: [], paths, accept: 112 }, '/lwm2m', model)).toMatchObject({
      method: 'FETCH',
      uriPath: ['lwm2m'],
      accept: 112,
      contentFormat: ContentFormat.SENML_JSON,
    });
    const token = Buffer.from([1, 2]);
    expect(buildCoapRequest({ type: 'cancel-observe-composite', path: {}, query: [], paths, accept: 110, token }, '/', model)).toMatchObject({
      method: 'FETCH',
      uriPath: [],
      observe: 1,
      token,
    });
    expect(
      buildCoapRequest({ type: 'write-composite', path: {}, query: [], entries: [{ path: '/1/0/1', type: 'integer', value: 60 }] }, '/', model),
    ).toMatchObject({ method: 'iPATCH', uriPath: [], contentFormat: ContentFormat.SENML_JSON });
  });
});
