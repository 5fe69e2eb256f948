/**
 * Finding 2 of the hardening issue: an endpoint bound to a DTLS credential must never be
 * registrable, updatable or deregistrable over plain UDP. Before the fix a plain UDP register of
 * `ep=dev1` replaced the DTLS registration and took its commands. The attacker sends from
 * 127.0.0.2; 50 DTLS bystanders keep answering reads during and after.
 */
import { startHarness, type Harness } from '../../support/harness';
import { Bystanders } from '../../support/bystanders';
import { RawDevice } from '../../support/raw-device';
import { whileBystandersRead } from '../../support/under-attack';

describe('attack: taking a DTLS endpoint over plain UDP', () => {
  let h: Harness;
  let attacker: RawDevice;

  beforeEach(async () => {
    h = await startHarness('', undefined, 'dtls');
    attacker = await RawDevice.start(h.gw.udpPort, '127.0.0.2');
  });
  afterEach(async () => {
    await attacker.close();
    await h.close();
  });

  it('refuses register, update and deregister of a DTLS-bound endpoint over UDP; the real device keeps it', async () => {
    const bystanders = await Bystanders.start(h, 50);
    const real = await h.device({ endpoint: 'dev1' });
    expect((await real.register()).code).toBe('2.01');
    const registered = await h.probe.waitOn('lwm2m/dev1/up/register');
    expect(registered.json.data).toMatchObject({ ep: 'dev1', security: 'psk', identity: 'dev1' });
    const regId = real.location[1];

    const from = h.probe.mark();
    await whileBystandersRead(bystanders, async () => {
      for (let i = 0; i < 20; i++) {
        const res = await attacker.register('dev1');
        expect(res.code).toBe('4.03');
      }
      // Update and deregister of the real registration id over UDP: 4.03, not 2.04 / 2.02.
      for (const code of ['POST', 'DELETE'] as const) {
        const res = await attacker.request(code, ['rd', regId]);
        expect(res.code).toBe('4.03');
      }
    });

    // Nothing was published for dev1: no deregister "replaced", no register from UDP.
    expect(h.probe.messages.slice(from).filter((m) => m.topic.startsWith('lwm2m/dev1/up/'))).toEqual([]);
    // Commands still reach the real device, and its own update works.
    await h.probe.publish('lwm2m/dev1/dn', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
    const answer = await h.probe.waitOn('lwm2m/dev1/up/resp', { reqID: 1 });
    expect(answer.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] });
    expect((await real.update()).code).toBe('2.04');
    await bystanders.expectAllAnswer();
  });

  it('refuses over UDP an endpoint the PSK file binds before its device ever registered', async () => {
    const bystanders = await Bystanders.start(h, 50);
    // The harness's PSK file now binds bystander-0 .. bystander-49; a never-registered one is made:
    const spare = await h.device({ endpoint: 'spare-1' }); // adds spare-1 to the PSK file, does not register
    const res = await attacker.register('spare-1');
    expect(res.code).toBe('4.03');
    expect(h.probe.messages.filter((m) => m.topic.startsWith('lwm2m/spare-1/'))).toEqual([]);
    expect((await spare.register()).code).toBe('2.01');
    await bystanders.expectAllAnswer();
  });

  it('keeps an endpoint that registered by certificate or PSK bound after it deregistered', async () => {
    const d = await h.device({ endpoint: 'gone-1' });
    expect((await d.register()).code).toBe('2.01');
    expect((await d.deregister()).code).toBe('2.02');
    expect((await attacker.register('gone-1')).code).toBe('4.03');
  });

  it('lets plain UDP register endpoints no credential names', async () => {
    const res = await attacker.register('plain-1');
    expect(res.code).toBe('2.01');
    const m = await h.probe.waitOn('lwm2m/plain-1/up/register');
    expect(m.json.data).toMatchObject({ ep: 'plain-1', security: 'none' });
    expect(m.json.data).not.toHaveProperty('identity');
  });
});

describe('listeners.udp.enable: false', () => {
  it('serves DTLS only: no UDP socket, DTLS devices register and answer', async () => {
    const h = await startHarness('listeners:\n  udp:\n    enable: false\n', undefined, 'dtls');
    try {
      expect(h.gw.udpPort).toBe(0);
      const d = await h.device({ endpoint: 'only-dtls' });
      expect((await d.register()).code).toBe('2.01');
      await h.probe.publish('lwm2m/only-dtls/dn', { reqID: 2, msgType: 'read', data: { path: '/3/0/0' } });
      expect((await h.probe.waitOn('lwm2m/only-dtls/up/resp', { reqID: 2 })).json.data).toMatchObject({ code: '2.05' });
    } finally {
      await h.close();
    }
  });

  it('refuses to start with neither UDP nor DTLS', async () => {
    await expect(startHarness('listeners:\n  udp:\n    enable: false\n')).rejects.toThrow(/listeners.udp.enable: no listener left/);
  });
});
