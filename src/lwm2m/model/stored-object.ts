import type { ObjectDefinition, ResourceDefinition } from './types';

/**
 * An ObjectDefinition as stored in builtin-objects.json: resources as an array in id order
 * (the id is inside each entry, so a keyed record would repeat it). Kept apart from the model so
 * the generator does not depend on the file it generates.
 */
export type StoredObjectDefinition = Omit<ObjectDefinition, 'resources'> & { resources: ResourceDefinition[] };

export function toStoredObject(def: ObjectDefinition): StoredObjectDefinition {
  const { resources, urn, ...rest } = def;
  return {
    ...rest,
    ...(urn !== undefined && { urn }),
    resources: Object.values(resources).sort((a, b) => a.id - b.id),
  };
}

export function fromStoredObject(stored: StoredObjectDefinition): ObjectDefinition {
  const resources: Record<number, ResourceDefinition> = {};
  for (const resource of stored.resources) resources[resource.id] = { ...resource };
  return { ...stored, resources };
}
