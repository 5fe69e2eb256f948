import { MAX_COMMAND_DEPTH, nestsDeeperThan } from '../../../src/gateway/json-depth';

const deeper = (text: string, max = MAX_COMMAND_DEPTH) => nestsDeeperThan(Buffer.from(text, 'utf8'), max);
const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, mixed', () => {
    expect(deeper(nest(MAX_COMMAND_DEPTH))).toBe(false);
    expect(deeper(nest(MAX_COMMAND_DEPTH + 1))).toBe(true);
    expect(deeper('{"a":{"b":[{"c":[]}]}}', 5)).toBe(false);
    expect(deeper('{"a":{"b":[{"c":[]}]}}', 4)).toBe(true);
    // Siblings do not add up.
    expect(deeper(`[${Array.from({ length: 100 }, () => nest(10)).join(',')}]`, 11)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(deeper(JSON.stringify({ a: '[[[[[[[[[[{{{{{{{{' }), 2)).toBe(false);
    expect(deeper(JSON.stringify({ a: 'say \\"[[[[[[ "[[[[' }), 2)).toBe(false);
    expect(deeper(JSON.stringify({ a: '\\' }) + nest(3), 3)).toBe(false);
    expect(deeper(JSON.stringify({ a: '\\' }) + nest(4), 3)).toBe(true);
    expect(deeper(JSON.stringify({ 'k[[[': ['é€😀[[['] }), 2)).toBe(false);
  });

  it('judges a 5,000-deep command at once, and does not mind malformed text', () => {
    const bomb = `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"},"x":${nest(5000)}}`;
    expect(deeper(bomb)).toBe(true);
    expect(deeper('[[[[ "unterminated', 3)).toBe(true);
    expect(deeper(']]]]]]][[[', 3)).toBe(false);
    expect(deeper('"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[')).toBe(false);
  });
});
