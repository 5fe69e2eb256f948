import type { CommandQueueStore } from './command-queue';
import type { CredentialStore } from './credentials';
import type { JobStore } from './jobs';
import type { ObservationStore } from './observations';
import type { RegistrationRecordStore } from './registrations';
import type { SharedClaims } from './shared-claims';

/** The gateway's state that may outlive the process: one object per backend (memory, disk). */
export interface GatewayStore {
  readonly registrations: RegistrationRecordStore;
  readonly observations: ObservationStore;
  readonly commands: CommandQueueStore;
  /** PSKs the bootstrap server provisioned for the gateway's DM listener. */
  readonly credentials: CredentialStore;
  /** Device-management jobs (firmware and software updates) under way, one per endpoint and kind. */
  readonly jobs: JobStore;
  /** Present when several gateway instances share the store (Redis). */
  readonly shared?: SharedClaims;
  /** Why the store cannot be used now (health), or undefined when it answers. Never throws. */
  problem(): Promise<string | undefined>;
  /** Makes every change durable and releases the backend; the store is unusable afterwards. */
  close(): Promise<void>;
}
