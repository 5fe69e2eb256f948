/**
 * Registration expiry (RegistrationStore): a registration that outlives its lifetime without an
 * update is removed and reported `expired` once; an update moves its deadline; one sweep for all.
 */
import { RegistrationStore } from '../../../src/lwm2m/registration/registration-store';
import type { Registration } from '../../../src/lwm2m/registration/registration';

function registration(id: string, endpoint: string, lifetime: number, lastUpdate: number): Registration {
  return {
    id,
    endpoint,
    lifetime,
    lwm2mVersion: '1.1',
    binding: 'U',
    queueMode: false,
    query: {},
    alternatePath: '/',
    objectList: ['/3/0'],
    contentFormats: [],
    peer: { address: '10.0.0.1', port: 5683 },
    registeredAt: lastUpdate,
    lastUpdate,
  };
}

describe('registration expiry', () => {
  const T0 = 1_700_000_000_000;

  it('removes a registration once its lifetime has passed since the last update, and reports it once', () => {
    const store = new RegistrationStore();
    const expired: string[] = [];
    store.on('expired', (reg: Registration) => expired.push(reg.endpoint));
    store.add(registration('a', 'ep-a', 60, T0));
    store.add(registration('b', 'ep-b', 120, T0));
    store.sweep(T0 + 59_999);
    expect(expired).toEqual([]);
    store.sweep(T0 + 60_000);
    expect(expired).toEqual(['ep-a']);
    expect(store.byEndpoint('ep-a')).toBeUndefined();
    expect(store.get('a')).toBeUndefined();
    store.sweep(T0 + 60_500);
    expect(expired).toEqual(['ep-a']);
    store.sweep(T0 + 120_000);
    expect(expired).toEqual(['ep-a', 'ep-b']);
    expect(store.size).toBe(0);
  });

  it('an update (a new lastUpdate) moves the deadline', () => {
    const store = new RegistrationStore();
    const expired: string[] = [];
    store.on('expired', (reg: Registration) => expired.push(reg.endpoint));
    const reg = registration('a', 'ep-a', 60, T0);
    store.add(reg);
    reg.lastUpdate = T0 + 50_000;
    store.sweep(T0 + 100_000);
    expect(expired).toEqual([]);
    store.sweep(T0 + 110_000);
    expect(expired).toEqual(['ep-a']);
  });

  it('grace tolerates a late update; a replaced registration never expires on the old one’s clock', () => {
    const store = new RegistrationStore();
    const expired: string[] = [];
    store.on('expired', (reg: Registration) => expired.push(reg.id));
    store.add(registration('old', 'ep', 60, T0));
    store.sweep(T0 + 61_000, 5_000);
    expect(expired).toEqual([]);
    store.add(registration('new', 'ep', 60, T0 + 61_000));
    store.sweep(T0 + 70_000, 5_000);
    expect(expired).toEqual([]);
    store.sweep(T0 + 126_000, 5_000);
    expect(expired).toEqual(['new']);
  });

  it('sweeps 100,000 registrations in one pass, expiring those due and keeping the rest', () => {
    const store = new RegistrationStore();
    let count = 0;
    store.on('expired', () => count++);
    for (let i = 0; i < 100_000; i++) store.add(registration(`id${i}`, `ep${i}`, i % 2 === 0 ? 60 : 3600, T0));
    store.sweep(T0 + 61_000);
    expect(count).toBe(50_000);
    expect(store.size).toBe(50_000);
  });
});
