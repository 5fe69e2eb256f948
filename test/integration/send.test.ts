/** LwM2M Send (POST /dp, LwM2M 1.1 Information Reporting) published on the send translator. */
import Ajv from 'ajv';
import { loadSchema } from '../../src/package-root';
import { startHarness, type Harness } from '../support/harness';
import { RawDevice } from '../support/raw-device';

const validUplink = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function contentFormatOption(format: number): Buffer {
  return format === 0 ? Buffer.alloc(0) : format < 256 ? Buffer.from([format]) : Buffer.from([format >> 8, format & 0xff]);
}

describe('LwM2M Send (POST /dp)', () => {
  let h: Harness;
  let raw: RawDevice;
  beforeEach(async () => {
    h = await startHarness();
    raw = await RawDevice.start(h.gw.udpPort);
  });
  afterEach(async () => {
    await raw.close();
    await h.close();
  });

  async function send(payload: Buffer, format?: number): Promise<string> {
    const messageId = raw.nextMid();
    const from = raw.received.length;
    raw.send({
      confirmable: true,
      code: 'POST',
      messageId,
      token: Buffer.from([7, 7]),
      options: [{ name: 'Uri-Path', value: Buffer.from('dp') }, ...(format === undefined ? [] : [{ name: 'Content-Format' as const, value: contentFormatOption(format) }])],
      payload,
    });
    return (await raw.waitFor((p) => p.ack && p.messageId === messageId, 3000, from)).code;
  }

  it('a registered device sends SenML JSON with timestamps: 2.04 and a send message on up/send', async () => {
    expect((await raw.register('sender', ['lwm2m=1.1'])).code).toBe('2.01');
    await h.probe.waitOn('lwm2m/sender/up/register');
    const records = [
      { bn: '/3303/0/', bt: 1700000000, n: '5700', v: 21.5 },
      { n: '5700', v: 22.0, t: 60 },
      { bn: '/3/0/', n: '9', v: 87 },
    ];
    expect(await send(Buffer.from(JSON.stringify(records)), 110)).toBe('2.04');
    const m = await h.probe.waitOn('lwm2m/sender/up/send');
    expect(validUplink(m.json)).toBe(true);
    expect(m.json).toEqual({
      msgType: 'send',
      data: {
        content: [
          { path: '/3303/0/5700', value: 21.5, time: 1700000000 },
          { path: '/3303/0/5700', value: 22, time: 1700000060 },
          // bt applies to every later record (RFC 8428 §4.1).
          { path: '/3/0/9', value: 87, time: 1700000000 },
        ],
      },
    });
  });

  it('refuses a Send from an unregistered device (4.04), an unsuitable format (4.15) and a bad payload (4.00), publishing nothing', async () => {
    expect(await send(Buffer.from('[{"n":"/3/0/9","v":1}]'), 110)).toBe('4.04');
    expect((await raw.register('sender2')).code).toBe('2.01');
    expect(await send(Buffer.from('1'), 0)).toBe('4.15');
    expect(await send(Buffer.from('[{"n":"/3/0/9","v":1}]'))).toBe('4.15');
    expect(await send(Buffer.from('[{"n":"/3/0/9","v":'), 110)).toBe('4.00');
    await sleep(100);
    expect(h.probe.messages.filter((m) => m.topic.endsWith('/up/send'))).toEqual([]);
  });
});
