import type { Logger } from 'pino';
import { LogThrottle } from '../limits/log-throttle';
import type { BootstrapEvent, BootstrapServer } from '../lwm2m/bootstrap/bootstrap-server';
import type { Device } from '../lwm2m/device/device';
import type { DeviceManager } from '../lwm2m/device/device-manager';
import type { UpdateEventData, UpdateJobs, UpdateKind } from '../lwm2m/firmware/update-jobs';
import type { JsonValue as StoredJson } from '../lwm2m/store';
import type { DeviceRequest, RequestHandler, RequestOutcome, RequestRefusal } from '../lwm2m/device/device-request';
import type { ModelLookup } from '../lwm2m/model/types';
import type { Entry } from '../lwm2m/node';
import type { Registration } from '../lwm2m/registration/registration';
import type { Lwm2mResponse } from '../lwm2m/response';
import { AnswerPublisher, messageOf, type MqttLink, type Translator, type TranslatorName, type UplinkEvent } from './answer-publisher';
import { autoObserveCommands } from './auto-observe';
import { commandCodec } from './command-codec';
import { CommandIntake, type CommandReply } from './command-intake';
import { CommandError, CommandParser, requestPathOf, type DownlinkCommand, type JsonObject } from './command-parser';
import { LOCAL_COMMANDS, answerLocalCommand } from './local-commands';
import { DeviceMountpoint, type MountpointSubject } from './device-mountpoint';
import { JOB_COMMANDS, jobCommandPath, runJobCommand } from './job-command';
import { planPrefixMoves, type PrefixMove } from './prefix-moves';
import { createMountpointSplitter, createTopicMatcher, mountpointWildcard } from './mountpoint';
import { OperatorLog } from './operator-log';
import { PeerInstances } from './peer-instances';
import { ProfileTranslator } from './profile-translator';
import type { DeviceProfile } from './profiles/device-profile';
import type { DeviceProfiles } from './profiles/device-profiles';
import { rpcCommand } from './profiles/rpc-call';
import { rpcStatus } from './profiles/rpc-status';
import { answerOutcome } from './outcome-answer';
import { responseJson } from './response-json';
import { bootstrapMessage, deregisterMessage, registerMessage, responseData, type ResponseData } from './uplink-messages';
import { entriesToJson } from './value-json';

export type { MqttLink, Qos, Translator, TranslatorName, UplinkEvent } from './answer-publisher';
export type { CommandReply } from './command-intake';

/** A message the gateway published, with the endpoint it concerns (undefined: a topic of no registered device). */
export interface GatewayMessage extends UplinkEvent {
  readonly endpoint: string | undefined;
}

/** A command's end as the gateway answered it, for metrics: its msgType, the answer's code (or ack, coap_timeout, ...) and round trip. */
export interface CommandAnswered {
  readonly msgType: string;
  readonly result: string;
  /** Milliseconds from sending to the answer; undefined when it was never sent (expired, deregistered). */
  readonly rttMs: number | undefined;
}

/** Where a command from another northbound stands: waiting in the device's queue, sent, or answered. */
export interface CommandTicket {
  readonly state: 'queued' | 'sent' | 'answered';
}

export interface GatewayOptions {
  mountpoint: string;
  translators: Record<TranslatorName, Translator>;
  autoObserve: boolean | string[];
  updateMsgPublishCondition: 'always' | 'contains_object_list';
  keys: Record<string, string>;
  /** Commands waiting per device (lwm2m.max_queued_commands): sizes the inbox. */
  maxQueuedCommands: number;
  /** Largest command payload in bytes. */
  maxCommandSize: number;
  /** Lower-case substrings of query parameter names that are never published. */
  secretQueryKeys: readonly string[];
  /** Longest value of a mountpoint placeholder, bytes (lwm2m.max_endpoint_length). */
  maxEndpointLength?: number;
  /** CoAP retransmissions before a coap_timeout (lwm2m.coap.max_retransmit), for its log line. */
  maxRetransmit?: number;
  /** Device profiles (README "Device profiles"); none: no device_id, telemetry, attributes, status or rpc. */
  profiles?: DeviceProfiles;
}

type MqttDevice = Device<DownlinkCommand>;

const NO_OBJECTS: readonly string[] = Object.freeze([]);

