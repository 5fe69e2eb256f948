import { commandFromQuery, withMsgType } from '../../../src/management/command-body';

const json = (b: Buffer | string) => (typeof b === 'string' ? b : JSON.parse(b.toString('utf8')));

describe('withMsgType', () => {
  it("puts the URL's msgType in a command without one, first", () => {
    const out = withMsgType(Buffer.from('{"reqID":1,"data":{"path":"/3/0/0"}}'), 'read');
    expect(typeof out).not.toBe('string');
    expect(Object.keys(json(out))).toEqual(['msgType', 'reqID', 'data']);
    expect(json(out)).toEqual({ msgType: 'read', reqID: 1, data: { path: '/3/0/0' } });
  });

  it('takes an absent or empty body as a command with no fields', () => {
    expect(json(withMsgType(undefined, 'discover-all'))).toEqual({ msgType: 'discover-all' });
    expect(json(withMsgType(Buffer.alloc(0), 'observe-read-all'))).toEqual({ msgType: 'observe-read-all' });
  });

  it("passes a body naming the URL's msgType unchanged", () => {
    const body = Buffer.from('{"msgType":"write","data":{"path":"/1/0/1","type":"Integer","value":5}}');
    expect(withMsgType(body, 'write')).toBe(body);
  });

  it('passes a body nesting too deep unparsed: the gateway refuses it as on MQTT', () => {
    const body = Buffer.from(`{"data":${'['.repeat(100)}${']'.repeat(100)}}`);
    expect(withMsgType(body, 'read')).toBe(body);
  });

  it('says what is wrong with a body that is not a command', () => {
    expect(withMsgType(Buffer.from('[1]'), 'read')).toMatch(/JSON object/);
    expect(withMsgType(Buffer.from('null'), 'read')).toMatch(/JSON object/);
    expect(withMsgType(Buffer.from('"read"'), 'read')).toMatch(/JSON object/);
    expect(withMsgType(Buffer.from('{"data":'), 'read')).toMatch(/not JSON/);
    expect(withMsgType(Buffer.from('{"msgType":"write"}'), 'read')).toMatch(/body\/msgType/);
    expect(withMsgType(Buffer.from('{"msgType":7}'), 'read')).toMatch(/body\/msgType/);
  });
});

describe('commandFromQuery (EMQX form)', () => {
  it('reads, observes and cancels', () => {
    expect(commandFromQuery('read', { path: '/3/0/0' })).toEqual({ msgType: 'read', data: { path: '/3/0/0' } });
    expect(commandFromQuery('observe', { path: '/3/0/9', enable: true })).toEqual({ msgType: 'observe', data: { path: '/3/0/9' } });
    expect(commandFromQuery('observe', { path: '/3/0/9', enable: false })).toEqual({ msgType: 'cancel-observe', data: { path: '/3/0/9' } });
  });

  it('writes with the value typed as the command JSON wants it', () => {
    expect(commandFromQuery('write', { path: '/1/0/1', type: 'Integer', value: '600' })).toEqual({ msgType: 'write', data: { path: '/1/0/1', type: 'Integer', value: 600 } });
    expect(commandFromQuery('write', { path: '/3303/0/5700', type: 'Float', value: '21.5' })).toMatchObject({ data: { value: 21.5 } });
    expect(commandFromQuery('write', { path: '/1/0/6', type: 'Boolean', value: 'true' })).toMatchObject({ data: { value: true } });
    expect(commandFromQuery('write', { path: '/1/0/6', type: 'Boolean', value: '0' })).toMatchObject({ data: { value: false } });
    expect(commandFromQuery('write', { path: '/3/0/14', type: 'String', value: '600' })).toMatchObject({ data: { value: '600' } });
    // Left as text for the parser to refuse with its own words.
    expect(commandFromQuery('write', { path: '/1/0/1', type: 'Integer', value: 'many' })).toMatchObject({ data: { value: 'many' } });
    expect(commandFromQuery('write', { path: '/1/0/1', type: 'Integer', value: ' ' })).toMatchObject({ data: { value: ' ' } });
  });

  it('names the missing field of a write', () => {
    expect(commandFromQuery('write', { path: '/1/0/1', value: '1' })).toMatch(/querystring\/type/);
    expect(commandFromQuery('write', { path: '/1/0/1', type: 'Integer' })).toMatch(/querystring\/value/);
  });
});
