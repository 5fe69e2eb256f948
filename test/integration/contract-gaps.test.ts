/**
 * The contract's remaining gaps (issue 10, item 3), each through MQTT with a real device over real
 * sockets: an instance's read content written back (resource instances under /O/I, every write
 * format), "encoding":"hex" for every value, undecodable device answers as 5.02, and error answers
 * that echo every top-level field.
 */
import Ajv from 'ajv';
import type { CoapResponse, InboundRequest } from '../../src/coap';
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { loadSchema } from '../../src/package-root';
import { startHarness, type Harness } from '../support/harness';
import { DEVICE_ENTRIES, type TestDevice } from '../support/test-device';

const validUplink = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));

interface Answer {
  msgType?: string;
  seqNum?: number;
  reqID?: number;
  data: Record<string, unknown>;
  [field: string]: unknown;
}

describe('contract gaps', () => {
  let h: Harness;
  let d: TestDevice;
  beforeAll(async () => {
    h = await startHarness();
    d = await h.device({
      endpoint: 'gaps',
      entries: [...DEVICE_ENTRIES, { path: '/3/0/6/0', type: 'integer', value: 1 }, { path: '/3/0/6/1', type: 'integer', value: 5 }],
    });
    expect((await d.register()).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/gaps/up/register');
  });
  afterAll(async () => {
    await h.close();
  });

  let nextReqID = 1;
  /** Publishes a command (reqID added when it has none) and waits for the answer with its reqID. */
  async function command(cmd: Record<string, unknown>, topic = 'lwm2m/gaps/dn'): Promise<Answer> {
    const reqID = (cmd.reqID as number | undefined) ?? nextReqID++;
    const from = h.probe.mark();
    await h.probe.publish(topic, { reqID, ...cmd });
    const m = await h.probe.waitFor((x) => x.topic.endsWith('/up/resp') && x.json.reqID === reqID, 5000, from);
    expect(validUplink(m.json)).toBe(true);
    return m.json as Answer;
  }

  /** Answers requests that `match` with `res` instead of the device's own answer, until restored. */
  function answerWith(match: (req: InboundRequest) => boolean, res: CoapResponse): () => void {
    const own = d as unknown as { handle(req: InboundRequest): Promise<CoapResponse> };
    d.coap.setRequestHandler((req) => (match(req) ? res : own.handle(req)));
    return () => d.coap.setRequestHandler((req) => own.handle(req));
  }

  describe('1. an instance read is written back: resource instances under basePath /O/I', () => {
    const read = async (): Promise<{ path: string; value: unknown }[]> => {
      const r = await command({ msgType: 'read', data: { path: '/3/0' } });
      expect(r.data).toMatchObject({ reqPath: '/3/0', code: '2.05' });
      return r.data.content as { path: string; value: unknown }[];
    };

    it.each([
      ['TLV', ContentFormat.TLV, 'tlv'],
      ['SenML JSON', ContentFormat.SENML_JSON, 'senml+json'],
      ['SenML CBOR', ContentFormat.SENML_CBOR, 'senml+cbor'],
      ['LwM2M CBOR', ContentFormat.LWM2M_CBOR, 'lwm2m+cbor'],
      ['OMA JSON', ContentFormat.OMA_JSON, 'oma-json'],
    ])('%s', async (_name, format, contentFormat) => {
      const before = await read();
      expect(before).toEqual(expect.arrayContaining([{ path: '/3/0/6/0', value: expect.any(Number) }, { path: '/3/0/7/1', value: expect.any(Number) }]));
      // The read's entries, as returned (absolute paths, no types: the model knows them), changed.
      const content = before.map((e) => ({ path: e.path, value: typeof e.value === 'number' ? e.value + format : `${String(e.value)} ${format}` }));
      const w = await command({ msgType: 'write', data: { basePath: '/3/0', contentFormat, content } });
      expect(w.data).toEqual({ reqPath: '/3/0', code: '2.04', codeMsg: 'changed' });
      const sent = d.requests.at(-1)!;
      expect({ method: sent.method, uriPath: sent.uriPath, contentFormat: sent.contentFormat }).toEqual({ method: 'POST', uriPath: ['3', '0'], contentFormat: format });
      expect(await read()).toEqual(content);
    });
  });

  describe('2. "encoding":"hex": every value is hex bytes', () => {
    it('String, Integer and a resource instance from hex; the answer is the usual 2.04', async () => {
      const w = await command({ encoding: 'hex', msgType: 'write', data: { path: '/3/0/14', type: 'String', value: '48656C6C6F' } });
      expect(w).toEqual({ reqID: w.reqID, encoding: 'hex', msgType: 'write', data: { reqPath: '/3/0/14', code: '2.04', codeMsg: 'changed' } });
      expect(d.values.get('/3/0/14')?.value).toBe('Hello');
      const c = await command({
        encoding: 'hex',
        msgType: 'write',
        data: { basePath: '/3/0', content: [{ path: '9', value: '55' }, { path: '7/0', value: '0ED8' }, { path: '15', type: 'String', value: '4575726f70652f4265726c696e' }] },
      });
      expect(c.data).toMatchObject({ code: '2.04' });
      expect([d.values.get('/3/0/9')?.value, d.values.get('/3/0/7/0')?.value, d.values.get('/3/0/15')?.value]).toEqual([85, 3800, 'Europe/Berlin']);
    });

    it.each([
      ['not hex digits', { path: '/3/0/14', type: 'String', value: 'ZZ' }, /^data\.value: "ZZ" is not hex/],
      ['an odd number of digits', { path: '/3/0/14', type: 'String', value: 'ABC' }, /^data\.value: "ABC" is not hex/],
      ['bytes that are no Integer', { path: '/3/0/9', type: 'Integer', value: '000064' }, /^data\.value: "000064" is not a hex Integer: 1, 2, 4 or 8 bytes/],
      ['a bad item of content', { basePath: '/3/0', content: [{ path: '9', value: '01' }, { path: '14', type: 'String', value: 'G0' }] }, /^data\.content\[1\]\.value: "G0" is not hex/],
    ])('%s gets 4.00 naming the field, and nothing reaches the device', async (_name, data, error) => {
      const requests = d.requests.length;
      const r = await command({ encoding: 'hex', msgType: 'write', data });
      expect(r.data).toMatchObject({ code: '4.00', codeMsg: 'bad_request' });
      expect(r.data.error).toMatch(error);
      expect(r.data).not.toHaveProperty('content');
      expect(d.requests.length).toBe(requests);
    });
  });

  describe('3. an answer the gateway cannot decode is 5.02, not a successful empty read', () => {
    const garbage = Buffer.from([0xc8, 0x00, 0x05, 0x41]); // a TLV record that claims 5 bytes and has 1

    it('read: deviceCode, format and decoder message in error, payload as base64, no content', async () => {
      const restore = answerWith((req) => req.uriPath.join('/') === '3/0/1', { code: '2.05', contentFormat: ContentFormat.TLV, payload: garbage });
      try {
        const r = await command({ msgType: 'read', data: { path: '/3/0/1' } });
        expect(r.data).toEqual({
          reqPath: '/3/0/1',
          code: '5.02',
          codeMsg: 'bad_gateway',
          error: expect.stringMatching(/^cannot decode the device's TLV \(11542\) payload: .+/),
          deviceCode: '2.05',
          payload: garbage.toString('base64'),
        });
      } finally {
        restore();
      }
    });

    it('discover whose answer is not link format', async () => {
      const restore = answerWith((req) => req.accept === ContentFormat.LINK, { code: '2.05', contentFormat: ContentFormat.LINK, payload: Buffer.from('</3/0>;ver="1.0,<') });
      try {
        const r = await command({ msgType: 'discover', data: { path: '/3/0' } });
        expect(r.data).toMatchObject({ reqPath: '/3/0', code: '5.02', codeMsg: 'bad_gateway', deviceCode: '2.05', payload: Buffer.from('</3/0>;ver="1.0,<').toString('base64') });
        expect(r.data.error).toMatch(/^cannot decode the device's link format \(40\) payload: /);
        expect(r.data).not.toHaveProperty('content');
      } finally {
        restore();
      }
    });

    it('notification: published with 5.02 and its seqNum; the observation stays', async () => {
      const o = await command({ msgType: 'observe', data: { path: '/3303/0/5700' } });
      expect(o).toMatchObject({ msgType: 'observe', seqNum: 1, data: { code: '2.05', content: [{ path: '/3303/0/5700', value: 21.5 }] } });
      const observation = d.observations.get('/3303/0/5700')!;
      let from = h.probe.mark();
      d.coap.notify(observation.peer, observation.token, { code: '2.05', contentFormat: ContentFormat.TLV, payload: garbage, observe: 2 }, false);
      const bad = await h.probe.waitOn('lwm2m/gaps/up/notify', {}, 5000, from);
      expect(validUplink(bad.json)).toBe(true);
      expect(bad.json).toEqual({
        reqID: o.reqID,
        msgType: 'notify',
        seqNum: 2,
        data: { reqPath: '/3303/0/5700', code: '5.02', codeMsg: 'bad_gateway', error: expect.stringMatching(/^cannot decode the device's TLV/), deviceCode: '2.05', payload: garbage.toString('base64') },
      });
      d.set('/3303/0/5700', 22.5);
      from = h.probe.mark();
      d.notify('/3303/0/5700', false, 3);
      const good = await h.probe.waitOn('lwm2m/gaps/up/notify', {}, 5000, from);
      expect(good.json).toMatchObject({ msgType: 'notify', seqNum: 3, data: { code: '2.05', content: [{ path: '/3303/0/5700', value: 22.5 }] } });
      const all = await command({ msgType: 'observe-read-all', data: {} });
      expect(all.data.content).toEqual([{ path: '/3303/0/5700', reqID: o.reqID }]);
    });

    it('the uplink schema refuses a 5.02 with deviceCode that carries content, or a deviceCode under another code', () => {
      const data = { reqPath: '/3/0/1', code: '5.02', codeMsg: 'bad_gateway', error: 'x', deviceCode: '2.05', payload: '' };
      expect(validUplink({ msgType: 'read', data })).toBe(true);
      expect(validUplink({ msgType: 'read', data: { ...data, content: [] } })).toBe(false);
      expect(validUplink({ msgType: 'read', data: { ...data, code: '2.05', codeMsg: 'content' } })).toBe(false);
    });
  });

  describe('4. error answers echo every top-level field but data, seqNum included', () => {
    it('an unknown msgType', async () => {
      const r = await command({ reqID: 5000, seqNum: 9, msgType: 'bogus', data: {} });
      expect(r).toEqual({
        reqID: 5000,
        seqNum: 9,
        msgType: 'bogus',
        data: { reqPath: null, code: '4.00', codeMsg: 'bad_request', error: expect.stringMatching(/^msgType must be equal to one of the allowed values/) },
      });
    });

    it('a device error and an unregistered endpoint; a success answer leaves the command\'s seqNum out, an observe answer has its own', async () => {
      const missing = await command({ seqNum: 9, tag: { any: ['json'] }, msgType: 'read', data: { path: '/3/9/0' } });
      expect(missing).toMatchObject({ seqNum: 9, tag: { any: ['json'] }, msgType: 'read', data: { code: '4.04' } });
      const nobody = await command({ seqNum: 9, msgType: 'read', data: { path: '/3/0/0' } }, 'lwm2m/nobody/dn');
      expect(nobody).toMatchObject({ seqNum: 9, msgType: 'read', data: { code: '4.04' } });
      const ok = await command({ seqNum: 9, msgType: 'read', data: { path: '/3/0/0' } });
      expect(ok.data).toMatchObject({ code: '2.05' });
      expect(ok).not.toHaveProperty('seqNum');
      const observe = await command({ seqNum: 9, msgType: 'observe', data: { path: '/3303/0/5701' } });
      expect(observe).toMatchObject({ msgType: 'observe', seqNum: 1, data: { code: '2.05' } });
    });
  });
});
