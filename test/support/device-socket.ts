import { CoapEndpoint, type CoapConfigInput } from '../../src/coap';
import type { Peer, Transport } from '../../src/transport/transport';
import { UdpTransport } from '../../src/transport/udp-transport';
import { DtlsClientTransport } from './dtls-client-transport';

/** A device-side transport: UDP, or a DTLS client session. */
export type DeviceTransport = Transport & { address(): { address: string; port: number } };

/**
 * The socket and CoAP endpoint of a test device talking to `server`: plain UDP, or a DTLS PSK
 * session when `dtls` is given. Short CoAP timing, so that tests of silence end quickly.
 */
export async function openDeviceSocket(
  server: { host: string; port: number },
  dtls: { identity: string; key: string } | undefined,
  coap: CoapConfigInput | undefined,
): Promise<{ transport: DeviceTransport; coap: CoapEndpoint }> {
  const transport: DeviceTransport = dtls ? await DtlsClientTransport.connect({ gateway: server, ...dtls }) : await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
  return { transport, coap: new CoapEndpoint(transport, { ackTimeout: 0.2, maxRetransmit: 2, ...coap }) };
}

/**
 * Looks at each datagram before the CoAP endpoint does (which always answers): `swallow` returns
 * true to drop it unseen (it may send something itself, an RST say).
 */
export function interceptDatagrams(transport: Transport, swallow: (bytes: Buffer, peer: Peer) => boolean): void {
  const emit = transport.emit.bind(transport);
  transport.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    const bytes = args[0];
    if (event === 'datagram' && Buffer.isBuffer(bytes) && swallow(bytes, args[1] as Peer)) return true;
    return emit(event, ...args);
  };
}
