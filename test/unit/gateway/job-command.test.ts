import { COMMAND_MSG_TYPES } from '../../../src/gateway/command-msg-types';
import { JOB_COMMANDS, jobCommandPath } from '../../../src/gateway/job-command';

describe('job commands', () => {
  it('are all in the command schema (the HTTP route and metrics take them)', () => {
    for (const msgType of JOB_COMMANDS) expect(COMMAND_MSG_TYPES).toContain(msgType);
  });

  it('answer with /5/0 for firmware, /9/x for a valid instance, else /9', () => {
    expect(jobCommandPath('firmware-update', { instance: 3 })).toBe('/5/0');
    expect(jobCommandPath('software-install', { instance: 3 })).toBe('/9/3');
    for (const instance of [-1, 65535, 1.5, '2', null, undefined]) expect(jobCommandPath('software-activate', { instance } as never)).toBe('/9');
  });
});
