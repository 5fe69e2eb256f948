import { OptionNumber, decodeMessage, encodeEmpty, encodeMessage, encodeUint, type CoapMessage, type InboundRequest } from '../../../src/coap';
import { RawSocket, RecordingListener, delay, startEndpoint, type EndpointUnderTest } from './udp-harness';

const EMPTY = Buffer.alloc(0);

function request(fields: Partial<CoapMessage>): Buffer {
  return encodeMessage({ type: 'CON', code: '0.01', messageId: 100, token: Buffer.from('aabbccdd', 'hex'), options: [], payload: EMPTY, ...fields });
}

const uriPath = (...segments: string[]) => segments.map((s) => ({ number: OptionNumber.UriPath, value: Buffer.from(s) }));

describe('CoapEndpoint request/response over UDP', () => {
  let server: EndpointUnderTest;
  let client: EndpointUnderTest;
  let raw: RawSocket;

  beforeEach(async () => {
    server = await startEndpoint({ ackTimeout: 0.05, maxRetransmit: 3 }, { emptyAckDelayMs: 40 });
    client = await startEndpoint({ ackTimeout: 0.05, maxRetransmit: 3 });
    raw = await RawSocket.open();
  });

  afterEach(async () => {
    await server.close();
    await client.close();
    await raw.close();
  });

  it('answers a CON request with a piggybacked response', async () => {
    const seen: InboundRequest[] = [];
    server.endpoint.setRequestHandler((req) => {
      seen.push(req);
      return { code: '2.05', contentFormat: 0, payload: Buffer.from('Open Mobile Alliance') };
    });
    const listener = new RecordingListener();
    const ex = client.endpoint.request(server.peer, { method: 'GET', uriPath: ['3', '0', '0'], uriQuery: ['x=1'], accept: 0 }, listener);
    await listener.untilEvent('response');
    expect(listener.events).toEqual(['response']);
    expect(listener.responses[0]).toMatchObject({ code: '2.05', contentFormat: 0 });
    expect(listener.responses[0].payload.toString()).toBe('Open Mobile Alliance');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'GET', uriPath: ['3', '0', '0'], uriQuery: ['x=1'], accept: 0, confirmable: true, peer: client.peer });
    expect(seen[0].token.equals(ex.token)).toBe(true);
    expect(ex.token.length).toBe(8);
    expect(client.endpoint.stats()).toMatchObject({ exchanges: 0, inFlight: 0 });
  });

  it('sends an empty ACK and then a separate CON response when the handler is slow', async () => {
    server.endpoint.setRequestHandler(async (req) => {
      await delay(150);
      return { code: '2.04', payload: Buffer.from(req.payload.toString().toUpperCase()) };
    });
    const listener = new RecordingListener();
    client.endpoint.request(server.peer, { method: 'PUT', uriPath: ['1', '0', '1'], payload: Buffer.from('abc'), contentFormat: 0 }, listener);
    await listener.untilEvent('response');
    expect(listener.events).toEqual(['ack', 'response']);
    expect(listener.responses[0].payload.toString()).toBe('ABC');
    await delay(50); // the client's ACK of the separate response reaches the server
    expect(server.endpoint.stats()).toMatchObject({ inFlight: 0, pendingReplies: 0 });
    expect(client.endpoint.stats()).toMatchObject({ exchanges: 0, inFlight: 0 });
  });

  it('retransmits a separate response until it is ACKed (raw client)', async () => {
    server.endpoint.setRequestHandler(() => delay(80).then(() => ({ code: '2.05', payload: Buffer.from('late') })));
    raw.send(server.peer, request({ messageId: 7 }));
    const ack = decodeMessage(await raw.next());
    expect(ack).toMatchObject({ type: 'ACK', code: '0.00', messageId: 7 });
    const first = decodeMessage(await raw.next());
    expect(first).toMatchObject({ type: 'CON', code: '2.05' });
    expect(first.token.toString('hex')).toBe('aabbccdd');
    const again = decodeMessage(await raw.next());
    expect(again.messageId).toBe(first.messageId); // a retransmission
    raw.send(server.peer, encodeEmpty('ACK', first.messageId));
    await delay(300);
    const count = raw.received.length;
    await delay(200);
    expect(raw.received.length).toBe(count);
    expect(server.endpoint.stats().inFlight).toBe(0);
  });

  it('replays the empty ACK to a duplicate that arrives after it, while the handler still runs', async () => {
    let calls = 0;
    server.endpoint.setRequestHandler(async () => {
      calls++;
      await delay(150);
      return { code: '2.05', payload: Buffer.from('eventually') };
    });
    const bytes = request({ messageId: 31 });
    raw.send(server.peer, bytes);
    const ack = await raw.next();
    expect(decodeMessage(ack)).toMatchObject({ type: 'ACK', code: '0.00', messageId: 31 });
    raw.send(server.peer, bytes);
    expect((await raw.next()).equals(ack)).toBe(true);
    const res = decodeMessage(await raw.next());
    expect(res).toMatchObject({ type: 'CON', code: '2.05' });
    raw.send(server.peer, encodeEmpty('ACK', res.messageId));
    expect(calls).toBe(1);
  });

  it('replays the cached reply to a duplicate CON without calling the handler again', async () => {
    let calls = 0;
    server.endpoint.setRequestHandler(() => {
      calls++;
      return { code: '2.05', payload: Buffer.from(`call ${calls}`) };
    });
    const bytes = request({ messageId: 4242 });
    raw.send(server.peer, bytes);
    const first = await raw.next();
    raw.send(server.peer, bytes);
    const second = await raw.next();
    expect(second.equals(first)).toBe(true);
    expect(decodeMessage(first).payload.toString()).toBe('call 1');
    expect(calls).toBe(1);
  });

  it('stays silent for a duplicate while the handler runs, then replays the response', async () => {
    let calls = 0;
    server.endpoint.setRequestHandler(async () => {
      calls++;
      await delay(20); // shorter than the empty-ACK delay: piggybacked
      return { code: '2.05', payload: Buffer.from('once') };
    });
    const bytes = request({ messageId: 9 });
    raw.send(server.peer, bytes);
    raw.send(server.peer, bytes);
    const reply = decodeMessage(await raw.next());
    expect(reply).toMatchObject({ type: 'ACK', code: '2.05', messageId: 9 });
    await delay(50);
    expect(raw.received).toHaveLength(1);
    raw.send(server.peer, bytes);
    expect((await raw.next()).equals(raw.received[0].bytes)).toBe(true);
    expect(calls).toBe(1);
  });

  it('answers a NON request with a NON response', async () => {
    server.endpoint.setRequestHandler(() => ({ code: '2.05', payload: Buffer.from('non') }));
    raw.send(server.peer, request({ type: 'NON', messageId: 55 }));
    const reply = decodeMessage(await raw.next());
    expect(reply.type).toBe('NON');
    expect(reply.code).toBe('2.05');
    expect(reply.token.toString('hex')).toBe('aabbccdd');

    const listener = new RecordingListener();
    client.endpoint.request(server.peer, { method: 'GET', uriPath: ['x'], confirmable: false }, listener);
    await listener.untilEvent('response');
    expect(listener.responses[0].payload.toString()).toBe('non');
  });

  it('reports a reset when the peer answers RST', async () => {
    const listener = new RecordingListener();
    client.endpoint.request(raw.peer, { method: 'GET', uriPath: ['3'] }, listener);
    const req = decodeMessage(await raw.next());
    raw.send(client.peer, encodeEmpty('RST', req.messageId));
    await listener.untilEvent('reset');
    expect(listener.events).toEqual(['reset']);
    expect(client.endpoint.stats()).toMatchObject({ exchanges: 0, inFlight: 0 });
  });

  it('retransmits a CON MAX_RETRANSMIT times with the same message id, with doubling timeouts, then times out', async () => {
    const listener = new RecordingListener();
    const started = Date.now();
    client.endpoint.request(raw.peer, { method: 'GET', uriPath: ['3', '0'] }, listener);
    await listener.untilEvent('timeout');
    const elapsed = Date.now() - started;
    const datagrams = raw.received.map((r) => decodeMessage(r.bytes));
    expect(datagrams).toHaveLength(3 + 1);
    expect(new Set(datagrams.map((d) => d.messageId)).size).toBe(1);
    expect(new Set(datagrams.map((d) => d.token.toString('hex'))).size).toBe(1);
    // 50..75 ms initial timeout, doubled 3 times: 15 * 50 = 750 ms at least before giving up.
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(listener.events).toEqual(['timeout']);
    expect(client.endpoint.stats()).toMatchObject({ exchanges: 0, inFlight: 0 });
  });

  it('matches a separate response by token and ACKs it; a CON with an unknown token gets RST', async () => {
    const listener = new RecordingListener();
    const ex = client.endpoint.request(raw.peer, { method: 'GET', uriPath: ['3', '0', '9'] }, listener);
    const req = decodeMessage(await raw.next());
    raw.send(client.peer, encodeEmpty('ACK', req.messageId));
    await listener.untilEvent('ack');
    raw.send(client.peer, encodeMessage({ type: 'CON', code: '2.05', messageId: 3000, token: Buffer.from('0000000000000000', 'hex'), options: [], payload: Buffer.from('x') }));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'RST', messageId: 3000 });
    // A NON response with an unknown token (no Observe) is ignored.
    raw.send(client.peer, encodeMessage({ type: 'NON', code: '2.05', messageId: 3001, token: Buffer.from('01', 'hex'), options: [], payload: Buffer.from('x') }));
    const separate = encodeMessage({ type: 'CON', code: '2.05', messageId: 3002, token: ex.token, options: [], payload: Buffer.from('95') });
    raw.send(client.peer, separate);
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', code: '0.00', messageId: 3002 });
    await listener.untilEvent('response');
    expect(listener.responses[0].payload.toString()).toBe('95');
    // The server retransmits (our ACK was "lost"): ACKed again, not delivered twice.
    raw.send(client.peer, separate);
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', messageId: 3002 });
    await delay(30);
    expect(raw.received).toHaveLength(4);
    expect(listener.events).toEqual(['ack', 'response']);
  });

  it('gives up waiting for a separate response after the exchange lifetime', async () => {
    const shortLived = await startEndpoint({ blockwise: { exchangeLifetime: 0.2 } });
    try {
      const listener = new RecordingListener();
      shortLived.endpoint.request(raw.peer, { method: 'GET', uriPath: ['a'] }, listener);
      const req = decodeMessage(await raw.next());
      raw.send(shortLived.peer, encodeEmpty('ACK', req.messageId));
      await listener.untilEvent('timeout');
      expect(listener.events).toEqual(['ack', 'timeout']);
    } finally {
      await shortLived.close();
    }
  });

  it('answers a CoAP ping with RST', async () => {
    raw.send(server.peer, Buffer.from('40000001', 'hex')); // CON, code 0.00
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'RST', messageId: 1 });
  });

  it('rejects malformed datagrams (RST for a CON, silence otherwise) and keeps working', async () => {
    const malformed: string[] = [];
    server.endpoint.on('malformed', (_peer, reason: string) => malformed.push(reason));
    server.endpoint.setRequestHandler(() => ({ code: '2.05', payload: Buffer.from('ok') }));
    raw.send(server.peer, Buffer.from('40011234f1', 'hex')); // CON, option delta 15
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'RST', messageId: 0x1234 });
    raw.send(server.peer, Buffer.from('49015678', 'hex')); // CON, token length 9
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'RST', messageId: 0x5678 });
    raw.send(server.peer, Buffer.from('400188', 'hex')); // too short for a message id
    raw.send(server.peer, Buffer.from('hello, this is not CoAP'));
    raw.send(server.peer, Buffer.from('5001abcdb3', 'hex')); // NON, truncated option
    raw.send(server.peer, Buffer.from('60010001', 'hex')); // ACK carrying a request
    await delay(100);
    expect(raw.received).toHaveLength(2);
    expect(malformed.length).toBeGreaterThanOrEqual(5);
    raw.send(server.peer, request({ messageId: 77 }));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', code: '2.05', messageId: 77 });
  });

  it('answers 4.02 to an unrecognized critical option and ignores an unrecognized elective one', async () => {
    const seen: InboundRequest[] = [];
    server.endpoint.setRequestHandler((req) => {
      seen.push(req);
      return { code: '2.05', payload: EMPTY };
    });
    raw.send(server.peer, request({ messageId: 1, options: [...uriPath('a'), { number: 65001, value: Buffer.from('?') }] }));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', code: '4.02', messageId: 1 });
    raw.send(server.peer, request({ messageId: 2, options: [{ number: OptionNumber.IfMatch, value: Buffer.from('e') }] }));
    expect(decodeMessage(await raw.next())).toMatchObject({ code: '4.02', messageId: 2 });
    raw.send(server.peer, request({ messageId: 3, options: [...uriPath('a'), { number: 65000, value: Buffer.from('!') }] }));
    expect(decodeMessage(await raw.next())).toMatchObject({ code: '2.05', messageId: 3 });
    expect(seen).toHaveLength(1);
    expect(seen[0].options).toEqual([{ number: 65000, value: Buffer.from('!') }]);
  });

  it('answers 4.05 to an unknown method, 5.00 when the handler throws or rejects, 5.01 without a handler', async () => {
    raw.send(server.peer, request({ messageId: 1, code: '0.09' }));
    expect(decodeMessage(await raw.next())).toMatchObject({ code: '4.05', messageId: 1 });
    raw.send(server.peer, request({ messageId: 2 }));
    expect(decodeMessage(await raw.next())).toMatchObject({ code: '5.01', messageId: 2 });
    const errors: Error[] = [];
    server.endpoint.on('error', (err: Error) => errors.push(err));
    server.endpoint.setRequestHandler((req) => {
      if (req.uriPath[0] === 'sync') throw new Error('boom');
      return Promise.reject(new Error('async boom'));
    });
    raw.send(server.peer, request({ messageId: 3, options: uriPath('sync') }));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', code: '5.00', messageId: 3 });
    raw.send(server.peer, request({ messageId: 4, options: uriPath('async') }));
    expect(decodeMessage(await raw.next())).toMatchObject({ type: 'ACK', code: '5.00', messageId: 4 });
    expect(errors.map((e) => e.message)).toEqual(['boom', 'async boom']);
  });

  it('sends extra raw options and exposes unknown response options', async () => {
    server.endpoint.setRequestHandler((req) => ({
      code: '2.01',
      locationPath: ['rd', 'x1'],
      payload: EMPTY,
      options: [{ number: OptionNumber.MaxAge, value: encodeUint(60) }, ...(req.options ?? [])],
    }));
    const listener = new RecordingListener();
    client.endpoint.request(
      server.peer,
      { method: 'POST', uriPath: ['rd'], uriQuery: ['ep=dev1'], options: [{ number: 65000, value: Buffer.from('e') }], payload: Buffer.from('</1>') },
      listener,
    );
    await listener.untilEvent('response');
    const res = listener.responses[0];
    expect(res.code).toBe('2.01');
    expect(res.locationPath).toEqual(['rd', 'x1']);
    expect(res.options).toEqual([
      { number: OptionNumber.MaxAge, value: encodeUint(60) },
      { number: 65000, value: Buffer.from('e') },
    ]);
  });

  it('close() clears every table and timer; later requests fail with onError', async () => {
    const listener = new RecordingListener();
    client.endpoint.request(raw.peer, { method: 'GET', uriPath: ['slow'] }, listener);
    await raw.next();
    await client.endpoint.close();
    expect(client.endpoint.stats()).toEqual({ exchanges: 0, inFlight: 0, dedup: 0, partialBodies: 0, pendingBytes: 0, pendingReplies: 0 });
    await delay(200);
    expect(raw.received).toHaveLength(1); // no retransmission after close
    expect(listener.events).toEqual([]);
    const late = new RecordingListener();
    client.endpoint.request(raw.peer, { method: 'GET', uriPath: ['x'] }, late);
    await late.untilEvent('error');
  });
});
