import type { JsonObject } from '../command-parser';
import { TYPE_NAMES } from '../value-json';
import type { DeviceProfile } from './device-profile';
import { printable } from '../../config-text/config-keys';

/** An RPC call the gateway refuses before anything is sent: `4.04` no such method, `4.00` bad params. */
export interface RpcRefusal {
  readonly code: '4.04' | '4.00';
  readonly error: string;
}

/**
 * The gateway's own MQTT command (docs/mqtt-api.md "Commands") for an RPC method of a profile, with
 * `fields` (e.g. `reqID`) as its top-level fields, echoed in the answer. `msgType` and `data` are
 * the method's, whatever `fields` holds.
 *
 * params: `execute` and `read` take none (an execute's arguments are the profile's `args`, so that
 * a caller cannot make up arguments); `write` takes the value, as a JSON scalar or as
 * `{"value": x}`, optionally `{"value": x, "type": "String"}` when the profile names no type.
 */
export function rpcCommand(profile: DeviceProfile, method: string, params: unknown, fields: Readonly<JsonObject> = {}): { command: JsonObject } | RpcRefusal {
  const operation = profile.rpc.get(method);
  if (operation === undefined) return { code: '4.04', error: `profile ${profile.name} has no RPC method "${printable(method)}"` };
  const echoed: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) if (key !== 'msgType' && key !== 'data') echoed[key] = value;
  switch (operation.kind) {
    case 'execute':
      return { command: { ...echoed, msgType: 'execute', data: { path: operation.path, args: operation.args ?? '' } } };
    case 'read':
      return { command: { ...echoed, msgType: 'read', data: { path: operation.path } } };
    case 'write': {
      const value = writeValue(params);
      if ('error' in value) return { code: '4.00', error: `RPC ${printable(method)}: ${value.error}` };
      const type = operation.type ?? value.type;
      const data: JsonObject = type === undefined ? { path: operation.path, value: value.value } : { path: operation.path, type, value: value.value };
      return { command: { ...echoed, msgType: 'write', data } };
    }
  }
}

type Scalar = string | number | boolean;

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** The value (and type name) a write's params give. */
function writeValue(params: unknown): { value: Scalar; type: string | undefined } | { error: string } {
  if (isScalar(params)) return { value: params, type: undefined };
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return { error: 'params must be the value to write, or {"value": ...}' };
  const record = params as Readonly<JsonObject>;
  for (const key of Object.keys(record)) if (key !== 'value' && key !== 'type') return { error: `params.${printable(key)} is not known (params are {"value": ..., "type": ...})` };
  const value = Object.hasOwn(record, 'value') ? record.value : undefined;
  if (!isScalar(value)) return { error: 'params.value must be a string, a finite number or a boolean' };
  const type = Object.hasOwn(record, 'type') ? record.type : undefined;
  if (type !== undefined && (typeof type !== 'string' || !TYPE_NAMES.includes(type))) return { error: `params.type must be one of ${TYPE_NAMES.join(', ')}` };
  return { value, type };
}
