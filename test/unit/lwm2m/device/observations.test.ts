/**
 * Observations in the engine: made by an accepted observe, matched to the request that made them,
 * ended by the device, by cancel-observe (with the observation's token), by a new observe of the
 * same target, or locally (cancelObservations, deregistration).
 */
import { compositeObservationKey } from '../../../../src/lwm2m/composite';
import type { Device } from '../../../../src/lwm2m/device/device';
import { observationKey } from '../../../../src/lwm2m/device/device-manager';
import { parsePath } from '../../../../src/lwm2m/path';
import type { Lwm2mResponse } from '../../../../src/lwm2m/response';
import { cancelObserve, cancelObserveComposite, CONTENT, Harness, observe, observeComposite, read, registration } from './engine-harness';

const ACCEPTED = (seq = 0): Lwm2mResponse => ({ code: '2.05', content: [{ path: '/3/0/9', type: 'integer', value: 100 }], observe: seq });
const NOTIFY = (value: number, seq: number): Lwm2mResponse => ({ code: '2.05', content: [{ path: '/3/0/9', type: 'integer', value }], observe: seq });

describe('DeviceManager observations', () => {
  let h: Harness;
  let device: Device<string>;

  beforeEach(async () => {
    h = new Harness();
    device = await h.register(registration('dev'));
  });

  afterEach(() => h.close());

  it('an observe answered 2.05 with Observe makes an observation, matched to the request that made it', () => {
    const request = h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(7));
    expect(h.handler.answers()).toEqual([{ context: 'obs', outcome: { kind: 'response', response: ACCEPTED(7) } }]);
    const observations = device.observations();
    expect(observations).toHaveLength(1);
    expect(observations[0].key).toBe('/3/0/9');
    expect(observations[0].paths).toBeUndefined();
    expect(observations[0].exchange).toBe(h.sent(0).exchange);
    expect(observations[0].request).toBe(request);
    expect(device.observation('/3/0/9')).toBe(observations[0]);
    // The observe request's slot is free: the next request goes.
    h.submit(device, 'r', read('/3/0/0'));
    expect(h.server.sent).toHaveLength(2);
  });

  it('is made before the observe request is answered (the handler already sees it)', () => {
    let seen = -1;
    h.handler.throwOnAnswer = () => {
      seen = device.observations().length;
      return false;
    };
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED());
    expect(seen).toBe(1);
  });

  it('makes no observation for a response without Observe, or with an error code', () => {
    h.submit(device, 'plain', observe('/3/0/9'));
    h.sent(0).listener.onResponse(CONTENT());
    h.submit(device, 'refused', observe('/3/0/10'));
    h.sent(1).listener.onResponse({ code: '4.05', observe: 3 });
    expect(device.observations()).toEqual([]);
    expect(h.handler.answerKinds()).toEqual(['plain:response', 'refused:response']);
  });

  it('makes an observation even when the first payload could not be decoded', () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    const undecodable: Lwm2mResponse = { code: '2.05', observe: 1, undecodable: { format: 'TLV (11542)', message: 'truncated', payload: Buffer.from([0xc8]) } };
    h.sent(0).listener.onResponse(undecodable);
    expect(device.observations().map((o) => o.key)).toEqual(['/3/0/9']);
  });

  it('does not make an observation out of a read that comes back with Observe', () => {
    h.submit(device, 'read', read('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(4));
    expect(device.observations()).toEqual([]);
  });

  it('hands notifications to the handler with the original request, in order, and keeps the observation', () => {
    const request = h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    h.submit(device, 'other', read('/3/0/0'));
    h.sent(0).listener.onNotification?.(NOTIFY(101, 2));
    h.sent(0).listener.onNotification?.(NOTIFY(102, 3));
    const notified = h.handler.events.filter((e) => e.kind === 'notified');
    expect(notified.map((e) => e.request)).toEqual([request, request]);
    expect(notified.map((e) => e.device)).toEqual([device, device]);
    expect(notified.map((e) => (e.kind === 'notified' ? e.response : undefined))).toEqual([NOTIFY(101, 2), NOTIFY(102, 3)]);
    expect(device.observations()).toHaveLength(1);
    // Notifications do not disturb the queue: the read is still the one in flight.
    expect(device.inFlight).toBe(true);
  });

  it('a notification with an error code ends the observation, after reaching the handler', () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    h.sent(0).listener.onNotification?.({ code: '4.04', observe: 2 });
    expect(h.log).toEqual(['answered obs response', 'notified obs 4.04']);
    expect(device.observations()).toEqual([]);
  });

  it('a notification without Observe (the device ended the observation) ends it', () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    h.sent(0).listener.onNotification?.({ code: '2.05', content: [] });
    expect(h.log).toEqual(['answered obs response', 'notified obs 2.05']);
    expect(device.observations()).toEqual([]);
  });

  it('an undecodable notification keeps the observation', () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    h.sent(0).listener.onNotification?.({ code: '2.05', observe: 2, undecodable: { format: 'TLV (11542)', message: 'x', payload: Buffer.alloc(1) } });
    expect(device.observations()).toHaveLength(1);
  });

  it('a handler that throws on a notification gets `failed` (notification: true); the observation stays', () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    h.handler.throwOnNotify = () => true;
    h.sent(0).listener.onNotification?.(NOTIFY(5, 2));
    expect(h.handler.events.at(-1)).toMatchObject({ kind: 'failed', context: 'obs', notification: true });
    expect(device.observations()).toHaveLength(1);
  });

  it('a notification the listener could not handle is reported with notification: true', () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    const bug = new TypeError('bad model');
    h.sent(0).listener.onNotificationFailed?.(bug);
    expect(h.handler.events.at(-1)).toMatchObject({ kind: 'failed', context: 'obs', err: bug, notification: true });
    expect(device.observations()).toHaveLength(1);
  });

  it('cancel-observe sends the observation\'s token, cancels its exchange and removes it', () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    const token = h.sent(0).exchange.token;
    h.submit(device, 'cancel', cancelObserve('/3/0/9'));
    const sent = h.sent(1).op;
    expect(sent.type).toBe('cancel-observe');
    expect(sent.type === 'cancel-observe' && sent.token).toEqual(token);
    expect(h.sent(0).exchange.cancelled).toBe(1);
    expect(device.observations()).toEqual([]);
    // A notification that was on its way reaches the handler no more as an observation.
    h.sent(1).listener.onResponse({ code: '2.05', content: [] });
    expect(h.handler.answerKinds()).toEqual(['obs:response', 'cancel:response']);
  });

  it('cancel-observe of a path with no observation goes without a token', () => {
    h.submit(device, 'obs', observe('/3/0/10'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    h.submit(device, 'cancel', cancelObserve('/3/0/9'));
    const sent = h.sent(1).op;
    expect(sent.type === 'cancel-observe' ? sent.token : 'not a cancel').toBeUndefined();
    expect(h.sent(0).exchange.cancelled).toBe(0);
    expect(device.observations().map((o) => o.key)).toEqual(['/3/0/10']);
  });

  it('a second observe of the same path replaces the first: its exchange is cancelled', () => {
    h.submit(device, 'first', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    const second = h.submit(device, 'second', observe('/3/0/9'));
    // Until the device accepts the second, the first stays.
    expect(h.sent(0).exchange.cancelled).toBe(0);
    h.sent(1).listener.onResponse(ACCEPTED(1));
    expect(h.sent(0).exchange.cancelled).toBe(1);
    expect(h.sent(1).exchange.cancelled).toBe(0);
    expect(device.observations()).toHaveLength(1);
    expect(device.observation('/3/0/9')?.exchange).toBe(h.sent(1).exchange);
    expect(device.observation('/3/0/9')?.request).toBe(second);
  });

  it('a reset or a timeout of the observe request leaves no observation', () => {
    h.submit(device, 'reset', observe('/3/0/9'));
    h.sent(0).listener.onReset?.();
    h.submit(device, 'timeout', observe('/3/0/10'));
    h.sent(1).listener.onTimeout?.();
    expect(device.observations()).toEqual([]);
    expect(h.handler.answerKinds()).toEqual(['reset:reset', 'timeout:timeout']);
  });

  it('a failed re-observe leaves the existing observation of the path alone', () => {
    h.submit(device, 'first', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(1));
    h.submit(device, 'again', observe('/3/0/9'));
    h.sent(1).listener.onTimeout?.();
    h.submit(device, 'again2', observe('/3/0/9'));
    h.sent(2).listener.onReset?.();
    expect(device.observation('/3/0/9')?.exchange).toBe(h.sent(0).exchange);
    expect(h.sent(0).exchange.cancelled).toBe(0);
  });

  it('keys an observe-composite by its sorted, distinct paths and keeps the paths as given', () => {
    const request = h.submit(device, 'comp', observeComposite('/3/0/9', '/1/0/1', '/3/0/9'));
    h.sent(0).listener.onResponse({ code: '2.05', content: [], observe: 0 });
    const [o] = device.observations();
    expect(o.key).toBe('composite:/1/0/1,/3/0/9');
    expect(o.key).toBe(compositeObservationKey([parsePath('/1/0/1'), parsePath('/3/0/9')]));
    expect(o.paths).toEqual(['/3/0/9', '/1/0/1', '/3/0/9']);
    expect(o.request).toBe(request);
  });

  it('observationKey: the path, the composite key, undefined for other operations', () => {
    expect(observationKey(observe('/3/0/9'))).toBe('/3/0/9');
    expect(observationKey(cancelObserve('/3/0/9/'))).toBe('/3/0/9');
    expect(observationKey(observeComposite('/3/0/9', '/1/0/1'))).toBe('composite:/1/0/1,/3/0/9');
    expect(observationKey(cancelObserveComposite('/1/0/1', '/3/0/9'))).toBe('composite:/1/0/1,/3/0/9');
    expect(observationKey(read('/3/0/9'))).toBeUndefined();
  });

  it('cancel-observe-composite with the paths in another order finds the observation and carries its token', () => {
    h.submit(device, 'comp', observeComposite('/3/0/9', '/1/0/1'));
    h.sent(0).listener.onResponse({ code: '2.05', content: [], observe: 0 });
    h.submit(device, 'cancel', cancelObserveComposite('/1/0/1', '/3/0/9'));
    const sent = h.sent(1).op;
    expect(sent.type === 'cancel-observe-composite' && sent.token).toEqual(h.sent(0).exchange.token);
    expect(h.sent(0).exchange.cancelled).toBe(1);
    expect(device.observations()).toEqual([]);
  });

  it('a composite and a plain observation of the same path are different observations', () => {
    h.submit(device, 'plain', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(0));
    h.submit(device, 'comp', observeComposite('/3/0/9'));
    h.sent(1).listener.onResponse({ code: '2.05', content: [], observe: 0 });
    expect(device.observations().map((o) => o.key)).toEqual(['/3/0/9', 'composite:/3/0/9']);
    expect(h.sent(0).exchange.cancelled).toBe(0);
  });

  it('cancelObservations ends every observation locally, cancels each exchange once and returns the count', () => {
    for (const [i, path] of ['/3/0/9', '/3/0/10', '/3/0/13'].entries()) {
      h.submit(device, `obs${i}`, observe(path));
      h.sent(i).listener.onResponse(ACCEPTED(0));
    }
    expect(h.manager.cancelObservations(device)).toBe(3);
    expect(h.server.sent.map((s) => s.exchange.cancelled)).toEqual([1, 1, 1]);
    expect(device.observations()).toEqual([]);
    expect(h.manager.cancelObservations(device)).toBe(0);
    // Nothing is sent to the device (reactive cancellation).
    expect(h.server.sent).toHaveLength(3);
  });

  it('deregistration cancels the observations, and a late notification reaches no handler', async () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(0));
    h.server.emit('deregistered', device.reg, 'deregister');
    expect(h.sent(0).exchange.cancelled).toBe(1);
    expect(device.observations()).toEqual([]);
    h.sent(0).listener.onNotification?.(NOTIFY(1, 1));
    expect(h.handler.events.filter((e) => e.kind === 'notified')).toEqual([]);
  });

  it('a replacing registration starts with no observations; the old ones are cancelled', async () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(0));
    h.server.emit('deregistered', device.reg, 'replaced');
    const next = await h.register(registration('dev', false, 'new'), device.reg);
    expect(h.sent(0).exchange.cancelled).toBe(1);
    expect(next.observations()).toEqual([]);
  });

  // The CoAP layer reports a lost notification of an established observation through onError
  // (src/coap/client-exchange.ts: "the observation itself is still fine; only this notification is lost").
  it('a lost notification (onError after the observation is made) neither answers the observe again nor forgets it', () => {
    h.submit(device, 'obs', observe('/3/0/9'));
    h.sent(0).listener.onResponse(ACCEPTED(0));
    h.sent(0).listener.onError?.(new Error('block-wise transfer of a notification failed'));
    expect(h.handler.answerKinds()).toEqual(['obs:response']);
    expect(device.observations()).toHaveLength(1);
    expect(h.sent(0).exchange.cancelled).toBe(0);
  });
});
