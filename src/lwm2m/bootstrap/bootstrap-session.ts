import type { CoapEndpoint, CoapRequest, CoapResponse, ExchangeListener, OutgoingExchange } from '../../coap';
import { ContentFormat, decodeEntries } from '../codec';
import type { ModelLookup } from '../model/types';
import type { Entry } from '../node';
import { parsePath, pathIds } from '../path';
import type { BootstrapCandidate, BootstrapConfig, BootstrapVersion, ProvisionedPsk } from './bootstrap-config';
import { bootstrapFormat, planBootstrapWrites } from './bootstrap-writes';
import { type DiscoverLayout, parseDiscoverAnswer } from './discover-layout';

/** The steps of a bootstrap, as reported in events: the device's request, then the server's sequence. */
export type BootstrapStep = 'request' | 'discover' | 'read' | 'delete' | 'write' | 'finish' | 'pack';

/** How a bootstrap ended. `code` is the device's CoAP answer where there was one. */
export type BootstrapOutcome =
  | { status: 'finished'; step: BootstrapStep; code: string; version: BootstrapVersion; read?: Entry[] }
  | { status: 'failed'; step: BootstrapStep; code?: string; error: string; version?: BootstrapVersion };

/** What a session needs from around it. */
export interface BootstrapSessionContext {
  /** The CoAP endpoint the device's Bootstrap-Request came in on: the server's requests go out there. */
  endpoint: CoapEndpoint;
  model: ModelLookup;
  /** Adds a PSK to the gateway's DM listener before the writes that hand it to the device. */
  provision?: (psk: ProvisionedPsk) => Promise<void>;
  /** Told of each step as it starts (logs, tests). */
  onStep?: (step: BootstrapStep, target: string) => void;
}

/** A device answer, or why there was none. */
type Answer = { res: CoapResponse } | { none: string };

/** What a Bootstrap-Finish answer other than 2.04 means (OMA TS Core 1.1 §5.2.7.2). */
const FINISH_ERRORS: Readonly<Record<string, string>> = {
  '4.00': 'the device refused Bootstrap-Finish (Bad Request)',
  '4.06': 'the device found the configuration inconsistent (Not Acceptable)',
  '5.00': 'the device failed to apply the configuration (Internal Server Error)',
};

/** One exchange's answer as a promise; the session keeps the exchange to cancel it on timeout. */
class AnswerListener implements ExchangeListener {
  constructor(private readonly settle: (answer: Answer) => void) {}
  onResponse(res: CoapResponse): void {
    this.settle({ res });
  }
  onReset(): void {
    this.settle({ none: 'the device answered RST' });
  }
  onTimeout(): void {
    this.settle({ none: 'no answer from the device (CoAP timeout)' });
  }
  onError(err: Error): void {
    this.settle({ none: `the request failed: ${err.message}` });
  }
}

