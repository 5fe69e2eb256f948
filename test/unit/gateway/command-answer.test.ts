import { commandAnswer, responseData } from '../../../src/gateway/uplink-messages';
import type { JsonObject } from '../../../src/gateway/command-parser';
import { seededRandom } from '../../support/seeded-random';

/**
 * What an answer must parse to: the command's fields, msgType and data replaced; seqNum the given
 * one, else the command's own in an error answer (4.xx, 5.xx; not a notification), else none.
 */
function expected(fields: JsonObject, msgType: unknown, data: unknown, seqNum?: number): unknown {
  const out: Record<string, unknown> = { ...fields, msgType, data };
  const code = (data as { code?: unknown }).code;
  const error = msgType !== 'notify' && typeof code === 'string' && /^[45]\./.test(code);
  if (seqNum !== undefined) out.seqNum = seqNum;
  else if (!error) delete out.seqNum;
  return JSON.parse(JSON.stringify(out));
}

describe('commandAnswer', () => {
  const fields: JsonObject = { reqID: 7, msgType: 'read', data: { path: '/3/0/0' }, extra: { nested: [1, 'a'] } };

  it('writes the usual read and notify answers as JSON.stringify would, with every field echoed', () => {
    const data = responseData('/3303/0/5700', '2.05', { content: [{ path: '/3303/0/5700', value: 21.5 }, { path: '/3303/0/5701', value: 'Cel', time: 1.5e9 }] });
    expect(JSON.parse(commandAnswer(fields, 'read', data))).toEqual(expected(fields, 'read', data));
    expect(JSON.parse(commandAnswer(fields, 'notify', data, 12))).toEqual(expected(fields, 'notify', data, 12));
    expect(commandAnswer({ reqID: 1 }, 'read', data)).toBe(
      '{"reqID":1,"msgType":"read","data":{"reqPath":"/3303/0/5700","code":"2.05","codeMsg":"content","content":[{"path":"/3303/0/5700","value":21.5},{"path":"/3303/0/5701","value":"Cel","time":1500000000}]}}',
    );
  });

  it('echoes the command\'s seqNum in error answers only; an observation\'s seqNum replaces it', () => {
    const command: JsonObject = { reqID: 5, seqNum: 9, msgType: 'bogus', data: {} };
    const refused = responseData(null, '4.00', { error: 'msgType must be equal to one of the allowed values' });
    expect(JSON.parse(commandAnswer(command, 'bogus', refused))).toEqual({ reqID: 5, seqNum: 9, msgType: 'bogus', data: refused });
    expect(JSON.parse(commandAnswer(command, 'read', responseData('/3/0/0', '5.02', { error: 'x', deviceCode: '2.05', payload: '' }))).seqNum).toBe(9);
    expect(JSON.parse(commandAnswer(command, 'read', responseData('/3/0/0', '2.05', { content: [] })))).not.toHaveProperty('seqNum');
    expect(JSON.parse(commandAnswer(command, 'observe', responseData('/3/0/0', '2.05', { content: [] }), 3)).seqNum).toBe(3);
    expect(JSON.parse(commandAnswer(command, 'observe', refused, 3)).seqNum).toBe(3);
    // A notification is not an answer to its command: an error one without Observe carries no seqNum.
    expect(JSON.parse(commandAnswer(command, 'notify', responseData('/3/0/0', '4.04')))).not.toHaveProperty('seqNum');
  });

  it('matches JSON.stringify for 3,000 random answers: awkward strings, numbers, other data shapes', () => {
    const next = seededRandom(8259);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
    const strings = ['', 'plain', 'quote " inside', 'back\\slash', 'tab\tnew\nline', '\u0000\u001f', 'é✓', '\ud83d\ude00', 'lone \ud800 high', 'lone \udc00 low', '</script>', '\u2028'];
    const scalars = (): unknown => pick([() => pick(strings), () => next() * 1e6 - 5e5, () => Math.floor(next() * 1e9), () => pick([NaN, Infinity, -Infinity, -0, 1e21, 5e-324]), () => next() < 0.5, () => null])();
    for (let i = 0; i < 3000; i++) {
      const command: JsonObject = {};
      for (let k = Math.floor(next() * 4); k > 0; k--) command[pick(['reqID', 'msgType', 'data', 'seqNum', pick(strings), 'x'])] = pick([scalars, () => ({ a: scalars() }), () => [scalars()]])() as JsonObject[string];
      const content = Array.from({ length: Math.floor(next() * 3) }, () =>
        next() < 0.3 ? { path: pick(strings), value: scalars(), time: next() * 1e9 } : { path: `/3/0/${i}`, value: scalars() },
      );
      const data = pick<() => unknown>([
        () => responseData(pick([null, '/3/0', pick(strings)]), pick(['2.05', '4.04']), { content: content as never }),
        () => responseData('/3/0', '2.04'),
        () => responseData('/3/0', '4.00', { error: pick(strings) }),
        () => ({ ...(command.data as object), reqPath: '/1' }),
        () => ({ content: ['</1/0>', pick(strings)] }),
      ])() as ReturnType<typeof responseData>;
      const msgType = pick<unknown>(['read', 'notify', undefined, pick(strings)]);
      const seqNum = next() < 0.5 ? Math.floor(next() * 1e6) : undefined;
      expect(JSON.parse(commandAnswer(command, msgType, data, seqNum))).toEqual(expected(command, msgType, data, seqNum));
    }
  });
});
