import Ajv from 'ajv';
import { loadSchema } from '../../src/package-root';
import { defineMqttContractSuite } from './suites/mqtt-contract.suite';

it('the uplink schema the suite checks against refuses a register without ep or with a secret', () => {
  const validate = new Ajv({ strict: false }).compile(loadSchema('uplink.schema.json'));
  const data = { lt: 60, lwm2m: '1.0', security: 'none', alternatePath: '/', objectList: [] };
  expect(validate({ msgType: 'register', data: { ...data, ep: 'x' } })).toBe(true);
  expect(validate({ msgType: 'register', data })).toBe(false);
  for (const secret of ['password', 'pwd', 'apikey', 'X-Auth-Token', 'psk']) {
    expect(validate({ msgType: 'register', data: { ...data, ep: 'x', [secret]: 'p' } })).toBe(false);
  }
  expect(validate({ msgType: 'register', data: { ...data, ep: 'x', security: 'maybe' } })).toBe(false);
});

// The MQTT-level suite against the in-process aedes broker; test:interop runs it against Mosquitto.
defineMqttContractSuite('aedes');
