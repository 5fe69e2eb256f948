import { CodecError, formatLink, parseLinkFormat } from '../../../src/lwm2m/codec';

describe('link format (RFC 6690)', () => {
  it('parses a register payload with the root link, quoted rt and numeric ct', () => {
    expect(parseLinkFormat('</>;rt="oma.lwm2m";ct=11543, </1/0>,</3/0>;ver=1.1')).toEqual([
      { uri: '/', attributes: { rt: 'oma.lwm2m', ct: '11543' } },
      { uri: '/1/0', attributes: {} },
      { uri: '/3/0', attributes: { ver: '1.1' } },
    ]);
  });

  it('parses a plain object list', () => {
    const links = parseLinkFormat('</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>');
    expect(links.map((l) => l.uri)).toEqual(['/1/0', '/1/1', '/2/0', '/2/1', '/2/2', '/2/3', '/2/4', '/3/0', '/4/0', '/5']);
  });

  it('parses discover attributes, spread over lines', () => {
    const text = '</3/0>;pmin=10,\n </3/0/1>,\r\n</3/0/6>;dim=8 ,\t</3/0/7>; dim = 8 ;gt=50;lt=42.2,</3/0/4>;obs';
    expect(parseLinkFormat(text)).toEqual([
      { uri: '/3/0', attributes: { pmin: '10' } },
      { uri: '/3/0/1', attributes: {} },
      { uri: '/3/0/6', attributes: { dim: '8' } },
      { uri: '/3/0/7', attributes: { dim: '8', gt: '50', lt: '42.2' } },
      { uri: '/3/0/4', attributes: { obs: true } },
    ]);
  });

  it('unquotes quoted values with escapes, commas and semicolons', () => {
    expect(parseLinkFormat('</a>;title="x, \\"y\\"; z";rt="a b"')).toEqual([
      { uri: '/a', attributes: { title: 'x, "y"; z', rt: 'a b' } },
    ]);
  });

  it('accepts empty text and a trailing comma', () => {
    expect(parseLinkFormat('')).toEqual([]);
    expect(parseLinkFormat('  \n')).toEqual([]);
    expect(parseLinkFormat('</1>,')).toEqual([{ uri: '/1', attributes: {} }]);
  });

  it('keeps device-supplied names off the prototype', () => {
    const [link] = parseLinkFormat('</1>;__proto__=x;a=1');
    expect(link.attributes).toEqual({ a: '1' });
    expect(Object.getPrototypeOf(link.attributes)).toBe(Object.prototype);
  });

  it.each([
    ['no angle brackets', '/1/0'],
    ['unterminated uri', '</1/0'],
    ['missing comma', '</1> </2>'],
    ['junk after link', '</1>x'],
    ['empty parameter name', '</1>;=3'],
    ['unterminated quote', '</1>;rt="abc'],
    ['space inside uri', '</1 0>'],
    ['double comma', '</1>,,</2>'],
  ])('throws CodecError on %s', (_name, text) => {
    expect(() => parseLinkFormat(text)).toThrow(CodecError);
  });

  it('formats links for discover content strings', () => {
    expect(formatLink({ uri: '/3/0', attributes: { ver: '1.1' } })).toBe('</3/0>;ver=1.1');
    expect(formatLink({ uri: '/3/0/7', attributes: { dim: '8', gt: '50', lt: '42.2' } })).toBe('</3/0/7>;dim=8;gt=50;lt=42.2');
    expect(formatLink({ uri: '/', attributes: { rt: 'oma.lwm2m', ct: '11543' } })).toBe('</>;rt="oma.lwm2m";ct=11543');
    expect(formatLink({ uri: '/3/0/4', attributes: { obs: true } })).toBe('</3/0/4>;obs');
    expect(formatLink({ uri: '/a', attributes: { x: 'a b,"c"' } })).toBe('</a>;x="a b,\\"c\\""');
  });

  it('formats what it parses back to the same links', () => {
    const text = '</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>;ver=1.1,</a>;title="x, \\"y\\""';
    const links = parseLinkFormat(text);
    expect(links.map(formatLink).join(',')).toBe(text);
    expect(parseLinkFormat(links.map(formatLink).join(','))).toEqual(links);
  });
});
