/** Bounds of the answer record. */
export interface AnswerRecordLimits {
  /** Answers kept per device, oldest evicted first (EMQX keeps a similar bounded queue). */
  readonly perDevice: number;
  /** Bytes of answer text kept over all devices: the least recently answered devices lose their oldest first. */
  readonly totalBytes: number;
  /** Longest answer kept whole; a longer one is kept as its code only (a large read must not crowd out the rest). */
  readonly maxAnswerBytes: number;
}

export const DEFAULT_ANSWER_RECORD_LIMITS: AnswerRecordLimits = {
  perDevice: 100,
  totalBytes: 32 * 1024 * 1024,
  maxAnswerBytes: 64 * 1024,
};

/** What a lookup finds: the answer's code and message, and its content when it had one. */
export interface RecordedAnswer {
  code: string;
  codeMsg: string;
  content?: unknown;
}

/** Texts are stored as published and parsed only when looked up. */
type DeviceAnswers = Map<string, string>;

function keyOf(action: string, path: string): string {
  return `${action}\u0000${path}`;
}

/** A string's size in memory, near enough (V8 keeps most as one byte per character). */
function sizeOf(key: string, text: string): number {
  return key.length + text.length;
}

/**
 * The last answer per device, path and action (EMQX's `lookup`): fed with every answer the gateway
 * publishes, dropped when the device deregisters. Bounded per device and in total bytes.
 */
export class AnswerRecord {
  /** Devices in order of their last recorded answer, least recent first: what is evicted first. */
  private readonly devices = new Map<string, DeviceAnswers>();
  private bytes = 0;

  constructor(private readonly limits: AnswerRecordLimits = DEFAULT_ANSWER_RECORD_LIMITS) {}

  /** Total bytes held (for tests and metrics). */
  get size(): number {
    return this.bytes;
  }

  get deviceCount(): number {
    return this.devices.size;
  }

  record(endpoint: string, action: string, path: string, answerText: string): void {
    const key = keyOf(action, path);
    const text = answerText.length <= this.limits.maxAnswerBytes ? answerText : withoutContent(answerText);
    let answers = this.devices.get(endpoint);
    if (answers) this.devices.delete(endpoint);
    else answers = new Map();
    // Re-inserted: the device is now the most recent.
    this.devices.set(endpoint, answers);
    const old = answers.get(key);
    if (old !== undefined) {
      answers.delete(key);
      this.bytes -= sizeOf(key, old);
    }
    answers.set(key, text);
    this.bytes += sizeOf(key, text);
    if (answers.size > this.limits.perDevice) this.evictOldest(endpoint, answers);
    while (this.bytes > this.limits.totalBytes) {
      const [oldestEndpoint, oldestAnswers] = this.devices.entries().next().value as [string, DeviceAnswers];
      this.evictOldest(oldestEndpoint, oldestAnswers);
    }
  }

  /** The last answer for (path, action), undefined before any. */
  lookup(endpoint: string, action: string, path: string): RecordedAnswer | undefined {
    const text = this.devices.get(endpoint)?.get(keyOf(action, path));
    return text === undefined ? undefined : parseAnswer(text);
  }

  /** Forgets a device's answers (it deregistered). */
  forget(endpoint: string): void {
    const answers = this.devices.get(endpoint);
    if (!answers) return;
    for (const [key, text] of answers) this.bytes -= sizeOf(key, text);
    this.devices.delete(endpoint);
  }

  private evictOldest(endpoint: string, answers: DeviceAnswers): void {
    const [key, text] = answers.entries().next().value as [string, string];
    answers.delete(key);
    this.bytes -= sizeOf(key, text);
    if (answers.size === 0) this.devices.delete(endpoint);
  }
}

interface AnswerJson {
  data?: { code?: unknown; codeMsg?: unknown; content?: unknown };
}

/** An answer's code, message and content as the lookup shows them. */
function parseAnswer(text: string): RecordedAnswer {
  let data: AnswerJson['data'];
  try {
    data = (JSON.parse(text) as AnswerJson).data;
  } catch {
    data = undefined;
  }
  const answer: RecordedAnswer = {
    code: typeof data?.code === 'string' ? data.code : '5.00',
    codeMsg: typeof data?.codeMsg === 'string' ? data.codeMsg : 'internal_server_error',
  };
  if (data?.content !== undefined) answer.content = data.content;
  return answer;
}

/** An oversize answer reduced to its code and message. */
function withoutContent(text: string): string {
  const { code, codeMsg } = parseAnswer(text);
  return JSON.stringify({ data: { code, codeMsg } });
}
