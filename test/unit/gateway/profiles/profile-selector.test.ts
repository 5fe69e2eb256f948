import { parseProfiles } from '../../../../src/gateway/profiles/profile-config';
import { objectIdsOf, selectProfile } from '../../../../src/gateway/profiles/profile-selector';

const opts = { source: 'test', baseDir: '/' };

describe('selectProfile', () => {
  const profiles = parseProfiles(
    [
      { name: 'thermo-t100', match: { endpoint: 'urn:dev:thermo-*', client_attrs: { model: 'T100' }, objects: [3303] } },
      { name: 'thermo', match: { endpoint: 'urn:dev:thermo-*' } },
      { name: 'acme', match: { client_attrs: { tenant: 'acme', constructor: 'x' } } },
      { name: 'has-3303-and-3', match: { objects: [3303, 3] } },
      { name: 'any' },
    ],
    opts,
  );
  const pick = (endpoint: string, clientAttrs: Record<string, string> = {}, objectIds: number[] = []) => selectProfile(profiles, { endpoint, clientAttrs, objectIds: new Set(objectIds) })?.name;

  it('takes the first profile whose every condition holds', () => {
    expect(pick('urn:dev:thermo-1', { model: 'T100' }, [3, 3303])).toBe('thermo-t100');
    expect(pick('urn:dev:thermo-1', { model: 'T200' }, [3, 3303])).toBe('thermo');
    expect(pick('urn:dev:thermo-1', { model: 'T100' }, [3])).toBe('thermo');
    expect(pick('urn:dev:other', { model: 'T100' }, [3, 3303])).toBe('has-3303-and-3');
    expect(pick('urn:dev:other', {}, [3303])).toBe('any');
  });

  it('compares client attributes as own properties, never the prototype', () => {
    expect(pick('x', { tenant: 'acme' })).toBe('any');
    expect(pick('x', { tenant: 'acme', constructor: 'x' })).toBe('acme');
    expect(pick('x', { tenant: 'ACME', constructor: 'x' })).toBe('any');
  });

  it('is undefined when nothing matches', () => {
    expect(selectProfile(profiles.slice(0, 1), { endpoint: 'x', clientAttrs: {}, objectIds: new Set() })).toBeUndefined();
    expect(selectProfile([], { endpoint: 'x', clientAttrs: {}, objectIds: new Set() })).toBeUndefined();
  });
});

describe('objectIdsOf', () => {
  it('collects the objects the object list names an instance of', () => {
    expect([...objectIdsOf(['/1/0', '/3/0', '/3303/0', '/3303/1', '/5', '/99999/0', 'x', '/4/0/1'])]).toEqual([1, 3, 3303]);
  });
});
