import type { JobAnswer, SoftwareJobSpec, UpdateJobs } from '../lwm2m/firmware/update-jobs';
import type { JsonValue } from '../lwm2m/store';
import type { JsonObject } from './command-parser';

/** Commands that start or end an update job of the engine rather than one request. */
export const JOB_COMMANDS: ReadonlySet<string> = new Set(['firmware-update', 'firmware-cancel', 'software-install', 'software-uninstall', 'software-activate', 'software-deactivate', 'software-cancel']);

const MAX_INSTANCE_ID = 65534;

/** The path a job command's answer names before the job knows its instance: /5/0, /9/x as given, or /9. */
export function jobCommandPath(msgType: string, data: JsonObject): string {
  if (!msgType.startsWith('software-')) return '/5/0';
  const { instance } = data;
  return typeof instance === 'number' && Number.isInteger(instance) && instance >= 0 && instance <= MAX_INSTANCE_ID ? `/9/${instance}` : '/9';
}

/** Runs a job command (one of JOB_COMMANDS) for an endpoint: the jobs validate `data` and answer with a code. */
export function runJobCommand<C>(jobs: UpdateJobs<C>, endpoint: string, msgType: string, data: JsonObject, reqID: JsonValue | undefined): Promise<JobAnswer> {
  const spec: SoftwareJobSpec = { uri: data.uri, image: data.image, method: data.method, protocol: data.protocol, instance: data.instance, forUpdate: data.forUpdate, reqID };
  switch (msgType) {
    case 'firmware-update':
      return jobs.start(endpoint, spec);
    case 'firmware-cancel':
      return jobs.cancel(endpoint, 'firmware');
    case 'software-cancel':
      return jobs.cancel(endpoint, 'software');
    case 'software-install':
      return jobs.startSoftware(endpoint, 'install', spec);
    case 'software-uninstall':
      return jobs.startSoftware(endpoint, 'uninstall', spec);
    case 'software-activate':
      return jobs.startSoftware(endpoint, 'activate', spec);
    case 'software-deactivate':
      return jobs.startSoftware(endpoint, 'deactivate', spec);
    default:
      return Promise.resolve({ code: '4.00', error: `${msgType} is not a job command` });
  }
}
