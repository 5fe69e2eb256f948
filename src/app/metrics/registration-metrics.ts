import { Counter, type Registry } from 'prom-client';
import type { DeviceManager } from '../../lwm2m/device/device-manager';
import type { Registration } from '../../lwm2m/registration/registration';
import { counterReadAtScrape, gaugeReadAtScrape } from './read-at-scrape';

const DEREGISTRATION_REASONS = ['deregister', 'expired', 'replaced', 'kicked'] as const;

/**
 * The devices and their registrations: how many are registered (by listener, LwM2M version and
 * queue mode, counted at scrape from the registration table), registrations, updates and
 * deregistrations by reason (from the server's events, one per registration change: never on the
 * notification path), refusals by code and class, and notifications handed to the northbound.
 */
export function registerRegistrationMetrics(registry: Registry, engine: DeviceManager<unknown>): void {
  const server = engine.server;
  gaugeReadAtScrape({
    registry,
    name: 'lwm2m_devices_registered',
    help: 'Devices registered now, by the listener they registered on (udp, dtls), LwM2M version and queue mode',
    labelNames: ['listener', 'lwm2m_version', 'queue_mode'],
    read(sink) {
      // One pass over the table per scrape (~1 ms per 100k devices): no bookkeeping on the way.
      const counts = new Map<string, number>();
      for (const reg of server.store.all()) {
        const key = `${reg.peer.identity ? 'dtls' : 'udp'} ${reg.lwm2mVersion} ${reg.queueMode}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, count] of counts) {
        const [listener, lwm2mVersion, queueMode] = key.split(' ');
        sink({ listener, lwm2m_version: lwm2mVersion, queue_mode: queueMode }, count);
      }
    },
  });
  const registrations = new Counter({ name: 'lwm2m_registrations_total', help: 'Registrations accepted (Register, including re-registrations that replace one)', registers: [registry] });
  const updates = new Counter({ name: 'lwm2m_registration_updates_total', help: 'Registration Updates accepted', registers: [registry] });
  const deregistrations = new Counter({
    name: 'lwm2m_deregistrations_total',
    help: 'Registrations ended, by reason: deregister (by the device), expired (lifetime passed without an Update), replaced (the endpoint registered again), kicked (by an operator)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of DEREGISTRATION_REASONS) deregistrations.inc({ reason }, 0);
  server.on('registered', () => registrations.inc());
  server.on('updated', () => updates.inc());
  server.on('deregistered', (_reg: Registration, reason: string) => deregistrations.inc({ reason: (DEREGISTRATION_REASONS as readonly string[]).includes(reason) ? reason : 'other' }));
  counterReadAtScrape({
    registry,
    name: 'lwm2m_registration_refusals_total',
    help: 'Registers, Updates and Deregisters refused, by CoAP code and reason class (rate_limited, invalid, content_format, too_many_links, identity, registry_full, name, admission, unknown_registration)',
    labelNames: ['code', 'reason'],
    read(sink) {
      for (const r of server.registrations.stats().refusals) sink({ code: r.code, reason: r.kind }, r.count);
    },
  });
  counterReadAtScrape({
    registry,
    name: 'lwm2m_notifications_published_total',
    help: 'Notifications handed to the MQTT translator, each published on its notify topic',
    read: (sink) => sink({}, engine.notificationsForwarded),
  });
}