/** Thrown inside run() to end the sequence with a failure. */
class StepFailure extends Error {
  constructor(
    readonly step: BootstrapStep,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * One server-side bootstrap sequence (OMA LwM2M TS Core §5.2.7, §6.1.7): Bootstrap-Discover (learns
 * the version and which Security instance is the bootstrap account), Bootstrap-Read, Bootstrap-Delete,
 * Bootstrap-Write of every instance, Bootstrap-Finish; one request in flight at a time, all to the peer
 * that opened the session (the session is bound to its address and credential). `abort()` ends it at
 * once (session timeout, shutdown); the outcome then names the step it was in.
 */
export class BootstrapSession {
  private current: OutgoingExchange | undefined;
  private wake: ((answer: Answer) => void) | undefined;
  private aborted: string | undefined;
  private step: BootstrapStep = 'request';
  private version: BootstrapVersion | undefined;

  constructor(
    readonly candidate: BootstrapCandidate,
    private readonly config: BootstrapConfig,
    private readonly context: BootstrapSessionContext,
  ) {}

  /** Runs the sequence; never rejects. */
  async run(): Promise<BootstrapOutcome> {
    try {
      const layout = this.config.discover ? await this.discover() : undefined;
      // Without a version from Discover: a `pct` says 1.1 at least (1.0 has none).
      const version: BootstrapVersion = this.config.version ?? layout?.version ?? (this.candidate.preferredFormat !== undefined ? '1.1' : '1.0');
      this.version = version;
      const format = bootstrapFormat(version, this.candidate.preferredFormat, this.config.contentFormat);
      // Bootstrap-Read is 1.1's: a 1.0 client has none.
      const read = this.config.read.length > 0 && version !== '1.0' ? await this.read(this.config.read, format) : undefined;
      for (const path of this.config.delete) await this.delete(path);
      await this.write(layout, format);
      await this.finish();
      return { status: 'finished', step: 'finish', code: '2.04', version, read };
    } catch (err) {
      const failure = err instanceof StepFailure ? err : new StepFailure(this.step, err instanceof Error ? err.message : String(err));
      return { status: 'failed', step: failure.step, code: failure.code, error: failure.message, version: this.version };
    } finally {
      this.current = undefined;
      this.wake = undefined;
    }
  }

  /** Ends the sequence now: the request in flight is forgotten, run() resolves failed with `reason`. */
  abort(reason: string): void {
    if (this.aborted !== undefined) return;
    this.aborted = reason;
    this.current?.cancel();
    this.wake?.({ none: reason });
  }

  private async discover(): Promise<DiscoverLayout | undefined> {
    const answer = await this.send('discover', '/', { method: 'GET', uriPath: [], accept: ContentFormat.LINK });
    // A 1.0 client may not know Bootstrap-Discover (4.04, 4.05): the sequence goes on without what it tells.
    if (answer.code !== '2.05') {
      if (answer.code.startsWith('4.')) return undefined;
      throw new StepFailure('discover', `Bootstrap-Discover answered ${answer.code}`, answer.code);
    }
    try {
      return parseDiscoverAnswer(answer.payload.toString('utf8'));
    } catch (err) {
      throw new StepFailure('discover', `Bootstrap-Discover answer is not link format: ${(err as Error).message}`, answer.code);
    }
  }

  private async read(paths: readonly string[], format: number): Promise<Entry[]> {
    const entries: Entry[] = [];
    for (const text of paths) {
      const path = parsePath(text);
      const res = await this.send('read', text, { method: 'GET', uriPath: pathIds(path).map(String), accept: format });
      if (res.code !== '2.05') throw new StepFailure('read', `Bootstrap-Read of ${text} answered ${res.code}`, res.code);
      if (res.payload.length === 0) continue;
      try {
        for (const entry of decodeEntries(res.contentFormat ?? format, res.payload, path, this.context.model)) entries.push(entry);
      } catch (err) {
        throw new StepFailure('read', `Bootstrap-Read of ${text}: undecodable answer (${(err as Error).message})`, res.code);
      }
    }
    return entries;
  }

  private async delete(text: string): Promise<void> {
    const res = await this.send('delete', text, { method: 'DELETE', uriPath: pathIds(parsePath(text)).map(String) });
    // 4.04: nothing there to delete, which is what was wanted.
    if (res.code !== '2.02' && res.code !== '4.04') throw new StepFailure('delete', `Bootstrap-Delete of ${text} answered ${res.code}`, res.code);
  }

  private async write(layout: DiscoverLayout | undefined, format: number): Promise<void> {
    this.step = 'write';
    const writes = planBootstrapWrites(this.config, layout, format, this.context.model);
    // The gateway knows the new credential before the device does: its next handshake then works.
    for (const server of this.config.servers) if (server.provision && this.context.provision) await this.context.provision(server.provision);
    for (const w of writes) {
      const res = await this.send('write', w.target, { method: 'PUT', uriPath: pathIds(w.path).map(String), contentFormat: w.format, payload: w.payload });
      // 2.04 is the TS's answer; 2.01 (a CoAP server that created the resource) is taken as success too.
      if (res.code !== '2.04' && res.code !== '2.01') throw new StepFailure('write', `Bootstrap-Write of ${w.target} answered ${res.code}`, res.code);
    }
  }

  private async finish(): Promise<void> {
    const res = await this.send('finish', '/bs', { method: 'POST', uriPath: ['bs'] });
    if (res.code !== '2.04') throw new StepFailure('finish', FINISH_ERRORS[res.code] ?? `Bootstrap-Finish answered ${res.code}`, res.code);
  }

  /** Sends one request to the session's peer and waits for its answer (or the session's end). */
  private send(step: BootstrapStep, target: string, req: CoapRequest): Promise<CoapResponse> {
    this.step = step;
    if (this.aborted !== undefined) return Promise.reject(new StepFailure(step, this.aborted));
    this.context.onStep?.(step, target);
    return new Promise<Answer>((resolve) => {
      let settled = false;
      const settle = (answer: Answer) => {
        if (settled) return;
        settled = true;
        this.current = undefined;
        this.wake = undefined;
        resolve(answer);
      };
      this.wake = settle;
      this.current = this.context.endpoint.request(this.candidate.peer, req, new AnswerListener(settle));
    }).then((answer) => {
      if ('res' in answer) return answer.res;
      throw new StepFailure(step, this.aborted ?? answer.none);
    });
  }
}
