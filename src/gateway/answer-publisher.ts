import type { Logger } from 'pino';
import { LogThrottle } from '../limits/log-throttle';
import { requestPathOf, type JsonObject } from './command-parser';
import { commandAnswer, responseData, scalarErrorAnswer, type ResponseData } from './uplink-messages';

export type Qos = 0 | 1 | 2;

export interface Translator {
  topic: string;
  qos: Qos;
}

export type TranslatorName = 'command' | 'response' | 'notify' | 'register' | 'update' | 'deregister' | 'send' | 'bootstrap' | 'firmware' | 'software';

/** What the gateway needs of the broker connection. */
export interface MqttLink {
  publish(topic: string, payload: string, qos: Qos): void;
  subscribe(topicFilter: string, qos: Qos): Promise<void>;
  onMessage(handler: (topic: string, payload: Buffer) => void): void;
}

/** What the gateway published (or answered another northbound) under a device's topic prefix. */
export interface UplinkEvent {
  readonly prefix: string;
  readonly kind: TranslatorName;
  /** The topic it was published on: the prefix and the translator's topic. */
  readonly topic: string;
  /** The message's JSON text, as published. */
  readonly payload: string;
  /** Answers and notifications: the msgType they carry and the command's path. */
  readonly msgType?: unknown;
  readonly reqPath?: string | null;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Publishes what the gateway says on MQTT under a device's topic prefix: uplink messages and the
 * answers to commands. An answer is never lost to a serialisation failure, and refusals are logged
 * once per source and reason every 10 s, counting those left out.
 */
export class AnswerPublisher {
  private readonly refusalLog = new LogThrottle(10_000);
  /** Told of the messages published of the kinds in `tapKinds` (the management plane); unset, it costs one check. */
  tap: ((event: UplinkEvent) => void) | undefined = undefined;
  tapKinds: ReadonlySet<TranslatorName> = new Set();
  /**
   * Device ids by topic prefix (devices with a profile): every message under such a prefix carries
   * `"device_id"` as its last top-level field. Empty without profiles: one size check per publish.
   */
  readonly deviceIds = new Map<string, string>();

  constructor(
    private readonly mqtt: MqttLink,
    private readonly translators: Record<TranslatorName, Translator>,
    private readonly log: Logger,
  ) {}

  /** Publishes a message and returns its text. */
  publish(prefix: string, name: TranslatorName, message: JsonObject | string, msgType?: unknown, reqPath?: string | null): string {
    const t = this.translators[name];
    let payload = typeof message === 'string' ? message : JSON.stringify(message);
    if (this.deviceIds.size > 0) payload = withDeviceId(payload, this.deviceIds.get(prefix));
    const topic = prefix + t.topic;
    this.mqtt.publish(topic, payload, t.qos);
    if (this.tap !== undefined && this.tapKinds.has(name)) this.tap({ prefix, kind: name, topic, payload, msgType: msgType ?? name, reqPath });
    return payload;
  }

  /**
   * Publishes an answer to a command (or a notification of its observation). An answer that cannot
   * be serialised (its echoed fields) is replaced by a 5.00 answer echoing scalar fields only: a
   * command is never left unanswered, and this never throws on its account.
   */
  answer(prefix: string, translator: 'response' | 'notify', fields: JsonObject, msgType: unknown, data: ResponseData | JsonObject, seqNum?: number): string {
    let text: string;
    try {
      text = commandAnswer(fields, msgType, data, seqNum);
    } catch (err) {
      this.log.error({ topic: prefix, err: messageOf(err) }, 'answer cannot be serialised');
      const reqPath = typeof data.reqPath === 'string' ? data.reqPath : null;
      text = scalarErrorAnswer(fields, reqPath, '5.00', `answer cannot be serialised: ${messageOf(err)}`);
    }
    return this.publish(prefix, translator, text, msgType, typeof data.reqPath === 'string' ? data.reqPath : null);
  }

  /** The command itself, with its data, reqPath added and msgType replaced (ack, coap_reset, coap_timeout). */
  echo(prefix: string, fields: JsonObject, reqPath: string | null, msgType: string): string {
    const data = fields.data;
    const original = typeof data === 'object' && data !== null ? (data as JsonObject) : {};
    return this.answer(prefix, 'response', fields, msgType, { ...original, reqPath });
  }

  error(prefix: string, fields: JsonObject, reqPath: string | null, code: string, error: string): string {
    return this.answer(prefix, 'response', fields, fields.msgType, responseData(reqPath, code, { error }));
  }

  /** An error answer that is also a refusal (limits): answered and logged, throttled. */
  refuse(prefix: string, source: string, fields: JsonObject, reqPath: string | null, code: string, error: string): string {
    const text = this.error(prefix, fields, reqPath, code, error);
    this.logRefusal(source, code, error);
    return text;
  }

  /** Refuses a command by its bytes alone; `readable`: small enough to parse for the scalar fields its answer echoes. */
  refuseUnread(prefix: string, payload: Buffer, readable: boolean, code: string, error: string): string {
    let command: unknown;
    if (readable) {
      try {
        command = JSON.parse(payload.toString('utf8'));
      } catch {
        command = undefined;
      }
    }
    const text = this.publish(prefix, 'response', scalarErrorAnswer(command, readable ? requestPathOf(command) : null, code, error));
    this.logRefusal(prefix, code, error);
    return text;
  }

  /** A warning per source and reason every 10 s at most, counting the refusals it stood for. */
  private logRefusal(source: string, code: string, error: string): void {
    const admitted = this.refusalLog.admit(`${code} ${source}`);
    if (admitted) this.log.warn({ source, code, suppressed: admitted.suppressed }, `command refused: ${error}`);
  }
}

/** The message with `"device_id"` added as its last top-level field (a JSON object's text ends with `}`). */
function withDeviceId(payload: string, deviceId: string | undefined): string {
  if (deviceId === undefined || payload.length < 2 || payload.charCodeAt(payload.length - 1) !== 0x7d) return payload;
  const empty = payload.length === 2;
  return `${payload.slice(0, -1)}${empty ? '' : ','}"device_id":${JSON.stringify(deviceId)}}`;
}
