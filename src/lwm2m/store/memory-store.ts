import type { CommandQueueStore, QueuedCommandRecord } from './command-queue';
import { checkCredentialRecord, credentialRecordJson, type CredentialStore, type ProvisionedPskRecord } from './credentials';
import type { GatewayStore } from './gateway-store';
import { checkJobKey, checkJobRecord, jobKeyName, jobRecordJson, parseJobRecord, type JobRecord, type JobStore } from './jobs';
import { frozenCopy } from './json';
import { checkToken, type ObservationRecord, type ObservationStore } from './observations';
import type { RegistrationRecord, RegistrationRecordStore } from './registrations';

/**
 * State in Maps, lost with the process: what the gateway keeps today. Every method does its work
 * synchronously before its promise settles, so concurrent calls never interleave.
 */
export function createMemoryStore(): GatewayStore {
  return {
    registrations: new MemoryRegistrationStore(),
    observations: new MemoryObservationStore(),
    commands: new MemoryCommandQueueStore(),
    credentials: new MemoryCredentialStore(),
    jobs: new MemoryJobStore(),
    problem: async () => undefined,
    close: async () => undefined,
  };
}

export class MemoryRegistrationStore implements RegistrationRecordStore {
  private readonly byId = new Map<string, RegistrationRecord>();
  private readonly byEp = new Map<string, RegistrationRecord>();

  async get(id: string): Promise<RegistrationRecord | undefined> {
    return this.byId.get(id);
  }

  async byEndpoint(endpoint: string): Promise<RegistrationRecord | undefined> {
    return this.byEp.get(endpoint);
  }

  async *all(): AsyncIterableIterator<RegistrationRecord> {
    // A snapshot: the caller may remove (expire) while iterating.
    for (const reg of [...this.byId.values()]) yield reg;
  }

  async add(record: RegistrationRecord): Promise<RegistrationRecord | undefined> {
    const reg = frozenCopy(record);
    const previous = this.byEp.get(reg.endpoint);
    if (previous) this.byId.delete(previous.id);
    const sameId = this.byId.get(reg.id);
    if (sameId) this.byEp.delete(sameId.endpoint);
    this.byId.set(reg.id, reg);
    this.byEp.set(reg.endpoint, reg);
    return previous;
  }

  async update(record: RegistrationRecord): Promise<boolean> {
    const old = this.byId.get(record.id);
    if (!old) return false;
    if (old.endpoint !== record.endpoint) throw new Error(`registration ${record.id} belongs to "${old.endpoint}", not "${record.endpoint}"`);
    const reg = frozenCopy(record);
    this.byId.set(reg.id, reg);
    this.byEp.set(reg.endpoint, reg);
    return true;
  }

  async remove(id: string): Promise<RegistrationRecord | undefined> {
    const reg = this.byId.get(id);
    if (!reg) return undefined;
    this.byId.delete(id);
    this.byEp.delete(reg.endpoint);
    return reg;
  }
}

export class MemoryObservationStore implements ObservationStore {
  private readonly byToken = new Map<string, ObservationRecord>();
  /** Tokens per registration, in insertion order (Map order). */
  private readonly byReg = new Map<string, Map<string, ObservationRecord>>();

  async get(token: string): Promise<ObservationRecord | undefined> {
    return this.byToken.get(token);
  }

  async byRegistration(registrationId: string): Promise<readonly ObservationRecord[]> {
    return sortByCreation([...(this.byReg.get(registrationId)?.values() ?? [])]);
  }

  async *all(): AsyncIterableIterator<ObservationRecord> {
    // A snapshot: the caller may remove while iterating.
    for (const obs of [...this.byToken.values()]) yield obs;
  }

  async put(record: ObservationRecord): Promise<ObservationRecord | undefined> {
    checkToken(record.token);
    const obs = frozenCopy(record);
    const previous = this.take(obs.token);
    this.byToken.set(obs.token, obs);
    let tokens = this.byReg.get(obs.registrationId);
    if (!tokens) this.byReg.set(obs.registrationId, (tokens = new Map()));
    tokens.set(obs.token, obs);
    return previous;
  }

  async remove(token: string): Promise<ObservationRecord | undefined> {
    return this.take(token);
  }

