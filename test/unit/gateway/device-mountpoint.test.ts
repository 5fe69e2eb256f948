import { DeviceMountpoint } from '../../../src/gateway/device-mountpoint';
import { DeviceProfiles } from '../../../src/gateway/profiles/device-profiles';
import { parseProfiles } from '../../../src/gateway/profiles/profile-config';

const TRANSLATORS = {
  telemetry: { topic: 'telemetry/${tenant}/${device_id}', qos: 0 as const },
  attributes: { topic: 'attributes/${tenant}/${device_id}', qos: 0 as const },
  status: { topic: 'status/${tenant}/${device_id}', qos: 0 as const },
};

const profiles = new DeviceProfiles(
  parseProfiles(
    [
      { name: 'by-attr', match: { client_attrs: { model: 'T1' } }, device_id: '${client_attrs.sn}', tenant: 't' },
      { name: 'thermo', match: { objects: [3303] }, device_id: 'd-${endpoint}', tenant: 't' },
    ],
    { source: 'test', baseDir: '/' },
  ),
  TRANSLATORS,
);

const subject = (endpoint: string, objectList: string[] = [], attributes?: Record<string, string>) => ({ endpoint, query: {}, peer: { address: '10.0.0.1' }, objectList, attributes });

describe('DeviceMountpoint', () => {
  it('renders ${device_id} from the profile the device matches (by objects, by client_attrs), else the endpoint name', () => {
    const m = new DeviceMountpoint('lwm2m/${device_id}/', profiles, 64);
    expect(m.render(subject('t1', ['/3303/0']))).toBe('lwm2m/d-t1/');
    expect(m.render(subject('t1', ['/3/0'], { model: 'T1', sn: 'SN-9' }))).toBe('lwm2m/SN-9/');
    expect(m.render(subject('plain', ['/3/0']))).toBe('lwm2m/plain/');
    // Without profiles, and in a gateway whose mountpoint does not use it, it is the endpoint name.
    expect(new DeviceMountpoint('lwm2m/${device_id}/', undefined, 64).render(subject('t1', ['/3303/0']))).toBe('lwm2m/t1/');
  });

  it("names the problem of a device id that cannot be a topic level; rendering falls back to the endpoint's name", () => {
    const m = new DeviceMountpoint('lwm2m/${device_id}/', profiles, 64);
    const bad = subject('x', ['/3/0'], { model: 'T1', sn: 'a#b' });
    expect(m.problem(bad)).toMatch(/^\$\{device_id\}: profile by-attr: the device id .* contains an MQTT wildcard/);
    expect(m.render(bad)).toBeUndefined();
    expect(m.renderOrFallback(bad)).toBe('lwm2m/x/');
    // Too long for lwm2m.max_endpoint_length.
    expect(m.problem(subject('y'.repeat(70), ['/3303/0']))).toMatch(/\$\{device_id\} is 72 bytes, longer than 64/);
    expect(m.problem(subject('t1', ['/3303/0']))).toBeUndefined();
  });

  it('is exclusive (prefixes checked as free) when a placeholder other than ${endpoint_name} is in it', () => {
    expect(new DeviceMountpoint('lwm2m/${endpoint_name}/', profiles, 64).exclusive).toBe(false);
    expect(new DeviceMountpoint('lwm2m/', profiles, 64).exclusive).toBe(false);
    for (const t of ['lwm2m/${device_id}/', 'lwm2m/${clientid}/', 'x/${username}/', 'x/${peerhost}/${endpoint_name}/', 'x/${client_attrs.tenant}/']) {
      expect(new DeviceMountpoint(t, profiles, 64).exclusive).toBe(true);
    }
  });
});
