/**
 * DeviceManager.restore() from a store: waiting requests come back in order and go when their
 * device may be spoken to; a device that spoke over DTLS gets nothing until it speaks again (its
 * session died with the old process: a request now would be dropped unsent and time out).
 */
import { DeviceManager } from '../../../../src/lwm2m/device/device-manager';
import type { ContextCodec } from '../../../../src/lwm2m/device/device-persistence';
import type { Lwm2mServer } from '../../../../src/lwm2m/lwm2m-server';
import { toRegistrationRecord } from '../../../../src/lwm2m/registration/registration-record';
import type { Registration } from '../../../../src/lwm2m/registration/registration';
import { createMemoryStore, type GatewayStore } from '../../../../src/lwm2m/store';
import { DEFAULT_OPTIONS, FakeServer, read, RecordingHandler, registration, tick } from './engine-harness';

class RestoringServer extends FakeServer {
  readonly restored: Registration[] = [];
  restoreRegistration(reg: Registration): void {
    this.restored.push(reg);
  }
  holdUntil(): void {}
}

describe('DeviceManager.restore', () => {
  let store: GatewayStore;
  let server: RestoringServer;
  let handler: RecordingHandler<string>;
  let manager: DeviceManager<string>;

  beforeEach(() => {
    store = createMemoryStore();
    server = new RestoringServer();
    handler = new RecordingHandler<string>();
    manager = new DeviceManager<string>(server as unknown as Lwm2mServer, { ...DEFAULT_OPTIONS, store });
    const codec: ContextCodec<string> = {
      handler,
      toJson: (context) => context,
      revive: (json) => (typeof json === 'string' && json.startsWith('read ') ? { op: read(json.slice(5)), ttl: Infinity, context: json } : undefined),
    };
    manager.useContextCodec(codec);
  });

  afterEach(async () => {
    manager.close();
    await store.close();
  });

  async function stored(reg: Registration, commands: string[]): Promise<void> {
    await store.registrations.add(toRegistrationRecord(reg));
    let n = 0;
    for (const c of commands) await store.commands.append({ id: `${reg.endpoint}-${n++}`, endpoint: reg.endpoint, enqueuedAt: Date.now(), ttl: -1, payload: c });
  }

  it('sends the waiting requests of a device on plain UDP after the restore, in order; drops what the northbound no longer takes', async () => {
    await stored(registration('udp-dev'), ['read /3/0/0', 'bogus', 'read /3/0/1']);
    const summary = await manager.restore();
    expect(summary).toEqual({ registrations: 1, observations: 0, commands: 2, dropped: 1 });
    expect(server.restored.map((r) => r.endpoint)).toEqual(['udp-dev']);
    await tick();
    expect(server.sentPaths()).toEqual(['/3/0/0']);
    server.sent[0].listener.onResponse({ code: '2.05' });
    expect(server.sentPaths()).toEqual(['/3/0/0', '/3/0/1']);
    expect(await store.commands.list('udp-dev')).toEqual([]);
  });

  it('holds the waiting requests of a device that spoke over DTLS until it speaks again', async () => {
    const reg = { ...registration('dtls-dev'), peer: { address: '127.0.0.1', port: 40000, identity: { kind: 'psk' as const, name: 'dtls-dev', endpoints: ['dtls-dev'] } } };
    await stored(reg, ['read /3/0/0']);
    await manager.restore();
    await tick();
    expect(server.sent).toHaveLength(0);
    const device = manager.device('dtls-dev')!;
    // A new request waits too (not sent into a dead session).
    expect(manager.submit(device, { op: read('/3/0/2'), ttl: Infinity, context: 'read /3/0/2', handler })).toBeUndefined();
    expect(server.sent).toHaveLength(0);
    server.emit('updated', device.reg, false);
    await tick();
    expect(server.sentPaths()).toEqual(['/3/0/0']);
  });
});
