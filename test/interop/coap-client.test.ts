/**
 * Third-party CoAP peers from Debian's libcoap3-bin: coap-client-openssl registers with the
 * gateway, and coap-server-openssl, bound to the port the registration came from, plays the device:
 * it answers reads (block-wise when large, in the content format stored), and notifies observers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { startHarness, type Harness } from '../support/harness';
import { COAP_SERVER as SERVER, coapClient } from '../support/libcoap';
import { freeUdpPort } from '../support/ports';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('libcoap peers (coap-client-openssl, coap-server-openssl)', () => {
  let h: Harness;
  let server: ChildProcess | undefined;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    await h.close();
  });

  it('coap-client registers, the register message reaches MQTT, and the device answers a read', async () => {
    const port = await freeUdpPort();
    const uri = `coap://127.0.0.1:${h.gw.udpPort}/rd?ep=libcoap-dev&lt=120&b=U`;
    const reg = await coapClient(['-m', 'post', '-p', String(port), '-A', '127.0.0.1', '-t', '40', '-e', '</3/0>,</3303/0>', '-v', '7', uri]);
    expect(reg.status).toBe(0);
    const m = await h.probe.waitOn('lwm2m/libcoap-dev/up/register');
    expect(m.json).toEqual({
      msgType: 'register',
      data: { ep: 'libcoap-dev', lt: 120, b: 'U', lwm2m: '1.0', security: 'none', alternatePath: '/', objectList: ['/3/0', '/3303/0'] },
    });
    // The gateway answered 2.01 with Location-Path rd/<id> (libcoap logs the packets it receives at verbosity 7).
    expect(reg.output).toMatch(/c:2\.01 .*Location-Path:rd/);

    // The "device" now listens on the port it registered from and serves /3/0/0.
    server = spawn(SERVER, ['-A', '127.0.0.1', '-p', String(port), '-d', '10'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const put = await coapClient(['-m', 'put', '-t', '0', '-e', 'Open Mobile Alliance', `coap://127.0.0.1:${port}/3/0/0`]);
    expect(put.status).toBe(0);

    await h.probe.publish('lwm2m/libcoap-dev/dn', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
    const r = await h.probe.waitOn('lwm2m/libcoap-dev/up/resp', { reqID: 1 }, 10000);
    expect(r.json).toEqual({
      reqID: 1,
      msgType: 'read',
      data: { reqPath: '/3/0/0', code: '2.05', codeMsg: 'content', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] },
    });
  });

  /**
   * Registers `ep` from a fresh port with coap-client, then starts coap-server-openssl on that port
   * with dynamic resources (-d): PUT creates or replaces a resource, GET serves it, observably.
   */
  async function libcoapDevice(ep: string, links: string, query = ''): Promise<{ put: (path: string, format: number, body: string, args?: string[]) => Promise<void> }> {
    const port = await freeUdpPort();
    const reg = await coapClient(['-m', 'post', '-p', String(port), '-A', '127.0.0.1', '-t', '40', '-e', links, `coap://127.0.0.1:${h.gw.udpPort}/rd?ep=${ep}&lt=120${query}`]);
    expect(reg.status).toBe(0);
    await h.probe.waitOn(`lwm2m/${ep}/up/register`);
    server = spawn(SERVER, ['-A', '127.0.0.1', '-p', String(port), '-d', '10'], { stdio: 'ignore' });
    await pause(300);
    return {
      async put(path, format, body, args = []) {
        const r = await coapClient(['-m', 'put', '-t', String(format), ...args, '-e', body, `coap://127.0.0.1:${port}${path}`]);
        expect(r.status).toBe(0);
      },
    };
  }

  it('a 3,000-byte value comes back block-wise (Block2 from libcoap, 3 blocks of 1024) and is read whole', async () => {
    const device = await libcoapDevice('libcoap-blocks', '</3/0>');
    const big = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
    await device.put('/3/0/0', 0, big, ['-b', '1024']);
    await h.probe.publish('lwm2m/libcoap-blocks/dn', { reqID: 2, msgType: 'read', data: { path: '/3/0/0' } });
    const r = await h.probe.waitOn('lwm2m/libcoap-blocks/up/resp', { reqID: 2 }, 10000);
    expect(r.json).toEqual({ reqID: 2, msgType: 'read', data: { reqPath: '/3/0/0', code: '2.05', codeMsg: 'content', content: [{ path: '/3/0/0', value: big }] } });
  });

  it('a read asking for SenML JSON gets libcoap\'s SenML JSON representation, decoded', async () => {
    const device = await libcoapDevice('libcoap-senml', '</3/0>', '&lwm2m=1.1');
    await device.put('/3/0', 110, JSON.stringify([{ bn: '/3/0/', n: '0', vs: 'Open Mobile Alliance' }, { n: '9', v: 87 }]));
    await h.probe.publish('lwm2m/libcoap-senml/dn', { reqID: 3, msgType: 'read', data: { path: '/3/0', contentFormat: 'senml+json' } });
    const r = await h.probe.waitOn('lwm2m/libcoap-senml/up/resp', { reqID: 3 }, 10000);
    expect(r.json).toEqual({
      reqID: 3,
      msgType: 'read',
      data: { reqPath: '/3/0', code: '2.05', codeMsg: 'content', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }, { path: '/3/0/9', value: 87 }] },
    });
  });

  it('observe: libcoap notifies each change (RFC 7641), the notifications reach MQTT in order, cancel-observe ends it', async () => {
    const device = await libcoapDevice('libcoap-observed', '</3303/0>');
    await device.put('/3303/0/5700', 0, '21.5');
    await h.probe.publish('lwm2m/libcoap-observed/dn', { reqID: 4, msgType: 'observe', data: { path: '/3303/0/5700' } });
    const first = await h.probe.waitOn('lwm2m/libcoap-observed/up/resp', { reqID: 4 }, 10000);
    expect(first.json).toMatchObject({ reqID: 4, msgType: 'observe', data: { code: '2.05', content: [{ path: '/3303/0/5700', value: 21.5 }] } });
    let mark = h.probe.mark();
    await device.put('/3303/0/5700', 0, '22.5');
    const n1 = await h.probe.waitOn('lwm2m/libcoap-observed/up/notify', { reqID: 4 }, 10000, mark);
    expect(n1.json).toMatchObject({ reqID: 4, msgType: 'notify', data: { reqPath: '/3303/0/5700', code: '2.05', content: [{ path: '/3303/0/5700', value: 22.5 }] } });
    mark = h.probe.mark();
    await device.put('/3303/0/5700', 0, '23.5');
    const n2 = await h.probe.waitOn('lwm2m/libcoap-observed/up/notify', { reqID: 4 }, 10000, mark);
    expect(n2.json).toMatchObject({ data: { content: [{ path: '/3303/0/5700', value: 23.5 }] } });
    expect((n2.json as { seqNum: number }).seqNum).toBeGreaterThan((n1.json as { seqNum: number }).seqNum);
    await h.probe.publish('lwm2m/libcoap-observed/dn', { reqID: 5, msgType: 'cancel-observe', data: { path: '/3303/0/5700' } });
    const cancelled = await h.probe.waitOn('lwm2m/libcoap-observed/up/resp', { reqID: 5 }, 10000);
    expect(cancelled.json).toMatchObject({ reqID: 5, msgType: 'cancel-observe', data: { code: '2.05' } });
  });

  it('coap-client sending garbage queries and a bad version gets 4.00, the gateway keeps serving', async () => {
    const bad = await coapClient(['-m', 'post', '-v', '7', `coap://127.0.0.1:${h.gw.udpPort}/rd?ep=x&lwm2m=9.9`]);
    expect(bad.output).toMatch(/c:4\.00/);
    const unknown = await coapClient(['-m', 'get', '-v', '7', `coap://127.0.0.1:${h.gw.udpPort}/nothing`]);
    expect(unknown.output).toMatch(/c:4\.04/);
    const ok = await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', `coap://127.0.0.1:${h.gw.udpPort}/rd?ep=after-bad`]);
    expect(ok.status).toBe(0);
    await h.probe.waitOn('lwm2m/after-bad/up/register');
  });

  it('coap-client sends an LwM2M Send (POST /dp, SenML JSON) from its registered port: the send message reaches MQTT', async () => {
    const port = await freeUdpPort();
    const reg = await coapClient(['-m', 'post', '-p', String(port), '-A', '127.0.0.1', '-t', '40', '-e', '</3303/0>', `coap://127.0.0.1:${h.gw.udpPort}/rd?ep=libcoap-sender&lwm2m=1.1`]);
    expect(reg.status).toBe(0);
    await h.probe.waitOn('lwm2m/libcoap-sender/up/register');
    const senml = JSON.stringify([{ bn: '/3303/0/', n: '5700', v: 23.5, bt: 1700000000 }]);
    const sent = await coapClient(['-m', 'post', '-p', String(port), '-A', '127.0.0.1', '-t', '110', '-e', senml, '-v', '7', `coap://127.0.0.1:${h.gw.udpPort}/dp`]);
    expect(sent.output).toMatch(/c:2\.04/);
    const m = await h.probe.waitOn('lwm2m/libcoap-sender/up/send');
    expect(m.json).toEqual({ msgType: 'send', data: { content: [{ path: '/3303/0/5700', value: 23.5, time: 1700000000 }] } });
  });
});
