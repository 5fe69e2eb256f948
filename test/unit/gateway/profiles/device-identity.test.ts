import { deviceIdentity } from '../../../../src/gateway/profiles/device-identity';
import { parseProfiles } from '../../../../src/gateway/profiles/profile-config';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const opts = { source: 'test', baseDir: '/' };

describe('deviceIdentity', () => {
  const [byEndpoint, byAttribute, fixedTenant] = parseProfiles(
    [
      { name: 'by-endpoint' },
      { name: 'by-attribute', device_id: 'dev-${client_attrs.device_id}', tenant: 't-${client_attrs.tenant}' },
      { name: 'fixed', device_id: '${endpoint}', tenant: 'plant-a' },
    ],
    opts,
  );

  it('renders the device id and tenant; an empty tenant is `default`', () => {
    expect(deviceIdentity(byEndpoint, { endpoint: 'urn:dev:1', clientAttrs: {} })).toEqual({ deviceId: 'urn:dev:1', tenant: 'default' });
    expect(deviceIdentity(byEndpoint, { endpoint: 'urn:dev:1', clientAttrs: { tenant: 'acme' } })).toEqual({ deviceId: 'urn:dev:1', tenant: 'acme' });
    expect(deviceIdentity(byAttribute, { endpoint: 'e', clientAttrs: { device_id: '42', tenant: 'acme' } })).toEqual({ deviceId: 'dev-42', tenant: 't-acme' });
    expect(deviceIdentity(fixedTenant, { endpoint: 'e', clientAttrs: { tenant: 'ignored' } })).toEqual({ deviceId: 'e', tenant: 'plant-a' });
  });

  it.each([
    ['', 'is empty'],
    ['a+b', 'contains an MQTT wildcard (+ #) or /'],
    ['a#', 'contains an MQTT wildcard (+ #) or /'],
    ['a/b', 'contains an MQTT wildcard (+ #) or /'],
    ['a\u0000b', 'contains NUL or another control character'],
    ['a\u001bb', 'contains NUL or another control character'],
    ['a\u009bb', 'contains NUL or another control character'],
    ['a\ud800b', 'is not well-formed Unicode (a lone surrogate)'],
    ['a\udc00', 'is not well-formed Unicode (a lone surrogate)'],
    ['é'.repeat(129), 'is 258 bytes, longer than 256'],
  ])('refuses the device id %j: it %s', (endpoint, problem) => {
    const result = deviceIdentity(byEndpoint, { endpoint, clientAttrs: {} });
    expect(result).toEqual({ problem: `profile by-endpoint: the device id (from device_id "\${endpoint}") ${problem}` });
  });

  it('takes well-formed text beyond the BMP and exactly 256 bytes', () => {
    expect(deviceIdentity(byEndpoint, { endpoint: 'dev-😀', clientAttrs: {} })).toMatchObject({ deviceId: 'dev-😀' });
    expect(deviceIdentity(byEndpoint, { endpoint: 'x'.repeat(256), clientAttrs: {} })).toMatchObject({ deviceId: 'x'.repeat(256) });
  });

  it('refuses a device id rendered empty from a missing attribute, and a hostile tenant, without quoting either', () => {
    expect(deviceIdentity(parseProfiles([{ name: 'p', device_id: '${client_attrs.device_id}' }], opts)[0], { endpoint: 'e', clientAttrs: {} })).toEqual({
      problem: 'profile p: the device id (from device_id "${client_attrs.device_id}") is empty',
    });
    const result = deviceIdentity(byEndpoint, { endpoint: 'e', clientAttrs: { tenant: 'secret+#' } });
    expect(result).toEqual({ problem: 'profile by-endpoint: the tenant (from tenant "${client_attrs.tenant}") contains an MQTT wildcard (+ #) or /' });
  });

  it('takes the device_id_map id over the template for the endpoints it holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'identity-'));
    try {
      writeFileSync(join(dir, 'ids.yaml'), 'urn:dev:1: plant.t1\n');
      const [p] = parseProfiles([{ name: 'mapped', device_id: 'tpl-${endpoint}', device_id_map: 'ids.yaml' }], { source: 's', baseDir: dir });
      expect(deviceIdentity(p, { endpoint: 'urn:dev:1', clientAttrs: {} })).toEqual({ deviceId: 'plant.t1', tenant: 'default' });
      expect(deviceIdentity(p, { endpoint: 'urn:dev:2', clientAttrs: {} })).toEqual({ deviceId: 'tpl-urn:dev:2', tenant: 'default' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
