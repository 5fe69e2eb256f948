import { EventEmitter } from 'node:events';
import { peerKey } from '../../transport/transport';
import type { Registration } from './registration';

/**
 * Registrations by id, by endpoint name and by the device's address (for requests a device makes
 * outside the registration interface, such as Send), with lifetime expiry.
 * Emits `expired` (reg) once a registration outlives its lifetime without an update.
 * One sweep timer for all registrations: a timer per device would cost memory at 50k devices.
 */
export class RegistrationStore extends EventEmitter {
  private readonly byId = new Map<string, Registration>();
  private readonly byEp = new Map<string, Registration>();
  private readonly byPeerKey = new Map<string, Registration>();
  private sweepTimer: NodeJS.Timeout | undefined;

  /** Adds a registration; returns the one it replaces (same endpoint), already removed. */
  add(reg: Registration): Registration | undefined {
    const previous = this.byEp.get(reg.endpoint);
    if (previous) this.remove(previous.id);
    this.byId.set(reg.id, reg);
    this.byEp.set(reg.endpoint, reg);
    this.byPeerKey.set(peerKey(reg.peer), reg);
    return previous;
  }

  get(id: string): Registration | undefined {
    return this.byId.get(id);
  }

  byEndpoint(endpoint: string): Registration | undefined {
    return this.byEp.get(endpoint);
  }

  /** The registration whose device speaks from this address:port. */
  byPeer(key: string): Registration | undefined {
    return this.byPeerKey.get(key);
  }

  /** The device's address changed (NAT rebinding): `reg.peer` already holds the new one. */
  peerMoved(reg: Registration, oldKey: string): void {
    if (this.byPeerKey.get(oldKey) === reg) this.byPeerKey.delete(oldKey);
    if (this.byId.get(reg.id) === reg) this.byPeerKey.set(peerKey(reg.peer), reg);
  }

  remove(id: string): Registration | undefined {
    const reg = this.byId.get(id);
    if (!reg) return undefined;
    this.byId.delete(id);
    if (this.byEp.get(reg.endpoint) === reg) this.byEp.delete(reg.endpoint);
    const key = peerKey(reg.peer);
    if (this.byPeerKey.get(key) === reg) this.byPeerKey.delete(key);
    return reg;
  }

  get size(): number {
    return this.byId.size;
  }

  all(): IterableIterator<Registration> {
    return this.byId.values();
  }

  /** Starts the expiry sweep; `graceMs` tolerates a device whose update is a little late. */
  startExpiry(intervalMs = 1000, graceMs = 0): void {
    this.stopExpiry();
    this.sweepTimer = setInterval(() => this.sweep(Date.now(), graceMs), intervalMs);
    this.sweepTimer.unref();
  }

  stopExpiry(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  sweep(now: number, graceMs = 0): void {
    for (const reg of this.byId.values()) {
      if (reg.lastUpdate + reg.lifetime * 1000 + graceMs <= now) {
        this.remove(reg.id);
        this.emit('expired', reg);
      }
    }
  }
}
