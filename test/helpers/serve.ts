// `fillstream serve` in the test's own process: the pipeline on a temp data dir (or Kafka), its
// fold, the API on a free port, and what it logged, so tests read responses and log lines alike.
import { Writable } from 'node:stream';
import { startOps, type Ops } from '../../src/assembly/ops.js';
import { runPipeline, type RunOptions } from '../../src/assembly/run.js';
import { createLogger } from '../../src/ops/log.js';
import { Metrics } from '../../src/ops/metrics.js';
import { OperatorTokens } from '../../src/ops/tokens.js';

export const ALICE = { name: 'alice', token: 'alice-secret-token-0123456789' };
export const BOB = { name: 'bob', token: 'bob-secret-token-9876543210ab' };

export interface Served {
  url: string;
  ops: Ops;
  metrics: Metrics;
  /** Every log line the API wrote, as text. */
  logs: string[];
  stop(): Promise<void>;
}

export async function serveInProcess(o: Omit<RunOptions, 'signal' | 'onStarted' | 'metrics'> & { tokens?: OperatorTokens; feedMaxBuffered?: number }): Promise<Served> {
  const ac = new AbortController();
  const metrics = new Metrics();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger({ role: 'serve', level: 'debug', destination: sink });
  let started!: (ops: Ops) => void;
  const up = new Promise<Ops>((r) => (started = r));
  const done = runPipeline({
    ...o,
    signal: ac.signal,
    metrics,
    logger,
    onStarted: async (p) => {
      const ops = await startOps(p, {
        role: 'serve',
        version: 'test',
        port: 0,
        host: '127.0.0.1',
        metrics,
        logger,
        settings: { data_dir: o.dataDir },
        data: {
          tokens: o.tokens ?? new OperatorTokens({ env: `${ALICE.name}:${ALICE.token},${BOB.name}:${BOB.token}` }),
          feedMaxBuffered: o.feedMaxBuffered,
          // With Redis, the API reads orders and positions from the projection, as serve does.
          redis: o.redis,
          clickhouseUrl: o.audit?.clickhouseUrl,
        },
      });
      started(ops);
      return () => ops.close();
    },
  });
  const ops = await Promise.race([up, done.then(() => Promise.reject(new Error('serve stopped before it listened')))]);
  return {
    url: ops.url,
    ops,
    metrics,
    logs,
    async stop() {
      ac.abort();
      await done;
    },
  };
}

export async function getJson<T = Record<string, unknown>>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await fetch(url, init);
  return { status: r.status, body: (await r.json()) as T };
}

export function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

/** Polls `check` until it returns a value (not undefined) or the time runs out. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