const ALL_KINDS: readonly TranslatorName[] = ['command', 'response', 'notify', 'register', 'update', 'deregister', 'send', 'bootstrap', 'firmware', 'software'];

/**
 * The context of the engine's own job requests (firmware and software updates): they never reach
 * this gateway's handler, and are listed (observe-read-all) with the job's kind as msgType.
 */
export function jobRequestContext(kind: 'firmware' | 'software', path: { objectId: number; instanceId: number }): DownlinkCommand {
  return { fields: { msgType: kind }, msgType: kind, reqPath: `/${path.objectId}/${path.instanceId}`, op: { type: 'read', path, query: [] }, ttl: Number.POSITIVE_INFINITY };
}

/**
 * The translation between MQTT and the device-management engine (mqtt-contract.md parts A–C):
 * engine events become uplink messages; JSON commands become requests, and their outcomes answers.
 */
export class Lwm2mMqttGateway implements RequestHandler<DownlinkCommand> {
  private readonly parser: CommandParser;
  private readonly answers: AnswerPublisher;
  private readonly intake: CommandIntake;
  private readonly opLog: OperatorLog;
  /** The other gateway instances on the same store and broker (Redis store), if any. */
  private readonly peers: PeerInstances | undefined;
  /** Devices by rendered mountpoint (and back: each device's `label`): a command's topic names its device. */
  private readonly byPrefix = new Map<string, MqttDevice>();
  /** Renders and checks each device's topic prefix (lwm2m.mountpoint). */
  private readonly mount: DeviceMountpoint;
  private readonly splitMountpoint: (topic: string) => { prefix: string; rest: string } | undefined;
  private readonly isCommandTopic: (topic: string) => boolean;
  /** Commands from another northbound waiting for their answer, by command. */
  private readonly replies = new WeakMap<DownlinkCommand, CommandReply>();
  private readonly messageListeners: { readonly listener: (message: GatewayMessage) => void; readonly kinds: ReadonlySet<TranslatorName> }[] = [];
  private readonly bootstrapRefusals = new LogThrottle();
  /** The endpoint of a message being published for a device that has no registration (bootstrap events). */
  private unregisteredEndpoint: string | undefined = undefined;
  /** Firmware jobs, when the app runs them (attachFirmware). */
  private firmware: UpdateJobs<DownlinkCommand> | undefined = undefined;
  /** Device profiles on MQTT, when configured. */
  private readonly profiled: ProfileTranslator | undefined;
  /** RPC calls under way: the command they became, and the method. */
  private readonly rpcs = new WeakMap<DownlinkCommand, string>();
  /** See observeCommands; unset, it costs one check. */
  private commandAnswered: ((answered: CommandAnswered) => void) | undefined = undefined;

  constructor(
    readonly engine: DeviceManager<DownlinkCommand>,
    private readonly mqtt: MqttLink,
    private readonly options: GatewayOptions,
    model: ModelLookup,
    private readonly log: Logger,
  ) {
    this.parser = new CommandParser(model, options.keys);
    this.answers = new AnswerPublisher(mqtt, options.translators, log);
    this.intake = new CommandIntake(options.maxCommandSize, options.maxQueuedCommands, this.answers, log, (t, p, c, f, r) => this.onCommand(t, p, c, f, r));
    this.opLog = new OperatorLog(log, options.maxRetransmit);
    this.profiled = options.profiles && new ProfileTranslator(options.profiles, mqtt, this.answers, log);
    this.peers = engine.sharing && new PeerInstances(engine.sharing, log);
    this.mount = new DeviceMountpoint(options.mountpoint, options.profiles, options.maxEndpointLength);
    this.splitMountpoint = createMountpointSplitter(options.mountpoint);
    this.isCommandTopic = createTopicMatcher(options.translators.command.topic);
    engine.useContextCodec(commandCodec(this.parser, this));
    engine.on('restored', (d: MqttDevice) => this.track(d));
    engine.on('registered', (d: MqttDevice) => this.onRegistered(d));
    engine.on('updated', (d: MqttDevice, carriedLinks: boolean) => this.onUpdated(d, carriedLinks));
    engine.on('deregistered', (reg: Registration, reason: string, d?: MqttDevice) => this.onDeregistered(reg, reason, d));
    engine.on('send', (d: MqttDevice, entries: Entry[]) => {
      this.publish(d, 'send', JSON.stringify({ msgType: 'send', data: { content: entriesToJson(entries) } }));
      this.profiled?.send(d, entries);
    });
    // Refusals never reach MQTT: a device that failed authentication has no topic of its own. Endpoint
    // names and the other placeholder values become topic levels: checked before admission.
    engine.server.on('refused', this.opLog.refused);
    engine.server.registrations.setNameCheck((c, objectList, attributes) => {
      const subject: MountpointSubject = { endpoint: c.endpoint, query: c.query, peer: c.peer, attributes, objectList };
      // Only a prefix two devices may share is rendered here, to be checked as free.
      if (!this.mount.exclusive) return this.mount.problem(subject);
      const checked = this.mount.check(subject);
      return 'problem' in checked ? checked.problem : this.prefixTaken(subject.endpoint, checked.prefix);
    });
    mqtt.onMessage((topic, payload) => this.receive(topic, payload));
  }

