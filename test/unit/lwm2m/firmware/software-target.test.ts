import { FIRMWARE_TARGET } from '../../../../src/lwm2m/firmware/firmware-target';
import { SoftwareState, softwareResources, softwareResultName, softwareTarget } from '../../../../src/lwm2m/firmware/software-target';
import type { Entry } from '../../../../src/lwm2m/node';

const { INITIAL, DOWNLOAD_STARTED, DOWNLOADED, DELIVERED, INSTALLED } = SoftwareState;

describe('software target (object 9)', () => {
  it('reads one instance out of decoded entries, ignoring other instances and types', () => {
    const entries: Entry[] = [
      { path: '/9/1/0', type: 'string', value: 'app' },
      { path: '/9/1/1', type: 'string', value: '1.2' },
      { path: '/9/1/7', type: 'integer', value: 4 },
      { path: '/9/1/9', type: 'integer', value: 2 },
      { path: '/9/1/12', type: 'boolean', value: true },
      { path: '/9/10/7', type: 'integer', value: 0 },
      { path: '/9/0/7', type: 'integer', value: 3 },
      { path: '/9/1/8', type: 'boolean', value: false },
    ];
    expect(softwareResources(entries, 1)).toEqual({ pkgName: 'app', pkgVersion: '1.2', state: 4, result: 2, active: true });
    expect(softwareResources([{ path: '/9/1/7', type: 'string', value: '4' }, { path: '/9/1/12', type: 'integer', value: 1 }], 1)).toEqual({ state: undefined });
  });

  it('install: starts from INITIAL only, ready when DELIVERED, succeeds when INSTALLED, fails on results >= 50', () => {
    const t = softwareTarget('install', 0);
    expect(t).toMatchObject({ path: '/9/0', delivers: true, packageResource: 2, packageUriResource: 3, execute: { resourceId: 4, args: '' } });
    expect(t.startProblem({ state: INITIAL, result: 0 })).toBeUndefined();
    expect(t.startProblem({ state: INSTALLED, pkgName: 'a', pkgVersion: '1' })).toContain('"forUpdate":true');
    expect(t.startProblem({ state: DELIVERED })).toContain('3 DELIVERED');
    expect(t.startProblem({})).toContain('/9/0/7');
    expect(t.whileDownloading({ state: DOWNLOAD_STARTED, result: 1 })).toBe('wait');
    expect(t.whileDownloading({ state: DOWNLOADED, result: 1 })).toBe('wait');
    expect(t.whileDownloading({ state: DELIVERED, result: 3 })).toBe('ready');
    expect(t.whileDownloading({ state: INITIAL, result: 52 })).toEqual({ failed: 52 });
    expect(t.afterExecute({ state: DELIVERED, result: 3 }, false)).toBe('wait');
    expect(t.afterExecute({ state: INSTALLED, result: 2 }, false)).toBe('succeeded');
    expect(t.afterExecute({ state: DELIVERED, result: 58 }, true)).toEqual({ failed: 58 });
  });

  it('short operations: only what the device says after the execute was answered decides', () => {
    const un = softwareTarget('uninstall', 2);
    expect(un.execute).toMatchObject({ resourceId: 6, args: '' });
    expect(softwareTarget('uninstall', 2, true).execute.args).toBe('1');
    expect(un.startProblem({ state: DELIVERED })).toBeUndefined();
    expect(un.startProblem({ state: INITIAL })).toContain('nothing to uninstall');
    expect(softwareTarget('uninstall', 2, true).startProblem({ state: DELIVERED })).toContain('for update');
    // An old failure result or an old INITIAL seen before the answer is not the outcome.
    expect(un.afterExecute({ state: INITIAL, result: 0 }, false)).toBe('wait');
    expect(un.afterExecute({ state: INITIAL, result: 0 }, true)).toBe('succeeded');
    expect(un.afterExecute({ state: INSTALLED, result: 59 }, true)).toEqual({ failed: 59 });
    const on = softwareTarget('activate', 0);
    expect(on.execute.resourceId).toBe(10);
    expect(on.startProblem({ state: DELIVERED })).toContain('not INSTALLED');
    expect(on.afterExecute({ active: true }, false)).toBe('wait');
    expect(on.afterExecute({ active: true }, true)).toBe('succeeded');
    expect(on.afterExecute({ active: false }, true)).toBe('wait');
    const off = softwareTarget('deactivate', 0);
    expect(off.execute.resourceId).toBe(11);
    expect(off.afterExecute({ active: false }, true)).toBe('succeeded');
    expect(off.stateNames.executing).toBe('deactivating');
    expect(off.cancelOperation(true, false, {})).toBeUndefined();
  });

  it('cancel: an empty Package URI (pull) or Package (push) while downloading, Uninstall once DELIVERED', () => {
    const t = softwareTarget('install', 3);
    expect(t.cancelOperation(false, false, { state: DOWNLOAD_STARTED })).toMatchObject({ op: { type: 'write', path: { objectId: 9, instanceId: 3, resourceId: 3 } }, what: 'Package URI /9/3/3' });
    expect(t.cancelOperation(false, true, { state: DOWNLOAD_STARTED })).toMatchObject({ op: { type: 'write', path: { resourceId: 2 } } });
    expect(t.cancelOperation(false, false, { state: DELIVERED })).toMatchObject({ op: { type: 'execute', path: { resourceId: 6 } } });
    expect(t.cancelOperation(true, true, {})).toMatchObject({ op: { type: 'execute', path: { resourceId: 6 } } });
  });

  it('result names follow object 9; unknown values are named as such', () => {
    expect(softwareResultName(53)).toBe('integrity_check_failure');
    expect(softwareResultName(59)).toBe('uninstallation_failure');
    expect(softwareResultName(55)).toBe('unknown_55');
    expect(softwareTarget('install', 0).resultName(2)).toBe('installed');
  });

  it('firmware target (object 5): Downloaded is ready, Update Result 1 succeeds, 11 (deferred) waits', () => {
    expect(FIRMWARE_TARGET.whileDownloading({ state: 2, result: 0 })).toBe('ready');
    expect(FIRMWARE_TARGET.whileDownloading({ state: 1, result: 5 })).toEqual({ failed: 5 });
    expect(FIRMWARE_TARGET.afterExecute({ result: 1 }, false)).toBe('succeeded');
    expect(FIRMWARE_TARGET.afterExecute({ result: 11 }, true)).toBe('wait');
    expect(FIRMWARE_TARGET.afterExecute({ result: 8 }, true)).toEqual({ failed: 8 });
    expect(FIRMWARE_TARGET.startProblem({ state: 1 })).toContain('firmware-cancel');
    expect(FIRMWARE_TARGET.cancelOperation(false, false, { delivery: 1 })?.what).toBe('Package');
  });
});
