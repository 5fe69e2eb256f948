import type { Translator } from '../answer-publisher';
import type { DeviceProfile } from './device-profile';
import { deviceIdentity } from './device-identity';
import type { Template } from './profile-template';
import { objectIdsOf, selectProfile } from './profile-selector';
import { compileProfileTopic, renderProfileTopic } from './profile-topic';

/** The telemetry, attributes and status translators (whole topics with placeholders, see profile-topic). */
export interface ProfileTranslators {
  readonly telemetry: Translator;
  readonly attributes: Translator;
  readonly status: Translator;
}

/** A registered device's profile with what it gives the device: its id, tenant and topics. */
export interface ProfileBinding {
  readonly profile: DeviceProfile;
  readonly endpoint: string;
  readonly deviceId: string;
  readonly tenant: string;
  readonly telemetryTopic: string;
  readonly attributesTopic: string;
  readonly statusTopic: string;
}

/** What a device is bound by: its endpoint, the auth hook's client_attrs and its object list. */
export interface ProfileSubject {
  readonly endpoint: string;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly objectList: readonly string[];
}

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

/** The configured profiles (replaced whole on SIGHUP) and the binding of a device to the first that matches. */
export class DeviceProfiles {
  private list: readonly DeviceProfile[];
  private readonly topics: { readonly telemetry: Template; readonly attributes: Template; readonly status: Template };

  constructor(
    profiles: readonly DeviceProfile[],
    readonly translators: ProfileTranslators,
  ) {
    this.list = profiles;
    this.topics = { telemetry: compileProfileTopic(translators.telemetry.topic), attributes: compileProfileTopic(translators.attributes.topic), status: compileProfileTopic(translators.status.topic) };
  }

  get profiles(): readonly DeviceProfile[] {
    return this.list;
  }

  replace(profiles: readonly DeviceProfile[]): void {
    this.list = profiles;
  }

  /** The device's binding; undefined when no profile matches; a problem when the profile's device id or tenant cannot be a topic level. */
  bind(subject: ProfileSubject): ProfileBinding | { problem: string } | undefined {
    if (this.list.length === 0) return undefined;
    const clientAttrs = subject.attributes ?? NO_ATTRIBUTES;
    const profile = selectProfile(this.list, { endpoint: subject.endpoint, clientAttrs, objectIds: objectIdsOf(subject.objectList) });
    if (profile === undefined) return undefined;
    const identity = deviceIdentity(profile, { endpoint: subject.endpoint, clientAttrs });
    if ('problem' in identity) return identity;
    const ids = { tenant: identity.tenant, deviceId: identity.deviceId, endpoint: subject.endpoint };
    return {
      profile,
      endpoint: subject.endpoint,
      deviceId: identity.deviceId,
      tenant: identity.tenant,
      telemetryTopic: renderProfileTopic(this.topics.telemetry, ids),
      attributesTopic: renderProfileTopic(this.topics.attributes, ids),
      statusTopic: renderProfileTopic(this.topics.status, ids),
    };
  }
}
