import {
  CodecError,
  ContentFormat,
  contentFormatMediaType,
  contentFormatName,
  decodeNode,
  encodeNode,
  isSupportedFormat,
  parseContentFormat,
} from '../../../src/lwm2m/codec';
import { parsePath } from '../../../src/lwm2m/path';

describe('content formats', () => {
  it('has the registered numbers', () => {
    expect(ContentFormat).toEqual({
      TEXT: 0, LINK: 40, OPAQUE: 42, CBOR: 60, SENML_JSON: 110, SENML_CBOR: 112, TLV: 11542, OMA_JSON: 11543,
      LWM2M_CBOR: 11544, TLV_LEGACY: 1542, OMA_JSON_LEGACY: 1543,
    });
  });

  it('names formats, and unknown numbers by their number', () => {
    expect(contentFormatName(11542)).toBe('TLV');
    expect(contentFormatName(1543)).toBe('OMA_JSON_LEGACY');
    expect(contentFormatName(50)).toBe('50');
    expect(contentFormatMediaType(11543)).toBe('application/vnd.oma.lwm2m+json');
    expect(contentFormatMediaType(50)).toBeUndefined();
  });

  it.each([
    [11542, 11542], ['11542', 11542], ['TLV', 11542], ['tlv', 11542], ['senml-json', 110], ['senml+json', 110], ['lwm2m+cbor', 11544], ['cbor', 60], ['SENML_CBOR', 112],
    ['json', 11543], ['oma_json', 11543], ['text', 0], ['plain', 0], ['text/plain', 0], ['link', 40], ['opaque', 42],
    ['application/vnd.oma.lwm2m+tlv', 11542], ['application/senml+json', 110], [' 1542 ', 1542], [65000, 65000],
  ])('parses %p as %p', (input, expected) => {
    expect(parseContentFormat(input)).toBe(expected);
  });

  it.each(['xml', 'toString', '__proto__', '', 'application/xml', '70000', -1, 1.5, 65536])('refuses %p', (input) => {
    expect(() => parseContentFormat(input)).toThrow(CodecError);
  });

  it('supports text, opaque, TLV, OMA JSON (and their legacy numbers), SenML JSON and CBOR, CBOR and LwM2M CBOR only', () => {
    for (const format of [0, 42, 60, 11542, 11543, 1542, 1543, 110, 112, 11544]) expect(isSupportedFormat(format)).toBe(true);
    for (const format of [40, 50]) expect(isSupportedFormat(format)).toBe(false);
  });

  it.each([40, 50])('decode and encode of unsupported format %p throw CodecError', (format) => {
    const model = { resourceDefinition: () => undefined };
    const path = parsePath('/3/0/0');
    expect(() => decodeNode(format, Buffer.from('x'), path, model)).toThrow(/unsupported content format/);
    expect(() => decodeNode(format, Buffer.from('x'), path, model)).toThrow(CodecError);
    expect(() => encodeNode(format, path, { kind: 'single', id: 0, type: 'string', value: 'x' }, model)).toThrow(CodecError);
  });
});
