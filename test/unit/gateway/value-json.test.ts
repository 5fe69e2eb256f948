import { valueFromJson, valueToJson, ValueError } from '../../../src/gateway/value-json';

describe('command values ⇄ typed values', () => {
  it('converts each contract type', () => {
    expect(valueFromJson('string', 12, false)).toBe('12');
    expect(valueFromJson('integer', '-5', false)).toBe(-5);
    expect(valueFromJson('integer', '9223372036854775807', false)).toBe(9223372036854775807n);
    expect(valueFromJson('unsigned', 7, false)).toBe(7);
    expect(valueFromJson('float', '2.5', false)).toBe(2.5);
    expect(valueFromJson('boolean', 'false', false)).toBe(false);
    expect(valueFromJson('boolean', 1, false)).toBe(true);
    expect(valueFromJson('opaque', 'AQID', false)).toEqual(Buffer.from([1, 2, 3]));
    expect(valueFromJson('opaque', '0a0B', true)).toEqual(Buffer.from([10, 11]));
    expect(valueFromJson('time', 1700000000, false)).toBe(1700000000);
    expect(valueFromJson('objlnk', '3:0', false)).toEqual({ objectId: 3, instanceId: 0 });
  });

  it('refuses values that do not fit, with a readable message', () => {
    const bad: [Parameters<typeof valueFromJson>[0], unknown][] = [
      ['integer', 1.5],
      ['integer', 'x'],
      ['integer', '9223372036854775808'],
      ['unsigned', -1],
      ['float', 'abc'],
      ['boolean', 'yes'],
      ['opaque', 'not base64!'],
      ['objlnk', '3-0'],
      ['string', null],
      ['none', 'x'],
    ];
    for (const [type, raw] of bad) expect(() => valueFromJson(type, raw as never, false)).toThrow(ValueError);
    expect(() => valueFromJson('opaque', 'xyz', true)).toThrow(/hex/);
  });

  it('with "encoding":"hex" reads every type from hex bytes: UTF-8 text, raw bytes, or the LwM2M binary encoding', () => {
    expect(valueFromJson('string', '48656C6C6F', true)).toBe('Hello');
    expect(valueFromJson('string', 'c3a9e29c93', true)).toBe('é✓');
    expect(valueFromJson('string', '', true)).toBe('');
    expect(valueFromJson('corelnk', '3c2f333e', true)).toBe('</3>');
    expect(valueFromJson('opaque', ' 0a0B ', true)).toEqual(Buffer.from([10, 11]));
    expect(valueFromJson('integer', '0080', true)).toBe(128);
    expect(valueFromJson('integer', 'ff', true)).toBe(-1);
    expect(valueFromJson('integer', '7fffffffffffffff', true)).toBe(2n ** 63n - 1n);
    expect(valueFromJson('time', '5181a5cf', true)).toBe(1367451087);
    expect(valueFromJson('unsigned', 'ffff', true)).toBe(65535);
    expect(valueFromJson('float', '40490fdb', true)).toBeCloseTo(Math.PI, 6);
    expect(valueFromJson('float', '400921fb54442d18', true)).toBe(Math.PI);
    expect(valueFromJson('boolean', '01', true)).toBe(true);
    expect(valueFromJson('boolean', '00', true)).toBe(false);
    expect(valueFromJson('objlnk', '00030001', true)).toEqual({ objectId: 3, instanceId: 1 });
  });

  it('with "encoding":"hex" refuses what is not hex, or bytes that are no encoding of the type', () => {
    const bad: [Parameters<typeof valueFromJson>[0], unknown, RegExp][] = [
      ['string', 'ZZ', /"ZZ" is not hex/],
      ['string', 'ABC', /"ABC" is not hex .*even number/],
      ['opaque', '0x01', /is not hex/],
      ['string', 42, /42 is not hex text/],
      ['string', 'ff', /not hex of UTF-8 text/],
      ['integer', '', /not a hex Integer: 1, 2, 4 or 8 bytes/],
      ['integer', '000102', /not a hex Integer/],
      ['time', '0102030405', /not a hex Time/],
      ['unsigned', '010203', /not a hex Unsigned Integer/],
      ['float', '0102', /not a hex Float/],
      ['float', '7fc00000', /not a hex Float/], // NaN
      ['boolean', '02', /not a hex Boolean: one byte, 00 or 01/],
      ['objlnk', '0003', /not a hex Objlnk/],
      ['none', '00', /executable/],
    ];
    for (const [type, raw, message] of bad) expect(() => valueFromJson(type, raw as never, true)).toThrow(message);
    expect(() => valueFromJson('string', 'ab'.repeat(1000) + 'Z', true)).toThrow(/^"(ab){32}…" is not hex/);
  });

  it('renders typed values as JSON', () => {
    expect(valueToJson(Buffer.from([1, 2, 3]))).toBe('AQID');
    expect(valueToJson({ objectId: 3, instanceId: 1 })).toBe('3:1');
    expect(valueToJson(5n)).toBe(5);
    expect(valueToJson(2n ** 60n)).toBe('1152921504606846976');
    expect(valueToJson(true)).toBe(true);
  });
});
