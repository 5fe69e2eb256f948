import { CommandParser, type JsonObject } from '../../../../src/gateway/command-parser';
import { parseProfiles } from '../../../../src/gateway/profiles/profile-config';
import { rpcCommand } from '../../../../src/gateway/profiles/rpc-call';
import { rpcStatus } from '../../../../src/gateway/profiles/rpc-status';
import { ObjectModel } from '../../../../src/lwm2m/model/object-model';
import type { Registration } from '../../../../src/lwm2m/registration/registration';

const [profile] = parseProfiles(
  [
    {
      name: 'thermometer',
      rpc: {
        reboot: { execute: '/3/0/4' },
        factory_reset: { execute: '/3/0/5', args: "0='x'" },
        set_timezone: { write: '/3/0/14' },
        set_vendor: { write: '/10241/0/1', type: 'String' },
        read_battery: { read: '/3/0/9' },
      },
    },
  ],
  { source: 'test', baseDir: '/' },
);

// The gateway's own parser: what rpcCommand builds must be a command it carries out.
const parser = new CommandParser(ObjectModel.withBuiltins());
const reg = { lwm2mVersion: '1.1', contentFormats: [], objectList: ['/3/0'] } as unknown as Registration;

function command(method: string, params: unknown, fields: JsonObject = {}): JsonObject {
  const result = rpcCommand(profile, method, params, fields);
  if (!('command' in result)) throw new Error(result.error);
  return result.command;
}

describe('rpcCommand', () => {
  it('builds an execute with the profile args (empty when none), echoing the fields', () => {
    const reboot = command('reboot', null, { reqID: 7 });
    expect(reboot).toEqual({ reqID: 7, msgType: 'execute', data: { path: '/3/0/4', args: '' } });
    expect(parser.parse(reboot, reg).op).toMatchObject({ type: 'execute', args: '' });
    const reset = command('factory_reset', { args: 'ignored' });
    expect(reset).toEqual({ msgType: 'execute', data: { path: '/3/0/5', args: "0='x'" } });
    expect(parser.parse(reset, reg).op).toMatchObject({ type: 'execute', args: "0='x'" });
  });

  it('builds a read', () => {
    const read = command('read_battery', {}, { reqID: 'abc' });
    expect(read).toEqual({ reqID: 'abc', msgType: 'read', data: { path: '/3/0/9' } });
    expect(parser.parse(read, reg).op).toMatchObject({ type: 'read', path: { objectId: 3, instanceId: 0, resourceId: 9 } });
  });

  it('builds a write from a scalar or {value, type}', () => {
    const scalar = command('set_timezone', '+02:00');
    expect(scalar).toEqual({ msgType: 'write', data: { path: '/3/0/14', value: '+02:00' } });
    expect(parser.parse(scalar, reg).op.type).toBe('write');
    expect(command('set_timezone', { value: 'UTC' })).toEqual({ msgType: 'write', data: { path: '/3/0/14', value: 'UTC' } });
    expect(command('set_timezone', { value: 'UTC', type: 'String' })).toEqual({ msgType: 'write', data: { path: '/3/0/14', type: 'String', value: 'UTC' } });
    // The profile's type wins; the model does not know object 10241 here.
    const vendor = command('set_vendor', { value: 5, type: 'Integer' });
    expect(vendor).toEqual({ msgType: 'write', data: { path: '/10241/0/1', type: 'String', value: 5 } });
    expect(parser.parse(vendor, reg).op.type).toBe('write');
  });

  it('never lets fields replace msgType or data', () => {
    expect(command('reboot', null, { msgType: 'delete', data: { path: '/3/0' }, cacheID: 1 })).toEqual({ cacheID: 1, msgType: 'execute', data: { path: '/3/0/4', args: '' } });
  });

  it('answers 4.04 for an unknown method, never one found on the prototype', () => {
    expect(rpcCommand(profile, 'explode', null)).toEqual({ code: '4.04', error: 'profile thermometer has no RPC method "explode"' });
    expect(rpcCommand(profile, 'constructor', null)).toMatchObject({ code: '4.04' });
    expect(rpcCommand(profile, 'x\u0000'.repeat(100), null)).toEqual({ code: '4.04', error: expect.not.stringContaining('\u0000') });
  });

  it.each([
    [undefined, 'params must be the value to write, or {"value": ...}'],
    [null, 'params must be the value to write, or {"value": ...}'],
    [[1], 'params must be the value to write, or {"value": ...}'],
    [Number.NaN, 'params must be the value to write, or {"value": ...}'],
    [{}, 'params.value must be a string, a finite number or a boolean'],
    [{ value: { nested: 1 } }, 'params.value must be a string, a finite number or a boolean'],
    [{ value: 1, extra: 2 }, 'params.extra is not known (params are {"value": ..., "type": ...})'],
    [{ value: 1, type: 'Text' }, 'params.type must be one of String, Integer, Unsigned Integer, Float, Boolean, Opaque, Time, Objlnk, Corelnk'],
  ])('answers 4.00 for write params %j', (params, error) => {
    expect(rpcCommand(profile, 'set_timezone', params)).toEqual({ code: '4.00', error: `RPC set_timezone: ${error}` });
  });
});

describe('rpcStatus', () => {
  it('reads success and failure from the code', () => {
    expect(rpcStatus({ reqID: 1, msgType: 'execute', data: { reqPath: '/3/0/4', code: '2.04', codeMsg: 'changed' } })).toEqual({ status: 'succeeded', code: '2.04' });
    expect(rpcStatus({ msgType: 'read', data: { reqPath: '/3/0/9', code: '2.05', content: [] } })).toEqual({ status: 'succeeded', code: '2.05' });
    expect(rpcStatus({ msgType: 'execute', data: { code: '4.05', codeMsg: 'method_not_allowed' } })).toEqual({ status: 'failed', code: '4.05' });
    expect(rpcStatus({ msgType: 'write', data: { code: '4.00', error: 'data.value: ...' } })).toEqual({ status: 'failed', code: '4.00' });
    expect(rpcStatus({ msgType: 'read', data: { code: '5.02', deviceCode: '2.05' } })).toEqual({ status: 'failed', code: '5.02' });
  });

  it('tells timeouts: coap_timeout, and 5.04 (expired in the queue)', () => {
    expect(rpcStatus({ reqID: 18, msgType: 'coap_timeout', data: { path: '/3/0/4', reqPath: '/3/0/4' } })).toEqual({ status: 'timeout', code: 'coap_timeout' });
    expect(rpcStatus({ msgType: 'execute', data: { code: '5.04', error: 'command expired in the queue after 7200 s (mheaders.ttl)' } })).toEqual({ status: 'timeout', code: '5.04' });
  });

  it('takes coap_reset and malformed answers as failed, and ack as not final', () => {
    expect(rpcStatus({ msgType: 'coap_reset', data: { path: '/3/0/4' } })).toEqual({ status: 'failed', code: 'coap_reset' });
    expect(rpcStatus({ msgType: 'ack', data: { path: '/3/0/4' } })).toBeUndefined();
    expect(rpcStatus({ msgType: 'execute' })).toEqual({ status: 'failed', code: 'unknown' });
    expect(rpcStatus({ msgType: 'execute', data: { code: 'x' } })).toEqual({ status: 'failed', code: 'unknown' });
    expect(rpcStatus({ msgType: 'execute', data: [] })).toEqual({ status: 'failed', code: 'unknown' });
  });
});
