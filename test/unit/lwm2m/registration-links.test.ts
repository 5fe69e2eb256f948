import { parseQuery, parseRegistrationLinks } from '../../../src/lwm2m/registration/registration-service';

describe('registration payload (LwM2M TS Core §6.2.1)', () => {
  it('gives the object list in order, without attributes', () => {
    const r = parseRegistrationLinks(Buffer.from('</1/0>,</3/0>,</3303/0>,</3303/1>'));
    expect(r.objectList).toEqual(['/1/0', '/3/0', '/3303/0', '/3303/1']);
    expect(r.alternatePath).toBe('/');
    expect(r.linkAttributes).toBeUndefined();
    expect(r.contentFormats).toEqual([]);
  });

  it('takes the alternate path and content formats from rt="oma.lwm2m" and keeps per-object attributes', () => {
    const r = parseRegistrationLinks(Buffer.from('</lwm2m>;rt="oma.lwm2m";ct="11542 11543",</lwm2m/1/0>,</lwm2m/3>;ver=1.1,</lwm2m/3/0>'));
    expect(r.alternatePath).toBe('/lwm2m');
    expect(r.objectList).toEqual(['/1/0', '/3', '/3/0']);
    expect(r.contentFormats).toEqual([11542, 11543]);
    expect(r.linkAttributes).toEqual({ '/3': { ver: '1.1' } });
  });

  it('accepts an empty payload and refuses garbage with a CodecError', () => {
    expect(parseRegistrationLinks(Buffer.alloc(0)).objectList).toEqual([]);
    expect(() => parseRegistrationLinks(Buffer.from('<<<'))).toThrow();
  });

  it('splits Uri-Query items; a flag without = maps to ""', () => {
    expect(parseQuery(['ep=a=b', 'lt=60', 'Q'])).toEqual({ ep: 'a=b', lt: '60', Q: '' });
    expect(parseQuery(undefined)).toEqual({});
  });
});
