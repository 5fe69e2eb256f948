/**
 * The engine and the registration events: devices made and forgotten, the events it re-emits,
 * deregistration answering the requests that waited, and a replacing registration taking them over.
 */
import type { Device } from '../../../../src/lwm2m/device/device';
import type { Registration } from '../../../../src/lwm2m/registration/registration';
import { CONTENT, Harness, observe, read, registration, tick } from './engine-harness';

describe('DeviceManager registration events', () => {
  let h: Harness;

  afterEach(() => {
    h.close();
    jest.restoreAllMocks();
  });

  it('makes a device per registration and re-emits registered / updated / send with it', async () => {
    h = new Harness();
    const events: unknown[][] = [];
    h.manager.on('registered', (device: Device<string>, replaced?: Registration) => events.push(['registered', device.endpoint, replaced]));
    h.manager.on('updated', (device: Device<string>, carriedLinks: boolean) => events.push(['updated', device.endpoint, carriedLinks]));
    h.manager.on('send', (device: Device<string>, entries: unknown[]) => events.push(['send', device.endpoint, entries]));
    const reg = registration('dev');
    const device = await h.register(reg);
    expect(device.reg).toBe(reg);
    expect(device.endpoint).toBe('dev');
    expect(h.manager.size).toBe(1);
    expect([...h.manager.all()]).toEqual([device]);
    const entries = [{ path: '/3303/0/5700', type: 'float', value: 21.5 }];
    h.server.emit('updated', reg, true);
    h.server.emit('send', reg, entries);
    expect(events).toEqual([
      ['registered', 'dev', undefined],
      ['updated', 'dev', true],
      ['send', 'dev', entries],
    ]);
    await tick();
  });

  it('answers every waiting request `deregistered` with the reason, after the `deregistered` event', async () => {
    h = new Harness();
    const reg = registration('sleepy', true);
    const device = await h.register(reg);
    device.markAsleep();
    h.manager.on('deregistered', (r: Registration, reason: string, d?: Device<string>) => {
      h.log.push(`event deregistered ${r.id} ${reason} ${d === device}`);
    });
    h.submit(device, 'r0', read('/3/0/0'));
    h.submit(device, 'r1', read('/3/0/1'));
    h.server.emit('deregistered', reg, 'expired');
    expect(h.log).toEqual(['event deregistered id-sleepy expired true', 'answered r0 deregistered', 'answered r1 deregistered']);
    expect(h.handler.answers().map((a) => a.outcome)).toEqual([
      { kind: 'deregistered', reason: 'expired' },
      { kind: 'deregistered', reason: 'expired' },
    ]);
    expect(h.manager.device('sleepy')).toBeUndefined();
    expect(h.manager.size).toBe(0);
    expect(device.closed).toBe(true);
    expect(device.queue.size).toBe(0);
  });

  it('drops waiting auto requests silently on deregistration', async () => {
    h = new Harness();
    const reg = registration('sleepy', true);
    const device = await h.register(reg);
    device.markAsleep();
    h.submit(device, 'auto', observe('/3/0/9'), { auto: true });
    h.submit(device, 'user', read('/3/0/0'));
    h.server.emit('deregistered', reg, 'deregister');
    expect(h.handler.answerKinds()).toEqual(['user:deregistered']);
    expect(h.handler.events).toHaveLength(1);
  });

  it('a handler that throws on `deregistered` gets `failed` and the other requests are still answered', async () => {
    h = new Harness();
    const reg = registration('sleepy', true);
    const device = await h.register(reg);
    device.markAsleep();
    h.handler.throwOnAnswer = (context) => context === 'r0';
    h.submit(device, 'r0', read('/3/0/0'));
    h.submit(device, 'r1', read('/3/0/1'));
    h.server.emit('deregistered', reg, 'deregister');
    expect(h.log).toEqual(['answered r0 deregistered', 'failed r0', 'answered r1 deregistered']);
  });

  it('sends nothing more to a deregistered device, even when the request in flight is answered later', async () => {
    h = new Harness();
    const reg = registration('dev');
    const device = await h.register(reg);
    h.submit(device, 'inflight', read('/3/0/0'));
    h.submit(device, 'waiting', read('/3/0/1'));
    h.server.emit('deregistered', reg, 'deregister');
    // The request in flight is the CoAP exchange's to answer.
    expect(h.handler.answerKinds()).toEqual(['waiting:deregistered']);
    h.sent(0).listener.onResponse(CONTENT());
    expect(h.handler.answerKinds()).toEqual(['waiting:deregistered', 'inflight:response']);
    expect(h.server.sent).toHaveLength(1);
  });

  it('emits `deregistered` without a device for a registration it does not hold, and leaves the current device alone', async () => {
    h = new Harness();
    const stale = registration('dev', false, 'stale');
    const reg = registration('dev', false, 'current');
    const device = await h.register(reg);
    const seen: unknown[] = [];
    h.manager.on('deregistered', (r: Registration, reason: string, d?: Device<string>) => seen.push([r.id, reason, d]));
    h.server.emit('deregistered', stale, 'expired');
    expect(seen).toEqual([['stale', 'expired', undefined]]);
    expect(h.manager.device('dev')).toBe(device);
    expect(device.closed).toBe(false);
  });

  it('hands the waiting non-auto requests over, in order, to the registration that replaces the old one', async () => {
    h = new Harness();
    const old = registration('reboot', true, 'old');
    const oldDevice = await h.register(old);
    oldDevice.markAsleep();
    h.submit(oldDevice, 'a', read('/3/0/0'));
    h.submit(oldDevice, 'auto', observe('/3/0/9'), { auto: true });
    h.submit(oldDevice, 'b', read('/3/0/1'));
    h.submit(oldDevice, 'c', read('/3/0/2'));

    const seen: unknown[] = [];
    h.manager.on('deregistered', (r: Registration, reason: string) => seen.push(['deregistered', r.id, reason]));
    h.manager.on('registered', (d: Device<string>, replaced?: Registration) => seen.push(['registered', d.reg.id, replaced?.id, d.queue.size]));
    h.server.emit('deregistered', old, 'replaced');
    const next = registration('reboot', true, 'new');
    h.server.emit('registered', next, old);
    expect(seen).toEqual([
      ['deregistered', 'old', 'replaced'],
      ['registered', 'new', 'old', 3],
    ]);
    // Nobody is told `deregistered`: the requests live on.
    expect(h.handler.events).toHaveLength(0);
    expect(oldDevice.closed).toBe(true);
    const device = h.device('reboot');
    expect(device).not.toBe(oldDevice);
    expect(device.reg).toBe(next);
    // Held until the registration is answered, then sent to the new registration in order.
    expect(h.server.sent).toHaveLength(0);
    await tick();
    expect(h.server.sentPaths()).toEqual(['/3/0/0']);
    expect(h.sent(0).reg).toBe(next);
    h.sent(0).listener.onResponse(CONTENT());
    h.sent(1).listener.onResponse(CONTENT());
    expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1', '/3/0/2']);
    // The handler hears them with the new device.
    expect(h.handler.events.every((e) => e.device === device)).toBe(true);
  });

  it('keeps each handed-over request\'s enqueue time: its ttl runs on', async () => {
    h = new Harness();
    const t0 = Date.now();
    const now = jest.spyOn(Date, 'now').mockReturnValue(t0);
    const old = registration('reboot', true, 'old');
    const oldDevice = await h.register(old);
    oldDevice.markAsleep();
    h.submit(oldDevice, 'short', read('/3/0/0'), { ttl: 5 });
    h.submit(oldDevice, 'long', read('/3/0/1'), { ttl: 60 });
    now.mockReturnValue(t0 + 10_000);
    h.server.emit('deregistered', old, 'replaced');
    h.server.emit('registered', registration('reboot', true, 'new'), old);
    await tick();
    expect(h.handler.answerKinds()).toEqual(['short:expired']);
    expect(h.server.sentPaths()).toEqual(['/3/0/1']);
  });

  it('hands nothing over to a registration that does not name the replaced one', async () => {
    h = new Harness();
    const old = registration('reboot', true, 'old');
    const oldDevice = await h.register(old);
    oldDevice.markAsleep();
    h.submit(oldDevice, 'a', read('/3/0/0'));
    h.server.emit('deregistered', old, 'replaced');
    const other = await h.register(registration('reboot', true, 'new'));
    expect(other.queue.size).toBe(0);
    expect(h.server.sent).toHaveLength(0);
  });

  it('close() cancels every observation and sends nothing more', async () => {
    h = new Harness();
    const device = await h.register(registration('dev'));
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse({ code: '2.05', content: [], observe: 1 });
    h.submit(device, 'r1', read('/3/0/0'));
    h.sent(1).listener.onResponse(CONTENT());
    h.submit(device, 'r2', read('/3/0/1'));
    h.manager.close();
    expect(h.sent(0).exchange.cancelled).toBe(1);
    expect(device.observations()).toEqual([]);
    expect(device.closed).toBe(true);
    h.sent(2).listener.onResponse(CONTENT());
    h.submit(device, 'r3', read('/3/0/2'));
    expect(h.server.sent).toHaveLength(3);
  });
});
