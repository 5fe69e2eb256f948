import { parseDuration } from '../../../src/app/duration';

describe('parseDuration', () => {
  it.each([
    [30, 30],
    [0.5, 0.5],
    ['30', 30],
    ['22s', 22],
    ['5m', 300],
    ['2h', 7200],
    ['1d', 86400],
    ['250ms', 0.25],
    ['0s', 0],
  ])('%p is %p seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each(['', '5 m', '1.5s', '-1', '10x', 's', '5mm'])('refuses %p', (input) => {
    expect(() => parseDuration(input)).toThrow(RangeError);
  });

  it('refuses negative and non-finite numbers', () => {
    expect(() => parseDuration(-1)).toThrow(RangeError);
    expect(() => parseDuration(Number.NaN)).toThrow(RangeError);
    expect(() => parseDuration(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
