import { mountpointProblem, mountpointVars, renderMountpoint, type MountpointVars } from './mountpoint';
import type { DeviceProfiles } from './profiles/device-profiles';

/** What a device's topic prefix is made of: its registration (or a candidate's, before admission). */
export interface MountpointSubject {
  readonly endpoint: string;
  readonly query: Readonly<Record<string, string>>;
  readonly peer: { readonly address: string };
  /** The auth hook's client_attrs. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** The registration's object list (a profile may be selected by it). */
  readonly objectList: readonly string[];
}

/** Placeholders whose values every device chooses for itself (or shares with others): two devices may render one prefix. */
const SHAREABLE = /\$\{(clientid|username|peerhost|device_id|client_attrs\.[A-Za-z0-9_.]+)\}/;

/**
 * The mountpoint of each device: the template rendered with its values, `${device_id}` being the
 * device id its profile gives it (the endpoint name when no profile applies). Names that cannot be
 * topic levels are refused before admission, as is a prefix another registered device holds: with
 * a placeholder other than `${endpoint_name}` two devices could render the same prefix, and the
 * second would then receive the first one's commands.
 */
export class DeviceMountpoint {
  private readonly usesDeviceId: boolean;
  /** Whether two endpoints may render the same prefix, so that the prefix must be checked as free. */
  readonly exclusive: boolean;

  constructor(
    readonly template: string,
    private readonly profiles: DeviceProfiles | undefined,
    private readonly maxLength: number | undefined,
  ) {
    this.usesDeviceId = template.includes('${device_id}');
    this.exclusive = SHAREABLE.test(template);
  }

  /** The device id `${device_id}` stands for, or why the profile's cannot be a topic level. */
  private deviceId(subject: MountpointSubject): { id: string } | { problem: string } {
    if (!this.usesDeviceId || !this.profiles) return { id: subject.endpoint };
    const bound = this.profiles.bind(subject);
    if (bound === undefined) return { id: subject.endpoint };
    if ('problem' in bound) return bound;
    return { id: bound.deviceId };
  }

  /** The prefix of a device; when its profile's device id is no longer usable (SIGHUP), undefined. */
  render(subject: MountpointSubject): string | undefined {
    const id = this.deviceId(subject);
    if ('problem' in id) return undefined;
    return renderMountpoint(this.template, mountpointVars(subject.endpoint, subject.query, subject.peer.address, subject.attributes, id.id));
  }

  /** The prefix of a device, falling back to its endpoint name for `${device_id}` (the device's messages still go somewhere). */
  renderOrFallback(subject: MountpointSubject): string {
    return this.render(subject) ?? renderMountpoint(this.template, mountpointVars(subject.endpoint, subject.query, subject.peer.address, subject.attributes));
  }

  /** Why a device's values cannot become its topics (a placeholder value, or its device id), or undefined. */
  problem(subject: MountpointSubject): string | undefined {
    const checked = this.checkedVars(subject);
    return 'problem' in checked ? checked.problem : undefined;
  }

  /** The device's prefix, or why its values cannot become its topics: one profile selection for both (admission, when exclusive). */
  check(subject: MountpointSubject): { prefix: string } | { problem: string } {
    const checked = this.checkedVars(subject);
    return 'problem' in checked ? checked : { prefix: renderMountpoint(this.template, checked.vars) };
  }

  private checkedVars(subject: MountpointSubject): { vars: MountpointVars } | { problem: string } {
    const id = this.deviceId(subject);
    if ('problem' in id) return { problem: `\${device_id}: ${id.problem}` };
    const vars = mountpointVars(subject.endpoint, subject.query, subject.peer.address, subject.attributes, id.id);
    const problem = mountpointProblem(this.template, vars, this.maxLength);
    return problem === undefined ? { vars } : { problem };
  }
}
