import { Counter, type Registry } from 'prom-client';
import type { UpdateEventData, UpdateJobs, UpdateKind } from '../../lwm2m/firmware/update-jobs';
import { gaugeReadAtScrape } from './read-at-scrape';

const ENDS = ['succeeded', 'failed', 'cancelled'] as const;
const STARTS = ['push', 'pull'] as const;
const SOFTWARE_OPERATIONS = ['install', 'uninstall', 'activate', 'deactivate'] as const;
/** The first event of a software operation that delivers nothing. */
const EXECUTING = new Set(['uninstalling', 'activating', 'deactivating']);

/**
 * Firmware and software update jobs: running now, started by method (or operation), ended by
 * outcome (from the jobs' events: a few per job, never on the notification path). Labels are
 * bounded (no endpoint names, no errors).
 */
export function registerFirmwareMetrics<C>(registry: Registry, jobs: UpdateJobs<C>): void {
  gaugeReadAtScrape({
    registry,
    name: 'lwm2m_firmware_jobs',
    help: 'Firmware update jobs under way (firmware.max_jobs bounds them with the software jobs)',
    read: (sink) => sink({}, jobs.count('firmware')),
  });
  gaugeReadAtScrape({
    registry,
    name: 'lwm2m_software_jobs',
    help: 'Software management jobs under way (install, uninstall, activate, deactivate)',
    read: (sink) => sink({}, jobs.count('software')),
  });
  const started = new Counter({ name: 'lwm2m_firmware_jobs_started_total', help: 'Firmware update jobs started (past their checks of /5/0), by delivery method', labelNames: ['method'], registers: [registry] });
  const ended = new Counter({ name: 'lwm2m_firmware_jobs_ended_total', help: 'Firmware update jobs ended, by outcome: succeeded, failed (the device reported an Update Result >= 2, refused, did not answer, or firmware.job_timeout passed), cancelled', labelNames: ['result'], registers: [registry] });
  const softwareStarted = new Counter({ name: 'lwm2m_software_jobs_started_total', help: 'Software jobs started (past their check of /9/x), by operation', labelNames: ['operation'], registers: [registry] });
  const softwareEnded = new Counter({ name: 'lwm2m_software_jobs_ended_total', help: 'Software jobs ended, by operation and outcome: succeeded, failed (an Update Result >= 50, a refusal, no answer, or firmware.job_timeout), cancelled', labelNames: ['operation', 'result'], registers: [registry] });
  for (const method of STARTS) started.inc({ method }, 0);
  for (const result of ENDS) ended.inc({ result }, 0);
  for (const operation of SOFTWARE_OPERATIONS) {
    softwareStarted.inc({ operation }, 0);
    for (const result of ENDS) softwareEnded.inc({ operation, result }, 0);
  }
  jobs.on('event', (_endpoint: string, event: UpdateEventData, kind: UpdateKind) => {
    const first = (event.state === 'downloading' && (event.progress === undefined || event.progress === 0)) || EXECUTING.has(event.state);
    const end = (ENDS as readonly string[]).includes(event.state);
    if (kind === 'firmware') {
      if (first && event.method) started.inc({ method: event.method });
      else if (end) ended.inc({ result: event.state });
      return;
    }
    const operation = event.operation ?? 'install';
    if (first) softwareStarted.inc({ operation });
    else if (end) softwareEnded.inc({ operation, result: event.state });
  });
}
