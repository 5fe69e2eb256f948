import { ChurnTable } from '../../../src/coap/churn-table';

describe('ChurnTable', () => {
  it('behaves as a string-keyed map under heavy insert/delete churn', () => {
    const table = new ChurnTable<{ n: number }>();
    const reference = new Map<string, { n: number }>();
    for (let i = 0; i < 20_000; i++) {
      const key = `k${i}`;
      const value = { n: i };
      table.set(key, value);
      reference.set(key, value);
      if (i >= 10) {
        table.delete(`k${i - 10}`);
        reference.delete(`k${i - 10}`);
      }
      expect(table.size).toBe(reference.size);
    }
    for (const [key, value] of reference) expect(table.get(key)).toBe(value);
    expect(table.values()).toEqual([...reference.values()]);
    expect(table.has('k0')).toBe(false);
    expect(table.get('k0')).toBeUndefined();
  });

  it('takes any string as a key: binary tokens, integer-like strings, __proto__, constructor', () => {
    const table = new ChurnTable<number>();
    const keys = ['__proto__', 'constructor', 'hasOwnProperty', '0', '17', '\u0000\u00ff\u0080', ''];
    keys.forEach((k, i) => table.set(k, i));
    expect(table.size).toBe(keys.length);
    keys.forEach((k, i) => expect(table.get(k)).toBe(i));
    table.set('17', 99); // replacing keeps the count
    expect(table.size).toBe(keys.length);
    table.delete('__proto__');
    table.delete('missing');
    expect(table.size).toBe(keys.length - 1);
    expect(table.has('__proto__')).toBe(false);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.values()).toEqual([]);
  });
});
