import type { Logger } from 'pino';
import type { Entry } from '../lwm2m/node';
import type { Registration } from '../lwm2m/registration/registration';
import type { AnswerPublisher, MqttLink } from './answer-publisher';
import type { JsonObject } from './command-parser';
import { attributesMessage } from './profiles/attributes-message';
import type { DeviceProfiles, ProfileBinding } from './profiles/device-profiles';
import { observeCommands } from './profiles/observe-plan';
import { telemetryPoint, telemetryPoints } from './profiles/telemetry-point';

/** What the profile translator needs of a device: its registration (the object the bindings hang on). */
interface ProfiledDevice {
  readonly reg: Registration;
}

/**
 * Device profiles on MQTT (README "Device profiles"): binds each registered device to its profile,
 * gives its messages a `device_id`, sets up its observations and attribute reads on register, and
 * publishes what platforms ingest: telemetry points of mapped values (notifications, reads, Send),
 * the attributes read, and online / offline status, on whole topics of their own.
 */
export class ProfileTranslator {
  private readonly bindings = new WeakMap<ProfiledDevice, ProfileBinding>();

  constructor(
    readonly profiles: DeviceProfiles,
    private readonly mqtt: MqttLink,
    private readonly answers: AnswerPublisher,
    private readonly log: Logger,
  ) {}

  bindingOf(device: ProfiledDevice): ProfileBinding | undefined {
    return this.bindings.get(device);
  }

  /** (Re)binds a device under its topic prefix: at register, after a restart, after SIGHUP. */
  bind(device: ProfiledDevice, prefix: string): ProfileBinding | undefined {
    const reg = device.reg;
    const result = this.profiles.bind(reg);
    if (result === undefined || 'problem' in result) {
      if (result !== undefined) this.log.warn({ ep: reg.endpoint }, `no profile applied: ${result.problem}`);
      this.bindings.delete(device);
      this.answers.deviceIds.delete(prefix);
      return undefined;
    }
    this.bindings.set(device, result);
    this.answers.deviceIds.set(prefix, result.deviceId);
    return result;
  }

  /** A new registration (bound already, see bind): announced online; the commands that set up its observations and read its attributes. */
  registered(device: ProfiledDevice): JsonObject[] {
    const binding = this.bindings.get(device);
    if (!binding) return [];
    this.publishStatus(binding, 'online', 'register');
    const { profile } = binding;
    const commands = observeCommands(profile, device.reg.objectList);
    // Attributes: one read per object instance they lie in (/3/0 holds manufacturer, model, serial, version).
    const instances = new Set<string>();
    for (const path of profile.attributes.keys()) instances.add(path.split('/').slice(0, 3).join('/'));
    const objectList = device.reg.objectList;
    for (const path of instances) {
      // Only what the device has (its object list names the instance or the object): a read of the rest would be 4.04.
      if (objectList.some((o) => path === o || path.startsWith(o + '/'))) commands.push({ msgType: 'read', data: { path }, profile: profile.name });
    }
    return commands;
  }

  deregistered(device: ProfiledDevice | undefined, reg: Registration, prefix: string, reason: string): void {
    const known = device && this.bindings.get(device);
    const binding = known ?? this.bindOnce(reg);
    if (binding) this.publishStatus(binding, 'offline', reason);
    if (device) this.bindings.delete(device);
    this.answers.deviceIds.delete(prefix);
  }

  /** Values of a notification or a read: one telemetry point of the mapped ones, and the attributes among them. */
  content(device: ProfiledDevice, entries: readonly Entry[], withAttributes: boolean): void {
    const binding = this.bindings.get(device);
    if (!binding) return;
    const point = telemetryPoint(binding.profile, { deviceId: binding.deviceId, endpoint: binding.endpoint }, entries, Date.now());
    if (point) this.publish(binding.telemetryTopic, 'telemetry', point);
    if (!withAttributes) return;
    const attributes = attributesMessage(binding.profile, binding.deviceId, entries);
    if (attributes) this.publish(binding.attributesTopic, 'attributes', attributes);
  }

  /** A Send: a point per timestamp (a SenML time series keeps every value). */
  send(device: ProfiledDevice, entries: readonly Entry[]): void {
    const binding = this.bindings.get(device);
    if (!binding) return;
    for (const point of telemetryPoints(binding.profile, { deviceId: binding.deviceId, endpoint: binding.endpoint }, entries, Date.now())) this.publish(binding.telemetryTopic, 'telemetry', point);
  }

  private bindOnce(reg: Registration): ProfileBinding | undefined {
    const result = this.profiles.bind(reg);
    return result === undefined || 'problem' in result ? undefined : result;
  }

  private publishStatus(binding: ProfileBinding, status: 'online' | 'offline', reason: string): void {
    this.publish(binding.statusTopic, 'status', { device_id: binding.deviceId, status, reason });
  }

  private publish(topic: string, kind: 'telemetry' | 'attributes' | 'status', message: object): void {
    this.mqtt.publish(topic, JSON.stringify(message), this.profiles.translators[kind].qos);
  }
}