  /** A message from the broker. @internal (tests deliver floods through it) */
  receive(topic: string, payload: Buffer): void {
    // Split here rather than when handled: what is not a command topic takes no room in the inbox.
    const split = this.splitMountpoint(topic);
    if (split && this.isCommandTopic(split.rest)) this.intake.push(topic, split.prefix, payload);
  }

  /**
   * Tells `listener` of every command's end (metrics): answered by the device or the engine, by the
   * gateway from what it holds (local commands), or refused before the engine (unknown endpoint, bad
   * command, full queue; refused on its bytes: msgType "other").
   */
  observeCommands(listener: (answered: CommandAnswered) => void): void {
    this.commandAnswered = listener;
    this.intake.onRefused = (code) => listener({ msgType: 'other', result: code, rttMs: undefined });
  }

  /**
   * A command from another northbound (the HTTP API) for a registered endpoint: handled exactly as one
   * on the device's command topic (same limits, parsing and queue; answered on MQTT too), and `reply`
   * gets its answer's JSON text, once. Undefined when the endpoint is not registered here.
   */
  command(endpoint: string, payload: Buffer, reply: CommandReply): CommandTicket | undefined {
    const device = this.engine.device(endpoint);
    if (!device) return undefined;
    const prefix = this.prefixOf(device);
    let answered = false;
    let cmd: DownlinkCommand | undefined;
    const once: CommandReply = {
      answer: (text) => {
        if (answered) return;
        answered = true;
        reply.answer(text);
      },
      submitted: (c) => (cmd = c),
    };
    this.intake.read(prefix + this.options.translators.command.topic, prefix, payload, once);
    return {
      get state() {
        if (answered) return 'answered';
        return cmd !== undefined && device.queue.some((q) => q.request === (cmd as unknown)) ? 'queued' : 'sent';
      },
    };
  }

  /**
   * Every message the gateway publishes from now on, of the given kinds (default all), with its
   * endpoint (the management plane: events, the lookup record). Kinds no listener asks for cost a
   * set lookup per publish and nothing more (notifications are the hot path).
   */
  onMessage(listener: (message: GatewayMessage) => void, kinds: readonly TranslatorName[] = ALL_KINDS): () => void {
    const entry = { listener, kinds: new Set(kinds) };
    this.messageListeners.push(entry);
    this.retap();
    return () => {
      const i = this.messageListeners.indexOf(entry);
      if (i >= 0) this.messageListeners.splice(i, 1);
      this.retap();
    };
  }

  private retap(): void {
    const kinds = new Set<TranslatorName>();
    for (const entry of this.messageListeners) for (const kind of entry.kinds) kinds.add(kind);
    this.answers.tapKinds = kinds;
    this.answers.tap = kinds.size > 0 ? (event) => this.tell(event) : undefined;
  }

  private tell(event: UplinkEvent): void {
    // Field by field: the object spread was ~7% of a notification's CPU with a listener on notify (bench --only metrics --profile).
    const message: GatewayMessage = { prefix: event.prefix, kind: event.kind, topic: event.topic, payload: event.payload, msgType: event.msgType, reqPath: event.reqPath, endpoint: this.byPrefix.get(event.prefix)?.reg.endpoint ?? this.unregisteredEndpoint };
    for (const { listener, kinds } of this.messageListeners.slice()) {
      if (!kinds.has(event.kind)) continue;
      try {
        listener(message);
      } catch (err) {
        this.log.error({ err: messageOf(err) }, 'message listener failed');
      }
    }
  }

