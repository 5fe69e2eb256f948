import type { Peer } from '../../../src/transport/transport';
import { OptionNumber, decodeMessage, encodeMessage, encodeUint, findOption, type CoapMessage } from '../../../src/coap';
import { RawSocket, RecordingListener, delay, startEndpoint, type EndpointUnderTest } from './udp-harness';

const EMPTY = Buffer.alloc(0);

function notification(token: Buffer, messageId: number, seq: number | undefined, text: string, fields: Partial<CoapMessage> = {}): Buffer {
  const options = seq === undefined ? [] : [{ number: OptionNumber.Observe, value: encodeUint(seq) }];
  return encodeMessage({ type: 'CON', code: '2.05', messageId, token, options, payload: Buffer.from(text), ...fields });
}

describe('observe (RFC 7641)', () => {
  let gateway: EndpointUnderTest;
  let raw: RawSocket;

  beforeEach(async () => {
    gateway = await startEndpoint({ ackTimeout: 0.05, maxRetransmit: 2 });
    raw = await RawSocket.open();
  });

  afterEach(async () => {
    await gateway.close();
    await raw.close();
  });

  /** The raw socket plays the device: it accepts the observation with Observe 1. */
  async function observeRaw(listener: RecordingListener): Promise<{ token: Buffer }> {
    const ex = gateway.endpoint.request(raw.peer, { method: 'GET', uriPath: ['3', '0', '9'], observe: 0 }, listener);
    const req = decodeMessage(await raw.next());
    expect(decodeUintOption(req, OptionNumber.Observe)).toBe(0);
    raw.send(gateway.peer, notification(req.token, req.messageId, 1, 'first', { type: 'ACK' }));
    await listener.untilEvent('response');
    expect(ex.token.equals(req.token)).toBe(true);
    return { token: req.token };
  }

  it('delivers notifications from an endpoint device in order and drops a stale one', async () => {
    const device = await startEndpoint();
    try {
      let observer: { peer: Peer; token: Buffer } | undefined;
      device.endpoint.setRequestHandler((req) => {
        if (req.observe === 0) observer = { peer: req.peer, token: req.token };
        return { code: '2.05', observe: 10, contentFormat: 0, payload: Buffer.from('v10') };
      });
      const listener = new RecordingListener();
      gateway.endpoint.request(device.peer, { method: 'GET', uriPath: ['3', '0', '9'], observe: 0 }, listener);
      await listener.untilEvent('response');
      expect(listener.responses[0]).toMatchObject({ code: '2.05', observe: 10 });
      const o = observer as { peer: Peer; token: Buffer };
      for (const [seq, confirmable] of [
        [11, true],
        [12, false],
        [11, true], // stale: older than 12
        [13, true],
      ] as const) {
        device.endpoint.notify(o.peer, o.token, { code: '2.05', observe: seq, payload: Buffer.from(`v${seq}`) }, confirmable);
        await delay(15);
      }
      await listener.until((l) => l.notifications.length >= 3);
      await delay(50);
      expect(listener.notifications.map((n) => n.payload.toString())).toEqual(['v11', 'v12', 'v13']);
      expect(listener.events).toEqual(['response', 'notification', 'notification', 'notification']);
      expect(device.endpoint.stats().inFlight).toBe(0); // every CON notification was ACKed
      expect(gateway.endpoint.stats().exchanges).toBe(1); // the observation stays open
    } finally {
      await device.close();
    }
  });

  it('ACKs CON notifications, stale ones included', async () => {
    const listener = new RecordingListener();
    const { token } = await observeRaw(listener);
    raw.send(gateway.peer, notification(token, 501, 5, 'five'));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', code: '0.00', messageId: 501 });
    raw.send(gateway.peer, notification(token, 502, 4, 'four'));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', code: '0.00', messageId: 502 });
    await delay(30);
    expect(listener.notifications.map((n) => n.payload.toString())).toEqual(['five']);
  });

  it('after cancel(), answers the next notification with RST and the device learns the observer is gone', async () => {
    const device = await startEndpoint();
    try {
      let observer: { peer: Peer; token: Buffer } | undefined;
      device.endpoint.setRequestHandler((req) => {
        observer = { peer: req.peer, token: req.token };
        return { code: '2.05', observe: 1, payload: Buffer.from('x') };
      });
      const cancelled: [Peer, Buffer, string][] = [];
      device.endpoint.on('observeCancelled', (peer: Peer, token: Buffer, reason: string) => cancelled.push([peer, token, reason]));
      const listener = new RecordingListener();
      const ex = gateway.endpoint.request(device.peer, { method: 'GET', uriPath: ['3303', '0', '5700'], observe: 0 }, listener);
      await listener.untilEvent('response');
      ex.cancel();
      expect(gateway.endpoint.stats().exchanges).toBe(0);
      const o = observer as { peer: Peer; token: Buffer };
      device.endpoint.notify(o.peer, o.token, { code: '2.05', observe: 2, payload: Buffer.from('y') }, false);
      await delay(50);
      device.endpoint.notify(o.peer, o.token, { code: '2.05', observe: 3, payload: Buffer.from('z') }, true);
      await delay(50);
      expect(cancelled.map((c) => c[2])).toEqual(['reset', 'reset']);
      expect(cancelled[0][1].equals(ex.token)).toBe(true);
      expect(listener.events).toEqual(['response']);
    } finally {
      await device.close();
    }
  });

  it('RSTs a NON notification with an unknown token', async () => {
    const listener = new RecordingListener();
    const { token } = await observeRaw(listener);
    gateway.endpoint.request(raw.peer, { method: 'GET', uriPath: ['x'] }, new RecordingListener()); // unrelated, keeps raw busy
    await raw.next();
    listener.events.length = 0;
    const other = Buffer.from(token);
    other[0] ^= 0xff;
    raw.send(gateway.peer, notification(other, 600, 7, 'nope', { type: 'NON' }));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'RST', messageId: 600 });
  });

  it('ends the observation on an error-code notification', async () => {
    const listener = new RecordingListener();
    const { token } = await observeRaw(listener);
    raw.send(gateway.peer, notification(token, 700, 2, 'two'));
    await raw.next();
    raw.send(gateway.peer, notification(token, 701, undefined, 'gone', { code: '4.04' }));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', messageId: 701 });
    await listener.until((l) => l.notifications.length === 2);
    expect(listener.notifications[1]).toMatchObject({ code: '4.04' });
    expect(gateway.endpoint.stats().exchanges).toBe(0);
    raw.send(gateway.peer, notification(token, 702, 3, 'three'));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'RST', messageId: 702 });
    expect(listener.events).toEqual(['response', 'notification', 'notification']);
  });

  it('ends the observation on a notification without Observe', async () => {
    const listener = new RecordingListener();
    const { token } = await observeRaw(listener);
    raw.send(gateway.peer, notification(token, 800, undefined, 'final', { type: 'NON' }));
    await listener.untilEvent('notification');
    expect(listener.notifications[0].observe).toBeUndefined();
    expect(gateway.endpoint.stats().exchanges).toBe(0);
  });

  it('treats a first response without Observe as a plain response', async () => {
    const listener = new RecordingListener();
    gateway.endpoint.request(raw.peer, { method: 'GET', uriPath: ['3', '0', '9'], observe: 0 }, listener);
    const req = decodeMessage(await raw.next());
    raw.send(gateway.peer, notification(req.token, req.messageId, undefined, 'not observable', { type: 'ACK' }));
    await listener.untilEvent('response');
    expect(gateway.endpoint.stats().exchanges).toBe(0);
  });

  it('emits observeCancelled with reason timeout when a CON notification is never ACKed', async () => {
    const device = await startEndpoint({ ackTimeout: 0.02, maxRetransmit: 1 });
    try {
      const reasons: string[] = [];
      device.endpoint.on('observeCancelled', (_p: Peer, _t: Buffer, reason: string) => reasons.push(reason));
      device.endpoint.notify(raw.peer, Buffer.from('01', 'hex'), { code: '2.05', observe: 5, payload: EMPTY }, true);
      await raw.waitForCount(2);
      await delay(150);
      expect(reasons).toEqual(['timeout']);
      expect(findOption(decodeMessage(raw.received[0].bytes).options, OptionNumber.Observe)?.toString('hex')).toBe('05');
    } finally {
      await device.close();
    }
  });
});

