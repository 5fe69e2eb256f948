import type { CoapResponse, InboundRequest } from '../../../src/coap';
import { startEndpoint, type EndpointUnderTest } from './udp-harness';

/** RFC 7641 §3.6: a deregistering GET reuses the observation's token; CoapRequest.token asks for that. */
describe('outbound request token', () => {
  let client: EndpointUnderTest;
  let server: EndpointUnderTest;
  const seen: InboundRequest[] = [];
  beforeEach(async () => {
    client = await startEndpoint();
    server = await startEndpoint();
    seen.length = 0;
    server.endpoint.setRequestHandler((req) => {
      seen.push(req);
      return { code: '2.05', payload: Buffer.from('x'), observe: req.observe === 0 ? 1 : undefined };
    });
  });
  afterEach(async () => {
    await client.close();
    await server.close();
  });

  const call = (token?: Buffer, observe?: number) =>
    new Promise<{ res: CoapResponse; token: Buffer }>((resolve, reject) => {
      const ex = client.endpoint.request(server.peer, { method: 'GET', uriPath: ['3', '0', '0'], observe, token }, {
        onResponse: (res) => resolve({ res, token: ex.token }),
        onError: reject,
        onTimeout: () => reject(new Error('timeout')),
      });
    });

  it('does not reuse a token that an open exchange still holds', async () => {
    const held = client.endpoint.request(server.peer, { method: 'GET', uriPath: ['3', '0', '0'], observe: 0 }, { onResponse: () => undefined, onNotification: () => undefined });
    const clash = await call(held.token);
    expect(clash.res.code).toBe('2.05');
    expect(clash.token.equals(held.token)).toBe(false);
    expect(seen.at(-1)?.token.equals(held.token)).toBe(false);
    held.cancel();
  });

  it('sends the deregistering GET with the observation token', async () => {
    let cancelTarget: { cancel(): void; token: Buffer } | undefined;
    await new Promise<void>((resolve) => {
      cancelTarget = client.endpoint.request(server.peer, { method: 'GET', uriPath: ['3', '0', '0'], observe: 0 }, { onResponse: () => resolve(), onNotification: () => undefined });
    });
    cancelTarget!.cancel();
    const dereg = await call(cancelTarget!.token, 1);
    expect(dereg.res.code).toBe('2.05');
    expect(seen.at(-1)?.observe).toBe(1);
    expect(seen.at(-1)?.token.equals(cancelTarget!.token)).toBe(true);
  });
});