  /**
   * Publishes the bootstrap server's events under the device's mountpoint (translator `bootstrap`),
   * and refuses Bootstrap-Requests whose names cannot become topics.
   */
  attachBootstrap(server: BootstrapServer): void {
    server.setNameCheck((c) => this.mount.problem({ endpoint: c.endpoint, query: c.query, peer: c.peer, objectList: NO_OBJECTS }));
    server.on('bootstrap', (event: BootstrapEvent) => this.onBootstrap(event));
  }

  private onBootstrap(event: BootstrapEvent): void {
    const prefix = this.mount.renderOrFallback({ endpoint: event.endpoint, query: event.query, peer: event.peer, objectList: NO_OBJECTS });
    const message = bootstrapMessage(event);
    const fields = { ep: event.endpoint, peer: `${event.peer.address}:${event.peer.port}`, step: event.step, code: event.code, error: event.error, version: event.version };
    if (event.status !== 'failed') this.log.info(fields, event.status === 'started' ? 'bootstrap started' : 'bootstrap finished');
    // A pack refused 4.04 is the usual start of a 1.2 device's fallback to the Bootstrap-Request sequence.
    else if (event.step === 'pack' && event.code === '4.04') this.log.info(fields, 'bootstrap pack refused');
    else if (event.step !== 'request') this.log.warn(fields, 'bootstrap failed');
    else {
      // Refused requests come as fast as a source sends them: one line per address every 10 s.
      const admitted = this.bootstrapRefusals.admit(event.peer.address);
      if (admitted) this.log.info({ ...fields, suppressed: admitted.suppressed || undefined }, 'bootstrap request refused');
    }
    // The device is not registered (yet): tell() names the endpoint from here rather than from byPrefix.
    this.unregisteredEndpoint = event.endpoint;
    try {
      this.answers.publish(prefix, 'bootstrap', message);
    } finally {
      this.unregisteredEndpoint = undefined;
    }
  }

  /** Takes firmware-* and software-* commands to the jobs, and publishes their events (translators `firmware` and `software`). */
  attachFirmware(jobs: UpdateJobs<DownlinkCommand>): void {
    this.firmware = jobs;
    jobs.on('event', (endpoint: string, data: UpdateEventData, kind: UpdateKind) => {
      const device = this.engine.device(endpoint);
      const prefix = device ? this.prefixOf(device) : this.mount.renderOrFallback({ endpoint, query: {}, peer: { address: '' }, objectList: NO_OBJECTS });
      const level = data.state === 'failed' ? 'warn' : 'info';
      if (data.state !== 'downloading' || data.progress === undefined || data.progress === 0) {
        this.log[level]({ ep: endpoint, jobId: data.jobId, operation: data.operation, instance: data.instance, state: data.state, code: data.code, error: data.error, updateResult: data.updateResult }, `${kind} job`);
      }
      if (!device) this.unregisteredEndpoint = endpoint;
      try {
        this.answers.publish(prefix, kind, { msgType: kind, data: data as unknown as JsonObject });
      } finally {
        this.unregisteredEndpoint = undefined;
      }
    });
  }

  /** A firmware-* or software-* command: answered once the job started (or was refused) or was cancelled. */
  private onJobCommand(device: MqttDevice, prefix: string, fields: JsonObject, reply: CommandReply | undefined): void {
    const msgType = fields.msgType as string;
    const data = fields.data as JsonObject;
    const reqPath = jobCommandPath(msgType, data);
    const answer = (code: string, extra: { path?: string; jobId?: string; error?: string }) => {
      const data = responseData(extra.path ?? reqPath, code, { ...(extra.jobId !== undefined ? { jobId: extra.jobId } : {}), ...(extra.error !== undefined ? { error: extra.error } : {}) } as Partial<ResponseData>);
      const text = this.answers.answer(prefix, 'response', fields, msgType, data);
      this.countEnded(fields, code);
      reply?.answer(text);
    };
    const jobs = this.firmware;
    if (!jobs) return answer('5.01', { error: 'update jobs are not available in this gateway' });
    runJobCommand(jobs, device.endpoint, msgType, data, fields.reqID as StoredJson | undefined).then(
      (a) => answer(a.code, a),
      (err: unknown) => answer('5.00', { error: `${msgType} failed: ${messageOf(err)}` }),
    );
  }

