export { freeTcpPort } from '../../bench/mosquitto';
import dgram from 'node:dgram';

/** A UDP port free on `host` (default 127.0.0.1; 0.0.0.0: on every address) right now. */
export function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, host, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}
