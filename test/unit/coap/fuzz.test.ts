import { CoapFormatError, OptionNumber, decodeMessage, encodeBlock, encodeMessage, encodeUint, type CoapMessage } from '../../../src/coap';
import { RawSocket, RecordingListener, delay, startEndpoint } from './udp-harness';

/** Deterministic PRNG so that a failure can be reproduced. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function mutate(seed: Buffer, random: () => number): Buffer {
  const out = Buffer.from(seed);
  const flips = 1 + Math.floor(random() * 4);
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(random() * out.length);
    out[at] ^= 1 << Math.floor(random() * 8);
  }
  if (random() < 0.2) return out.subarray(0, Math.floor(random() * out.length));
  return out;
}

function randomBytes(random: () => number): Buffer {
  const out = Buffer.allocUnsafe(Math.floor(random() * 64));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(random() * 256);
  if (out.length > 0 && random() < 0.5) out[0] = (out[0] & 0x3f) | 0x40; // version 1 more often
  return out;
}

describe('fuzzing', () => {
  it('decodeMessage throws only CoapFormatError on random and mutated input', () => {
    const random = xorshift(42);
    const seed = encodeMessage({
      type: 'CON',
      code: '0.02',
      messageId: 1,
      token: Buffer.from('0102030405060708', 'hex'),
      options: [
        { number: OptionNumber.UriPath, value: Buffer.from('rd') },
        { number: OptionNumber.UriQuery, value: Buffer.from('ep=a-rather-long-endpoint-name') },
        { number: OptionNumber.Block1, value: encodeBlock({ num: 3, more: true, szx: 2 }) },
        { number: 2049, value: Buffer.alloc(300, 1) },
      ],
      payload: Buffer.from('payload'),
    });
    for (let i = 0; i < 50_000; i++) {
      const bytes = i % 2 === 0 ? randomBytes(random) : mutate(seed, random);
      try {
        decodeMessage(bytes);
      } catch (err) {
        if (!(err instanceof CoapFormatError)) throw new Error(`${(err as Error).message} for ${bytes.toString('hex')}`);
      }
    }
  });

  it('survives 20k random and bit-flipped datagrams, then serves a normal request', async () => {
    const target = await startEndpoint({ ackTimeout: 0.05, maxRetransmit: 1, blockwise: { maxBlockSize: 64, maxBodySize: 4096 } }, { emptyAckDelayMs: 20 });
    const client = await startEndpoint();
    const raw = await RawSocket.open();
    try {
      const errors: Error[] = [];
      target.endpoint.on('error', (err: Error) => errors.push(err));
      let malformed = 0;
      target.endpoint.on('malformed', () => malformed++);
      let handled = 0;
      target.endpoint.setRequestHandler((req) => {
        handled++;
        if (req.uriPath[0] === 'slow') return delay(30).then(() => ({ code: '2.05', payload: Buffer.alloc(200, 2) }));
        return { code: '2.05', observe: req.observe === 0 ? 1 : undefined, payload: Buffer.alloc(req.payload.length % 300, 1) };
      });
      // The target also has open exchanges towards the raw socket, so that mutated responses can match tokens.
      const listeners: RecordingListener[] = [];
      for (let i = 0; i < 4; i++) {
        const l = new RecordingListener();
        listeners.push(l);
        target.endpoint.request(raw.peer, { method: 'GET', uriPath: ['3', String(i)], observe: i % 2 === 0 ? 0 : undefined }, l);
      }
      const outbound = (await raw.waitForCount(4)).map((b) => decodeMessage(b));
      const tokens = outbound.map((m) => m.token);
      const seeds: CoapMessage[] = [
        { type: 'CON', code: '0.02', messageId: 1, token: Buffer.from('0a0b', 'hex'), options: [{ number: OptionNumber.UriPath, value: Buffer.from('rd') }, { number: OptionNumber.Block1, value: encodeBlock({ num: 0, more: true, szx: 2 }) }], payload: Buffer.alloc(64, 3) },
        { type: 'CON', code: '0.01', messageId: 2, token: Buffer.from('0c', 'hex'), options: [{ number: OptionNumber.Observe, value: encodeUint(0) }, { number: OptionNumber.UriPath, value: Buffer.from('slow') }, { number: OptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 1 }) }], payload: Buffer.alloc(0) },
        { type: 'ACK', code: '2.05', messageId: outbound[0].messageId, token: tokens[0], options: [{ number: OptionNumber.Observe, value: encodeUint(5) }, { number: OptionNumber.Block2, value: encodeBlock({ num: 0, more: true, szx: 0 }) }], payload: Buffer.alloc(16, 4) },
        { type: 'CON', code: '2.05', messageId: 3, token: tokens[0], options: [{ number: OptionNumber.Observe, value: encodeUint(9) }], payload: Buffer.from('n') },
        { type: 'NON', code: '2.05', messageId: 4, token: tokens[2], options: [{ number: OptionNumber.Observe, value: encodeUint(7) }, { number: OptionNumber.ETag, value: Buffer.from('e') }], payload: Buffer.from('n') },
        { type: 'ACK', code: '0.00', messageId: outbound[1].messageId, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) },
      ];
      const seedBytes = seeds.map((s) => encodeMessage(s));
      const random = xorshift(7);
      const started = Date.now();
      for (let i = 0; i < 20_000; i++) {
        const bytes = i % 3 === 0 ? randomBytes(random) : mutate(seedBytes[i % seedBytes.length], random);
        // A fresh message id most of the time, else deduplication hides most of the mutations.
        if (bytes.length >= 4 && random() < 0.8) bytes.writeUInt16BE(i & 0xffff, 2);
        raw.send(target.peer, bytes);
        if (i % 200 === 199) await delay(1); // let the event loop drain the socket
      }
      await delay(200);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(errors).toEqual([]);
      expect(handled).toBeGreaterThan(100);
      expect(malformed).toBeGreaterThan(1000); // many datagrams arrived (the kernel may drop some under load)

      target.endpoint.setRequestHandler(() => ({ code: '2.05', payload: Buffer.from('still alive') }));
      const listener = new RecordingListener();
      client.endpoint.request(target.peer, { method: 'GET', uriPath: ['3', '0', '0'] }, listener);
      await listener.untilEvent('response');
      expect(listener.responses[0].payload.toString()).toBe('still alive');
    } finally {
      await target.close();
      await client.close();
      await raw.close();
    }
  });
});