  /**
   * New profiles (SIGHUP): every registered device is bound anew, so its device id, names and RPC
   * methods follow at once; observations made under the old profile stay until the device registers
   * again. With `${device_id}` in the mountpoint a device whose id changed moves to its new topics
   * (devices may swap ids), unless a device that stays holds them, another moving device takes them
   * too, or the new id cannot be a topic level: then it keeps its own.
   */
  replaceProfiles(profiles: readonly DeviceProfile[]): void {
    if (!this.profiled) return;
    this.profiled.profiles.replace(profiles);
    const moves: PrefixMove<MqttDevice>[] = [];
    for (const [prefix, device] of this.byPrefix) {
      const to = this.mount.render(device.reg);
      if (to !== undefined && to !== prefix) {
        moves.push({ device, from: prefix, to });
        continue;
      }
      if (to === undefined) this.log.warn({ ep: device.endpoint, problem: this.mount.problem(device.reg) }, 'the new profiles give the device no usable ${device_id}; its topics stay where they are');
      this.profiled.bind(device, prefix);
    }
    if (moves.length === 0) return;
    const plan = planPrefixMoves(this.byPrefix, moves);
    for (const { move, holder } of plan.refused) {
      this.log.warn({ ep: move.device.endpoint, holder: holder.endpoint, prefix: move.to }, 'the new profiles give the device the topic prefix of another registered device; its topics stay where they are');
      this.profiled.bind(move.device, move.from);
    }
    // All leave first, so that devices may swap prefixes.
    for (const move of plan.accepted) this.untrack(move.device, move.from);
    for (const move of plan.accepted) {
      this.track(move.device, move.to);
      this.log.info({ ep: move.device.endpoint, from: move.from, to: move.to }, 'device moved to the topic prefix of its new device id');
    }
  }

  /** The command subscription: every device's command topic. */
  commandFilter(): string {
    return mountpointWildcard(this.options.mountpoint) + this.options.translators.command.topic;
  }

  async start(): Promise<void> {
    await this.mqtt.subscribe(this.commandFilter(), this.options.translators.command.qos);
  }

  close(): void {
    this.engine.close();
  }

  /** Handles one slice of waiting commands (tests drive it by hand). @internal */
  drainInbox(): void {
    this.intake.drain();
  }

  // ---- device events ----------------------------------------------------------------------

  private mountpointFor(reg: Registration): string {
    return this.mount.renderOrFallback(reg);
  }

  /** Refuses a candidate whose topic prefix another registered endpoint holds (see DeviceMountpoint). */
  private prefixTaken(endpoint: string, prefix: string): string | undefined {
    const holder = this.byPrefix.get(prefix);
    if (!holder || holder.endpoint === endpoint) return undefined;
    return 'its topic prefix (lwm2m.mountpoint) is that of another registered device';
  }

  private prefixOf(device: MqttDevice): string {
    return device.label ?? this.mountpointFor(device.reg);
  }

  private publish(device: MqttDevice, name: TranslatorName, message: JsonObject | string): void {
    this.answers.publish(this.prefixOf(device), name, message);
  }

  /** Remembers a device's topic prefix: its commands arrive under it (and, shared, tells the other instances). */
  private track(device: MqttDevice, prefix = this.mountpointFor(device.reg)): void {
    const holder = this.byPrefix.get(prefix);
    // Admission refuses this; only registrations restored from an inconsistent store can get here.
    if (holder && holder !== device && holder.endpoint !== device.endpoint) this.log.warn({ ep: device.endpoint, holder: holder.endpoint }, 'two registered devices have one topic prefix; commands go to the latest');
    device.label = prefix;
    this.byPrefix.set(prefix, device);
    this.peers?.hold(prefix);
    this.profiled?.bind(device, prefix);
  }

