import { createMountpointSplitter, escapeTopicLevel, mountpointProblem, mountpointWildcard, renderMountpoint, topicMatches } from '../../../src/gateway/mountpoint';

const vars = { endpoint_name: 'ep1', clientid: 'c1', username: 'u1', peerhost: '10.0.0.1', client_attrs: { tenant: 't9' }, device_id: 'd1' };

describe('mountpoint', () => {
  it('renders every placeholder and leaves unknown ones as text', () => {
    expect(renderMountpoint('lwm2m/${endpoint_name}/', vars)).toBe('lwm2m/ep1/');
    expect(renderMountpoint('${client_attrs.tenant}/${username}/${clientid}/${peerhost}/${device_id}/${other}/${client_attrs.nope}/', vars)).toBe(
      't9/u1/c1/10.0.0.1/d1/${other}/${client_attrs.nope}/',
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

describe('mountpoint values as topic levels', () => {
  const vars = (over: Partial<Parameters<typeof renderMountpoint>[1]> = {}): Parameters<typeof renderMountpoint>[1] => ({
    endpoint_name: 'dev1',
    clientid: 'c1',
    username: 'u1',
    peerhost: '10.0.0.1',
    client_attrs: { tenant: 'acme' },
    device_id: 'dev1',
    ...over,
  });

  it('escapes "/" as %2F and "%" as %25, so that one name is one level and two names never share a topic', () => {
    expect(escapeTopicLevel('plain:name')).toBe('plain:name');
    expect(escapeTopicLevel('a/b')).toBe('a%2Fb');
    expect(escapeTopicLevel('a%2Fb')).toBe('a%252Fb');
    expect(renderMountpoint('lwm2m/${endpoint_name}/${client_attrs.tenant}/', vars({ endpoint_name: 'x/y', client_attrs: { tenant: 'a/b' } }))).toBe('lwm2m/x%2Fy/a%2Fb/');
  });

  it('names the first placeholder whose value cannot be a topic level', () => {
    const t = 'lwm2m/${username}/${endpoint_name}/';
    expect(mountpointProblem(t, vars())).toBeUndefined();
    expect(mountpointProblem(t, vars({ endpoint_name: '#' }))).toMatch(/\$\{endpoint_name\} contains an MQTT wildcard/);
    expect(mountpointProblem(t, vars({ username: 'a+b' }))).toMatch(/\$\{username\} contains/);
    expect(mountpointProblem(t, vars({ username: 'x\u0000y' }))).toMatch(/control character/);
    expect(mountpointProblem(t, vars({ username: '' }))).toMatch(/\$\{username\} is empty/);
    expect(mountpointProblem(t, vars({ username: 'é'.repeat(5) }), 8)).toMatch(/10 bytes, longer than 8/);
    // Placeholders the template does not use are not checked.
    expect(mountpointProblem('lwm2m/${endpoint_name}/', vars({ username: '#' }))).toBeUndefined();
    expect(mountpointProblem('t/${client_attrs.tenant}/', vars({ client_attrs: { tenant: '+' } }))).toMatch(/client_attrs.tenant/);
  });

  it('reads client_attrs as own properties only', () => {
    expect(renderMountpoint('t/${client_attrs.constructor}/', vars())).toBe('t/${client_attrs.constructor}/');
    expect(renderMountpoint('t/${client_attrs.toString}/', vars())).toBe('t/${client_attrs.toString}/');
  });
});
