import { parseDiscoverAnswer } from '../../../../src/lwm2m/bootstrap/discover-layout';
import { parseLinkFormat, type Link } from '../../../../src/lwm2m/codec';
import { MAX_DISCOVERED_INSTANCES, parseDiscoverLayout } from '../../../../src/lwm2m/bootstrap/discover-layout';

const layoutOf = (text: string) => parseDiscoverLayout(parseLinkFormat(text));

describe('parseDiscoverLayout', () => {
  it('reads the TS Core 1.1.1 §6.1.7.3 Bootstrap-Discover example', () => {
    // The spec's answer to a Bootstrap-Discover on /0 (as quoted in OMA_LwM2M_for_Developers issue
    // #474, space and trailing slash included): the bootstrap account is /0/1, the instance without ssid.
    const layout = layoutOf(
      '</>;lwm2m=1.1,</0/0>;ssid=101;uri="coaps://server_1.example.com", </0/1/>,</0/2>;ssid=102;uri="coaps://server_2.example.com"',
    );
    expect(layout).toEqual({
      version: '1.1',
      bootstrapAccountInstance: 1,
      securityInstances: [0, 1, 2],
      serverInstances: [],
      aclInstances: [],
    });
  });

  it('reads a whole-tree answer (Server, ACL and other objects)', () => {
    const layout = layoutOf(
      '</>;lwm2m=1.1,</0/0>,</0/1>;ssid=101;uri="coaps://gw:5684",</1/0>;ssid=101,</2/0>,</2/1>,</3/0>,</4/0>',
    );
    expect(layout).toEqual({
      version: '1.1',
      bootstrapAccountInstance: 0,
      securityInstances: [0, 1],
      serverInstances: [0],
      aclInstances: [0, 1],
    });
  });

  it('finds a bootstrap account that is not at /0/0 (LwM2M 1.0 ETS int-0 answer)', () => {
    const layout = layoutOf('</>;lwm2m="1.0",</0/0>;ssid=1,</0/1>,</1/0>;ssid=1,</3/0>');
    expect(layout.version).toBe('1.0');
    expect(layout.bootstrapAccountInstance).toBe(1);
    expect(layout.securityInstances).toEqual([0, 1]);
  });

  it('reads version 1.2 and leaves an unknown or missing version undefined', () => {
    expect(layoutOf('</>;lwm2m=1.2,</0/0>').version).toBe('1.2');
    expect(layoutOf('</>;lwm2m=2.0,</0/0>').version).toBeUndefined();
    expect(layoutOf('</>;lwm2m=1.1.1,</0/0>').version).toBeUndefined();
    expect(layoutOf('</>;lwm2m,</0/0>').version).toBeUndefined();
    // A 1.0 client: no lwm2m attribute at all.
    expect(layoutOf('</0/0>,</0/1>;ssid=1,</1/0>;ssid=1').version).toBeUndefined();
    // Only </> declares the version.
    expect(layoutOf('</0>;lwm2m=1.1,</0/0>').version).toBeUndefined();
  });

  it('has no bootstrap account when every /0 instance carries ssid', () => {
    const layout = layoutOf('</>;lwm2m=1.1,</0/3>;ssid=101,</1/0>;ssid=101');
    expect(layout.bootstrapAccountInstance).toBeUndefined();
    expect(layout.securityInstances).toEqual([3]);
  });

  it('takes the lowest of several /0 instances without ssid, whatever the link order', () => {
    expect(layoutOf('</0/7>,</0/2>,</0/4>;ssid=1').bootstrapAccountInstance).toBe(2);
  });

  it('sorts and de-duplicates ids, tolerates a trailing slash and ignores object-level links', () => {
    const layout = layoutOf('</0>,</0/2/>,</0/1>;ssid=1,</0/2>,</1>,</1/5>;ssid=1,</1/5>;ssid=1,</2/9>,</2/3>');
    expect(layout).toEqual({ bootstrapAccountInstance: 2, securityInstances: [1, 2], serverInstances: [5], aclInstances: [3, 9] });
  });

  it('skips links that are not /, /O or /O/I with ids up to 65535, without throwing', () => {
    const links: Link[] = [
      { uri: '/0/65536', attributes: {} },
      { uri: '/0/1/2', attributes: {} },
      { uri: '/0/x', attributes: {} },
      { uri: 'coap://host/0/1', attributes: {} },
      { uri: '', attributes: {} },
      { uri: '//', attributes: {} },
      { uri: '/0/00000001', attributes: {} },
      { uri: '/1/65535', attributes: { ssid: '1' } },
      { uri: '/', attributes: { lwm2m: true } },
    ];
    expect(parseDiscoverLayout(links)).toEqual({ securityInstances: [], serverInstances: [65535], aclInstances: [] });
  });

  it('keeps at most MAX_DISCOVERED_INSTANCES ids per object', () => {
    const links: Link[] = [];
    for (let id = 0; id < MAX_DISCOVERED_INSTANCES + 500; id++) links.push({ uri: `/1/${id}`, attributes: { ssid: '1' } });
    links.push({ uri: '/0/4', attributes: {} });
    const layout = parseDiscoverLayout(links);
    expect(layout.serverInstances).toHaveLength(MAX_DISCOVERED_INSTANCES);
    expect(layout.serverInstances[MAX_DISCOVERED_INSTANCES - 1]).toBe(MAX_DISCOVERED_INSTANCES - 1);
    // Another object's ids are unaffected.
    expect(layout.securityInstances).toEqual([4]);
    expect(layout.bootstrapAccountInstance).toBe(4);
  });

  it('gives an empty layout for an empty answer', () => {
    expect(parseDiscoverLayout([])).toEqual({ securityInstances: [], serverInstances: [], aclInstances: [] });
  });
});

describe('parseDiscoverAnswer', () => {
  it('reads the LwM2M 1.0 form, the version as a bare first attribute (TS 1.0.2, as Anjay sends it)', () => {
    const layout = parseDiscoverAnswer('lwm2m="1.0",</0>,</0/1>,</1>,</2>,</3>,</3/0>,</10>;ver="1.1"');
    expect(layout).toEqual({ version: '1.0', securityInstances: [1], serverInstances: [], aclInstances: [], bootstrapAccountInstance: 1 });
  });

  it('reads the 1.1 form, the version on the root link', () => {
    expect(parseDiscoverAnswer('</>;lwm2m=1.1,</0/0>,</0/1>;ssid=101,</1/0>;ssid=101').version).toBe('1.1');
  });

  it('still refuses what is no link format', () => {
    expect(() => parseDiscoverAnswer('lwm2m="1.0",garbage')).toThrow();
  });
});
