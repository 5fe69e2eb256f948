import { Registry } from 'prom-client';
import { StoreTiming } from '../../../src/app/metrics/store-timing';
import { createMemoryStore, type QueuedCommandRecord, type RegistrationRecord } from '../../../src/lwm2m/store';

/** The value of one series of a metric in the registry (0 when it has none). */
async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = (metric?.values ?? []).find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

const record: RegistrationRecord = {
  id: 'r1',
  endpoint: 'ep1',
  lifetime: 60,
  lwm2mVersion: '1.1',
  binding: 'U',
  queueMode: false,
  query: {},
  alternatePath: '/',
  objectList: ['/3/0'],
  contentFormats: [],
  peer: { address: '127.0.0.1', port: 5683 },
  registeredAt: 1,
  lastUpdate: 1,
};

const command: QueuedCommandRecord = { id: 'c1', endpoint: 'ep1', enqueuedAt: 1, ttl: 60, payload: { msgType: 'read' } };

describe('StoreTiming', () => {
  it('times each operation of the wrapped store under its name, and answers as the store does', async () => {
    const timing = new StoreTiming();
    const registry = new Registry();
    timing.register(registry);
    const store = timing.wrap(createMemoryStore())!;
    expect(await store.registrations.add(record)).toBeUndefined();
    expect(await store.registrations.byEndpoint('ep1')).toMatchObject({ id: 'r1' });
    expect(await store.registrations.get('nope')).toBeUndefined();
    await store.commands.append(command);
    expect(await store.commands.list('ep1')).toHaveLength(1);
    await store.credentials.put({ identity: 'id1', key: 'aa', endpoint: 'ep1', provisionedAt: 1 });
    await store.credentials.remove('id1');
    await store.jobs.put({ id: 'j1', endpoint: 'ep1', kind: 'firmware', createdAt: 1, updatedAt: 1, data: {} });
    await store.jobs.remove('ep1', 'firmware');
    const all: string[] = [];
    for await (const r of store.registrations.all()) all.push(r.id);
    expect(all).toEqual(['r1']);
    expect(await store.problem()).toBeUndefined();

    const count = (operation: string) => value(registry, 'lwm2m_store_operation_duration_seconds', { operation, le: '+Inf' });
    expect(await count('registrations_add')).toBe(1);
    expect(await count('registrations_by_endpoint')).toBe(1);
    expect(await count('registrations_get')).toBe(1);
    expect(await count('commands_append')).toBe(1);
    expect(await count('commands_list')).toBe(1);
    expect(await count('credentials_put')).toBe(1);
    expect(await count('credentials_remove')).toBe(1);
    expect(await count('jobs_put')).toBe(1);
    expect(await count('jobs_remove')).toBe(1);
    expect(await count('observations_put')).toBe(0);
    expect(await value(registry, 'lwm2m_store_operation_errors_total', { operation: 'commands_append' })).toBe(0);
    await store.close();
  });

  it('counts a failed operation as an error and passes its failure on', async () => {
    const timing = new StoreTiming();
    const registry = new Registry();
    timing.register(registry);
    const store = timing.wrap(createMemoryStore())!;
    await store.commands.append(command);
    // An id already queued is refused by every store.
    await expect(store.commands.append(command)).rejects.toThrow();
    expect(await value(registry, 'lwm2m_store_operation_errors_total', { operation: 'commands_append' })).toBe(1);
    expect(await value(registry, 'lwm2m_store_operation_duration_seconds', { operation: 'commands_append', le: '+Inf' })).toBe(2);
    await store.close();
  });

  it('leaves no store as none (store.type memory)', () => {
    expect(new StoreTiming().wrap(undefined)).toBeUndefined();
  });
});
