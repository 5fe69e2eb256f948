import { spawn } from 'node:child_process';

/** libcoap's command-line client (Debian libcoap3-bin), OpenSSL flavour. */
export const COAP_CLIENT = '/usr/bin/coap-client-openssl';
/** libcoap's example server: with -d it creates resources on PUT, so it can play a device. */
export const COAP_SERVER = '/usr/bin/coap-server-openssl';

/** Runs coap-client asynchronously (the gateway under test lives in this process's event loop), waiting at most 10 s. */
export function coapClient(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(COAP_CLIENT, ['-B', '10', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (status) => resolve({ status, output }));
  });
}
