/**
 * Load shapes, each bounded in count and in time:
 * - runWindowed: closed loop, at most `window` requests without their completion (throughput runs;
 *   keeps the kernel socket buffers from overflowing, so what is measured is processing, not loss).
 * - runOpenLoop: requests at a fixed rate whatever the answers (latency runs, no coordinated omission).
 */

export interface WindowedOptions {
  total: number;
  window: number;
  /** Sends request number i. */
  send(i: number): void;
  /** Completions so far (monotonic). */
  completed(): number;
  /** With the window full and no completion for this long, the outstanding requests are written off as lost. */
  stallMs: number;
  /** After everything is sent, give up waiting for completions after this long without progress. */
  drainMs: number;
  /** Hard bound on the whole run. */
  deadlineMs: number;
}

export interface WindowedResult {
  sent: number;
  completed: number;
  writtenOff: number;
  startedAt: number;
  /** When the last completion was seen (performance.now()); the rate is completed / (lastCompletionAt - startedAt). */
  lastCompletionAt: number;
  timedOut: boolean;
}

export interface WindowedRun {
  /** Call on every completion: sends more right away. */
  kick(): void;
  done: Promise<WindowedResult>;
}

export function runWindowed(options: WindowedOptions): WindowedRun {
  const { total, window } = options;
  let sent = 0;
  let writtenOff = 0;
  let finished = false;
  const startedAt = performance.now();
  let lastCompletionAt = startedAt;
  let lastCompleted = 0;
  let lastProgressAt = startedAt;
  let resolveDone!: (result: WindowedResult) => void;
  const done = new Promise<WindowedResult>((resolve) => (resolveDone = resolve));

  const finish = (timedOut: boolean) => {
    if (finished) return;
    finished = true;
    clearInterval(watchdog);
    resolveDone({ sent, completed: options.completed(), writtenOff, startedAt, lastCompletionAt, timedOut });
  };

  const pump = () => {
    if (finished) return;
    const completed = options.completed();
    if (completed !== lastCompleted) {
      lastCompleted = completed;
      lastCompletionAt = lastProgressAt = performance.now();
    }
    if (completed >= total) return finish(false);
    while (sent < total && sent - completed - writtenOff < window) options.send(sent++);
  };

  const watchdog = setInterval(() => {
    pump();
    if (finished) return;
    const now = performance.now();
    if (now - startedAt > options.deadlineMs) return finish(true);
    const idle = now - lastProgressAt;
    if (sent < total) {
      if (idle > options.stallMs) {
        writtenOff = sent - options.completed();
        lastProgressAt = now;
        pump();
      }
    } else if (idle > options.drainMs) {
      finish(false);
    }
  }, 10);

  pump();
  return { kick: pump, done };
}

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  total: number;
  /** Sends request i, due at `scheduledAt` (performance.now() time base). */
  send(i: number, scheduledAt: number): void;
}

/** Sends `total` requests at `rate`/s; resolves after the last one is sent. */
export function runOpenLoop(options: OpenLoopOptions): Promise<{ startedAt: number; endedAt: number }> {
  const interval = 1000 / options.rate;
  const startedAt = performance.now() + 5;
  let i = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < options.total && startedAt + i * interval <= now) {
        options.send(i, startedAt + i * interval);
        i++;
      }
      if (i >= options.total) {
        resolve({ startedAt, endedAt: performance.now() });
        return;
      }
      const wait = startedAt + i * interval - performance.now();
      setTimeout(tick, Math.max(0, Math.floor(wait)));
    };
    setTimeout(tick, 5);
  });
}

/** Resolves when `condition()` holds, polling every 5 ms; false after `timeoutMs`. */
export function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () => {
      if (condition()) return resolve(true);
      if (performance.now() > deadline) return resolve(false);
      setTimeout(check, 5);
    };
    check();
  });
}
