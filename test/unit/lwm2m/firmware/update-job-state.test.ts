import { jobStateJson, parseJobState, targetOf, type UpdateJobState } from '../../../../src/lwm2m/firmware/update-job-state';
import type { JsonObject } from '../../../../src/lwm2m/store/json';

const base = { id: 'abc123', endpoint: 'ep', step: 'check' as const, offset: 0, szx: 6, restarts: 0, createdAt: 1, deadline: 2 };

describe('update job state in the store', () => {
  it('a firmware job round-trips; a record without kind fields (as stored before software jobs) reads back as firmware', () => {
    const state: UpdateJobState = { ...base, kind: 'firmware', operation: 'update', instanceId: 0, method: 'push', image: { name: 'fw.bin', size: 10, sha256: 'ab' } };
    const json = jobStateJson(state);
    expect(json).not.toHaveProperty('operation');
    expect(parseJobState(json, 'ep', 'firmware')).toEqual({ ...state, forUpdate: undefined, uri: undefined, scheme: undefined, token: undefined, reqID: undefined });
    expect(targetOf(state).path).toBe('/5/0');
  });

  it('software jobs round-trip with their operation and instance', () => {
    const install: UpdateJobState = { ...base, kind: 'software', operation: 'install', instanceId: 4, method: 'pull', uri: 'coap://h/p', reqID: 'r' };
    expect(parseJobState(jobStateJson(install), 'ep', 'software')).toMatchObject({ kind: 'software', operation: 'install', instanceId: 4, method: 'pull', uri: 'coap://h/p', reqID: 'r' });
    const uninstall: UpdateJobState = { ...base, kind: 'software', operation: 'uninstall', instanceId: 0, forUpdate: true, step: 'updating' };
    const back = parseJobState(jobStateJson(uninstall), 'ep', 'software');
    expect(back).toMatchObject({ operation: 'uninstall', forUpdate: true, step: 'updating' });
    expect(targetOf(back!).execute.args).toBe('1');
  });

  it('refuses damaged or foreign records', () => {
    const good = jobStateJson({ ...base, kind: 'software', operation: 'activate', instanceId: 1 });
    const bad: JsonObject[] = [
      { ...good, operation: 'format' },
      { ...good, operation: undefined as unknown as string },
      { ...good, instanceId: 65535 },
      { ...good, instanceId: -1 },
      { ...good, method: 'push' }, // activate delivers nothing
      { ...good, uri: 'coap://x' },
      { ...good, forUpdate: 'yes' },
    ];
    for (const data of bad) expect(parseJobState(JSON.parse(JSON.stringify(data)) as JsonObject, 'ep', 'software')).toBeUndefined();
    expect(parseJobState(good, 'ep', 'software')).toBeDefined();
    // A software install without a package, and a firmware record without a method.
    expect(parseJobState(jobStateJson({ ...base, kind: 'software', operation: 'install', instanceId: 0 }), 'ep', 'software')).toBeUndefined();
    expect(parseJobState({ ...jobStateJson({ ...base, kind: 'firmware', operation: 'update', instanceId: 0, uri: 'coap://x' }) }, 'ep', 'firmware')).toBeUndefined();
  });
});
