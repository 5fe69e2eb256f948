import { isInitialClientHello } from '../../../src/transport/dtls/record-header';

describe('isInitialClientHello', () => {
  // Record header: type 22, version fefd, epoch 0, sequence 0, length; then handshake type 1.
  const hello = Buffer.from('16fefd000000000000000000300100002400000000000000240000', 'hex');

  it('recognises an epoch-0 ClientHello', () => {
    expect(isInitialClientHello(hello)).toBe(true);
  });

  it('rejects other epochs, other handshake messages, application data and short datagrams', () => {
    const epoch1 = Buffer.from(hello);
    epoch1[4] = 1;
    const finished = Buffer.from(hello);
    finished[13] = 20;
    const appData = Buffer.from(hello);
    appData[0] = 23;
    expect(isInitialClientHello(epoch1)).toBe(false);
    expect(isInitialClientHello(finished)).toBe(false);
    expect(isInitialClientHello(appData)).toBe(false);
    expect(isInitialClientHello(hello.subarray(0, 13))).toBe(false);
    expect(isInitialClientHello(Buffer.alloc(0))).toBe(false);
  });
});