  private onRegistered(device: MqttDevice): void {
    const reg = device.reg;
    this.track(device);
    this.log.info({ ep: reg.endpoint, id: reg.id, peer: `${reg.peer.address}:${reg.peer.port}` }, 'registered');
    this.publish(device, 'register', registerMessage(reg, 'register', this.options.secretQueryKeys));
    const auto = autoObserveCommands(this.options.autoObserve, reg, this.engine.room(device));
    for (const cmd of auto.commands) this.engine.submit(device, this.asRequest(cmd));
    if (auto.dropped > 0) this.log.warn({ ep: reg.endpoint, dropped: auto.dropped, limit: this.options.maxQueuedCommands }, 'auto-observe commands beyond lwm2m.max_queued_commands dropped');
    if (this.profiled) this.submitProfileCommands(device, this.profiled.registered(device));
  }

  /** The profile's observations and attribute reads, made like auto_observe's (not carried over to a new registration). */
  private submitProfileCommands(device: MqttDevice, commands: readonly JsonObject[]): void {
    for (const json of commands) {
      let cmd: DownlinkCommand;
      try {
        cmd = { ...this.parser.parse(json, device.reg), auto: true };
      } catch (err) {
        this.log.warn({ ep: device.endpoint, command: json.msgType, err: messageOf(err) }, 'profile command not sent');
        continue;
      }
      const refusal = this.engine.submit(device, this.asRequest(cmd));
      if (refusal) this.log.warn({ ep: device.endpoint, command: json.msgType, code: refusal.code }, `profile command not sent: ${refusal.error}`);
    }
  }

  private onUpdated(device: MqttDevice, carriedLinks: boolean): void {
    if (this.options.updateMsgPublishCondition === 'always' || carriedLinks) this.publish(device, 'update', registerMessage(device.reg, 'update', this.options.secretQueryKeys));
  }

  private onDeregistered(reg: Registration, reason: string, device: MqttDevice | undefined): void {
    const prefix = device ? this.prefixOf(device) : this.mountpointFor(reg);
    this.log.info({ ep: reg.endpoint, id: reg.id, reason }, 'deregistered');
    this.answers.publish(prefix, 'deregister', deregisterMessage(reg, reason));
    this.profiled?.deregistered(device, reg, prefix, reason);
    if (device) this.untrack(device, prefix);
  }

  private untrack(device: MqttDevice, prefix: string): void {
    if (this.byPrefix.get(prefix) !== device) return;
    this.byPrefix.delete(prefix);
    this.peers?.release(prefix);
    this.answers.deviceIds.delete(prefix);
  }

  // ---- MQTT commands ------------------------------------------------------------------------

  /** One command: answered here (refused, local, or failed) or handed to the engine. */
  private onCommand(topic: string, prefix: string, command: unknown, fields: JsonObject, reply?: CommandReply): void {
    let submitted = false;
    try {
      const device = this.byPrefix.get(prefix);
      if (!device) {
        const answer = () => {
          const text = this.answers.error(prefix, fields, requestPathOf(command), '4.04', `endpoint is not registered (topic ${topic})`);
          this.countEnded(fields, '4.04');
          reply?.answer(text);
        };
        if (this.peers && !reply) this.peers.unknown(topic, prefix, command, answer);
        else answer();
        return;
      }
      if (typeof fields.msgType === 'string' && JOB_COMMANDS.has(fields.msgType) && typeof fields.data === 'object' && fields.data !== null && !Array.isArray(fields.data)) {
        this.onJobCommand(device, prefix, fields, reply);
        return;
      }
      if (fields.msgType === 'rpc') {
        submitted = this.onRpc(device, prefix, fields, reply);
        return;
      }
      if (typeof fields.msgType === 'string' && LOCAL_COMMANDS.has(fields.msgType) && typeof fields.data === 'object' && fields.data !== null) {
        const data = answerLocalCommand(fields.msgType, device, this.engine);
        const text = this.answers.answer(prefix, 'response', fields, fields.msgType, data);
        this.countEnded(fields, typeof data.code === 'string' ? data.code : '2.05');
        reply?.answer(text);
        return;
      }
      let cmd: DownlinkCommand;
      try {
        cmd = this.parser.parse(command, device.reg);
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        const text = this.answers.error(prefix, fields, requestPathOf(command), err.code, err.message);
        this.countEnded(fields, err.code);
        reply?.answer(text);
        return;
      }
      submitted = true;
      const refusal = this.submitCommand(device, cmd, reply);
      if (refusal) {
        const text = this.answers.refuse(prefix, device.endpoint, fields, cmd.reqPath, refusal.code, refusal.error);
        this.countEnded(fields, refusal.code);
        reply?.answer(text);
      }
    } catch (err) {
      this.log.error({ topic, err: messageOf(err) }, 'command handling failed');
      // A submitted command is answered by the engine.
      if (!submitted) {
        const text = this.answers.error(prefix, fields, requestPathOf(command), '5.00', `command handling failed: ${messageOf(err)}`);
        this.countEnded(fields, '5.00');
        reply?.answer(text);
      }
    }
  }

