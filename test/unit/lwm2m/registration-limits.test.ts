import { checkIdentityBinding } from '../../../src/lwm2m/registration/admission';
import { endpointNameProblem, parseQuery } from '../../../src/lwm2m/registration/registration-service';
import { isSecretQueryKey, registrationData, DEFAULT_SECRET_QUERY_KEYS } from '../../../src/gateway/uplink-messages';
import type { Registration } from '../../../src/lwm2m/registration/registration';

describe('endpoint names', () => {
  it('are limited in UTF-8 bytes and may hold no control character', () => {
    expect(endpointNameProblem('urn:imei:490154203237518', 256)).toBeUndefined();
    expect(endpointNameProblem('a/b', 256)).toBeUndefined(); // legal in LwM2M; escaped in topics
    expect(endpointNameProblem('x'.repeat(257), 256)).toMatch(/257 bytes, longer than 256/);
    expect(endpointNameProblem('€€€', 8)).toMatch(/9 bytes/);
    expect(endpointNameProblem('a\u0000b', 256)).toMatch(/control character/);
    expect(endpointNameProblem('a\u0085b', 256)).toMatch(/control character/);
  });
});

describe('register queries', () => {
  it('are parsed into an object without a prototype', () => {
    const q = parseQuery(['ep=a', '__proto__=x', 'toString=y', 'Q']);
    expect(Object.getPrototypeOf(q)).toBeNull();
    expect(q.__proto__).toBe('x');
    expect(q.toString).toBe('y');
    expect('constructor' in q).toBe(false);
    expect(q.Q).toBe('');
  });

  it('lose every parameter whose name suggests a secret before they are published', () => {
    for (const k of ['password', 'Password', 'pwd', 'apikey', 'API_KEY', 'key', 'client_secret', 'X-Auth-Token', 'psk', 'authorization']) {
      expect(isSecretQueryKey(k, DEFAULT_SECRET_QUERY_KEYS)).toBe(true);
    }
    for (const k of ['ep', 'lt', 'lwm2m', 'b', 'sms', 'imei', 'Q', 'device_id']) expect(isSecretQueryKey(k, DEFAULT_SECRET_QUERY_KEYS)).toBe(false);
    const reg = {
      query: parseQuery(['ep=a', 'pwd=p', '__proto__=z', 'imei=1']),
      lifetime: 60,
      lwm2mVersion: '1.1',
      alternatePath: '/',
      objectList: [],
      peer: { address: '127.0.0.1', port: 1, identity: { kind: 'psk', name: 'id-1', endpoints: ['a'] } },
    } as unknown as Registration;
    const data = registrationData(reg);
    expect(JSON.stringify(data)).toBe('{"ep":"a","__proto__":"z","imei":"1","security":"psk","identity":"id-1","lt":60,"lwm2m":"1.1","alternatePath":"/","objectList":[]}');
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
  });
});

describe('identity binding', () => {
  const udp = { address: '127.0.0.1', port: 1 };
  const psk = { ...udp, identity: { kind: 'psk' as const, name: 'id', endpoints: ['dev1'] } };
  it('refuses a claimed endpoint without a credential, and another endpoint with one', () => {
    expect(checkIdentityBinding('dev1', udp, false)).toEqual({ allowed: true });
    expect(checkIdentityBinding('dev1', udp, true)).toMatchObject({ allowed: false, code: '4.03' });
    expect(checkIdentityBinding('dev1', psk, true)).toEqual({ allowed: true });
    expect(checkIdentityBinding('dev2', psk, false)).toMatchObject({ allowed: false, code: '4.03' });
  });
});
