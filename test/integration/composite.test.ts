/** LwM2M 1.1 composite operations (TS Core §6.3.8–§6.3.10): read-, write-, observe- and cancel-observe-composite. */
import Ajv from 'ajv';
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { loadSchema } from '../../src/package-root';
import { startHarness, type Harness } from '../support/harness';
import type { TestDevice } from '../support/test-device';

const validUplink = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Answer = { reqID?: unknown; msgType: string; seqNum?: number; data: Record<string, unknown> };

describe('composite operations', () => {
  let h: Harness;
  let d: TestDevice;
  beforeEach(async () => {
    h = await startHarness();
    d = await h.device({ endpoint: 'comp', lwm2m: '1.1' });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/comp/up/register');
  });
  afterEach(async () => {
    await h.close();
  });

  async function command(cmd: Record<string, unknown>): Promise<Answer> {
    const from = h.probe.mark();
    await h.probe.publish('lwm2m/comp/dn', cmd);
    const m = await h.probe.waitFor((x) => x.topic === 'lwm2m/comp/up/resp' && x.json.reqID === cmd.reqID, 5000, from);
    expect(validUplink(m.json)).toBe(true);
    return m.json as Answer;
  }

  function lastRequest() {
    return d.requests[d.requests.length - 1];
  }

  it('read-composite: FETCH / with a SenML JSON path list, typed values of paths across objects', async () => {
    const r = await command({ reqID: 1, msgType: 'read-composite', data: { paths: ['/3/0/9', '1/0/1', '/3303/0'] } });
    expect(r).toEqual({
      reqID: 1,
      msgType: 'read-composite',
      data: {
        reqPath: null,
        code: '2.05',
        codeMsg: 'content',
        content: [
          { path: '/3/0/9', value: 100 },
          { path: '/1/0/1', value: 300 },
          { path: '/3303/0/5700', value: 21.5 },
          { path: '/3303/0/5701', value: 'Cel' },
        ],
      },
    });
    const req = lastRequest();
    expect(req.method).toBe('FETCH');
    expect(req.uriPath).toEqual([]);
    expect(req.contentFormat).toBe(ContentFormat.SENML_JSON);
    expect(req.accept).toBe(ContentFormat.SENML_JSON);
    expect(req.observe).toBeUndefined();
    expect(JSON.parse(req.payload.toString())).toEqual([{ n: '/3/0/9' }, { n: '/1/0/1' }, { n: '/3303/0' }]);
  });

  it('read-composite: a path the device does not have is left out of the content', async () => {
    const r = await command({ reqID: 2, msgType: 'read-composite', data: { paths: ['/3/0/0', '/3/0/99', '/3/0/7'] } });
    expect(r.data).toMatchObject({
      code: '2.05',
      content: [
        { path: '/3/0/0', value: 'Open Mobile Alliance' },
        { path: '/3/0/7/0', value: 3800 },
        { path: '/3/0/7/1', value: 5000 },
      ],
    });
    // Nothing of the list exists: the device's 4.04 comes back as it is.
    const none = await command({ reqID: 3, msgType: 'read-composite', data: { paths: ['/3/0/99'] } });
    expect(none.data).toEqual({ reqPath: null, code: '4.04', codeMsg: 'not_found' });
  });

  it('write-composite: iPATCH / with SenML JSON values, answered 2.04; a read-composite then shows them', async () => {
    const w = await command({
      reqID: 4,
      msgType: 'write-composite',
      data: {
        content: [
          { path: '/3/0/14', type: 'String', value: '+02:00' },
          { path: '1/0/1', value: 600 },
        ],
      },
    });
    expect(w).toEqual({ reqID: 4, msgType: 'write-composite', data: { reqPath: null, code: '2.04', codeMsg: 'changed' } });
    const req = lastRequest();
    expect(req.method).toBe('iPATCH');
    expect(req.uriPath).toEqual([]);
    expect(req.contentFormat).toBe(ContentFormat.SENML_JSON);
    expect(JSON.parse(req.payload.toString())).toEqual([
      { n: '/3/0/14', vs: '+02:00' },
      { n: '/1/0/1', v: 600 },
    ]);
    const r = await command({ reqID: 5, msgType: 'read-composite', data: { paths: ['/3/0/14', '/1/0/1'] } });
    expect(r.data).toMatchObject({
      code: '2.05',
      content: [
        { path: '/3/0/14', value: '+02:00' },
        { path: '/1/0/1', value: 600 },
      ],
    });
  });

  it('write-composite carries booleans, opaque and object links with their SenML value kinds', async () => {
    const w = await command({
      reqID: 6,
      msgType: 'write-composite',
      data: {
        content: [
          { path: '/3303/0/5701', type: 'String', value: 'Far' },
          { path: '/1/0/6', type: 'Boolean', value: true },
          { path: '/5/0/0', type: 'Opaque', value: Buffer.from([1, 2, 0xfb, 0xff]).toString('base64') },
          { path: '/31024/0/1', type: 'Objlnk', value: '3:0' },
        ],
      },
    });
    expect(w.data).toMatchObject({ code: '2.04' });
    expect(JSON.parse(lastRequest().payload.toString())).toEqual([
      { n: '/3303/0/5701', vs: 'Far' },
      { n: '/1/0/6', vb: true },
      { n: '/5/0/0', vd: 'AQL7_w' },
      { n: '/31024/0/1', vlo: '3:0' },
    ]);
  });

  it.each([
    ['paths missing', { msgType: 'read-composite', data: {} }, /paths/],
    ['paths empty', { msgType: 'read-composite', data: { paths: [] } }, /paths/],
    ['paths not strings', { msgType: 'observe-composite', data: { paths: [3, 0, 9] } }, /paths/],
    ['paths not an array', { msgType: 'cancel-observe-composite', data: { paths: '/3/0/9' } }, /paths/],
    ['a bad path', { msgType: 'read-composite', data: { paths: ['/3/0/9', '/3/x'] } }, /data\.paths\[1\]/],
    ['the root as a path', { msgType: 'read-composite', data: { paths: ['/'] } }, /at least an object/],
    ['a non-SenML content format', { msgType: 'read-composite', data: { paths: ['/3/0/9'], contentFormat: 'tlv' } }, /SenML/],
    ['content missing', { msgType: 'write-composite', data: {} }, /content/],
    ['content empty', { msgType: 'write-composite', data: { content: [] } }, /content/],
    ['a write of an instance', { msgType: 'write-composite', data: { content: [{ path: '/3/0', value: 1 }] } }, /\/O\/I\/R/],
    ['a value of the wrong type', { msgType: 'write-composite', data: { content: [{ path: '/1/0/1', value: 'soon' }] } }, /content\[0\]\.value/],
  ])('%s: 4.00 with an error, nothing sent', async (_name, cmd, error) => {
    const before = d.requests.length;
    const r = await command({ reqID: 'bad', ...cmd });
    expect(r).toMatchObject({ reqID: 'bad', msgType: cmd.msgType, data: { reqPath: null, code: '4.00', codeMsg: 'bad_request' } });
    expect(r.data.error).toMatch(error);
    await sleep(50);
    expect(d.requests.length).toBe(before);
  });

  it('observe-composite: first answer, a notification, listed by observe-read-all, cancel with FETCH Observe 1 and the same token', async () => {
    const first = await command({ reqID: 10, msgType: 'observe-composite', data: { paths: ['/3303/0/5700', '/3/0/9'] } });
    expect(first).toEqual({
      reqID: 10,
      msgType: 'observe-composite',
      data: {
        reqPath: null,
        code: '2.05',
        codeMsg: 'content',
        content: [
          { path: '/3303/0/5700', value: 21.5 },
          { path: '/3/0/9', value: 100 },
        ],
      },
      seqNum: 1,
    });
    const observeReq = lastRequest();
    expect(observeReq).toMatchObject({ method: 'FETCH', uriPath: [], observe: 0, contentFormat: ContentFormat.SENML_JSON, accept: ContentFormat.SENML_JSON });
    expect(d.compositeObservations.size).toBe(1);

    const list = await command({ reqID: 11, msgType: 'observe-read-all', data: {} });
    expect(list.data.content).toEqual([{ paths: ['/3303/0/5700', '/3/0/9'], reqID: 10 }]);

    const from = h.probe.mark();
    d.set('/3303/0/5700', 23.25);
    d.notifyComposite(['/3/0/9', '/3303/0/5700']);
    const n = await h.probe.waitFor((m) => m.topic === 'lwm2m/comp/up/notify', 3000, from);
    expect(validUplink(n.json)).toBe(true);
    expect(n.json).toEqual({
      reqID: 10,
      msgType: 'notify',
      seqNum: 2,
      data: {
        reqPath: null,
        code: '2.05',
        codeMsg: 'content',
        content: [
          { path: '/3303/0/5700', value: 23.25 },
          { path: '/3/0/9', value: 100 },
        ],
      },
    });

    // The paths in another order name the same observation.
    const cancel = await command({ reqID: 12, msgType: 'cancel-observe-composite', data: { paths: ['/3/0/9', '/3303/0/5700'] } });
    expect(cancel).toMatchObject({ reqID: 12, msgType: 'cancel-observe-composite', data: { code: '2.05', content: [{ path: '/3/0/9', value: 100 }, { path: '/3303/0/5700', value: 23.25 }] } });
    const cancelReq = lastRequest();
    expect(cancelReq).toMatchObject({ method: 'FETCH', uriPath: [], observe: 1 });
    expect(cancelReq.token.equals(observeReq.token)).toBe(true);
    expect(d.compositeObservations.size).toBe(0);
    expect((await command({ reqID: 13, msgType: 'observe-read-all', data: {} })).data.content).toEqual([]);
  });

  it('observe-composite and a single observe of one of its paths are separate observations', async () => {
    await command({ reqID: 20, msgType: 'observe', data: { path: '/3/0/9' } });
    await command({ reqID: 21, msgType: 'observe-composite', data: { paths: ['/3/0/9', '/1/0/1'] } });
    const list = await command({ reqID: 22, msgType: 'observe-read-all', data: {} });
    expect(list.data.content).toEqual([
      { path: '/3/0/9', reqID: 20 },
      { paths: ['/3/0/9', '/1/0/1'], reqID: 21 },
    ]);
    const from = h.probe.mark();
    d.notify('/3/0/9');
    d.notifyComposite(['/3/0/9', '/1/0/1']);
    await h.probe.waitFor((m) => m.topic === 'lwm2m/comp/up/notify' && m.json.reqID === 20, 3000, from);
    await h.probe.waitFor((m) => m.topic === 'lwm2m/comp/up/notify' && m.json.reqID === 21, 3000, from);
  });
});
