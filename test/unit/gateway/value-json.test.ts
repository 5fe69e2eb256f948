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

  it('renders typed values as JSON', () => {
    expect(valueToJson(Buffer.from([1, 2, 3]))).toBe('AQID');
    expect(valueToJson({ objectId: 3, instanceId: 1 })).toBe('3:1');
    expect(valueToJson(5n)).toBe(5);
    expect(valueToJson(2n ** 60n)).toBe('1152921504606846976');
    expect(valueToJson(true)).toBe(true);
  });
});