function decodeUintOption(message: CoapMessage, number: number): number | undefined {
  const value = findOption(message.options, number);
  return value === undefined ? undefined : value.length === 0 ? 0 : value.readUIntBE(0, value.length);
}

describe('peer re-pointing (NAT rebinding)', () => {
  it('matches notifications from the new port once the gateway updates the Peer object it passed', async () => {
    const gateway = await startEndpoint();
    const oldSocket = await RawSocket.open();
    const newSocket = await RawSocket.open();
    try {
      const devicePeer: Peer = { ...oldSocket.peer };
      const listener = new RecordingListener();
      gateway.endpoint.request(devicePeer, { method: 'GET', uriPath: ['3', '0', '9'], observe: 0 }, listener);
      const req = decodeMessage(await oldSocket.next());
      oldSocket.send(gateway.peer, notification(req.token, req.messageId, 1, 'first', { type: 'ACK' }));
      await listener.untilEvent('response');
      devicePeer.port = newSocket.peer.port; // registration update from a new port
      newSocket.send(gateway.peer, notification(req.token, 900, 2, 'after rebinding'));
      expect(decodeMessage(await newSocket.next())).toMatchObject({ type: 'ACK', messageId: 900 });
      await listener.untilEvent('notification');
      expect(listener.notifications[0].payload.toString()).toBe('after rebinding');
      // A later request simply goes to the new port.
      const second = new RecordingListener();
      gateway.endpoint.request(devicePeer, { method: 'GET', uriPath: ['3', '0', '0'] }, second);
      const req2 = decodeMessage(await newSocket.next());
      newSocket.send(gateway.peer, notification(req2.token, req2.messageId, undefined, 'ok', { type: 'ACK' }));
      await second.untilEvent('response');
    } finally {
      await gateway.close();
      await oldSocket.close();
      await newSocket.close();
    }
  });
});
