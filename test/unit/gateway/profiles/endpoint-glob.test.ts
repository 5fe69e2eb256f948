import { compileGlob } from '../../../../src/gateway/profiles/endpoint-glob';

describe('compileGlob', () => {
  const m = (pattern: string, text: string) => compileGlob(pattern).matches(text);

  it('matches `*` to any run of characters, none included', () => {
    expect(m('urn:dev:thermo-*', 'urn:dev:thermo-1')).toBe(true);
    expect(m('urn:dev:thermo-*', 'urn:dev:thermo-')).toBe(true);
    expect(m('urn:dev:thermo-*', 'urn:dev:thermo')).toBe(false);
    expect(m('*', '')).toBe(true);
    expect(m('*', 'anything/at+all')).toBe(true);
    expect(m('a*b*c', 'aXXbYYc')).toBe(true);
    expect(m('a*b*c', 'abc')).toBe(true);
    expect(m('a*b*c', 'acb')).toBe(false);
    expect(m('*-01', 'x-01-01')).toBe(true);
    expect(m('**', 'x')).toBe(true);
  });

  it('matches `?` to exactly one character, also outside the BMP', () => {
    expect(m('dev-?', 'dev-1')).toBe(true);
    expect(m('dev-?', 'dev-')).toBe(false);
    expect(m('dev-?', 'dev-12')).toBe(false);
    expect(m('dev-?', 'dev-😀')).toBe(true);
    expect(m('?*', '')).toBe(false);
  });

  it('takes every other character literally: no regular expression from users', () => {
    expect(m('a.b', 'a.b')).toBe(true);
    expect(m('a.b', 'axb')).toBe(false);
    expect(m('a+', 'aa')).toBe(false);
    expect(m('a+', 'a+')).toBe(true);
    expect(m('(x|y)', 'x')).toBe(false);
    expect(m('(x|y)', '(x|y)')).toBe(true);
    expect(m('[ab]*', 'a')).toBe(false);
    expect(m('^ep$', 'ep')).toBe(false);
    expect(m('\\d', '\\d')).toBe(true);
  });

  it('is exact without wildcards', () => {
    expect(m('ep1', 'ep1')).toBe(true);
    expect(m('ep1', 'ep10')).toBe(false);
    expect(m('', '')).toBe(true);
  });

  it('stays polynomial on patterns that make regular expressions backtrack', () => {
    const text = 'a'.repeat(256);
    expect(m('*a*a*a*a*a*a*a*a*b', text)).toBe(false);
    expect(m('*a*a*a*a*a*a*a*a*a', text)).toBe(true);
  });
});
