import type { Peer } from '../../../src/transport/transport';
import {
  OptionNumber,
  decodeBlock,
  decodeMessage,
  decodeUint,
  encodeBlock,
  encodeMessage,
  encodeUint,
  findOption,
  type CoapMessage,
  type CoapOption,
  type InboundRequest,
} from '../../../src/coap';
import { RawSocket, RecordingListener, delay, startEndpoint, type EndpointUnderTest } from './udp-harness';

const EMPTY = Buffer.alloc(0);

function body(length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
}

/** Records every datagram an endpoint sends (the transport still sends them). */
function captureSent(e: EndpointUnderTest): CoapMessage[] {
  const sent: CoapMessage[] = [];
  const send = e.transport.send.bind(e.transport);
  e.transport.send = (peer: Peer, bytes: Buffer) => {
    sent.push(decodeMessage(bytes));
    send(peer, bytes);
  };
  return sent;
}

function blockOf(message: CoapMessage, number: number) {
  const raw = findOption(message.options, number);
  return raw === undefined ? undefined : decodeBlock(raw);
}

function blockRequest(messageId: number, block: { num: number; more: boolean; szx: number }, payload: Buffer, size1?: number): Buffer {
  const options: CoapOption[] = [
    { number: OptionNumber.UriPath, value: Buffer.from('rd') },
    { number: OptionNumber.Block1, value: encodeBlock(block) },
  ];
  if (size1 !== undefined) options.push({ number: OptionNumber.Size1, value: encodeUint(size1) });
  return encodeMessage({ type: 'CON', code: '0.02', messageId, token: Buffer.from([messageId & 0xff]), options, payload });
}

