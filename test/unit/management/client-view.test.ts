import { Device } from '../../../src/lwm2m/device/device';
import type { Registration } from '../../../src/lwm2m/registration/registration';
import { clientView } from '../../../src/management/client-view';

function registration(overrides: Partial<Registration> = {}): Registration {
  return {
    id: 'r1',
    endpoint: 'urn:dev:1',
    lifetime: 300,
    lwm2mVersion: '1.1',
    binding: 'UQ',
    queueMode: true,
    query: { imei: '35' },
    alternatePath: '/',
    objectList: ['/1/0', '/3/0'],
    contentFormats: [],
    peer: { address: '192.0.2.7', port: 40000, identity: { kind: 'psk', name: 'id-1', endpoints: ['urn:dev:1'] } },
    registeredAt: Date.UTC(2026, 0, 1),
    lastUpdate: Date.UTC(2026, 0, 1, 0, 5),
    ...overrides,
  };
}

describe('clientView', () => {
  it("shows EMQX's fields and the gateway's own", () => {
    const device = new Device<unknown>(registration());
    device.label = 'lwm2m/urn:dev:1/';
    device.touch(Date.UTC(2026, 0, 1, 0, 6));
    const view = clientView(device, 22, Date.UTC(2026, 0, 1, 0, 6, 10));
    expect(view).toEqual({
      clientid: 'urn:dev:1',
      endpoint_name: 'urn:dev:1',
      username: '35',
      mountpoint: 'lwm2m/urn:dev:1/',
      proto_name: 'LwM2M',
      proto_ver: '1.1',
      ip_address: '192.0.2.7',
      port: 40000,
      lifetime: 300,
      keepalive: 300,
      connected: true,
      created_at: '2026-01-01T00:00:00.000Z',
      connected_at: '2026-01-01T00:05:00.000Z',
      binding: 'UQ',
      queue_mode: true,
      awake: true,
      object_list: ['/1/0', '/3/0'],
      dtls: { kind: 'psk', name: 'id-1' },
      last_seen: '2026-01-01T00:06:00.000Z',
      queued_commands: 0,
      observations: 0,
    });
  });

  it('takes a queue-mode device as asleep past the window, and never seen before it spoke', () => {
    const device = new Device<unknown>(registration({ peer: { address: '192.0.2.7', port: 1 }, query: {} }));
    device.touch(1_000_000);
    const asleep = clientView(device, 22, 1_000_000 + 23_000);
    expect(asleep).toMatchObject({ awake: false, dtls: null, username: 'urn:dev:1', mountpoint: null });
    device.waitForDevice();
    expect(clientView(device, 22, 1_000_000)).toMatchObject({ awake: false, last_seen: null });
  });
});
