import { createMemoryStore } from '../../../../src/lwm2m/store';
import { storeSuite } from '../../../suites/store.suite';

storeSuite('memory', { open: async () => createMemoryStore() });
