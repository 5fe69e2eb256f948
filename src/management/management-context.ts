import type { Logger } from 'pino';
import type { Lwm2mMqttGateway } from '../gateway/gateway';
import type { FirmwareImageStore } from '../lwm2m/firmware/image-store';
import type { ModelLookup, ObjectDefinition } from '../lwm2m/model/types';

/** One part of the gateway's readiness: a listener, the broker, the store. */
export interface HealthPart {
  readonly ok: boolean;
  /** Why it is not ready (or what it is, when it is). */
  readonly detail?: string;
}

/** What the management plane serves from: the engine (through the MQTT translator, which shares its commands and answers), the model, and the app's probes. */
export interface ManagementContext {
  readonly gateway: Lwm2mMqttGateway;
  /** The object model: resource types for the codecs, whole objects for the objects API. */
  readonly model: ModelLookup & { get(objectId: number): ObjectDefinition | undefined };
  readonly log: Logger;
  /** Milliseconds a synchronous command waits for its answer before 504 (http.command_timeout). */
  readonly commandTimeoutMs: number;
  /** Event streams: how many at once, and how many bytes each may have waiting (http.events). */
  readonly events: { readonly maxConsumers: number; readonly maxBuffered: number };
  /** The parts of readiness, checked on each /health/ready. */
  readonly health: () => Promise<Record<string, HealthPart>>;
  /** The Prometheus exposition, when metrics are served. */
  readonly metrics?: { readonly contentType: string; text(): Promise<string> };
  /** The firmware images operators upload (firmware.dir); absent when firmware.dir is empty. */
  readonly images?: FirmwareImagesContext;
}

/** The image store the firmware images API serves, with the largest upload it takes (firmware.max_image_size). */
export interface FirmwareImagesContext {
  readonly store: FirmwareImageStore;
  /** The store's own limit too: a body past it is refused (413) before or while it is read. */
  readonly maxImageBytes: number;
}
