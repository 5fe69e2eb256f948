/**
 * The MQTT contract (docs/mqtt-api.md parts A, B and the deregister message of C),
 * through real sockets: test devices over UDP, the gateway, a real broker and an MQTT probe.
 * Run by `npm test` against aedes and by `npm run test:interop` against Mosquitto.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { loadSchema } from '../../../src/package-root';
import { startHarness, storeKind, type BrokerKind, type DeviceTransportKind, type Harness, type StoreKind } from '../../support/harness';
import { RawDevice } from '../../support/raw-device';
import { TestDevice } from '../../support/test-device';

const ajv = new Ajv({ strict: false });
const validUplink = ajv.compile(loadSchema('uplink.schema.json'));

function expectValidUplink(json: unknown): void {
  if (!validUplink(json)) throw new Error(`uplink message does not match schemas/uplink.schema.json: ${ajv.errorsText(validUplink.errors)}\n${JSON.stringify(json)}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function defineMqttContractSuite(kind: BrokerKind, devices: DeviceTransportKind = 'udp', store: StoreKind = storeKind()): void {
  describe(`MQTT contract over ${kind}, devices on ${devices}, ${store} store`, () => {
    let h: Harness;
    const startHarnessFor = (yaml = '') => startHarness(yaml, kind, devices, undefined, 'info', store);
    /** Tests that forge datagrams with a raw UDP socket exist only for devices on plain UDP. */
    const udpOnly = (define: () => void) => {
      if (devices === 'udp') define();
    };
    afterEach(async () => {
      if (h) await h.close();
    });

    async function registered(ep: string, opts: Partial<Parameters<Harness['device']>[0]> = {}): Promise<TestDevice> {
      const d = await h.device({ endpoint: ep, ...opts });
      const res = await d.register();
      expect(res.code).toBe('2.01');
      await h.probe.waitOn(`lwm2m/${ep}/up/register`);
      return d;
    }

    async function command(ep: string, cmd: Record<string, unknown>, topicSuffix = 'dn') {
      const from = h.probe.mark();
      await h.probe.publish(`lwm2m/${ep}/${topicSuffix}`, cmd);
      const m = await h.probe.waitFor((x) => x.topic === `lwm2m/${ep}/up/resp` && x.json.msgType !== 'ack', 5000, from);
      expectValidUplink(m.json);
      return m.json as { msgType: string; data: Record<string, unknown>; [k: string]: unknown };
    }

    describe('registration', () => {
      beforeEach(async () => {
        h = await startHarnessFor('lwm2m:\n  lifetime_min: 20\n  lifetime_max: 600\n');
      });

      it('publishes register with every query parameter, lt as number, lwm2m default 1.0, secrets removed', async () => {
        const d = await h.device({ endpoint: 'urn:imei:123', lifetime: 300, binding: 'U', query: ['password=hunter2', 'imei=123', 'token=abc'] });
        const res = await d.register([], '</1/0>,</3/0>,</3303/0>');
        expect(res.code).toBe('2.01');
        expect(res.locationPath?.[0]).toBe('rd');
        expect(res.locationPath?.[1]).toMatch(/^[0-9a-f]+$/);
        const m = await h.probe.waitOn('lwm2m/urn:imei:123/up/register');
        expectValidUplink(m.json);
        expect(m.json).toEqual({
          msgType: 'register',
          data: {
            ep: 'urn:imei:123',
            lt: 300,
            lwm2m: '1.0',
            b: 'U',
            imei: '123',
            ...(devices === 'dtls' ? { security: 'psk', identity: 'urn:imei:123' } : { security: 'none' }),
            alternatePath: '/',
            objectList: ['/1/0', '/3/0', '/3303/0'],
          },
        });
        expect(m.payload.toString()).not.toContain('hunter2');
      });

      it('clamps lt to lifetime_min..lifetime_max', async () => {
        const low = await h.device({ endpoint: 'low', lifetime: 5 });
        await low.register();
        const high = await h.device({ endpoint: 'high', lifetime: 100000 });
        await high.register();
        expect((await h.probe.waitOn('lwm2m/low/up/register')).json.data).toMatchObject({ lt: 20 });
        expect((await h.probe.waitOn('lwm2m/high/up/register')).json.data).toMatchObject({ lt: 600 });
      });

      it('accepts lwm2m 1.1 and 1.2, refuses other versions and a missing ep with 4.00', async () => {
        for (const v of ['1.1', '1.2']) {
          const d = await h.device({ endpoint: `v${v}`, lwm2m: v });
          expect((await d.register()).code).toBe('2.01');
          expect((await h.probe.waitOn(`lwm2m/v${v}/up/register`)).json.data).toMatchObject({ lwm2m: v });
        }
        const bad = await h.device({ endpoint: 'bad', lwm2m: '2.0' });
        expect((await bad.register()).code).toBe('4.00');
        if (devices !== 'udp') return;
        const raw = await RawDevice.start(h.gw.udpPort);
        try {
          const mid = raw.nextMid();
          raw.send({ confirmable: true, code: 'POST', messageId: mid, token: Buffer.from([9]), options: [{ name: 'Uri-Path', value: Buffer.from('rd') }] });
          const ans = await raw.waitFor((p) => p.messageId === mid);
          expect(ans.code).toBe('4.00');
        } finally {
          await raw.close();
        }
      });

      it('takes alternatePath from rt="oma.lwm2m", strips it from objectList and prefixes it on the wire', async () => {
        const d = await h.device({ endpoint: 'alt', links: '</lwm2m>;rt="oma.lwm2m";ct=11542,</lwm2m/1/0>,</lwm2m/3/0>' });
        await d.register();
        const m = await h.probe.waitOn('lwm2m/alt/up/register');
        expect(m.json.data).toMatchObject({ alternatePath: '/lwm2m', objectList: ['/1/0', '/3/0'] });
        const r = await command('alt', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
        expect(d.requests.at(-1)?.uriPath).toEqual(['lwm2m', '3', '0', '0']);
        // the device here serves /3/0/0 without the prefix, so it answers 4.04 for the prefixed path
        expect(r.data.reqPath).toBe('/3/0/0');
      });

      it('publishes update with the whole merged registration; an update without lt keeps it', async () => {
        const d = await registered('upd', { lifetime: 300, binding: 'U' });
        const from = h.probe.mark();
        expect((await d.update()).code).toBe('2.04');
        const u1 = await h.probe.waitOn('lwm2m/upd/up/update', {}, 5000, from);
        expectValidUplink(u1.json);
        expect(u1.json).toMatchObject({ msgType: 'update', data: { ep: 'upd', lt: 300, b: 'U', lwm2m: '1.0', alternatePath: '/' } });
        const from2 = h.probe.mark();
        expect((await d.update(['lt=400'], '</3/0>,</3303/0>')).code).toBe('2.04');
        const u2 = await h.probe.waitOn('lwm2m/upd/up/update', {}, 5000, from2);
        expect(u2.json.data).toMatchObject({ ep: 'upd', lt: 400, objectList: ['/3/0', '/3303/0'] });
      });

      it('answers 4.04 to an update of an unknown registration', async () => {
        const d = await h.device({ endpoint: 'ghost' });
        d.location = ['rd', 'doesnotexist'];
        expect((await d.update()).code).toBe('4.04');
      });

      it('follows a device whose port changed (NAT rebinding) on update', async () => {
        const d1 = await registered('nat');
        const d2 = await h.device({ endpoint: 'nat' });
        d2.location = d1.location;
        expect((await d2.update()).code).toBe('2.04');
        const r = await command('nat', { reqID: 5, msgType: 'read', data: { path: '/3/0/0' } });
        expect(r.data).toMatchObject({ code: '2.05' });
        expect(d2.requests.length).toBe(1);
        expect(d1.requests.length).toBe(0);
      });

      it('an observation follows the device to its new port', async () => {
        const d1 = await registered('nat2');
        const o = await command('nat2', { reqID: 6, msgType: 'observe', data: { path: '/3303/0/5700' } });
        expect(o.data).toMatchObject({ code: '2.05' });
        const d2 = await h.device({ endpoint: 'nat2' });
        d2.location = d1.location;
        expect((await d2.update()).code).toBe('2.04');
        d2.observations.set('/3303/0/5700', { ...d1.observations.get('/3303/0/5700')!, seq: 1 });
        const from = h.probe.mark();
        d2.notify('/3303/0/5700', false, 2);
        const n = await h.probe.waitOn('lwm2m/nat2/up/notify', {}, 5000, from);
        expect(n.json).toMatchObject({ reqID: 6, seqNum: 2 });
      });

      it('publishes deregister on DELETE /rd/<id> (2.02)', async () => {
        const d = await registered('dereg');
        expect((await d.deregister()).code).toBe('2.02');
        const m = await h.probe.waitOn('lwm2m/dereg/up/deregister');
        expectValidUplink(m.json);
        expect(m.json).toEqual({ msgType: 'deregister', data: { ep: 'dereg', reason: 'deregister' } });
      });

      it('a second register replaces the first: deregister "replaced", new Location-Path, old id gone', async () => {
        const d = await registered('twice');
        const first = d.location;
        const from = h.probe.mark();
        expect((await d.register()).code).toBe('2.01');
        expect(d.location).not.toEqual(first);
        const m = await h.probe.waitOn('lwm2m/twice/up/deregister', {}, 5000, from);
        expect(m.json.data).toEqual({ ep: 'twice', reason: 'replaced' });
        await h.probe.waitOn('lwm2m/twice/up/register', {}, 5000, from);
        const stale = await h.device({ endpoint: 'twice' });
        stale.location = first;
        expect((await stale.update()).code).toBe('4.04');
      });
    });

    describe('lifetime expiry', () => {
      it('publishes deregister with reason "expired"', async () => {
        h = await startHarnessFor('lwm2m:\n  lifetime_min: 1\n');
        const d = await registered('short', { lifetime: 1 });
        expect(d).toBeDefined();
        const m = await h.probe.waitOn('lwm2m/short/up/deregister', {}, 5000);
        expect(m.json.data).toEqual({ ep: 'short', reason: 'expired' });
      });
    });

    describe('commands', () => {
      let d: TestDevice;
      beforeEach(async () => {
        h = await startHarnessFor();
        d = await registered('dev1');
      });

      it('read of a resource: typed content, every top-level field echoed (reqID 0 too)', async () => {
        const r = await command('dev1', { reqID: 0, requestID: 'r-1', cacheID: 7, msgType: 'read', data: { path: '/3/0/0' } });
        expect(r).toEqual({
          reqID: 0,
          requestID: 'r-1',
          cacheID: 7,
          msgType: 'read',
          data: { reqPath: '/3/0/0', code: '2.05', codeMsg: 'content', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] },
        });
        const n = await command('dev1', { reqID: 1, msgType: 'read', data: { path: '3/0/9/' } });
        expect(n.data).toMatchObject({ reqPath: '3/0/9/', content: [{ path: '/3/0/9', value: 100 }] });
      });

      it('read of an instance gives one entry per resource and resource instance (TLV)', async () => {
        const r = await command('dev1', { reqID: 2, msgType: 'read', data: { path: '/3/0' } });
        const content = r.data.content as { path: string; value: unknown }[];
        expect(content).toEqual(
          expect.arrayContaining([
            { path: '/3/0/0', value: 'Open Mobile Alliance' },
            { path: '/3/0/9', value: 100 },
            { path: '/3/0/7/0', value: 3800 },
            { path: '/3/0/7/1', value: 5000 },
          ]),
        );
        expect(content.every((c) => c.path.startsWith('/'))).toBe(true);
      });

      it('path queries become Uri-Query and are not part of reqPath', async () => {
        const r = await command('dev1', { reqID: 3, msgType: 'read', data: { path: '/3/0/0?a=1&b=2' } });
        expect(r.data.reqPath).toBe('/3/0/0');
        expect(d.requests.at(-1)?.uriQuery).toEqual(['a=1', 'b=2']);
      });

      it('read of a missing resource answers the device code', async () => {
        const r = await command('dev1', { reqID: 4, msgType: 'read', data: { path: '/3/0/99' } });
        expect(r.data).toEqual({ reqPath: '/3/0/99', code: '4.04', codeMsg: 'not_found' });
      });

      it('discover gives the links as strings', async () => {
        const r = await command('dev1', { reqID: 5, msgType: 'discover', data: { path: '/3/0' } });
        expect(d.requests.at(-1)?.accept).toBe(40);
        expect(r.data.code).toBe('2.05');
        expect(r.data.content).toEqual(expect.arrayContaining(['</3/0>', '</3/0/0>', '</3/0/7>']));
      });

      it('write of one resource (PUT), then read shows it', async () => {
        const w = await command('dev1', { reqID: 6, msgType: 'write', data: { path: '/3/0/14', type: 'String', value: '+01:00' } });
        expect(w.data).toEqual({ reqPath: '/3/0/14', code: '2.04', codeMsg: 'changed' });
        expect(d.requests.at(-1)?.method).toBe('PUT');
        expect(d.values.get('/3/0/14')?.value).toBe('+01:00');
      });

      it('write with basePath /O/I is a partial update (POST); numeric strings and booleans convert', async () => {
        const w = await command('dev1', {
          reqID: 7,
          msgType: 'write',
          data: {
            basePath: '/1/0',
            content: [
              { path: '1', type: 'Integer', value: '600' },
              { path: '/1/0/6', type: 'Boolean', value: 'true' },
            ],
          },
        });
        expect(w.data.code).toBe('2.04');
        expect(d.requests.at(-1)?.method).toBe('POST');
        expect(d.values.get('/1/0/1')?.value).toBe(600);
        expect(d.values.get('/1/0/6')?.value).toBe(true);
      });

      it('write with basePath /O/I/R replaces a multiple resource (PUT) with its instances', async () => {
        const w = await command('dev1', {
          reqID: 8,
          msgType: 'write',
          data: { basePath: '/3/0/7', content: [{ path: '0', type: 'Integer', value: 4000 }, { path: '2', type: 'Integer', value: 4200 }] },
        });
        expect(w.data.code).toBe('2.04');
        expect(d.requests.at(-1)?.method).toBe('PUT');
        expect(d.values.get('/3/0/7/2')?.value).toBe(4200);
        expect(d.values.has('/3/0/7/1')).toBe(false);
      });

      it('integers use the minimal signed width: 128 is two bytes', async () => {
        await command('dev1', { reqID: 9, msgType: 'write', data: { path: '/3/0/9', type: 'Integer', value: 128 } });
        const payload = d.requests.at(-1)!.payload;
        // TLV resource header, id 9, then the value 0x00 0x80
        expect(payload.subarray(payload.length - 2)).toEqual(Buffer.from([0x00, 0x80]));
        expect(d.values.get('/3/0/9')?.value).toBe(128);
      });

      it('Opaque values are base64, or hex with "encoding":"hex"', async () => {
        await command('dev1', { reqID: 10, msgType: 'write', data: { path: '/5/0/0', type: 'Opaque', value: 'AQID' } });
        expect(d.values.get('/5/0/0')?.value).toEqual(Buffer.from([1, 2, 3]));
        await command('dev1', { reqID: 11, encoding: 'hex', msgType: 'write', data: { path: '/5/0/0', type: 'Opaque', value: 'cafe' } });
        expect(d.values.get('/5/0/0')?.value).toEqual(Buffer.from([0xca, 0xfe]));
        const r = await command('dev1', { reqID: 12, msgType: 'read', data: { path: '/5/0/0' } });
        expect(r.data.content).toEqual([{ path: '/5/0/0', value: Buffer.from([0xca, 0xfe]).toString('base64') }]);
      });

      it('write-attr sends one Uri-Query per attribute, skips null and unknown keys', async () => {
        const r = await command('dev1', { reqID: 13, msgType: 'write-attr', data: { path: '/3303/0/5700', pmin: 10, pmax: '60', gt: null, foo: 1, st: 0.5 } });
        expect(r.data).toEqual({ reqPath: '/3303/0/5700', code: '2.04', codeMsg: 'changed' });
        expect(d.attributes.get('/3303/0/5700')).toEqual(['pmin=10', 'pmax=60', 'st=0.5']);
      });

      it('execute posts args; missing, null and "undefined" args are empty', async () => {
        const r = await command('dev1', { reqID: 14, msgType: 'execute', data: { path: '/3/0/4', args: "0='x'" } });
        expect(r.data).toEqual({ reqPath: '/3/0/4', code: '2.04', codeMsg: 'changed' });
        await command('dev1', { reqID: 15, msgType: 'execute', data: { path: '/3/0/4', args: 'undefined' } });
        await command('dev1', { reqID: 16, msgType: 'execute', data: { path: '/3/0/4' } });
        expect(d.executed).toEqual([
          { path: '/3/0/4', args: "0='x'" },
          { path: '/3/0/4', args: '' },
          { path: '/3/0/4', args: '' },
        ]);
      });

      it('create posts a new instance (2.01) and delete removes it (2.02)', async () => {
        const c = await command('dev1', { reqID: 17, msgType: 'create', data: { basePath: '/3303', content: [{ path: '1/5700', type: 'Float', value: 3.5 }, { path: '/1/5701', type: 'String', value: 'K' }] } });
        expect(c.data).toEqual({ reqPath: '/3303', code: '2.01', codeMsg: 'created' });
        expect(d.values.get('/3303/1/5700')?.value).toBe(3.5);
        expect(d.values.get('/3303/1/5701')?.value).toBe('K');
        const del = await command('dev1', { reqID: 18, msgType: 'delete', data: { path: '/3303/1' } });
        expect(del.data).toEqual({ reqPath: '/3303/1', code: '2.02', codeMsg: 'deleted' });
        expect(d.values.has('/3303/1/5700')).toBe(false);
      });

      it('text booleans 0/1 are read as booleans', async () => {
        d.values.set('/1/0/6', { path: '/1/0/6', type: 'boolean', value: true });
        const r = await command('dev1', { reqID: 19, msgType: 'read', data: { path: '/1/0/6' } });
        expect(d.requests.at(-1)).toBeDefined();
        expect(r.data.content).toEqual([{ path: '/1/0/6', value: true }]);
      });

      it('observe: first answer with seqNum, notifications with the command fields, stale ones dropped, cancel-observe', async () => {
        const o = await command('dev1', { reqID: 20, msgType: 'observe', data: { path: '/3303/0/5700' } });
        expect(o).toEqual({ reqID: 20, msgType: 'observe', seqNum: 1, data: { reqPath: '/3303/0/5700', code: '2.05', codeMsg: 'content', content: [{ path: '/3303/0/5700', value: 21.5 }] } });
        const from = h.probe.mark();
        d.set('/3303/0/5700', 22.5);
        d.notify('/3303/0/5700', false, 5);
        const n1 = await h.probe.waitOn('lwm2m/dev1/up/notify', {}, 5000, from);
        expectValidUplink(n1.json);
        expect(n1.json).toEqual({ reqID: 20, msgType: 'notify', seqNum: 5, data: { reqPath: '/3303/0/5700', code: '2.05', codeMsg: 'content', content: [{ path: '/3303/0/5700', value: 22.5 }] } });
        d.set('/3303/0/5700', 1);
        d.notify('/3303/0/5700', false, 3); // older than 5: dropped
        d.set('/3303/0/5700', 23.5);
        d.notify('/3303/0/5700', true, 6); // confirmable
        const n2 = await h.probe.waitFor((m) => m.topic === 'lwm2m/dev1/up/notify' && m.json.seqNum === 6, 5000, from);
        expect(n2.json.data).toMatchObject({ content: [{ path: '/3303/0/5700', value: 23.5 }] });
        expect(h.probe.on('lwm2m/dev1/up/notify').filter((m) => m.json.seqNum === 3)).toHaveLength(0);
        const c = await command('dev1', { reqID: 21, msgType: 'cancel-observe', data: { path: '/3303/0/5700' } });
        expect(c.msgType).toBe('cancel-observe');
        expect(c.data).toMatchObject({ reqPath: '/3303/0/5700', code: '2.05' });
        expect(d.requests.at(-1)?.observe).toBe(1);
        expect(d.observations.size).toBe(0);
      });

      it('an empty ACK publishes msgType "ack", then the separate response', async () => {
        d.behaviour.separateAfterMs = 1500;
        const from = h.probe.mark();
        await h.probe.publish('lwm2m/dev1/dn', { reqID: 30, msgType: 'read', data: { path: '/3/0/0' } });
        const ack = await h.probe.waitOn('lwm2m/dev1/up/resp', { msgType: 'ack' }, 5000, from);
        expectValidUplink(ack.json);
        expect(ack.json).toMatchObject({ reqID: 30, msgType: 'ack', data: { path: '/3/0/0', reqPath: '/3/0/0' } });
        const res = await h.probe.waitOn('lwm2m/dev1/up/resp', { msgType: 'read' }, 5000, from);
        expect(res.json).toMatchObject({ reqID: 30, data: { code: '2.05' } });
      });

      it('bad commands get a 4.00 answer with the echoed fields and an error text', async () => {
        const cases: [unknown, string][] = [
          ['not json {', 'JSON'],
          [{ reqID: 40, data: { path: '/3/0/0' } }, 'msgType'],
          [{ reqID: 41, msgType: 'dance', data: { path: '/3/0/0' } }, 'msgType'],
          [{ reqID: 42, msgType: 'read', data: { path: '/3/x/0' } }, 'path'],
          [{ reqID: 43, msgType: 'read', data: {} }, 'path'],
          [{ reqID: 44, msgType: 'write', data: { path: '/3/0/14', type: 'Strung', value: 'x' } }, 'type'],
          [{ reqID: 45, msgType: 'write', data: { path: '/3/0/9', type: 'Integer', value: 'abc' } }, 'integer'],
          [{ reqID: 46, msgType: 'execute', data: { path: '/3/0' } }, 'execute'],
          [{ reqID: 47, msgType: 'read' }, 'data'],
          [[1, 2], 'object'],
        ];
        for (const [cmd, words] of cases) {
          const from = h.probe.mark();
          await h.probe.publish('lwm2m/dev1/dn', typeof cmd === 'string' ? cmd : JSON.stringify(cmd));
          const m = await h.probe.waitOn('lwm2m/dev1/up/resp', {}, 5000, from);
          expectValidUplink(m.json);
          const data = m.json.data as Record<string, unknown>;
          expect(data.code).toBe('4.00');
          expect(data.codeMsg).toBe('bad_request');
          expect(String(data.error)).toMatch(new RegExp(words, 'i'));
          if (typeof cmd === 'object' && cmd !== null && !Array.isArray(cmd)) expect(m.json.reqID).toBe((cmd as Record<string, unknown>).reqID);
        }
        // the device still works
        const r = await command('dev1', { reqID: 48, msgType: 'read', data: { path: '/3/0/0' } });
        expect(r.data.code).toBe('2.05');
      });

      it('a command to an endpoint that is not registered gets 4.04', async () => {
        const r = await command('nobody', { reqID: 50, msgType: 'read', data: { path: '/3/0/0' } });
        expect(r).toMatchObject({ reqID: 50, msgType: 'read', data: { reqPath: '/3/0/0', code: '4.04', codeMsg: 'not_found' } });
        expect(String(r.data.error)).toMatch(/not registered/);
      });

      it('deregistration answers the commands still queued with 4.04', async () => {
        d.behaviour.separateAfterMs = 1500;
        await h.probe.publish('lwm2m/dev1/dn', { reqID: 60, msgType: 'read', data: { path: '/3/0/0' } });
        await h.probe.waitOn('lwm2m/dev1/up/resp', { msgType: 'ack', reqID: 60 });
        await h.probe.publish('lwm2m/dev1/dn', { reqID: 61, msgType: 'read', data: { path: '/3/0/1' } });
        await h.probe.publish('lwm2m/dev1/dn', { reqID: 62, msgType: 'read', data: { path: '/3/0/2' } });
        await sleep(100);
        await d.deregister();
        const m = await h.probe.waitOn('lwm2m/dev1/up/resp', { reqID: 62 }, 5000);
        expect(m.json.data).toMatchObject({ code: '4.04' });
      });
    });

    udpOnly(() => {
      describe('CoAP reliability through MQTT', () => {
        let raw: RawDevice;
        beforeEach(async () => {
          h = await startHarnessFor('lwm2m:\n  coap:\n    ack_timeout: 0.1\n    ack_random_factor: 1\n    max_retransmit: 2\n');
          raw = await RawDevice.start(h.gw.udpPort);
          expect((await raw.register('raw1')).code).toBe('2.01');
          await h.probe.waitOn('lwm2m/raw1/up/register');
        });
        afterEach(async () => {
          await raw.close();
        });

        it('a device RST publishes coap_reset', async () => {
          raw.onPacket((p) => {
            if (p.confirmable && p.code === '0.01') raw.reset(p);
          });
          await h.probe.publish('lwm2m/raw1/dn', { reqID: 70, msgType: 'read', data: { path: '/3/0/0' } });
          const m = await h.probe.waitOn('lwm2m/raw1/up/resp', { reqID: 70 });
          expectValidUplink(m.json);
          expect(m.json).toMatchObject({ reqID: 70, msgType: 'coap_reset', data: { reqPath: '/3/0/0' } });
        });

        it('retransmits with the same message id, then publishes coap_timeout and frees the queue', async () => {
          await h.probe.publish('lwm2m/raw1/dn', { reqID: 71, msgType: 'read', data: { path: '/3/0/0' } });
          await h.probe.publish('lwm2m/raw1/dn', { reqID: 72, msgType: 'read', data: { path: '/3/0/1' } });
          const m = await h.probe.waitOn('lwm2m/raw1/up/resp', { reqID: 71 }, 5000);
          expect(m.json).toMatchObject({ msgType: 'coap_timeout', data: { reqPath: '/3/0/0' } });
          const first = raw.received.filter((p) => p.code === '0.01' && p.options.some((o) => o.name === 'Uri-Path' && o.value.toString() === '0') && p.options.filter((o) => o.name === 'Uri-Path').length === 3 && p.options.filter((o) => o.name === 'Uri-Path')[2].value.toString() === '0');
          expect(first).toHaveLength(3); // the original + max_retransmit 2
          expect(new Set(first.map((p) => p.messageId)).size).toBe(1);
          // the second command went out only after the first was given up (one in flight)
          const second = await raw.waitFor((p) => p.code === '0.01' && p.options.filter((o) => o.name === 'Uri-Path')[2]?.value.toString() === '1');
          raw.reply(second, '2.05', Buffer.from('Model X'), 0);
          const r = await h.probe.waitOn('lwm2m/raw1/up/resp', { reqID: 72 }, 5000);
          expect(r.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/1', value: 'Model X' }] });
        });

        it('keeps at most one command in flight per device', async () => {
          for (const id of [80, 81, 82]) await h.probe.publish('lwm2m/raw1/dn', { reqID: id, msgType: 'read', data: { path: `/3/0/${id - 80}` } });
          await sleep(300);
          const requests = () => raw.received.filter((p) => p.code === '0.01');
          const distinct = () => new Set(requests().map((p) => p.messageId)).size;
          expect(distinct()).toBe(1);
          raw.reply(requests()[0], '2.05', Buffer.from('a'), 0);
          await h.probe.waitOn('lwm2m/raw1/up/resp', { reqID: 80 });
          await raw.waitFor((p) => p.code === '0.01' && p.messageId !== requests()[0].messageId);
          expect(distinct()).toBe(2);
        });

        it('a malformed datagram gets RST (CON) and the device keeps working', async () => {
          const from = raw.received.length;
          raw.sendRaw(Buffer.from([0x40, 0x01, 0x12, 0x34, 0xff])); // CON GET with payload marker and no payload
          const rst = await raw.waitFor((p) => p.reset && p.messageId === 0x1234, 3000, from);
          expect(rst.reset).toBe(true);
          raw.onPacket((p) => {
            if (p.code === '0.01') raw.reply(p, '2.05', Buffer.from('ok'), 0);
          });
          const r = await command('raw1', { reqID: 90, msgType: 'read', data: { path: '/3/0/0' } });
          expect(r.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'ok' }] });
        });
      });
    });

    describe('queue mode', () => {
      it('holds commands while the device sleeps and sends them after its next update, one at a time', async () => {
        h = await startHarnessFor('lwm2m:\n  qmode_time_window: 1\n');
        const d = await registered('sleepy', { binding: 'UQ' });
        await sleep(1300);
        const from = h.probe.mark();
        await h.probe.publish('lwm2m/sleepy/dn', { reqID: 100, msgType: 'read', data: { path: '/3/0/0' } });
        await h.probe.publish('lwm2m/sleepy/dn', { reqID: 101, msgType: 'read', data: { path: '/3/0/1' } });
        await sleep(500);
        expect(d.requests).toHaveLength(0);
        expect((await d.update()).code).toBe('2.04');
        const r1 = await h.probe.waitOn('lwm2m/sleepy/up/resp', { reqID: 100 }, 5000, from);
        const r2 = await h.probe.waitOn('lwm2m/sleepy/up/resp', { reqID: 101 }, 5000, from);
        expect(r1.json.data).toMatchObject({ code: '2.05' });
        expect(r2.json.data).toMatchObject({ code: '2.05' });
        expect(d.requests.map((r) => r.uriPath.join('/'))).toEqual(['3/0/0', '3/0/1']);
      });

      it('LwM2M 1.1 announces queue mode with the Q query flag (b=U): commands wait for its update', async () => {
        h = await startHarnessFor('lwm2m:\n  qmode_time_window: 1\n');
        const d = await registered('sleepy11', { lwm2m: '1.1', binding: 'U', query: ['Q'] });
        await sleep(1300);
        const from = h.probe.mark();
        await h.probe.publish('lwm2m/sleepy11/dn', { reqID: 102, msgType: 'read', data: { path: '/3/0/0' } });
        await sleep(500);
        expect(d.requests).toHaveLength(0);
        expect((await d.update()).code).toBe('2.04');
        const r = await h.probe.waitOn('lwm2m/sleepy11/up/resp', { reqID: 102 }, 5000, from);
        expect(r.json.data).toMatchObject({ code: '2.05' });
      });

      it('commands waiting for a sleeping device pass to its new registration when it re-registers', async () => {
        h = await startHarnessFor('lwm2m:\n  qmode_time_window: 1\n');
        const d = await registered('reboot', { binding: 'UQ' });
        await sleep(1300);
        await h.probe.publish('lwm2m/reboot/dn', { reqID: 105, msgType: 'read', data: { path: '/3/0/2' } });
        await sleep(300);
        expect(d.requests).toHaveLength(0);
        expect((await d.register()).code).toBe('2.01');
        const r = await h.probe.waitOn('lwm2m/reboot/up/resp', { reqID: 105 }, 5000);
        expect(r.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/2', value: '345000123' }] });
      });

      it('a queued command past mheaders.ttl is answered 5.04; ttl 0 bypasses the queue', async () => {
        h = await startHarnessFor('lwm2m:\n  qmode_time_window: 1\n');
        const d = await registered('sleepy2', { binding: 'UQ' });
        await sleep(1300);
        await h.probe.publish('lwm2m/sleepy2/dn', { reqID: 110, msgType: 'read', mheaders: { ttl: 1 }, data: { path: '/3/0/0' } });
        const expired = await h.probe.waitOn('lwm2m/sleepy2/up/resp', { reqID: 110 }, 5000);
        expect(expired.json).toMatchObject({ mheaders: { ttl: 1 }, data: { code: '5.04' } });
        expect(d.requests).toHaveLength(0);
        await h.probe.publish('lwm2m/sleepy2/dn', { reqID: 111, msgType: 'read', mheaders: { ttl: 0 }, data: { path: '/3/0/0' } });
        const now = await h.probe.waitOn('lwm2m/sleepy2/up/resp', { reqID: 111 }, 5000);
        expect(now.json.data).toMatchObject({ code: '2.05' });
      });
    });

    describe('object definitions', () => {
      // 32769 is in the private range, which the OMA registry never assigns: no built-in definition.
      const privateValue = { path: '/32769/0/1', type: 'string' as const, value: 'ACME' };

      it('without a definition a TLV answer is still decoded: raw values as base64', async () => {
        h = await startHarnessFor();
        const d = await registered('nodef', { entries: [privateValue] });
        d.behaviour.resourceFormat = 11542;
        const r = await command('nodef', { reqID: 1, msgType: 'read', data: { path: '/32769/0' } });
        expect(r.data).toMatchObject({ code: '2.05', content: [{ path: '/32769/0/1', value: Buffer.from('ACME').toString('base64') }] });
      });

      it('every OMA registry object is built in: a TLV answer of the LwM2M Gateway object (25) is typed', async () => {
        h = await startHarnessFor();
        const d = await registered('builtin', { entries: [{ path: '/25/0/0', type: 'string', value: 'node-7' }] });
        d.behaviour.resourceFormat = 11542;
        const r = await command('builtin', { reqID: 1, msgType: 'read', data: { path: '/25/0' } });
        expect(r.data).toMatchObject({ code: '2.05', content: [{ path: '/25/0/0', value: 'node-7' }] });
      });

      it('lwm2m.xml_dir adds OMA XML definitions: the same answer is typed', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-xml-dir-'));
        try {
          fs.writeFileSync(
            path.join(dir, '32769.xml'),
            `<LWM2M><Object><Name>ACME Info</Name><ObjectID>32769</ObjectID><Resources>
              <Item ID="1"><Name>Maker</Name><Operations>R</Operations><Type>String</Type></Item>
            </Resources></Object></LWM2M>`,
          );
          h = await startHarnessFor(`lwm2m:\n  xml_dir: "${dir}"\n`);
          const d = await registered('withdef', { entries: [privateValue] });
          d.behaviour.resourceFormat = 11542;
          const r = await command('withdef', { reqID: 1, msgType: 'read', data: { path: '/32769/0' } });
          expect(r.data).toMatchObject({ code: '2.05', content: [{ path: '/32769/0/1', value: 'ACME' }] });
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    });

    describe('configuration-driven behaviour', () => {
      it('auto_observe true observes every object-list entry but the management objects', async () => {
        h = await startHarnessFor('lwm2m:\n  auto_observe: true\n');
        const d = await h.device({ endpoint: 'auto', links: '</1/0>,</3/0>,</3303/0>' });
        await d.register();
        const a = await h.probe.waitFor((m) => m.topic === 'lwm2m/auto/up/resp' && m.json.msgType === 'observe' && (m.json.data as { reqPath: string }).reqPath === '/3303/0');
        expect(a.json).toMatchObject({ msgType: 'observe', is_auto_observe: true, data: { code: '2.05' } });
        expect(a.json.reqID).toBeUndefined();
        await h.probe.waitFor((m) => m.topic === 'lwm2m/auto/up/resp' && (m.json.data as { reqPath: string }).reqPath === '/3/0');
        expect(d.requests.map((r) => r.uriPath.join('/'))).toEqual(['3/0', '3303/0']);
        const from = h.probe.mark();
        d.notify('/3303/0');
        const n = await h.probe.waitOn('lwm2m/auto/up/notify', {}, 5000, from);
        expect(n.json).toMatchObject({ msgType: 'notify', is_auto_observe: true });
      });

      it('auto_observe as a list observes the listed paths present in the object list, in list order', async () => {
        h = await startHarnessFor('lwm2m:\n  auto_observe: ["/3303/0/5700", "/9/0", "/3/0/9"]\n');
        const d = await h.device({ endpoint: 'auto2', links: '</3/0>,</3303/0>' });
        await d.register();
        await h.probe.waitFor((m) => m.topic === 'lwm2m/auto2/up/resp' && (m.json.data as { reqPath: string }).reqPath === '/3/0/9');
        expect(d.requests.map((r) => r.uriPath.join('/'))).toEqual(['3303/0/5700', '3/0/9']);
      });

      it('update_msg_publish_condition contains_object_list publishes only updates with links, and still answers 2.04', async () => {
        h = await startHarnessFor('lwm2m:\n  update_msg_publish_condition: contains_object_list\n');
        const d = await registered('cond');
        expect((await d.update()).code).toBe('2.04');
        expect((await d.update([], '</3/0>,</4/0>')).code).toBe('2.04');
        const u = await h.probe.waitOn('lwm2m/cond/up/update');
        expect(u.json.data).toMatchObject({ objectList: ['/3/0', '/4/0'] });
        await sleep(200);
        expect(h.probe.on('lwm2m/cond/up/update')).toHaveLength(1);
      });

      it('mountpoint placeholders and translators with QoS', async () => {
        h = await startHarnessFor(
          [
            'lwm2m:',
            '  mountpoint: "lwm2m/${username}/${clientid}/${peerhost}/"',
            '  translators:',
            '    command: { topic: "cmd/#", qos: 1 }',
            '    response: { topic: "answer", qos: 1 }',
            '    register: { topic: "hello", qos: 2 }',
          ].join('\n'),
        );
        const d = await h.device({ endpoint: 'mp', query: ['imei=4711', 'device_id=dev-9'] });
        await d.register();
        const prefix = 'lwm2m/4711/dev-9/127.0.0.1/';
        const reg = await h.probe.waitOn(prefix + 'hello');
        expect(reg.json.msgType).toBe('register');
        await h.probe.publish(prefix + 'cmd/x', { reqID: 120, msgType: 'read', data: { path: '/3/0/0' } });
        const r = await h.probe.waitOn(prefix + 'answer', { reqID: 120 });
        expect(r.json.data).toMatchObject({ code: '2.05' });
      });
    });
  });
}
