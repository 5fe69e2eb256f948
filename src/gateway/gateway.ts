import type { Logger } from 'pino';
import { isSuccessCode as isSuccess, type CoapResponse, type OutgoingExchange } from '../coap';
import { CodecError } from '../lwm2m/codec/codec-error';
import { decodeEntries, formatLink, parseLinkFormat } from '../lwm2m/codec';
import { ContentFormat, contentFormatName } from '../lwm2m/codec/content-format';
import { compositeObservationKey } from '../lwm2m/composite';
import type { Lwm2mServer } from '../lwm2m/lwm2m-server';
import type { ModelLookup } from '../lwm2m/model/types';
import { formatPath, parsePath } from '../lwm2m/path';
import type { RegistrationCandidate } from '../lwm2m/registration/admission';
import type { Entry } from '../lwm2m/node';
import type { Lwm2mOperation } from '../lwm2m/operation';
import type { Registration } from '../lwm2m/registration/registration';
import { CommandError, CommandParser, requestPathOf, type DownlinkCommand, type JsonObject } from './command-parser';
import { CommandExchange, type CommandExchangeHost } from './command-exchange';
import { DeviceSession, type QueuedCommand } from './device-session';
import { LOCAL_COMMANDS, answerLocalCommand } from './local-commands';
import { createMountpointSplitter, createTopicMatcher, mountpointProblem, mountpointWildcard, renderMountpoint, type MountpointVars } from './mountpoint';
import { commandAnswer, deregisterMessage, registerMessage, responseData, scalarErrorAnswer, type ResponseData } from './uplink-messages';
import { MAX_COMMAND_DEPTH, nestsDeeperThan } from './json-depth';
import { FairInbox, type FairInboxLimits, type InboxRefusal } from './fair-inbox';
import { LogThrottle } from '../limits/log-throttle';
import { entriesToJson } from './value-json';

export type Qos = 0 | 1 | 2;

export interface Translator {
  topic: string;
  qos: Qos;
}

export type TranslatorName = 'command' | 'response' | 'notify' | 'register' | 'update' | 'deregister' | 'send';

export interface GatewayOptions {
  mountpoint: string;
  translators: Record<TranslatorName, Translator>;
  /** Seconds a queue-mode device counts as awake after its last message. */
  qmodeTimeWindow: number;
  autoObserve: boolean | string[];
  updateMsgPublishCondition: 'always' | 'contains_object_list';
  keys: Record<string, string>;
  /** Commands waiting per device; more are answered 5.03 at once. */
  maxQueuedCommands: number;
  /** Largest command payload in bytes. */
  maxCommandSize: number;
  /** Lower-case substrings of query parameter names that are never published. */
  secretQueryKeys: readonly string[];
  /** Longest value of a mountpoint placeholder, bytes (lwm2m.max_endpoint_length). */
  maxEndpointLength?: number;
  /** CoAP retransmissions before a coap_timeout (lwm2m.coap.max_retransmit), for its log line. */
  maxRetransmit?: number;
}

/** The mountpoint's placeholder values for a device (EMQX: clientid from device_id, username from imei). */
function mountpointVars(endpoint: string, query: Readonly<Record<string, string>>, peerhost: string, attributes?: Readonly<Record<string, string>>): MountpointVars {
  return {
    endpoint_name: endpoint,
    clientid: query.device_id ?? endpoint,
    username: query.imei ?? endpoint,
    peerhost,
    client_attrs: attributes ?? NO_ATTRIBUTES,
  };
}

/** What the gateway needs of the broker connection. */
export interface MqttLink {
  publish(topic: string, payload: string, qos: Qos): void;
  subscribe(topicFilter: string, qos: Qos): Promise<void>;
  onMessage(handler: (topic: string, payload: Buffer) => void): void;
}

interface MqttMessage {
  topic: string;
  /** The mountpoint as rendered: the device's part of the topic, and its key in the inbox. */
  prefix: string;
  payload: Buffer;
}