  async removeByRegistration(registrationId: string): Promise<readonly ObservationRecord[]> {
    const tokens = this.byReg.get(registrationId);
    if (!tokens) return [];
    this.byReg.delete(registrationId);
    for (const token of tokens.keys()) this.byToken.delete(token);
    return sortByCreation([...tokens.values()]);
  }

  private take(token: string): ObservationRecord | undefined {
    const obs = this.byToken.get(token);
    if (!obs) return undefined;
    this.byToken.delete(token);
    const tokens = this.byReg.get(obs.registrationId);
    tokens?.delete(token);
    if (tokens?.size === 0) this.byReg.delete(obs.registrationId);
    return obs;
  }
}

export class MemoryCommandQueueStore implements CommandQueueStore {
  private readonly queues = new Map<string, QueuedCommandRecord[]>();
  private readonly byId = new Map<string, QueuedCommandRecord>();

  async append(record: QueuedCommandRecord): Promise<void> {
    if (this.byId.has(record.id)) throw new Error(`command ${record.id} is already queued`);
    const cmd = frozenCopy(record);
    this.byId.set(cmd.id, cmd);
    let queue = this.queues.get(cmd.endpoint);
    if (!queue) this.queues.set(cmd.endpoint, (queue = []));
    queue.push(cmd);
  }

  async list(endpoint: string): Promise<readonly QueuedCommandRecord[]> {
    return [...(this.queues.get(endpoint) ?? [])];
  }

  async *all(): AsyncIterableIterator<QueuedCommandRecord> {
    // A snapshot, queue after queue, each in order: the caller may remove while iterating.
    const all = [...this.queues.values()].flat();
    for (const cmd of all) yield cmd;
  }

  async remove(id: string): Promise<QueuedCommandRecord | undefined> {
    const cmd = this.byId.get(id);
    if (!cmd) return undefined;
    this.byId.delete(id);
    const queue = this.queues.get(cmd.endpoint) ?? [];
    queue.splice(queue.indexOf(cmd), 1);
    if (queue.length === 0) this.queues.delete(cmd.endpoint);
    return cmd;
  }

  async removeAll(endpoint: string): Promise<number> {
    const queue = this.queues.get(endpoint);
    if (!queue) return 0;
    this.queues.delete(endpoint);
    for (const cmd of queue) this.byId.delete(cmd.id);
    return queue.length;
  }
}

export class MemoryCredentialStore implements CredentialStore {
  private readonly byIdentity = new Map<string, ProvisionedPskRecord>();

  async put(record: ProvisionedPskRecord): Promise<void> {
    checkCredentialRecord(record);
    // Through JSON as the disk stores: only the record's own fields are kept.
    this.byIdentity.set(record.identity, frozenCopy(JSON.parse(credentialRecordJson(record)) as ProvisionedPskRecord));
  }

  async remove(identity: string): Promise<void> {
    this.byIdentity.delete(identity);
  }

  async *all(): AsyncIterableIterator<ProvisionedPskRecord> {
    // A snapshot: the caller may remove while iterating.
    for (const record of [...this.byIdentity.values()]) yield record;
  }
}

export class MemoryJobStore implements JobStore {
  /** By `jobKeyName(endpoint, kind)`. */
  private readonly byKey = new Map<string, JobRecord>();

  async put(record: JobRecord): Promise<void> {
    checkJobRecord(record);
    // Through JSON as the disk stores: only the record's own fields are kept, deep-frozen.
    this.byKey.set(jobKeyName(record.endpoint, record.kind), parseJobRecord(jobRecordJson(record)) as JobRecord);
  }

  async remove(endpoint: string, kind: string): Promise<void> {
    checkJobKey(endpoint, kind);
    this.byKey.delete(jobKeyName(endpoint, kind));
  }

  async *all(): AsyncIterableIterator<JobRecord> {
    // A snapshot: the caller may remove while iterating.
    for (const record of [...this.byKey.values()]) yield record;
  }
}

/** Oldest first; equal times keep insertion order (Array.prototype.sort is stable). */
export function sortByCreation(list: ObservationRecord[]): ObservationRecord[] {
  return list.sort((a, b) => a.createdAt - b.createdAt);
}
