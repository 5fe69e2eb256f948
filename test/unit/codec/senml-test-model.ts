import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';

/** The model of the SenML tests: the Device object 3, /5/0/0 opaque, /1024/0/R one resource of every type. */
const DEVICE: Record<number, [ResourceType, boolean?]> = {
  0: ['string'], 1: ['string'], 2: ['string'], 3: ['string'], 4: ['none'], 6: ['integer', true], 7: ['integer', true],
  8: ['integer', true], 9: ['integer'], 10: ['integer'], 11: ['integer', true], 13: ['time'], 14: ['string'],
  15: ['string'], 16: ['string'], 17: ['string'],
};
const OTHER: Record<string, ResourceType> = {
  '5/0': 'opaque', '1024/0': 'unsigned', '1024/1': 'float', '1024/2': 'boolean', '1024/3': 'objlnk', '1024/4': 'corelnk',
  '1024/5': 'integer', '1024/6': 'time', '1024/7': 'string', '1024/8': 'opaque', '3303/5700': 'float',
};
export const senmlTestModel: ModelLookup = {
  resourceDefinition(objectId, resourceId) {
    const other = OTHER[`${objectId}/${resourceId}`];
    const def: [ResourceType, boolean?] | undefined = objectId === 3 ? DEVICE[resourceId] : other ? [other] : undefined;
    return def && { id: resourceId, name: 'r', operations: 'RW', multiple: def[1] ?? false, mandatory: false, type: def[0] };
  },
};
