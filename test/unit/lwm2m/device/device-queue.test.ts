/**
 * The engine's per-device request queue: one request in flight, order, the hold until the
 * registration is answered, queue mode, time-to-live, the bound and `ttl: 0`, and failures that
 * must neither lose an answer nor stall the queue.
 */
import { CodecError } from '../../../../src/lwm2m/codec/codec-error';
import { CONTENT, Harness, read, registration, tick } from './engine-harness';

describe('DeviceManager request queue', () => {
  let h: Harness;

  afterEach(() => {
    h.close();
    jest.restoreAllMocks();
  });

  describe('one request in flight', () => {
    it('sends the next request only when the one in flight is answered, in the order submitted', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      for (let i = 0; i < 4; i++) h.submit(device, `r${i}`, read(`/3/0/${i}`));
      expect(h.server.sentPaths()).toEqual(['/3/0/0']);
      expect(device.inFlight).toBe(true);
      expect(device.queue.size).toBe(3);

      h.sent(0).listener.onResponse(CONTENT('a'));
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
      h.sent(1).listener.onResponse({ code: '4.04' });
      h.sent(2).listener.onResponse(CONTENT('c'));
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1', '/3/0/2', '/3/0/3']);
      h.sent(3).listener.onResponse(CONTENT('d'));

      expect(h.handler.answerKinds()).toEqual(['r0:response', 'r1:response', 'r2:response', 'r3:response']);
      expect(h.handler.answers()[1].outcome).toEqual({ kind: 'response', response: { code: '4.04' } });
      expect(device.inFlight).toBe(false);
      expect(device.queue.size).toBe(0);
    });

    it('sends the requests to the registration of the device', async () => {
      h = new Harness();
      const reg = registration('dev');
      const device = await h.register(reg);
      h.submit(device, 'r0');
      expect(h.sent(0).reg).toBe(reg);
    });

    it('an empty ACK frees the slot (the next request goes) and answers `ack`; a timeout after it is `acknowledged`', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      h.submit(device, 'r0', read('/3/0/0'));
      h.submit(device, 'r1', read('/3/0/1'));
      h.sent(0).listener.onAck?.();
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
      expect(h.handler.answerKinds()).toEqual(['r0:ack']);
      // The separate response that never comes: the slot is not freed twice.
      h.sent(0).listener.onTimeout?.();
      expect(h.handler.answers()[1].outcome).toEqual({ kind: 'timeout', acknowledged: true });
      expect(device.inFlight).toBe(true);
      h.sent(1).listener.onTimeout?.();
      expect(h.handler.answers()[2].outcome).toEqual({ kind: 'timeout', acknowledged: false });
      expect(device.inFlight).toBe(false);
    });

    it('reset, timeout and transfer failure each answer the request and free the slot', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      for (let i = 0; i < 4; i++) h.submit(device, `r${i}`, read(`/3/0/${i}`));
      h.sent(0).listener.onReset?.();
      h.sent(1).listener.onTimeout?.();
      h.sent(2).listener.onError?.(new Error('block 3 lost'));
      expect(h.handler.answers().map((a) => a.outcome)).toEqual([
        { kind: 'reset' },
        { kind: 'timeout', acknowledged: false },
        { kind: 'failed', code: '5.00', error: 'block 3 lost' },
      ]);
      expect(h.server.sent).toHaveLength(4);
    });

    it('a response the listener could not handle is reported to handler.failed and frees the slot', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      h.submit(device, 'r0', read('/3/0/0'));
      h.submit(device, 'r1', read('/3/0/1'));
      const bug = new TypeError('model exploded');
      h.sent(0).listener.onResponseFailed(bug);
      expect(h.handler.events).toEqual([expect.objectContaining({ kind: 'failed', context: 'r0', err: bug, notification: false })]);
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
    });

    it('keeps devices independent: a busy device does not hold back another', async () => {
      h = new Harness();
      const a = await h.register(registration('a'));
      const b = await h.register(registration('b'));
      h.submit(a, 'a0', read('/3/0/0'));
      h.submit(a, 'a1', read('/3/0/1'));
      h.submit(b, 'b0', read('/3/0/2'));
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/2']);
      expect(h.server.sent.map((s) => s.reg.endpoint)).toEqual(['a', 'b']);
    });
  });

  describe('held until the registration is answered', () => {
    it('does not send requests submitted during the `registered` event until after setImmediate', async () => {
      h = new Harness();
      let sentDuringEvent = -1;
      h.manager.on('registered', (device) => {
        h.submit(device, 'auto0', read('/3/0/0'), { auto: true });
        h.submit(device, 'auto1', read('/3/0/1'), { auto: true });
        sentDuringEvent = h.server.sent.length;
      });
      h.server.emit('registered', registration('dev'));
      expect(sentDuringEvent).toBe(0);
      expect(h.server.sent).toHaveLength(0);
      const device = h.device('dev');
      expect(device.held).toBe(true);
      expect(device.queue.size).toBe(2);
      await tick();
      expect(device.held).toBe(false);
      expect(h.server.sentPaths()).toEqual(['/3/0/0']);
      h.sent(0).listener.onResponse(CONTENT());
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
    });
  });

  describe('queue mode', () => {
    it('sends nothing to a sleeping device until it speaks (update), then drains the queue while it is awake', async () => {
      h = new Harness({ qmodeTimeWindow: 10 });
      const reg = registration('sleepy', true);
      const device = await h.register(reg);
      device.markAsleep();
      for (let i = 0; i < 3; i++) h.submit(device, `r${i}`, read(`/3/0/${i}`));
      expect(h.server.sent).toHaveLength(0);
      expect(device.queue.size).toBe(3);

      h.server.emit('updated', reg, false);
      // The update's answer goes first: the queue goes on the next turn of the event loop.
      expect(h.server.sent).toHaveLength(0);
      await tick();
      expect(h.server.sentPaths()).toEqual(['/3/0/0']);
      h.sent(0).listener.onResponse(CONTENT());
      h.sent(1).listener.onResponse(CONTENT());
      h.sent(2).listener.onResponse(CONTENT());
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1', '/3/0/2']);
      expect(h.handler.answerKinds()).toEqual(['r0:response', 'r1:response', 'r2:response']);
    });

    it('an LwM2M Send wakes a sleeping device too', async () => {
      h = new Harness();
      const reg = registration('sleepy', true);
      const device = await h.register(reg);
      device.markAsleep();
      h.submit(device, 'r0');
      h.server.emit('send', reg, [{ path: '/3303/0/5700', type: 'float', value: 21.5 }]);
      await tick();
      expect(h.server.sent).toHaveLength(1);
    });

    it('counts the device asleep once qmodeTimeWindow has passed since it last spoke', async () => {
      h = new Harness({ qmodeTimeWindow: 10 });
      const reg = registration('sleepy', true);
      const t0 = Date.now();
      const now = jest.spyOn(Date, 'now').mockReturnValue(t0);
      const device = await h.register(reg);
      now.mockReturnValue(t0 + 10_000);
      h.submit(device, 'in-window', read('/3/0/0'));
      expect(h.server.sent).toHaveLength(1);
      // Its answer is a message from the device: the window starts again from it.
      now.mockReturnValue(t0 + 15_000);
      h.sent(0).listener.onResponse(CONTENT());
      now.mockReturnValue(t0 + 25_001);
      h.submit(device, 'too-late', read('/3/0/1'));
      expect(h.server.sent).toHaveLength(1);
      expect(device.queue.size).toBe(1);
      now.mockReturnValue(t0 + 30_000);
      h.server.emit('updated', reg, false);
      await tick();
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
    });

    it('a timeout puts a queue-mode device back to sleep: the rest of the queue waits for its next update', async () => {
      h = new Harness();
      const reg = registration('sleepy', true);
      const device = await h.register(reg);
      for (let i = 0; i < 3; i++) h.submit(device, `r${i}`, read(`/3/0/${i}`));
      h.sent(0).listener.onTimeout?.();
      expect(h.handler.answerKinds()).toEqual(['r0:timeout']);
      expect(h.server.sent).toHaveLength(1);
      expect(device.isAwake(Date.now(), 10)).toBe(false);
      expect(device.queue.size).toBe(2);
      h.server.emit('updated', reg, false);
      await tick();
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
    });

    it('a timeout does not put a device that is not in queue mode to sleep', async () => {
      h = new Harness();
      const device = await h.register(registration('awake', false));
      h.submit(device, 'r0', read('/3/0/0'));
      h.submit(device, 'r1', read('/3/0/1'));
      h.sent(0).listener.onTimeout?.();
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
    });

    it('ignores updates and sends of a registration that is no longer the current one', async () => {
      h = new Harness();
      const old = registration('sleepy', true, 'old');
      await h.register(old);
      h.server.emit('deregistered', old, 'replaced');
      const reg = registration('sleepy', true, 'new');
      const device = await h.register(reg, old);
      device.markAsleep();
      h.submit(device, 'r0');
      const updated = jest.fn();
      h.manager.on('updated', updated);
      h.server.emit('updated', old, false);
      h.server.emit('send', old, []);
      await tick();
      expect(updated).not.toHaveBeenCalled();
      expect(h.server.sent).toHaveLength(0);
    });
  });

  describe('time-to-live', () => {
    it('expireQueued(now) answers `expired` the requests past their ttl, keeps the others in order', async () => {
      h = new Harness();
      const reg = registration('sleepy', true);
      const device = await h.register(reg);
      device.markAsleep();
      const t0 = Date.now();
      h.submit(device, 'short', read('/3/0/0'), { ttl: 1 });
      h.submit(device, 'long', read('/3/0/1'), { ttl: 60 });
      h.submit(device, 'short2', read('/3/0/2'), { ttl: 2 });
      h.submit(device, 'forever', read('/3/0/3'), { ttl: Infinity });

      h.manager.expireQueued(t0 + 500);
      expect(h.handler.events).toHaveLength(0);
      h.manager.expireQueued(t0 + 5_000);
      expect(h.handler.answers()).toEqual([
        { context: 'short', outcome: { kind: 'expired' } },
        { context: 'short2', outcome: { kind: 'expired' } },
      ]);
      expect(device.queue.size).toBe(2);
      h.manager.expireQueued(t0 + 10 * 365 * 24 * 3600 * 1000);
      expect(h.handler.answerKinds()).toEqual(['short:expired', 'short2:expired', 'long:expired']);
      expect(device.queue.size).toBe(1);

      h.server.emit('updated', reg, false);
      await tick();
      expect(h.server.sentPaths()).toEqual(['/3/0/3']);
    });

    it('answers `expired` a request found past its ttl when it reaches the head of the queue, and sends the next', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      const t0 = Date.now();
      const now = jest.spyOn(Date, 'now').mockReturnValue(t0);
      h.submit(device, 'first', read('/3/0/0'));
      h.submit(device, 'stale', read('/3/0/1'), { ttl: 2 });
      h.submit(device, 'next', read('/3/0/2'), { ttl: 2 });
      now.mockReturnValue(t0 + 2_000);
      h.submit(device, 'fresh', read('/3/0/3'), { ttl: 2 });
      now.mockReturnValue(t0 + 3_000);
      h.sent(0).listener.onResponse(CONTENT());
      expect(h.handler.answerKinds()).toEqual(['first:response', 'stale:expired', 'next:expired']);
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/3']);
    });

    it('a request exactly at its ttl has not expired yet', async () => {
      h = new Harness();
      const device = await h.register(registration('sleepy', true));
      device.markAsleep();
      const t0 = Date.now();
      jest.spyOn(Date, 'now').mockReturnValue(t0);
      h.submit(device, 'r0', read('/3/0/0'), { ttl: 3 });
      h.manager.expireQueued(t0 + 3_000);
      expect(h.handler.events).toHaveLength(0);
      h.manager.expireQueued(t0 + 3_001);
      expect(h.handler.answerKinds()).toEqual(['r0:expired']);
    });

    it('never expires the request in flight', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      h.submit(device, 'r0', read('/3/0/0'), { ttl: 1 });
      h.manager.expireQueued(Date.now() + 60_000);
      expect(h.handler.events).toHaveLength(0);
      expect(device.inFlight).toBe(true);
    });

    it('the periodic sweep expires queued requests by itself', async () => {
      h = new Harness({ expirySweepMs: 5 });
      const device = await h.register(registration('sleepy', true));
      device.markAsleep();
      h.submit(device, 'r0', read('/3/0/0'), { ttl: 0.01 });
      h.submit(device, 'r1', read('/3/0/1'));
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(h.handler.answerKinds()).toEqual(['r0:expired']);
      expect(device.queue.size).toBe(1);
    });

    it('a handler that throws on `expired` gets `failed`, and the other expired requests are still answered', async () => {
      h = new Harness();
      const device = await h.register(registration('sleepy', true));
      device.markAsleep();
      h.handler.throwOnAnswer = (context) => context === 'r0';
      h.submit(device, 'r0', read('/3/0/0'), { ttl: 1 });
      h.submit(device, 'r1', read('/3/0/1'), { ttl: 1 });
      h.manager.expireQueued(Date.now() + 5_000);
      expect(h.log).toEqual(['answered r0 expired', 'failed r0', 'answered r1 expired']);
      expect(device.queue.size).toBe(0);
    });
  });

  describe('the bound (maxQueuedRequests)', () => {
    it('refuses the (max+1)th waiting request with 5.03 naming lwm2m.max_queued_commands, without calling its handler', async () => {
      h = new Harness({ maxQueuedRequests: 3 });
      const device = await h.register(registration('sleepy', true));
      device.markAsleep();
      for (let i = 0; i < 3; i++) h.submit(device, `r${i}`, read(`/3/0/${i}`));
      const refused = h.request('r3', read('/3/0/3'));
      expect(h.manager.room(device)).toBe(0);
      expect(h.manager.submit(device, refused)).toEqual({
        code: '5.03',
        error: 'endpoint sleepy has a full command queue (lwm2m.max_queued_commands: 3)',
      });
      expect(device.queue.size).toBe(3);
      expect(h.handler.events).toHaveLength(0);
    });

    it('counts only waiting requests: the one in flight does not take a place in the queue', async () => {
      h = new Harness({ maxQueuedRequests: 2 });
      const device = await h.register(registration('dev'));
      h.submit(device, 'inflight', read('/3/0/0'));
      expect(h.manager.room(device)).toBe(2);
      h.submit(device, 'q1', read('/3/0/1'));
      h.submit(device, 'q2', read('/3/0/2'));
      expect(h.manager.submit(device, h.request('q3', read('/3/0/3')))?.code).toBe('5.03');
      // Once one goes out there is room again.
      h.sent(0).listener.onResponse(CONTENT());
      expect(h.manager.room(device)).toBe(1);
      expect(h.manager.submit(device, h.request('q3', read('/3/0/3')))).toBeUndefined();
    });

    it('sends a `ttl: 0` request at once, past a full queue and a sleeping device, without taking the in-flight slot', async () => {
      h = new Harness({ maxQueuedRequests: 2 });
      const reg = registration('sleepy', true);
      const device = await h.register(reg);
      device.markAsleep();
      h.submit(device, 'q0', read('/3/0/0'));
      h.submit(device, 'q1', read('/3/0/1'));
      h.submit(device, 'direct', read('/3/0/9'), { ttl: 0 });
      expect(h.server.sentPaths()).toEqual(['/3/0/9']);
      expect(device.inFlight).toBe(false);
      expect(device.directInFlight).toBe(1);
      h.sent(0).listener.onResponse(CONTENT());
      expect(h.handler.answerKinds()).toEqual(['direct:response']);
      expect(device.directInFlight).toBe(0);
    });

    it('does not count a `ttl: 0` request against the one-in-flight rule', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      h.submit(device, 'queued', read('/3/0/0'));
      h.submit(device, 'direct', read('/3/0/1'), { ttl: 0 });
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
    });

    it('bounds `ttl: 0` requests in flight by the same number, and frees a place when one settles', async () => {
      h = new Harness({ maxQueuedRequests: 2 });
      const device = await h.register(registration('dev'));
      h.submit(device, 'd0', read('/3/0/0'), { ttl: 0 });
      h.submit(device, 'd1', read('/3/0/1'), { ttl: 0 });
      const refusal = h.manager.submit(device, h.request('d2', read('/3/0/2'), { ttl: 0 }));
      expect(refusal?.code).toBe('5.03');
      expect(refusal?.error).toContain('lwm2m.max_queued_commands: 2');
      expect(refusal?.error).toContain('endpoint dev');
      expect(h.server.sent).toHaveLength(2);
      // The queue's own bound is separate.
      h.submit(device, 'q0', read('/3/0/3'));
      expect(h.server.sent).toHaveLength(3);
      h.sent(1).listener.onTimeout?.();
      expect(device.directInFlight).toBe(1);
      expect(h.manager.submit(device, h.request('d3', read('/3/0/4'), { ttl: 0 }))).toBeUndefined();
      expect(h.server.sent).toHaveLength(4);
    });
  });

  describe('failures', () => {
    it('a handler that throws in `answered` gets `failed`, and the next request still goes', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      h.handler.throwOnAnswer = (context) => context === 'r0';
      h.submit(device, 'r0', read('/3/0/0'));
      h.submit(device, 'r1', read('/3/0/1'));
      h.sent(0).listener.onResponse(CONTENT());
      const failed = h.handler.events.find((e) => e.kind === 'failed');
      expect(failed).toMatchObject({ kind: 'failed', context: 'r0', notification: false });
      expect((failed as { err: Error }).err.message).toBe('handler broke on r0');
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
      expect(device.inFlight).toBe(true);
    });

    it('a send that throws a CodecError answers `failed` 4.00 "cannot encode: ..." and the queue goes on', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      h.server.failSend = (op) => {
        if (op.path.resourceId === 0) throw new CodecError('/3/0/0: 2^64 does not fit an integer');
      };
      h.submit(device, 'bad', read('/3/0/0'));
      h.submit(device, 'good', read('/3/0/1'));
      expect(h.handler.answers()[0]).toEqual({ context: 'bad', outcome: { kind: 'failed', code: '4.00', error: 'cannot encode: /3/0/0: 2^64 does not fit an integer' } });
      expect(h.server.sentPaths()).toEqual(['/3/0/1']);
      expect(device.inFlight).toBe(true);
    });

    it('a send that throws another error answers `failed` 4.00 with its message, also for `ttl: 0`', async () => {
      h = new Harness({ maxQueuedRequests: 1 });
      const device = await h.register(registration('dev'));
      h.server.failSend = () => {
        throw new Error('no channel for registration id-dev');
      };
      h.submit(device, 'q', read('/3/0/0'));
      h.submit(device, 'd', read('/3/0/1'), { ttl: 0 });
      expect(h.handler.answers()).toEqual([
        { context: 'q', outcome: { kind: 'failed', code: '4.00', error: 'no channel for registration id-dev' } },
        { context: 'd', outcome: { kind: 'failed', code: '4.00', error: 'no channel for registration id-dev' } },
      ]);
      expect(device.inFlight).toBe(false);
      expect(device.directInFlight).toBe(0);
      // The slots are free: the bound of 1 takes another of each.
      h.server.failSend = undefined;
      h.submit(device, 'd2', read('/3/0/2'), { ttl: 0 });
      h.submit(device, 'q2', read('/3/0/3'));
      expect(h.server.sent).toHaveLength(2);
    });

    it('drains a long queue of failing sends in a loop, not by recursion', async () => {
      h = new Harness({ maxQueuedRequests: 50_000 });
      const reg = registration('brick', true);
      const device = await h.register(reg);
      device.markAsleep();
      for (let i = 0; i < 50_000; i++) h.submit(device, `r${i}`, read('/3/0/0'));
      h.server.failSend = () => {
        throw new Error('no channel');
      };
      h.server.emit('updated', reg, false);
      await tick();
      expect(h.handler.answers()).toHaveLength(50_000);
      expect(device.queue.size).toBe(0);
      expect(device.inFlight).toBe(false);
    });

    it('a handler that submits from inside `answered` does not send two requests at once', async () => {
      h = new Harness();
      const device = await h.register(registration('dev'));
      h.handler.throwOnAnswer = (context) => {
        if (context === 'r0') h.submit(device, 'from-answer', read('/3/0/5'));
        return false;
      };
      h.submit(device, 'r0', read('/3/0/0'));
      h.submit(device, 'r1', read('/3/0/1'));
      h.sent(0).listener.onResponse(CONTENT());
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
      h.sent(1).listener.onResponse(CONTENT());
      expect(h.server.sentPaths()).toEqual(['/3/0/0', '/3/0/1', '/3/0/5']);
    });
  });
});
