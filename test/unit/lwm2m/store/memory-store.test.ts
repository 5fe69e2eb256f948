import { createMemoryStore } from '../../../../src/lwm2m/store';
import { reg, storeSuite } from '../../../suites/store.suite';

storeSuite('memory', { open: async () => createMemoryStore() });

it('memory: each store starts empty; nothing outlives it (store.type memory is today behaviour)', async () => {
  const first = createMemoryStore();
  await first.registrations.add(reg('id-1', 'ep-1'));
  expect((await first.registrations.byEndpoint('ep-1'))?.id).toBe('id-1');
  await first.close();
  const second = createMemoryStore();
  expect(await second.registrations.byEndpoint('ep-1')).toBeUndefined();
  await second.close();
});
