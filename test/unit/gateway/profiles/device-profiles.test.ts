import { DeviceProfiles } from '../../../../src/gateway/profiles/device-profiles';
import { parseProfiles } from '../../../../src/gateway/profiles/profile-config';
import { profileTopicProblem } from '../../../../src/gateway/profiles/profile-topic';

const opts = { source: 'test', baseDir: '/' };
const TRANSLATORS = {
  telemetry: { topic: 'telemetry/${tenant}/${device_id}', qos: 0 as const },
  attributes: { topic: 'a/${endpoint_name}', qos: 0 as const },
  status: { topic: 'status/${device_id}', qos: 1 as const },
};

describe('DeviceProfiles', () => {
  const profiles = () =>
    new DeviceProfiles(
      parseProfiles(
        [
          { name: 'by-attr', match: { client_attrs: { model: 'T1' } }, device_id: '${client_attrs.sn}', tenant: '${client_attrs.tenant}' },
          { name: 'thermo', match: { objects: [3303] }, device_id: 'd-${endpoint}', tenant: 'acme' },
        ],
        opts,
      ),
      TRANSLATORS,
    );

  it('binds a device to the first matching profile, with its id, tenant and rendered topics', () => {
    const b = profiles().bind({ endpoint: 'a/b', objectList: ['/3/0', '/3303/0'] });
    // The endpoint "a/b" renders a device id with "/": not a topic level, so no profile is applied.
    expect(b && 'problem' in b && b.problem).toMatch(/profile thermo: the device id .* contains an MQTT wildcard \(\+ #\) or \//);
    const ok = profiles().bind({ endpoint: 'x%y', objectList: ['/3303/0'] });
    expect(ok && !('problem' in ok) && { name: ok.profile.name, id: ok.deviceId, tenant: ok.tenant, t: ok.telemetryTopic, a: ok.attributesTopic, s: ok.statusTopic }).toEqual({
      name: 'thermo',
      id: 'd-x%y',
      tenant: 'acme',
      t: 'telemetry/acme/d-x%y',
      // ${endpoint_name} is escaped as the mountpoint escapes it.
      a: 'a/x%25y',
      s: 'status/d-x%y',
    });
  });

  it('takes client_attrs from the auth hook; an empty tenant is "default"; no match, no binding', () => {
    const b = profiles().bind({ endpoint: 'e', attributes: { model: 'T1', sn: 'SN-1' }, objectList: [] });
    expect(b && !('problem' in b) && [b.profile.name, b.deviceId, b.tenant, b.telemetryTopic]).toEqual(['by-attr', 'SN-1', 'default', 'telemetry/default/SN-1']);
    expect(profiles().bind({ endpoint: 'e', attributes: { model: 'T2' }, objectList: ['/3/0'] })).toBeUndefined();
    expect(profiles().bind({ endpoint: 'e', attributes: { model: 'T1', sn: 'a+b' }, objectList: [] })).toEqual({ problem: expect.stringContaining('wildcard') });
  });

  it('replace() swaps the profiles whole', () => {
    const p = profiles();
    p.replace([]);
    expect(p.bind({ endpoint: 'e', objectList: ['/3303/0'] })).toBeUndefined();
  });
});

describe('profileTopicProblem', () => {
  it('accepts the three placeholders and refuses others, wildcards and $ topics', () => {
    expect(profileTopicProblem('telemetry/${tenant}/${device_id}/${endpoint_name}')).toBeUndefined();
    expect(profileTopicProblem('t/${client_attrs.x}')).toMatch(/unknown placeholder/);
    expect(profileTopicProblem('t/+/${device_id}')).toMatch(/wildcards/);
    expect(profileTopicProblem('t/#')).toMatch(/wildcards/);
    expect(profileTopicProblem('$SYS/${device_id}')).toMatch(/reserved/);
    expect(profileTopicProblem('t/${device_id')).toMatch(/unclosed/);
  });
});