  /**
   * An RPC call (`{"msgType":"rpc","data":{"method","params"}}`): the device's profile turns it into
   * one command, submitted as any other; its outcome is answered as the RPC's status. Whether it was submitted.
   */
  private onRpc(device: MqttDevice, prefix: string, fields: JsonObject, reply: CommandReply | undefined): boolean {
    const refuse = (code: string, error: string, method?: string) => {
      const data = { ...responseData(null, code, { error }), ...(method !== undefined ? { method } : {}), status: 'failed' };
      const text = this.answers.answer(prefix, 'response', fields, 'rpc', data as JsonObject);
      this.countEnded(fields, code);
      reply?.answer(text);
      return false;
    };
    const data = fields.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return refuse('4.00', 'data must be an object: {"method": "...", "params": ...}');
    const method = (data as JsonObject).method;
    if (typeof method !== 'string' || method === '') return refuse('4.00', 'data.method must be a non-empty string');
    const binding = this.profiled?.bindingOf(device);
    if (!binding) return refuse('4.04', 'no device profile applies to this device, so it has no RPC methods', method);
    const call = rpcCommand(binding.profile, method, (data as JsonObject).params, fields);
    if ('code' in call) return refuse(call.code, call.error, method);
    let cmd: DownlinkCommand;
    try {
      cmd = this.parser.parse(call.command, device.reg);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      return refuse(err.code, `RPC ${method}: ${err.message}`, method);
    }
    this.rpcs.set(cmd, method);
    const refusal = this.submitCommand(device, cmd, reply);
    if (refusal) {
      this.rpcs.delete(cmd);
      refuse(refusal.code, refusal.error, method);
    }
    return true;
  }

  /** An RPC's outcome as its answer: the device's code as `status` (succeeded, failed, timeout), with what a read returned. */
  private answerRpc(device: MqttDevice, cmd: DownlinkCommand, method: string, outcome: RequestOutcome, rttMs: number): string {
    let data: JsonObject;
    let status: ReturnType<typeof rpcStatus>;
    if (outcome.kind === 'response') {
      data = responseJson(cmd.reqPath, outcome.response) as unknown as JsonObject;
      status = rpcStatus({ msgType: cmd.msgType, data: { code: outcome.response.code } });
    } else {
      const [code, error, msgType] = rpcFailure(outcome, cmd.ttl);
      data = responseData(cmd.reqPath, code, error === undefined ? {} : { error }) as unknown as JsonObject;
      status = rpcStatus({ msgType, data: { code } });
    }
    if (outcome.kind !== 'expired' && outcome.kind !== 'deregistered') this.opLog.answered(device.endpoint, cmd, outcome, rttMs);
    return this.answers.answer(this.prefixOf(device), 'response', cmd.fields, 'rpc', { ...data, method, status: status?.status ?? 'succeeded', ...(status && status.code !== data.code ? { code: status.code } : {}) });
  }

  /** Hands a command to the engine; another northbound's reply waits for its answer. The engine's refusal, if any (not yet answered). */
  private submitCommand(device: MqttDevice, cmd: DownlinkCommand, reply: CommandReply | undefined): RequestRefusal | undefined {
    if (reply) {
      this.replies.set(cmd, reply);
      reply.submitted?.(cmd);
    }
    const refusal = this.engine.submit(device, this.asRequest(cmd));
    if (refusal) this.replies.delete(cmd);
    return refusal;
  }

  /** A command the gateway answered itself (refused, or local), for metrics. */
  private countEnded(fields: JsonObject, code: string): void {
    const listener = this.commandAnswered;
    if (listener !== undefined) listener({ msgType: typeof fields.msgType === 'string' ? fields.msgType : 'other', result: code, rttMs: undefined });
  }

