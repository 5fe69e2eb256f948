import { CoapEndpoint, type CoapResponse } from '../../src/coap';
import { ContentFormat } from '../../src/lwm2m/codec/content-format';
import { UdpTransport } from '../../src/transport/udp-transport';

/**
 * A pull download as a simulated device makes it (objects 5 and 9): a CoAP GET of `uri` through a
 * fresh endpoint on UDP, Block2 reassembled by it up to `maxBodyBytes` (a larger body fails in the
 * CoAP layer, as a real device's storage would).
 */
export async function coapDownload(uri: string, maxBodyBytes: number): Promise<CoapResponse> {
  const url = new URL(uri);
  const transport = await UdpTransport.bind({ host: url.hostname.includes(':') ? '::' : '0.0.0.0', port: 0 });
  const coap = new CoapEndpoint(transport, { ackTimeout: 0.5, maxRetransmit: 2, blockwise: { maxBodySize: maxBodyBytes } });
  try {
    return await new Promise<CoapResponse>((resolve, reject) => {
      const peer = { address: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 5683 : Number(url.port) };
      const uriPath = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
      const uriQuery = url.search === '' ? undefined : url.search.slice(1).split('&').map(decodeURIComponent);
      coap.request(peer, { method: 'GET', uriPath, uriQuery }, {
        onResponse: resolve,
        onReset: () => reject(new Error('reset')),
        onTimeout: () => reject(new Error('timeout')),
        onError: reject,
      });
    });
  } finally {
    await coap.close();
    await transport.close();
  }
}

/** A CoAP server on UDP that serves `bytes` at `path` (Block2 slicing by its endpoint), 4.04 elsewhere: its URI, and how to close it. */
export async function coapFileServer(path: string, bytes: Buffer): Promise<{ uri: string; close(): Promise<void> }> {
  const transport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
  const coap = new CoapEndpoint(transport);
  coap.setRequestHandler((req) =>
    req.method === 'GET' && req.uriPath.join('/') === path ? { code: '2.05', contentFormat: ContentFormat.OPAQUE, payload: bytes } : { code: '4.04', payload: Buffer.alloc(0) },
  );
  return {
    uri: `coap://127.0.0.1:${transport.address().port}/${path}`,
    close: async () => {
      await coap.close();
      await transport.close();
    },
  };
}
