import { scalarErrorAnswer, scalarFields } from '../../../src/gateway/uplink-messages';

describe('scalarFields and scalarErrorAnswer', () => {
  it('keeps numbers, booleans, null and strings up to 1 KiB; drops the rest', () => {
    const command = JSON.parse('{"reqID":1,"ok":true,"n":null,"s":"x","long":"' + 'y'.repeat(1025) + '","o":{"a":1},"a":[1],"__proto__":"p"}') as unknown;
    const fields = scalarFields(command);
    expect(Object.keys(fields)).toEqual(['reqID', 'ok', 'n', 's', '__proto__']);
    expect(Object.getPrototypeOf(fields)).toBeNull();
    expect(scalarFields([1, 2])).toEqual({});
    expect(scalarFields('text')).toEqual({});
  });

  it('builds an error answer whatever the command holds', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const text = scalarErrorAnswer({ reqID: 'r', msgType: 'read', deep, data: { path: '/3/0/0' } }, '/3/0/0', '4.00', 'too deep');
    expect(JSON.parse(text)).toEqual({ reqID: 'r', msgType: 'read', data: { reqPath: '/3/0/0', code: '4.00', codeMsg: 'bad_request', error: 'too deep' } });
    expect(JSON.parse(scalarErrorAnswer(undefined, null, '4.13', 'big'))).toEqual({ data: { reqPath: null, code: '4.13', codeMsg: 'request_entity_too_large', error: 'big' } });
    expect(JSON.parse(scalarErrorAnswer({ __proto__: null, msgType: 5 }, null, '5.00', 'x')).msgType).toBe(5);
  });
});