  /** The command as its own engine request (see DownlinkCommand.context: one object less per command). */
  private asRequest(cmd: DownlinkCommand): DeviceRequest<DownlinkCommand> {
    cmd.context = cmd;
    cmd.handler = this;
    return cmd as DeviceRequest<DownlinkCommand>;
  }

  // ---- RequestHandler: outcomes and notifications -------------------------------------------

  /** @internal */
  answered(device: MqttDevice, request: DeviceRequest<DownlinkCommand>, outcome: RequestOutcome, rttMs: number): void {
    const cmd = request.context;
    const rpc = this.rpcs.get(cmd);
    const text = rpc === undefined ? answerOutcome(this.answers, this.opLog, this.prefixOf(device), device.endpoint, cmd, outcome, rttMs) : this.answerRpc(device, cmd, rpc, outcome, rttMs);
    if (this.profiled !== undefined && outcome.kind === 'response' && outcome.response.content !== undefined && READ_OPS.has(cmd.op.type)) this.profiled.content(device, outcome.response.content, true);
    if (this.commandAnswered !== undefined) this.commandAnswered({ msgType: cmd.msgType, result: resultOf(outcome), rttMs: outcome.kind === 'expired' || outcome.kind === 'deregistered' ? undefined : rttMs });
    const reply = this.replies.get(cmd);
    if (reply !== undefined) {
      this.replies.delete(cmd);
      reply.answer(text);
    }
  }

  /** @internal */
  notified(device: MqttDevice, request: DeviceRequest<DownlinkCommand>, res: Lwm2mResponse): void {
    const cmd = request.context;
    this.opLog.undecodable(device.endpoint, cmd, res);
    this.answers.answer(this.prefixOf(device), 'notify', cmd.fields, 'notify', responseJson(cmd.reqPath, res), res.observe);
    if (this.profiled !== undefined && res.content !== undefined) this.profiled.content(device, res.content, false);
  }

  /** @internal */
  failed(device: MqttDevice, request: DeviceRequest<DownlinkCommand>, err: unknown, notification: boolean): void {
    const cmd = request.context;
    this.log.error({ ep: device.endpoint, path: cmd.reqPath, err: messageOf(err) }, notification ? 'notification handling failed' : 'command handling failed');
    const data = responseData(cmd.reqPath, '5.00', { error: `${notification ? 'notification' : 'command'} handling failed: ${messageOf(err)}` });
    const text = this.answers.answer(this.prefixOf(device), notification ? 'notify' : 'response', cmd.fields, notification ? 'notify' : cmd.msgType, data);
    if (!notification) this.countEnded(cmd.fields, '5.00');
    const reply = notification ? undefined : this.replies.get(cmd);
    if (reply !== undefined) {
      this.replies.delete(cmd);
      reply.answer(text);
    }
  }
}

/** Operations whose answer carries values: telemetry and attributes are taken from them. */
const READ_OPS: ReadonlySet<string> = new Set(['read', 'read-composite', 'observe', 'observe-composite']);

/** An RPC outcome other than a response: its code, error and the msgType rpcStatus tells it by. */
function rpcFailure(outcome: Exclude<RequestOutcome, { kind: 'response' }>, ttl: number): [code: string, error: string | undefined, msgType: string] {
  switch (outcome.kind) {
    case 'ack':
      // A non-confirmable call the device acknowledged: it took it, no response follows.
      return ['ack', undefined, 'ack'];
    case 'reset':
      return ['coap_reset', 'the device answered with RST', 'coap_reset'];
    case 'timeout':
      return ['coap_timeout', 'the device did not answer (CoAP timeout)', 'coap_timeout'];
    case 'failed':
      return [outcome.code, outcome.error, 'rpc'];
    case 'expired':
      return ['5.04', `the call expired in the queue after ${ttl} s (mheaders.ttl)`, 'rpc'];
    case 'deregistered':
      return ['4.04', `the device deregistered (${outcome.reason})`, 'rpc'];
  }
}

/** An outcome as a metric label: the response code, or what happened instead. */
function resultOf(outcome: RequestOutcome): string {
  switch (outcome.kind) {
    case 'response':
      return outcome.response.code;
    case 'ack':
      return 'ack';
    case 'reset':
      return 'coap_reset';
    case 'timeout':
      return 'coap_timeout';
    case 'failed':
      return outcome.code;
    case 'expired':
      return 'expired';
    case 'deregistered':
      return 'deregistered';
  }
}
