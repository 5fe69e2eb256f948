export type { CommandQueueStore, QueuedCommandRecord } from './command-queue';
export type { GatewayStore } from './gateway-store';
export type { JsonPrimitive, JsonValue } from './json';
export { openLevelStore, type LevelStoreOptions } from './level-store';
export { createMemoryStore } from './memory-store';
export { openRedisStore, redactRedisUrl, type RedisStoreOptions } from './redis-store';
export type { ObservationRecord, ObservationStore } from './observations';
export type { PeerRecord, RegistrationRecord, RegistrationRecordStore } from './registrations';
export type { SharedClaims } from './shared-claims';