/** Objects that `auto_observe: true` leaves alone (security, server, access control, ... ). */
const AUTO_OBSERVE_EXCLUDED = new Set([0, 1, 2, 4, 5, 6, 7, 9, 15]);
const EXPIRY_SWEEP_MS = 1000;
/** Commands handled per event-loop turn when they arrive faster than they are handled. */
const INBOX_SLICE = 32;
/**
 * The inbox's bounds; a command beyond them is answered 5.03 as it arrives, unparsed but for the
 * scalar fields its answer echoes. Per device 16,384, or twice lwm2m.max_queued_commands if more
 * (a device takes that many as queued plus mheaders.ttl 0 in flight): the inbox never refuses what
 * the device would take, nor the soak's 2,500-read bursts; and since turns are round-robin a long
 * backlog delays only its own device. In all four devices' worth (65,536 commands by default) and
 * 32 MiB of payload: at about 250 bytes of topic, Buffer and record per waiting command, at most
 * about 48 MiB by default, and four flooded devices (or as many commands for unregistered names
 * on distinct topics) are needed to reach it. The single FIFO before had no bound.
 */
function inboxLimits(maxQueuedCommands: number): FairInboxLimits {
  const perKey = Math.max(16_384, 2 * maxQueuedCommands);
  return { perKey, items: 4 * perKey, bytes: 32 * 1024 * 1024 };
}
const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;
/** A command up to this many times lwm2m.max_command_size is still read for the reqID its 4.13 echoes; a larger one is not parsed. */
const OVERSIZE_ECHO_FACTOR = 2;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The key of the observation an observe-type operation makes or ends; undefined for other operations. */
function observationKey(op: Lwm2mOperation): string | undefined {
  switch (op.type) {
    case 'observe':
    case 'cancel-observe':
      return formatPath(op.path);
    case 'observe-composite':
    case 'cancel-observe-composite':
      return compositeObservationKey(op.paths);
    default:
      return undefined;
  }
}

function drainInbox(gateway: Lwm2mMqttGateway): void {
  gateway.drainInbox();
}

/**
 * The translation between MQTT and LwM2M (mqtt-contract.md parts A–C): device events become
 * uplink messages; JSON commands become LwM2M operations, at most one in flight per device.
 */
export class Lwm2mMqttGateway implements CommandExchangeHost {
  private readonly parser: CommandParser;
  private readonly sessions = new Map<string, DeviceSession>();
  private readonly byPrefix = new Map<string, DeviceSession>();
  /** The session of a registration just replaced: its waiting commands pass to the new one. */
  private handover: DeviceSession | undefined;
  private readonly splitMountpoint: (topic: string) => { prefix: string; rest: string } | undefined;
  private readonly isCommandTopic: (topic: string) => boolean;
  private readonly sweepTimer: NodeJS.Timeout;
  /** Refused commands are logged once per endpoint (or topic prefix) and reason per 10 s. */
  private readonly refusalLog = new LogThrottle(10_000);

