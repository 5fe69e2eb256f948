import { parseByteSize } from '../../../src/app/byte-size';

describe('parseByteSize', () => {
  it.each([
    [0, 0],
    [4194304, 4194304],
    ['512', 512],
    ['64KB', 65536],
    ['64kb', 65536],
    ['4MB', 4194304],
    ['8mb', 8388608],
    ['1GB', 1073741824],
    ['2gb', 2147483648],
    ['0KB', 0],
  ])('%p is %p bytes', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  // EMQX's units only: all lower or all upper case, KB/MB/GB, no spaces, no fractions.
  it.each(['', '4 MB', '4Mb', '4MiB', '4M', '4B', '4TB', '1.5KB', '-1', 'MB', '0x10'])('refuses %p', (input) => {
    expect(() => parseByteSize(input)).toThrow(RangeError);
  });

  it('refuses negative, fractional, non-finite and unsafe numbers, and strings beyond 2^53', () => {
    expect(() => parseByteSize(-1)).toThrow(RangeError);
    expect(() => parseByteSize(1.5)).toThrow(RangeError);
    expect(() => parseByteSize(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => parseByteSize(2 ** 53)).toThrow(RangeError);
    expect(() => parseByteSize('9999999999GB')).toThrow(/too large/);
  });
});
