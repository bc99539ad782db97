// Faults at the seams with servers: what waiting fixes (a server restarting, a network blip, a
// leader moving) is retried with capped, jittered back-off; what only a person fixes (a missing
// database, a refused password, a missing topic) stops the process with the fix named. A stop
// request ends any retry at once.

/** What is wrong with an input, field by field: `path: message; …` (`root` names the whole input). */
export function issuesText(issues: readonly { path: readonly PropertyKey[]; message: string }[], root = '(root)'): string {
  return issues.map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`).join('; ');
}

/** A fault no retry can fix: names the server, what it said, and what to do. */
export class PermanentFault extends Error {
  constructor(
    readonly server: string,
    what: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(`${server}: ${what}; ${fix}`, options);
    this.name = 'PermanentFault';
  }
}

/** A retry loop left because the process is stopping; what it was doing is replayed on restart. */
export class StopRequested extends Error {
  constructor(server: string, options?: { cause?: unknown }) {
    super(`${server}: stopped while retrying`, options);
    this.name = 'StopRequested';
  }
}

/** Gives the permanent reading of an error, or undefined when waiting may fix it. */
export type Classify = (e: unknown) => PermanentFault | undefined;

/** The first error of class `kind` in an error or its causes. */
function findIn<T>(e: unknown, kind: abstract new (...args: never[]) => T): T | undefined {
  for (let c = e, depth = 0; c !== undefined && c !== null && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof kind) return c;
  }
  return undefined;
}

/** The first permanent fault in an error or its causes. */
export const permanentIn = (e: unknown): PermanentFault | undefined => findIn(e, PermanentFault);

/** The stop that ended a retry, in an error or its causes. */
export const stopIn = (e: unknown): StopRequested | undefined => findIn(e, StopRequested);

/** Where a URL points, without its credentials (for messages): e.g. `ClickHouse http://host:8123`. */
export function serverName(kind: string, url: string): string {
  try {
    const u = new URL(url);
    return `${kind} ${u.protocol}//${u.host}`;
  } catch {
    return kind;
  }
}

/** The message of an error's first line (servers send pages of detail). */
export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const i = m.indexOf('\n');
  return i < 0 ? m : m.slice(0, i);
}

export interface RetryPolicy {
  /** Named in every line, e.g. `ClickHouse http://host:8123`. */
  server: string;
  classify: Classify;
  /** First pause (default 100 ms), doubling up to maxDelayMs (default 5 s); each pause is drawn in [d/2, d]. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Aborted when the process stops: the loop throws StopRequested instead of waiting. */
  signal?: AbortSignal;
  /** Told of each retry (default: a line on stderr, at most one per 5 s per loop). */
  onRetry?: (line: string, e: unknown, delayMs: number) => void;
  /** Runs before each retry (not the first try), e.g. to read back what a failed write may have stored. */
  before?: () => Promise<void>;
  /** Random numbers in [0, 1) for the jitter (tests pin them). */
  random?: () => number;
  /**
   * How long an attempt in flight when the stop comes may still finish (default 2 s): a healthy
   * server answers well within it, one that hangs is left behind (the process is stopping).
   */
  stopGraceMs?: number;
}

/** Pause before retry `attempt` (0-based): min·2^attempt capped at max, drawn in [d/2, d] so clients spread out. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + (random() * d) / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `fn` until it succeeds, a permanent fault shows, or the signal stops it. */
export async function retrying<T>(fn: () => Promise<T>, p: RetryPolicy): Promise<T> {
  const min = p.minDelayMs ?? 100;
  const max = p.maxDelayMs ?? 5_000;
  let lastLine = -Infinity;
  const onRetry =
    p.onRetry ??
    ((line: string) => {
      // An outage must not flood the log: one line per few seconds.
      if (performance.now() - lastLine < 5_000) return;
      lastLine = performance.now();
      process.stderr.write(`fillstream: ${line}\n`);
    });
  const signal = p.signal;
  const guard = <U>(f: () => Promise<U>): Promise<U> => (signal ? withinGrace(f, p.server, signal, p.stopGraceMs ?? 2_000) : f());
  for (let n = 0; ; n++) {
    try {
      if (n > 0 && p.before) await guard(p.before);
      return await guard(fn);
    } catch (e) {
      if (e instanceof StopRequested) throw e;
      const permanent = p.classify(e);
      if (permanent) throw permanent;
      if (p.signal?.aborted) throw new StopRequested(p.server, { cause: e });
      const delay = backoffDelay(n, min, max, p.random);
      onRetry(`${p.server}: ${firstLine(e)}; attempt ${n + 2} in ${delay} ms`, e, delay);
      await pause(delay, p.signal);
      if (p.signal?.aborted) throw new StopRequested(p.server, { cause: e });
    }
  }
}

/** fn's result, unless the signal aborts while it runs and it does not settle within graceMs. */
function withinGrace<T>(fn: () => Promise<T>, server: string, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => reject(new StopRequested(server)), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    fn()
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      });
  });
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);

/** A connection refused, reset or timed out, anywhere in the error's causes. */
export function isNetworkError(e: unknown): boolean {
  for (let c = e, depth = 0; c !== undefined && c !== null && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (c instanceof Error && /socket hang up|timeout|timed out/i.test(c.message)) return true;
  }
  return false;
}
