import { CommandParser } from '../../../../src/gateway/command-parser';
import { observeCommands } from '../../../../src/gateway/profiles/observe-plan';
import { parseProfiles } from '../../../../src/gateway/profiles/profile-config';
import { ObjectModel } from '../../../../src/lwm2m/model/object-model';
import type { Registration } from '../../../../src/lwm2m/registration/registration';

const paths = {
  '/3303/0/5700': { pmin: 10, pmax: 60, st: 0.5 },
  '/3/0/9': {},
  '/3303/0/5701': null,
  '/3/0/20': { pmax: 300 },
  '/3442/0': {},
  '/3303/1/5700': {},
};
const profileWith = (strategy: string) => parseProfiles([{ name: `p-${strategy}`, observe: { strategy, paths } }], { source: 'test', baseDir: '/' })[0];
const objectList = ['/1/0', '/3/0', '/3303/0'];
const marker = { is_auto_observe: true };

describe('observeCommands', () => {
  it('writes attributes first, then observes each path the device has (single)', () => {
    const profile = profileWith('single');
    expect(observeCommands(profile, objectList)).toEqual([
      { msgType: 'write-attr', data: { path: '/3303/0/5700', pmin: 10, pmax: 60, st: 0.5 }, ...marker, profile: 'p-single' },
      { msgType: 'write-attr', data: { path: '/3/0/20', pmax: 300 }, ...marker, profile: 'p-single' },
      { msgType: 'observe', data: { path: '/3303/0/5700' }, ...marker, profile: 'p-single' },
      { msgType: 'observe', data: { path: '/3/0/9' }, ...marker, profile: 'p-single' },
      { msgType: 'observe', data: { path: '/3303/0/5701' }, ...marker, profile: 'p-single' },
      { msgType: 'observe', data: { path: '/3/0/20' }, ...marker, profile: 'p-single' },
    ]);
  });

  it('observes every path in one composite', () => {
    const commands = observeCommands(profileWith('composite'), objectList);
    expect(commands.slice(2)).toEqual([{ msgType: 'observe-composite', data: { paths: ['/3303/0/5700', '/3/0/9', '/3303/0/5701', '/3/0/20'] }, ...marker, profile: 'p-composite' }]);
  });

  it('observes one composite per object, a single path plainly', () => {
    const commands = observeCommands(profileWith('composite_by_object'), ['/3/0', '/3303/0', '/3303/1', '/3442/0']);
    expect(commands.slice(2).map((c) => [c.msgType, c.data])).toEqual([
      ['observe-composite', { paths: ['/3303/0/5700', '/3303/0/5701', '/3303/1/5700'] }],
      ['observe-composite', { paths: ['/3/0/9', '/3/0/20'] }],
      ['observe', { path: '/3442/0' }],
    ]);
  });

  it('makes nothing for a device without the objects', () => {
    for (const strategy of ['single', 'composite', 'composite_by_object']) expect(observeCommands(profileWith(strategy), ['/1/0'])).toEqual([]);
    expect(observeCommands(parseProfiles([{ name: 'none' }], { source: 't', baseDir: '/' })[0], objectList)).toEqual([]);
  });

  it('makes commands the gateway parser carries out', () => {
    const parser = new CommandParser(ObjectModel.withBuiltins());
    const reg = { lwm2mVersion: '1.1', contentFormats: [], objectList } as unknown as Registration;
    for (const strategy of ['single', 'composite', 'composite_by_object']) {
      for (const command of observeCommands(profileWith(strategy), objectList)) {
        expect(parser.parse(command, reg).op.type).toBe(command.msgType);
      }
    }
    const [writeAttr] = observeCommands(profileWith('single'), objectList);
    expect(parser.parse(writeAttr, reg).op).toMatchObject({ attributes: [['pmin', '10'], ['pmax', '60'], ['st', '0.5']] });
  });
});
