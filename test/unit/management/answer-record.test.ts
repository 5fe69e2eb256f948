import { AnswerRecord } from '../../../src/management/answer-record';

const answer = (code: string, content?: unknown) => JSON.stringify({ reqID: 1, msgType: 'read', data: { reqPath: '/3/0/0', code, codeMsg: 'content', ...(content === undefined ? {} : { content }) } });

describe('AnswerRecord', () => {
  it('keeps the last answer per device, action and path, parsed when looked up', () => {
    const record = new AnswerRecord();
    expect(record.lookup('ep1', 'read', '/3/0/0')).toBeUndefined();
    record.record('ep1', 'read', '/3/0/0', answer('2.05', [{ path: '/3/0/0', value: 'a' }]));
    record.record('ep1', 'read', '/3/0/0', answer('2.05', [{ path: '/3/0/0', value: 'b' }]));
    expect(record.lookup('ep1', 'read', '/3/0/0')).toEqual({ code: '2.05', codeMsg: 'content', content: [{ path: '/3/0/0', value: 'b' }] });
    expect(record.lookup('ep1', 'discover', '/3/0/0')).toBeUndefined();
    expect(record.lookup('ep2', 'read', '/3/0/0')).toBeUndefined();
  });

  it('evicts a device’s oldest answer beyond its limit', () => {
    const record = new AnswerRecord({ perDevice: 3, totalBytes: 1e9, maxAnswerBytes: 1e6 });
    for (let i = 0; i < 5; i++) record.record('ep1', 'read', `/3/0/${i}`, answer('2.05'));
    expect(record.lookup('ep1', 'read', '/3/0/0')).toBeUndefined();
    expect(record.lookup('ep1', 'read', '/3/0/1')).toBeUndefined();
    for (const i of [2, 3, 4]) expect(record.lookup('ep1', 'read', `/3/0/${i}`)?.code).toBe('2.05');
    // Answering an existing key again makes it the newest.
    record.record('ep1', 'read', '/3/0/2', answer('2.05'));
    record.record('ep1', 'read', '/3/0/5', answer('2.05'));
    expect(record.lookup('ep1', 'read', '/3/0/2')).toBeDefined();
    expect(record.lookup('ep1', 'read', '/3/0/3')).toBeUndefined();
  });

  it('bounds the total bytes, taking from the least recently answered device first', () => {
    const one = answer('2.05');
    const entryBytes = 'read\u0000/3/0/0'.length + one.length;
    const record = new AnswerRecord({ perDevice: 100, totalBytes: entryBytes * 3, maxAnswerBytes: 1e6 });
    record.record('old', 'read', '/3/0/0', one);
    record.record('new', 'read', '/3/0/0', one);
    record.record('new', 'read', '/3/0/1', one);
    expect(record.size).toBeLessThanOrEqual(entryBytes * 3);
    record.record('new', 'read', '/3/0/2', one);
    expect(record.lookup('old', 'read', '/3/0/0')).toBeUndefined();
    expect(record.deviceCount).toBe(1);
    expect(record.lookup('new', 'read', '/3/0/0')).toBeDefined();
    expect(record.size).toBeLessThanOrEqual(entryBytes * 3);
  });

  it('keeps an oversize answer as its code only', () => {
    const record = new AnswerRecord({ perDevice: 10, totalBytes: 1e9, maxAnswerBytes: 100 });
    record.record('ep1', 'read', '/5/0/0', answer('2.05', [{ path: '/5/0/0', value: 'x'.repeat(1000) }]));
    expect(record.lookup('ep1', 'read', '/5/0/0')).toEqual({ code: '2.05', codeMsg: 'content' });
    expect(record.size).toBeLessThan(200);
  });

  it('forgets a device and gives its bytes back', () => {
    const record = new AnswerRecord();
    record.record('ep1', 'read', '/3/0/0', answer('2.05'));
    record.record('ep1', 'write', '/3/0/0', answer('2.04'));
    record.forget('ep1');
    record.forget('nobody');
    expect(record.lookup('ep1', 'read', '/3/0/0')).toBeUndefined();
    expect(record.size).toBe(0);
    expect(record.deviceCount).toBe(0);
  });

  it('answers 5.00 for a recorded text that is not an answer', () => {
    const record = new AnswerRecord();
    record.record('ep1', 'read', '/3/0/0', 'not json');
    expect(record.lookup('ep1', 'read', '/3/0/0')).toEqual({ code: '5.00', codeMsg: 'internal_server_error' });
  });
});
