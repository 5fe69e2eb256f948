import { createMountpointSplitter, mountpointWildcard, renderMountpoint, topicMatches } from '../../../src/gateway/mountpoint';

const vars = { endpoint_name: 'ep1', clientid: 'c1', username: 'u1', peerhost: '10.0.0.1', client_attrs: { tenant: 't9' } };

describe('mountpoint', () => {
  it('renders every placeholder and leaves unknown ones as text', () => {
    expect(renderMountpoint('lwm2m/${endpoint_name}/', vars)).toBe('lwm2m/ep1/');
    expect(renderMountpoint('${client_attrs.tenant}/${username}/${clientid}/${peerhost}/${other}/${client_attrs.nope}/', vars)).toBe(
      't9/u1/c1/10.0.0.1/${other}/${client_attrs.nope}/',
    );
  });

  it('subscribes with + for every level holding a placeholder', () => {
    expect(mountpointWildcard('lwm2m/${endpoint_name}/')).toBe('lwm2m/+/');
    expect(mountpointWildcard('a/dev-${endpoint_name}/${other}/')).toBe('a/+/${other}/');
  });

  it('splits an incoming topic into the rendered mountpoint and the rest', () => {
    const split = createMountpointSplitter('lwm2m/${endpoint_name}/');
    expect(split('lwm2m/urn:imei:1/dn/x')).toEqual({ prefix: 'lwm2m/urn:imei:1/', rest: 'dn/x' });
    expect(split('other/x/dn')).toBeUndefined();
  });

  it('matches MQTT filters', () => {
    expect(topicMatches('dn/#', 'dn')).toBe(true);
    expect(topicMatches('dn/#', 'dn/a/b')).toBe(true);
    expect(topicMatches('dn/+', 'dn/a')).toBe(true);
    expect(topicMatches('dn/+', 'dn/a/b')).toBe(false);
    expect(topicMatches('dn', 'up')).toBe(false);
  });
});
