import { Counter, type Registry } from 'prom-client';
import type { FirmwareEventData, FirmwareJobs } from '../../lwm2m/firmware/firmware-jobs';
import { gaugeReadAtScrape } from './read-at-scrape';

const ENDS = ['succeeded', 'failed', 'cancelled'] as const;
const STARTS = ['push', 'pull'] as const;

/**
 * Firmware update jobs: running now, started by method, ended by outcome (from the jobs' events: a
 * few per job, never on the notification path). Labels are bounded (no endpoint names, no errors).
 */
export function registerFirmwareMetrics<C>(registry: Registry, jobs: FirmwareJobs<C>): void {
  gaugeReadAtScrape({
    registry,
    name: 'lwm2m_firmware_jobs',
    help: 'Firmware update jobs under way (firmware.max_jobs bounds it)',
    read: (sink) => sink({}, jobs.size),
  });
  const started = new Counter({ name: 'lwm2m_firmware_jobs_started_total', help: 'Firmware update jobs started (past their checks of /5/0), by delivery method', labelNames: ['method'], registers: [registry] });
  const ended = new Counter({ name: 'lwm2m_firmware_jobs_ended_total', help: 'Firmware update jobs ended, by outcome: succeeded, failed (the device reported an Update Result >= 2, refused, did not answer, or firmware.job_timeout passed), cancelled', labelNames: ['result'], registers: [registry] });
  for (const method of STARTS) started.inc({ method }, 0);
  for (const result of ENDS) ended.inc({ result }, 0);
  jobs.on('event', (_endpoint: string, event: FirmwareEventData) => {
    if (event.state === 'downloading' && (event.progress === undefined || event.progress === 0)) started.inc({ method: event.method });
    else if ((ENDS as readonly string[]).includes(event.state)) ended.inc({ result: event.state });
  });
}
