import type { Entry } from '../node';
import { integerValue, type TargetResources } from './update-target';

/** Firmware Update (OMA object 5) State /5/0/3. */
export const FirmwareState = { IDLE: 0, DOWNLOADING: 1, DOWNLOADED: 2, UPDATING: 3 } as const;

/** Update Result /5/0/5 values by number (object 5 1.0 and 1.1: 10 cancelled, 11 deferred), as published. */
const UPDATE_RESULT_NAMES: readonly string[] = [
  'initial',
  'success',
  'not_enough_flash',
  'out_of_ram',
  'connection_lost',
  'integrity_check_failure',
  'unsupported_package_type',
  'invalid_uri',
  'firmware_update_failed',
  'unsupported_protocol',
  'cancelled',
  'deferred',
];

export function updateResultName(result: number): string {
  return UPDATE_RESULT_NAMES[result] ?? `unknown_${result}`;
}

/** Firmware Update Protocol Support /5/0/8 values by URI scheme. */
export const PROTOCOL_OF_SCHEME: Readonly<Record<string, number>> = Object.freeze({ coap: 0, coaps: 1, http: 2, https: 3, 'coap+tcp': 4, 'coaps+tcp': 5 });

/** Firmware Update Delivery Method /5/0/9. */
export const DeliveryMethod = { PULL: 0, PUSH: 1, BOTH: 2 } as const;


/** The object 5 instance 0 values among decoded entries (a read of /5/0, or a notification of /5/0/3 or /5/0/5). */
export function firmwareResources(entries: readonly Entry[]): TargetResources {
  const out: TargetResources = {};
  for (const e of entries) {
    if (!e.path.startsWith('/5/0/')) continue;
    const rest = e.path.slice(5).split('/');
    switch (rest[0]) {
      case '3':
        out.state = integerValue(e.value);
        break;
      case '5':
        out.result = integerValue(e.value);
        break;
      case '8': {
        const p = integerValue(e.value);
        if (p !== undefined) (out.protocols ??= []).push(p);
        break;
      }
      case '9':
        out.delivery = integerValue(e.value);
        break;
      case '6':
        if (typeof e.value === 'string') out.pkgName = e.value;
        break;
      case '7':
        if (typeof e.value === 'string') out.pkgVersion = e.value;
        break;
    }
  }
  return out;
}