  constructor(
    private readonly server: Lwm2mServer,
    private readonly mqtt: MqttLink,
    private readonly options: GatewayOptions,
    private readonly model: ModelLookup,
    private readonly log: Logger,
  ) {
    this.parser = new CommandParser(model, options.keys);
    this.splitMountpoint = createMountpointSplitter(options.mountpoint);
    this.isCommandTopic = createTopicMatcher(options.translators.command.topic);
    this.inboxLimits = inboxLimits(options.maxQueuedCommands);
    this.inbox = new FairInbox<MqttMessage>(this.inboxLimits, (m) => m.payload.length);
    server.on('registered', (reg: Registration, replaced?: Registration) => this.onRegistered(reg, replaced));
    server.on('updated', (reg: Registration, carriedLinks: boolean) => this.onUpdated(reg, carriedLinks));
    server.on('deregistered', (reg: Registration, reason: string) => this.onDeregistered(reg, reason));
    server.on('send', (reg: Registration, entries: Entry[]) => this.onSend(reg, entries));
    // Refusals never reach MQTT: a device that failed authentication has no topic of its own.
    server.on('refused', (c: RegistrationCandidate, code: string, reason: string) => this.logRegistrationRefusal(c, code, reason));
    // Endpoint names and the other placeholder values become topic levels: checked before admission.
    server.registrations.setNameCheck((c, attributes) =>
      mountpointProblem(options.mountpoint, mountpointVars(c.endpoint, c.query, c.peer.address, attributes), options.maxEndpointLength),
    );
    mqtt.onMessage((topic, payload) => this.enqueueMqttMessage(topic, payload));
    this.sweepTimer = setInterval(() => this.expireQueuedCommands(Date.now()), EXPIRY_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** The command subscription: every device's command topic. */
  commandFilter(): string {
    return mountpointWildcard(this.options.mountpoint) + this.options.translators.command.topic;
  }

  async start(): Promise<void> {
    await this.mqtt.subscribe(this.commandFilter(), this.options.translators.command.qos);
  }

  close(): void {
    clearInterval(this.sweepTimer);
    for (const session of this.sessions.values()) this.closeSession(session);
  }

  sessionOf(endpoint: string): DeviceSession | undefined {
    return this.sessions.get(endpoint);
  }

  // ---- device events ----------------------------------------------------------------------

  private mountpointFor(reg: Registration): string {
    return renderMountpoint(this.options.mountpoint, mountpointVars(reg.endpoint, reg.query, reg.peer.address, reg.attributes));
  }

  // A refused source may repeat itself thousands of times a second: one line per source and
  // outcome every 10 s, with the count of those left out.
  private readonly registrationRefusals = new LogThrottle(10_000);

  private logRegistrationRefusal(c: RegistrationCandidate, code: string, reason: string): void {
    const admitted = this.registrationRefusals.admit(`${c.peer.address} ${code}`);
    if (!admitted) return;
    const fields = { ep: c.endpoint, peer: `${c.peer.address}:${c.peer.port}`, scheme: c.scheme, code, reason, suppressed: admitted.suppressed || undefined };
    if (code === '4.04') this.log.info(fields, 'request for an unknown registration');
    else this.log.warn(fields, 'registration refused');
  }

  private publish(session: DeviceSession | string, name: TranslatorName, message: JsonObject | string): void {
    const t = this.options.translators[name];
    const prefix = typeof session === 'string' ? session : session.prefix;
    this.mqtt.publish(prefix + t.topic, typeof message === 'string' ? message : JSON.stringify(message), t.qos);
  }

  private onRegistered(reg: Registration, replaced?: Registration): void {
    const session = new DeviceSession(reg, this.mountpointFor(reg));
    const old = replaced && this.handover?.reg === replaced ? this.handover : undefined;
    this.handover = undefined;
    if (old) {
      // The device rebooted: its waiting commands go on to the new registration (auto-observe
      // commands are made anew below).
      for (let q = old.queue.shift(); q !== undefined; q = old.queue.shift()) if (!q.cmd.auto) session.queue.push(q);
    }
    this.sessions.set(reg.endpoint, session);
    this.byPrefix.set(session.prefix, session);
    this.log.info({ ep: reg.endpoint, id: reg.id, peer: `${reg.peer.address}:${reg.peer.port}` }, 'registered');
    this.publish(session, 'register', registerMessage(reg, 'register', this.options.secretQueryKeys));
    this.enqueueAutoObserve(session, this.autoObservePaths(reg));
    // Commands go out after the 2.01 has been sent.
    setImmediate(() => this.dispatch(session));
  }

  private autoObservePaths(reg: Registration): string[] {
    const setting = this.options.autoObserve;
    if (setting === false) return [];
    if (setting === true) {
      return reg.objectList.filter((p) => {
        const objectId = Number(p.split('/')[1]);
        return Number.isInteger(objectId) && !AUTO_OBSERVE_EXCLUDED.has(objectId);
      });
    }
    const present = (p: string) => reg.objectList.some((o) => p === o || p.startsWith(o + '/') || o.startsWith(p + '/'));
    return setting.map((p) => formatPath(parsePath(p))).filter(present);
  }

  private onUpdated(reg: Registration, carriedLinks: boolean): void {
    const session = this.sessions.get(reg.endpoint);
    if (!session || session.reg !== reg) return;
    session.touch();
    if (this.options.updateMsgPublishCondition === 'always' || carriedLinks) {
      this.publish(session, 'update', registerMessage(reg, 'update', this.options.secretQueryKeys));
    }
    setImmediate(() => this.dispatch(session));
  }

  /** LwM2M Send: published on the send translator; the device is awake, so its queue may go. */
  private onSend(reg: Registration, entries: Entry[]): void {
    const session = this.sessions.get(reg.endpoint);
    if (!session || session.reg !== reg) return;
    session.touch();
    this.publish(session, 'send', JSON.stringify({ msgType: 'send', data: { content: entriesToJson(entries) } }));
    setImmediate(() => this.dispatch(session));
  }

  private onDeregistered(reg: Registration, reason: string): void {
    const session = this.sessions.get(reg.endpoint);
    this.log.info({ ep: reg.endpoint, id: reg.id, reason }, 'deregistered');
    this.publish(session?.prefix ?? this.mountpointFor(reg), 'deregister', deregisterMessage(reg, reason));
    if (!session || session.reg !== reg) return;
    this.sessions.delete(reg.endpoint);
    if (this.byPrefix.get(session.prefix) === session) this.byPrefix.delete(session.prefix);
    if (reason === 'replaced') this.handover = session;
    else {
      for (let q = session.queue.shift(); q !== undefined; q = session.queue.shift()) {
        if (q.cmd.auto) continue;
        this.answerError(session.prefix, q.cmd.fields, q.cmd.reqPath, '4.04', `endpoint ${reg.endpoint} deregistered (${reason})`);
      }
    }
    this.closeSession(session);
  }

  private closeSession(session: DeviceSession): void {
    session.closed = true;
    session.cancelObservations();
  }

  // ---- MQTT commands ------------------------------------------------------------------------

  // MQTT delivers commands in TCP-sized chunks (hundreds at a time under load). Handling them in
  // slices lets device answers, read between slices, go out without waiting for the whole chunk:
  // measured at 5k reads/s, p90 went from 12-24 ms to about 3 ms. Keyed by mountpoint prefix, not
  // topic: a command filter with a wildcard (dn/#) gives a device many topics, which would reorder
  // its commands and multiply its share of the turns.
  private readonly inboxLimits: FairInboxLimits;
  private readonly inbox: FairInbox<MqttMessage>;
  private inboxScheduled = false;

  private enqueueMqttMessage(topic: string, payload: Buffer): void {
    // Split here rather than when handled: what is not a command topic takes no room in the inbox.
    const split = this.splitMountpoint(topic);
    if (!split || !this.isCommandTopic(split.rest)) return;
    const refusal = this.inbox.push(split.prefix, { topic, prefix: split.prefix, payload });
    if (refusal !== undefined) {
      this.refuseInboxFull(split.prefix, payload, refusal);
      return;
    }
    if (!this.inboxScheduled) {
      this.inboxScheduled = true;
      setImmediate(drainInbox, this);
    }
  }

  private refuseInboxFull(prefix: string, payload: Buffer, refusal: InboxRefusal): void {
    const limits = this.inboxLimits;
    const error =
      refusal === 'key-full'
        ? `${limits.perKey} commands for ${prefix} already wait to be read (the inbox holds at most ${limits.perKey} per device)`
        : `the command inbox is full (at most ${limits.items} commands and ${limits.bytes} bytes waiting for all devices)`;
    this.refuseUnread(prefix, payload, payload.length <= this.options.maxCommandSize * OVERSIZE_ECHO_FACTOR, '5.03', error);
  }

  /** @internal */
  drainInbox(): void {
    for (let n = 0; n < INBOX_SLICE; n++) {
      const message = this.inbox.shift();
      if (message === undefined) break;
      try {
        this.onMqttMessage(message.topic, message.prefix, message.payload);
      } catch (err) {
        // onMqttMessage answers its own failures; this is the last resort that keeps later commands going.
        this.log.error({ topic: message.topic, err: messageOf(err) }, 'command handling failed');
      }
    }
    if (this.inbox.size > 0) setImmediate(drainInbox, this);
    else this.inboxScheduled = false;
  }

  /** One command: answered here (refused, local, or failed) or handed to the device's queue. */
  private onMqttMessage(topic: string, prefix: string, payload: Buffer): void {
    // Limits first, on the bytes: a refused command is never parsed in full (or at all when huge).
    if (payload.length > this.options.maxCommandSize) {
      const limit = this.options.maxCommandSize;
      this.refuseUnread(prefix, payload, payload.length <= limit * OVERSIZE_ECHO_FACTOR, '4.13', `command of ${payload.length} bytes is larger than lwm2m.max_command_size (${limit} bytes)`);
      return;
    }
    if (nestsDeeperThan(payload, MAX_COMMAND_DEPTH)) {
      this.refuseUnread(prefix, payload, true, '4.00', `command nests deeper than ${MAX_COMMAND_DEPTH} levels`);
      return;
    }
    let command: unknown;
    try {
      command = JSON.parse(payload.toString('utf8'));
    } catch {
      this.answerError(prefix, {}, null, '4.00', 'payload is not valid JSON');
      return;
    }
    const fields: JsonObject = typeof command === 'object' && command !== null && !Array.isArray(command) ? (command as JsonObject) : {};
    let queued = false;
    try {
      const session = this.byPrefix.get(prefix);
      if (!session) {
        this.answerError(prefix, fields, requestPathOf(command), '4.04', `endpoint is not registered (topic ${topic})`);
        return;
      }
      if (typeof fields.msgType === 'string' && LOCAL_COMMANDS.has(fields.msgType) && typeof fields.data === 'object' && fields.data !== null) {
        this.publishAnswer(prefix, 'response', fields, fields.msgType, answerLocalCommand(fields.msgType, session));
        return;
      }
      let cmd: DownlinkCommand;
      try {
        cmd = this.parser.parse(command, session.reg);
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        this.answerError(prefix, fields, requestPathOf(command), err.code, err.message);
        return;
      }
      if (cmd.ttl === 0) {
        if (session.directInFlight >= this.options.maxQueuedCommands) this.refuseQueueFull(session, cmd, 'has too many mheaders.ttl 0 commands in flight');
        else this.send(session, cmd, false);
        return;
      }
      if (session.queue.size >= this.options.maxQueuedCommands) {
        this.refuseQueueFull(session, cmd, 'has a full command queue');
        return;
      }
      this.enqueue(session, cmd);
      queued = true;
      this.dispatch(session);
    } catch (err) {
      this.log.error({ topic, err: messageOf(err) }, 'command handling failed');
      // A queued command is answered when it is sent or expires.
      if (!queued) this.publish(prefix, 'response', scalarErrorAnswer(fields, requestPathOf(command), '5.00', `command handling failed: ${messageOf(err)}`));
    }
  }

  /** Refuses a command by its bytes alone; `readable`: small enough to parse for the scalar fields its answer echoes. */
  private refuseUnread(prefix: string, payload: Buffer, readable: boolean, code: string, error: string): void {
    let command: unknown;
    if (readable) {
      try {
        command = JSON.parse(payload.toString('utf8'));
      } catch {
        command = undefined;
      }
    }
    this.publish(prefix, 'response', scalarErrorAnswer(command, readable ? requestPathOf(command) : null, code, error));
    this.logRefusal(prefix, code, error);
  }

  private refuseQueueFull(session: DeviceSession, cmd: DownlinkCommand, why: string): void {
    const error = `endpoint ${session.reg.endpoint} ${why} (lwm2m.max_queued_commands: ${this.options.maxQueuedCommands})`;
    this.answerError(session.prefix, cmd.fields, cmd.reqPath, '5.03', error);
    this.logRefusal(session.reg.endpoint, '5.03', error);
  }

  /** A warning per source and reason every 10 s at most, counting the refusals it stood for. */
  private logRefusal(source: string, code: string, error: string): void {
    const admitted = this.refusalLog.admit(`${code} ${source}`);
    if (admitted) this.log.warn({ source, code, suppressed: admitted.suppressed }, `command refused: ${error}`);
  }

  private answerError(prefix: string, fields: JsonObject, reqPath: string | null, code: string, error: string): void {
    this.publishAnswer(prefix, 'response', fields, fields.msgType, responseData(reqPath, code, { error }));
  }

  /**
   * Publishes an answer to a command (or a notification of its observation). An answer that cannot
   * be serialised (its echoed fields) is replaced by a 5.00 answer echoing scalar fields only: a
   * command is never left unanswered, and this never throws on its account.
   */
  private publishAnswer(
    session: DeviceSession | string,
    translator: 'response' | 'notify',
    fields: JsonObject,
    msgType: unknown,
    data: ResponseData | JsonObject,
    seqNum?: number,
  ): void {
    let text: string;
    try {
      text = commandAnswer(fields, msgType, data, seqNum);
    } catch (err) {
      this.log.error({ topic: typeof session === 'string' ? session : session.prefix, err: messageOf(err) }, 'answer cannot be serialised');
      const reqPath = typeof data.reqPath === 'string' ? data.reqPath : null;
      text = scalarErrorAnswer(fields, reqPath, '5.00', `answer cannot be serialised: ${messageOf(err)}`);
    }
    this.publish(session, translator, text);
  }

  private enqueue(session: DeviceSession, cmd: DownlinkCommand): void {
    session.queue.push({ cmd, enqueuedAt: Date.now() });
  }

  /** Queues the auto-observe commands of a registration up to the queue bound; the rest are dropped with one warning. */
  private enqueueAutoObserve(session: DeviceSession, paths: readonly string[]): void {
    const room = Math.max(0, this.options.maxQueuedCommands - session.queue.size);
    for (let i = 0; i < paths.length && i < room; i++) {
      const path = paths[i];
      this.enqueue(session, {
        fields: { msgType: 'observe', data: { path }, is_auto_observe: true },
        msgType: 'observe',
        reqPath: path,
        op: { type: 'observe', path: parsePath(path), query: [] },
        ttl: Number.POSITIVE_INFINITY,
        auto: true,
      });
    }
    if (paths.length > room) {
      this.log.warn(
        { ep: session.reg.endpoint, dropped: paths.length - room, limit: this.options.maxQueuedCommands },
        'auto-observe commands beyond lwm2m.max_queued_commands dropped',
      );
    }
  }

  private isExpired(q: QueuedCommand, now: number): boolean {
    return now - q.enqueuedAt > q.cmd.ttl * 1000;
  }

  private answerExpired(session: DeviceSession, q: QueuedCommand): void {
    this.answerError(session.prefix, q.cmd.fields, q.cmd.reqPath, '5.04', `command expired in the queue after ${q.cmd.ttl} s (mheaders.ttl)`);
  }

  private expireQueuedCommands(now: number): void {
    for (const session of this.sessions.values()) {
      if (session.queue.size === 0) continue;
      // Taken out first and answered after, so that the queue is consistent whatever an answer does.
      let expired: QueuedCommand[] | undefined;
      session.queue.removeWhere((q) => {
        if (!this.isExpired(q, now)) return false;
        (expired ??= []).push(q);
        return true;
      });
      if (expired) for (const q of expired) this.answerExpired(session, q);
    }
  }

  /**
   * Sends the next queued command when nothing is in flight and the device is awake. A loop, not
   * recursion: a command that fails at once releases its slot inside send(), and the loop goes on.
   */
  private dispatch(session: DeviceSession): void {
    if (session.dispatching) return;
    session.dispatching = true;
    try {
      const now = Date.now();
      while (!session.inFlight && !session.closed) {
        const head = session.queue.peek();
        if (head === undefined) return;
        if (this.isExpired(head, now)) {
          session.queue.shift();
          this.answerExpired(session, head);
          continue;
        }
        if (!session.isAwake(now, this.options.qmodeTimeWindow)) return;
        session.queue.shift();
        this.send(session, head.cmd, true);
      }
    } finally {
      session.dispatching = false;
    }
  }

  // ---- LwM2M exchanges ---------------------------------------------------------------------

  /** Starts the command's exchange; a failure to start answers the command and frees its slot (never throws). */
  private send(session: DeviceSession, cmd: DownlinkCommand, counted: boolean): void {
    const listener = new CommandExchange(this, session, cmd, counted);
    try {
      let op = cmd.op;
      if (op.type === 'cancel-observe' || op.type === 'cancel-observe-composite') {
        // RFC 7641 §3.6: the deregistering GET (FETCH for a composite) carries the observation's token.
        // The local exchange is forgotten first so that the token is free; a notification in between
        // is answered by RST.
        const key = observationKey(op) as string;
        const observation = session.observation(key);
        if (observation) {
          observation.exchange.cancel();
          session.deleteObservation(key);
          op = { ...op, token: observation.exchange.token };
        }
      }
      listener.exchange = this.server.send(session.reg, op, listener);
    } catch (err) {
      listener.fail('4.00', err instanceof CodecError ? `cannot encode: ${err.message}` : messageOf(err));
    }
  }

  // ---- CommandExchangeHost ---------------------------------------------------------------

  /** @internal */
  answer(session: DeviceSession, cmd: DownlinkCommand, msgType: unknown, data: ResponseData | JsonObject, seqNum?: number): void {
    this.publishAnswer(session, 'response', cmd.fields, msgType, data, seqNum);
  }

  /** @internal */
  failed(session: DeviceSession, cmd: DownlinkCommand, err: unknown, notification: boolean): void {
    this.log.error({ ep: session.reg.endpoint, path: cmd.reqPath, err: messageOf(err) }, notification ? 'notification handling failed' : 'command handling failed');
    const data = responseData(cmd.reqPath, '5.00', { error: `${notification ? 'notification' : 'command'} handling failed: ${messageOf(err)}` });
    this.publishAnswer(session, notification ? 'notify' : 'response', cmd.fields, notification ? 'notify' : cmd.msgType, data);
  }

  /** @internal */
  released(session: DeviceSession): void {
    this.dispatch(session);
  }

  // A device that went away times out every command sent to it: one line per endpoint every 10 s.
  private readonly timeoutLog = new LogThrottle(10_000);

  /** @internal */
  timedOut(session: DeviceSession, cmd: DownlinkCommand, acknowledged: boolean): void {
    const admitted = this.timeoutLog.admit(session.reg.endpoint);
    if (!admitted) return;
    this.log.warn(
      {
        ep: session.reg.endpoint,
        msgType: cmd.msgType,
        path: cmd.reqPath,
        waitedFor: acknowledged ? 'separate response' : 'ack',
        retransmissions: acknowledged ? undefined : this.options.maxRetransmit,
        suppressed: admitted.suppressed || undefined,
      },
      'coap_timeout: the device did not answer',
    );
  }

  /** @internal */
  debugLog(): Logger | undefined {
    return this.log.isLevelEnabled('debug') ? this.log : undefined;
  }

  /** @internal */
  forgetObservation(session: DeviceSession, cmd: DownlinkCommand, exchange: OutgoingExchange | undefined): void {
    if (cmd.op.type !== 'observe' && cmd.op.type !== 'observe-composite') return;
    const key = observationKey(cmd.op) as string;
    if (session.observation(key)?.exchange === exchange) session.deleteObservation(key);
  }

  /**
   * Decodes a content answer into read-style data. A payload the gateway cannot decode is no
   * successful read: its answer has code 5.02 (bad gateway: an invalid response from upstream,
   * RFC 7252 §5.9.3.3) and no `content`, with the device's code in `deviceCode`, the format and
   * the decoder's message in `error`, and the payload as base64 (never lose data).
   */
  private contentData(session: DeviceSession, cmd: DownlinkCommand, res: CoapResponse): ResponseData {
    if (!isSuccess(res.code)) return responseData(cmd.reqPath, res.code);
    const undecodable = (format: string, message: string): ResponseData => {
      this.log.warn({ ep: session.reg.endpoint, path: cmd.reqPath, code: res.code, err: message }, 'undecodable payload');
      const error = `cannot decode the device's ${format} payload: ${message}`;
      return responseData(cmd.reqPath, '5.02', { error, deviceCode: res.code, payload: res.payload.toString('base64') });
    };
    if (cmd.op.type === 'discover') {
      const text = res.payload.toString('utf8');
      if (text.trim() === '') return responseData(cmd.reqPath, res.code, { content: [] });
      try {
        return responseData(cmd.reqPath, res.code, { content: parseLinkFormat(text).map(formatLink) });
      } catch (err) {
        return undecodable(`link format (${ContentFormat.LINK})`, messageOf(err));
      }
    }
    if (res.payload.length === 0) return responseData(cmd.reqPath, res.code, { content: [] });
    const format = res.contentFormat ?? ContentFormat.TEXT;
    try {
      const entries = decodeEntries(format, res.payload, cmd.op.path, this.model);
      return responseData(cmd.reqPath, res.code, { content: entriesToJson(entries) });
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      const name = contentFormatName(format);
      return undecodable(name === String(format) ? `content format ${format}` : `${name} (${format})`, err.message);
    }
  }

  /** @internal */
  onCommandResponse(session: DeviceSession, cmd: DownlinkCommand, res: CoapResponse, exchange: OutgoingExchange | undefined): void {
    const op = cmd.op;
    switch (op.type) {
      case 'read':
      case 'discover':
      case 'cancel-observe':
      case 'read-composite':
      case 'cancel-observe-composite': {
        this.publishAnswer(session, 'response', cmd.fields, cmd.msgType, this.contentData(session, cmd, res));
        return;
      }
      case 'observe':
      case 'observe-composite': {
        const data = this.contentData(session, cmd, res);
        // By the device's code: an observation whose first payload could not be decoded (5.02) is still made.
        if (isSuccess(res.code) && res.observe !== undefined && exchange) {
          const key = observationKey(op) as string;
          const previous = session.observation(key);
          if (previous && previous.exchange !== exchange) previous.exchange.cancel();
          const paths = op.type === 'observe-composite' ? op.paths.map(formatPath) : undefined;
          session.setObservation({ exchange, fields: cmd.fields, reqPath: cmd.reqPath, path: key, paths });
        }
        const seqNum = res.observe !== undefined && res.observe > 0 ? res.observe : undefined;
        this.publishAnswer(session, 'response', cmd.fields, op.type, data, seqNum);
        return;
      }
      default:
        this.publishAnswer(session, 'response', cmd.fields, cmd.msgType, responseData(cmd.reqPath, res.code));
    }
  }

  /** @internal */
  onNotification(session: DeviceSession, cmd: DownlinkCommand, res: CoapResponse): void {
    if (session.closed) return;
    const data = this.contentData(session, cmd, res);
    this.publishAnswer(session, 'notify', cmd.fields, 'notify', data, res.observe);
    // By the device's code: a notification the gateway could not decode (5.02) keeps the observation.
    if (!isSuccess(res.code) || res.observe === undefined) {
      const key = observationKey(cmd.op);
      if (key !== undefined) session.deleteObservation(key);
    }
  }
}