describe('block-wise transfers (RFC 7959)', () => {
  const opened: { close(): Promise<void> }[] = [];
  async function endpoint(config: Parameters<typeof startEndpoint>[0] = {}): Promise<EndpointUnderTest> {
    const e = await startEndpoint({ ackTimeout: 0.1, ...config });
    opened.push(e);
    return e;
  }
  async function rawSocket(): Promise<RawSocket> {
    const r = await RawSocket.open();
    opened.push(r);
    return r;
  }
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
  });

  it('sends a large request body with Block1 and the handler gets it whole, once', async () => {
    const server = await endpoint();
    const client = await endpoint({ blockwise: { maxBlockSize: 1024 } });
    const received: InboundRequest[] = [];
    server.endpoint.setRequestHandler((req) => {
      received.push(req);
      return { code: '2.04', payload: Buffer.from('stored') };
    });
    const sent = captureSent(client);
    const payload = body(5000);
    const listener = new RecordingListener();
    client.endpoint.request(server.peer, { method: 'PUT', uriPath: ['5', '0', '0'], contentFormat: 42, payload }, listener);
    await listener.untilEvent('response');
    expect(listener.responses[0]).toMatchObject({ code: '2.04' });
    expect(listener.responses[0].payload.toString()).toBe('stored');
    expect(received).toHaveLength(1);
    expect(received[0].payload.equals(payload)).toBe(true);
    expect(received[0].contentFormat).toBe(42);
    const blocks = sent.map((m) => blockOf(m, OptionNumber.Block1));
    expect(blocks).toEqual([0, 1, 2, 3, 4].map((num) => ({ num, more: num < 4, szx: 6 })));
    expect(new Set(sent.map((m) => m.messageId)).size).toBe(5);
    expect(new Set(sent.map((m) => m.token.toString('hex'))).size).toBe(1);
    expect(decodeUint(findOption(sent[0].options, OptionNumber.Size1) as Buffer)).toBe(5000);
  });

  it('follows the smaller block size a device asks for in its 2.31 Continue', async () => {
    const device = await endpoint({ blockwise: { maxBlockSize: 256 } });
    const gateway = await endpoint({ blockwise: { maxBlockSize: 1024 } });
    let got: Buffer | undefined;
    device.endpoint.setRequestHandler((req) => {
      got = req.payload;
      return { code: '2.04', payload: EMPTY };
    });
    const sent = captureSent(gateway);
    const payload = body(5000);
    const listener = new RecordingListener();
    gateway.endpoint.request(device.peer, { method: 'PUT', uriPath: ['5', '0', '0'], payload }, listener);
    await listener.untilEvent('response');
    expect(got?.equals(payload)).toBe(true);
    const blocks = sent.map((m) => blockOf(m, OptionNumber.Block1));
    // 1024 bytes, then 256-byte blocks from offset 1024 (block 4) to the end (block 19).
    expect(blocks[0]).toEqual({ num: 0, more: true, szx: 6 });
    expect(blocks[1]).toEqual({ num: 4, more: true, szx: 4 });
    expect(blocks[blocks.length - 1]).toEqual({ num: 19, more: false, szx: 4 });
    expect(blocks).toHaveLength(1 + 16);
  });

  it('answers each intermediate Block1 with 2.31, an out-of-order block with 4.08', async () => {
    const server = await endpoint({ blockwise: { maxBlockSize: 1024 } });
    server.endpoint.setRequestHandler(() => ({ code: '2.04', payload: EMPTY }));
    const raw = await rawSocket();
    raw.send(server.peer, blockRequest(1, { num: 0, more: true, szx: 2 }, body(64)));
    const cont = decodeMessage(await raw.next());
    expect(cont.code).toBe('2.31');
    expect(blockOf(cont, OptionNumber.Block1)).toEqual({ num: 0, more: true, szx: 2 });
    raw.send(server.peer, blockRequest(2, { num: 2, more: true, szx: 2 }, body(64))); // block 1 skipped
    expect(decodeMessage(await raw.next()).code).toBe('4.08');
    raw.send(server.peer, blockRequest(3, { num: 5, more: false, szx: 2 }, body(10))); // nothing started
    expect(decodeMessage(await raw.next()).code).toBe('4.08');
    expect(server.endpoint.stats().partialBodies).toBe(0);
  });

  it('answers 4.13 with Size1 when the body is announced or grows too large', async () => {
    const server = await endpoint({ blockwise: { maxBodySize: 2048 } });
    server.endpoint.setRequestHandler(() => ({ code: '2.04', payload: EMPTY }));
    const raw = await rawSocket();
    raw.send(server.peer, blockRequest(1, { num: 0, more: true, szx: 6 }, body(1024), 100_000));
    const announced = decodeMessage(await raw.next());
    expect(announced.code).toBe('4.13');
    expect(decodeUint(findOption(announced.options, OptionNumber.Size1) as Buffer)).toBe(2048);
    for (const [mid, num] of [
      [2, 0],
      [3, 1],
      [4, 2],
    ]) {
      raw.send(server.peer, blockRequest(mid, { num, more: true, szx: 6 }, body(1024)));
    }
    const replies = (await raw.waitForCount(4)).slice(1).map((b) => decodeMessage(b));
    expect(replies.map((r) => r.code)).toEqual(['2.31', '2.31', '4.13']);
    expect(decodeUint(findOption(replies[2].options, OptionNumber.Size1) as Buffer)).toBe(2048);
  });

  it('delivers a 4.13 answer to a Block1 upload as the response', async () => {
    const server = await endpoint({ blockwise: { maxBodySize: 1000 } });
    const client = await endpoint({ blockwise: { maxBlockSize: 512 } });
    server.endpoint.setRequestHandler(() => ({ code: '2.04', payload: EMPTY }));
    const listener = new RecordingListener();
    client.endpoint.request(server.peer, { method: 'POST', uriPath: ['rd'], payload: body(3000) }, listener);
    await listener.untilEvent('response');
    expect(listener.responses[0].code).toBe('4.13');
    expect(decodeUint(listener.responses[0].options?.find((o) => o.number === OptionNumber.Size1)?.value as Buffer)).toBe(1000);
  });

  it('fetches the remaining Block2 blocks of a large response and delivers the body once', async () => {
    const server = await endpoint({ blockwise: { maxBlockSize: 512 } });
    const client = await endpoint({ blockwise: { maxBlockSize: 1024 } });
    const payload = body(3000);
    let calls = 0;
    const asked: (number | undefined)[] = [];
    server.endpoint.setRequestHandler((req) => {
      calls++;
      asked.push(req.block2Num);
      return { code: '2.05', contentFormat: 11542, payload };
    });
    const sent = captureSent(client);
    const listener = new RecordingListener();
    client.endpoint.request(server.peer, { method: 'GET', uriPath: ['3'], accept: 11542 }, listener);
    await listener.untilEvent('response');
    expect(listener.events).toEqual(['response']);
    expect(listener.responses[0].payload.equals(payload)).toBe(true);
    expect(listener.responses[0].contentFormat).toBe(11542);
    expect(listener.responses[0].options).toBeUndefined(); // no Block2/Size2 left over
    expect(sent.map((m) => blockOf(m, OptionNumber.Block2)?.num)).toEqual([undefined, 1, 2, 3, 4, 5]);
    expect(calls).toBe(6); // later blocks are cut from a fresh answer of the handler
    expect(asked).toEqual([undefined, 1, 2, 3, 4, 5]); // which it is told (block2Num), past the first
    expect(client.endpoint.stats().exchanges).toBe(0);
  });

  it('reports onError when the body exceeds maxBodySize (announced by Size2, or while assembling)', async () => {
    const server = await endpoint();
    server.endpoint.setRequestHandler(() => ({ code: '2.05', payload: body(3000) }));
    const client = await endpoint({ blockwise: { maxBodySize: 2000 } });
    const announced = new RecordingListener();
    client.endpoint.request(server.peer, { method: 'GET', uriPath: ['big'] }, announced);
    await announced.untilEvent('error');
    expect(announced.errors[0].message).toMatch(/maxBodySize/);

    // A raw device that does not announce Size2.
    const raw = await rawSocket();
    const listener = new RecordingListener();
    client.endpoint.request(raw.peer, { method: 'GET', uriPath: ['big'] }, listener);
    for (let num = 0; num < 2; num++) {
      const req = decodeMessage(await raw.next());
      if (num > 0) expect(blockOf(req, OptionNumber.Block2)).toEqual({ num, more: false, szx: 6 });
      raw.send(
        client.peer,
        encodeMessage({
          type: 'ACK',
          code: '2.05',
          messageId: req.messageId,
          token: req.token,
          options: [{ number: OptionNumber.Block2, value: encodeBlock({ num, more: true, szx: 6 }) }],
          payload: body(1024),
        }),
      );
    }
    await listener.untilEvent('error');
    expect(listener.errors[0].message).toMatch(/maxBodySize/);
    await delay(30);
    expect(raw.received).toHaveLength(2); // stopped fetching
    expect(client.endpoint.stats()).toMatchObject({ exchanges: 0, inFlight: 0 });
  });

  it('reports onError when the ETag changes between blocks', async () => {
    const client = await endpoint();
    const raw = await rawSocket();
    const listener = new RecordingListener();
    client.endpoint.request(raw.peer, { method: 'GET', uriPath: ['x'] }, listener);
    for (let num = 0; num < 2; num++) {
      const req = decodeMessage(await raw.next());
      raw.send(
        client.peer,
        encodeMessage({
          type: 'ACK',
          code: '2.05',
          messageId: req.messageId,
          token: req.token,
          options: [
            { number: OptionNumber.ETag, value: Buffer.from([num]) },
            { number: OptionNumber.Block2, value: encodeBlock({ num, more: true, szx: 0 }) },
          ],
          payload: body(16),
        }),
      );
    }
    await listener.untilEvent('error');
    expect(listener.errors[0].message).toMatch(/ETag/);
  });

  it('reassembles a block-wise first response and notifications of an observation', async () => {
    const device = await endpoint({ blockwise: { maxBlockSize: 1024 } });
    const gateway = await endpoint();
    let observer: { peer: Peer; token: Buffer } | undefined;
    let current = body(3000);
    const requests: InboundRequest[] = [];
    device.endpoint.setRequestHandler((req) => {
      requests.push(req);
      if (req.observe === 0) observer = { peer: req.peer, token: req.token };
      return { code: '2.05', observe: req.observe === 0 ? 1 : undefined, payload: current };
    });
    const listener = new RecordingListener();
    gateway.endpoint.request(device.peer, { method: 'GET', uriPath: ['3', '0'], observe: 0 }, listener);
    await listener.untilEvent('response');
    expect(listener.responses[0].payload.equals(current)).toBe(true);
    expect(listener.responses[0].observe).toBe(1);
    // The later blocks were fetched with a GET without Observe (RFC 7959 §2.6).
    expect(requests.map((r) => r.observe)).toEqual([0, undefined, undefined]);

    current = body(2500).reverse();
    const o = observer as { peer: Peer; token: Buffer };
    device.endpoint.notify(o.peer, o.token, { code: '2.05', observe: 2, payload: current }, true);
    await listener.untilEvent('notification');
    expect(listener.notifications[0].payload.equals(current)).toBe(true);
    expect(listener.notifications[0].observe).toBe(2);
    expect(gateway.endpoint.stats().exchanges).toBe(1); // only the observation
  });

  it('loses only the notification whose body is too large, not the observation', async () => {
    const gateway = await endpoint({ blockwise: { maxBodySize: 1000 } });
    const raw = await rawSocket();
    const listener = new RecordingListener();
    gateway.endpoint.request(raw.peer, { method: 'GET', uriPath: ['3', '0'], observe: 0 }, listener);
    const req = decodeMessage(await raw.next());
    const observe = (seq: number) => ({ number: OptionNumber.Observe, value: encodeUint(seq) });
    raw.send(gateway.peer, encodeMessage({ type: 'ACK', code: '2.05', messageId: req.messageId, token: req.token, options: [observe(1)], payload: Buffer.from('a') }));
    await listener.untilEvent('response');
    raw.send(
      gateway.peer,
      encodeMessage({
        type: 'NON',
        code: '2.05',
        messageId: 1,
        token: req.token,
        options: [observe(2), { number: OptionNumber.Block2, value: encodeBlock({ num: 0, more: true, szx: 6 }) }, { number: OptionNumber.Size2, value: encodeUint(5000) }],
        payload: body(1024),
      }),
    );
    await listener.untilEvent('error');
    raw.send(gateway.peer, encodeMessage({ type: 'NON', code: '2.05', messageId: 2, token: req.token, options: [observe(3)], payload: Buffer.from('c') }));
    await listener.untilEvent('notification');
    expect(listener.events).toEqual(['response', 'error', 'notification']);
    expect(raw.received).toHaveLength(1); // nothing was fetched
  });

  it('answers 4.02 to a Block2 request past the end of the body', async () => {
    const server = await endpoint();
    server.endpoint.setRequestHandler(() => ({ code: '2.05', payload: body(100) }));
    const raw = await rawSocket();
    raw.send(
      server.peer,
      encodeMessage({ type: 'CON', code: '0.01', messageId: 1, token: EMPTY, options: [{ number: OptionNumber.Block2, value: encodeBlock({ num: 3, more: false, szx: 2 }) }], payload: EMPTY }),
    );
    expect(decodeMessage(await raw.next()).code).toBe('4.02');
  });

  it('with block-wise disabled, sends bodies whole and rejects Block1 as an unknown critical option', async () => {
    const server = await endpoint({ blockwise: { enable: false } });
    const client = await endpoint({ blockwise: { enable: false } });
    let got: Buffer | undefined;
    server.endpoint.setRequestHandler((req) => {
      got = req.payload;
      return { code: '2.04', payload: EMPTY };
    });
    const listener = new RecordingListener();
    client.endpoint.request(server.peer, { method: 'PUT', uriPath: ['a'], payload: body(3000) }, listener);
    await listener.untilEvent('response');
    expect(got?.length).toBe(3000);
    const raw = await rawSocket();
    raw.send(server.peer, blockRequest(9, { num: 0, more: true, szx: 0 }, body(16)));
    expect(decodeMessage(await raw.next()).code).toBe('4.02');
  });

  it('drops partial bodies after the exchange lifetime', async () => {
    const server = await endpoint({ blockwise: { exchangeLifetime: 0.05 } });
    server.endpoint.setRequestHandler(() => ({ code: '2.04', payload: EMPTY }));
    const raw = await rawSocket();
    raw.send(server.peer, blockRequest(1, { num: 0, more: true, szx: 0 }, body(16)));
    await raw.next();
    expect(server.endpoint.stats().partialBodies).toBe(1);
    await delay(80);
    server.endpoint.sweep();
    expect(server.endpoint.stats().partialBodies).toBe(0);
    raw.send(server.peer, blockRequest(2, { num: 1, more: false, szx: 0 }, body(5)));
    expect(decodeMessage(await raw.next()).code).toBe('4.08');
  });
});
