import { formatPath, parsePath } from '../../../src/lwm2m/path';

describe('parsePath', () => {
  it.each([
    ['/', '/'],
    ['', '/'],
    ['//', '/'],
    ['/3', '/3'],
    ['3/0', '/3/0'],
    ['/3/0/1/', '/3/0/1'],
    [' /3303/0/5700 ', '/3303/0/5700'],
    ['//3/0/7/1//', '/3/0/7/1'],
    ['/65535/65535/65535/65535', '/65535/65535/65535/65535'],
    ['/00003/0', '/3/0'],
  ])('reads %j as %s', (text, expected) => {
    expect(formatPath(parsePath(text))).toBe(expected);
  });

  it('keeps the levels apart', () => {
    expect(parsePath('/3/0/7/1')).toEqual({ objectId: 3, instanceId: 0, resourceId: 7, resourceInstanceId: 1 });
    expect(parsePath('/3/0')).toEqual({ objectId: 3, instanceId: 0 });
  });

  it.each([
    ['/1/2/3/4/5', 'invalid path "/1/2/3/4/5": more than 4 levels'],
    ['/1/x/3/4/5', 'invalid path "/1/x/3/4/5": more than 4 levels'],
    ['/3//0', 'invalid path "/3//0": "" is not an id'],
    ['/3/a', 'invalid path "/3/a": "a" is not an id'],
    ['/3/ 0', 'invalid path "/3/ 0": " 0" is not an id'],
    ['/-3', 'invalid path "/-3": "-3" is not an id'],
    ['/3.0', 'invalid path "/3.0": "3.0" is not an id'],
    ['/000003', 'invalid path "/000003": "000003" is not an id'],
    ['/65536', 'invalid path "/65536": id 65536 exceeds 65535'],
    ['/3/99999/x', 'invalid path "/3/99999/x": id 99999 exceeds 65535'],
    ['/3/x/99999', 'invalid path "/3/x/99999": "x" is not an id'],
    ['/３', 'invalid path "/３": "３" is not an id'],
  ])('refuses %j', (text, message) => {
    expect(() => parsePath(text)).toThrow(message);
  });
});
