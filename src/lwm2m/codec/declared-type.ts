import type { ModelLookup, ResourceType } from '../model/types';

/** The model's type for a resource; undefined when unknown or 'none' (nothing to decode by). */
export function declaredType(model: ModelLookup, objectId: number, resourceId: number): ResourceType | undefined {
  const type = model.resourceDefinition(objectId, resourceId)?.type;
  return type === 'none' ? undefined : type;
}

/** Whether the model declares a multiple-instance resource. */
export function declaredMultiple(model: ModelLookup, objectId: number, resourceId: number): boolean {
  return model.resourceDefinition(objectId, resourceId)?.multiple === true;
}
