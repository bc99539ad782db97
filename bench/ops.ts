// The operating surface's figures: GET /orders with 100,000 orders in the store (requests/s and
// p99 from a load process of its own), the live feed fanned out to 10 WebSocket subscribers while
// the pipeline runs, and the pipeline's intents/s with metrics, tracing and logs on beside off.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startOps } from '../src/assembly/ops.js';
import { MAX_PIPELINE_BACKLOG, startPipeline, type Pipeline } from '../src/assembly/run.js';
import { intakeFile } from '../src/intake/intake.js';
import { createLogger } from '../src/ops/log.js';
import { Metrics } from '../src/ops/metrics.js';
import { IntentTracer } from '../src/ops/tracing.js';
import { OperatorTokens } from '../src/ops/tokens.js';
import { generateIntents } from '../src/tools/generate.js';

type Emit = (o: Record<string, unknown>) => void;

const API_ORDERS = Number(process.env.BENCH_API_ORDERS ?? 100_000);
const FEED_INTENTS = Number(process.env.BENCH_FEED_INTENTS ?? 30_000);
const OBSERVED_INTENTS = Number(process.env.BENCH_OBSERVED_INTENTS ?? 100_000);
const LOAD = join(import.meta.dirname, 'ops-load.js');

function intentsFile(work: string, name: string, count: number): string {
  const file = join(work, name);
  if (!existsSync(file)) writeFileSync(file, [...generateIntents({ count, seed: 3, stepMs: 10 })].join('\n') + '\n');
  return file;
}

async function fill(p: Pipeline, file: string): Promise<void> {
  await intakeFile(p.log, file, { maxBacklog: MAX_PIPELINE_BACKLOG, backlog: () => p.backlog() });
  await p.waitIdle();
}

/** Runs the load process and returns the JSON line it prints. */
async function load(args: string[]): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [LOAD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number];
  if (code !== 0) throw new Error(`load process ${args[0]} exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

/** The API on a pipeline, as `serve` has it, logging warnings only. */
const serveOn = (p: Pipeline, metrics = new Metrics(), logger = createLogger({ role: 'bench', level: 'warn' })) =>
  startOps(p, { role: 'serve', version: 'bench', port: 0, host: '127.0.0.1', metrics, logger, settings: {}, data: { tokens: new OperatorTokens({}) } });

/** GET /orders pages (100 orders each, at cursors all over the listing) against 100,000 orders. */
export async function apiOrdersBench(work: string, emit: Emit): Promise<void> {
  const dataDir = join(work, 'api-orders');
  rmSync(dataDir, { recursive: true, force: true });
  const p = await startPipeline({ dataDir, fsync: 'off' });
  try {
    await fill(p, intentsFile(work, 'api-intents.ndjson', API_ORDERS));
    const t0 = performance.now();
    const ops = await serveOn(p);
    const foldSeconds = (performance.now() - t0) / 1000;
    try {
      const orders = ops.tail!.orderIds.length;
      const connections = Number(process.env.BENCH_API_CONNECTIONS ?? 16);
      const r = await load(['http', ops.url, String(orders), String(connections), '6']);
      // Beside it: twice the clients at once.
      const busy = await load(['http', ops.url, String(orders), String(connections * 2), '6']);
      emit({
        bench: 'api_orders',
        orders_in_store: orders,
        page_size: 100,
        connections,
        api_orders_rps: r.rps,
        api_orders_p50_ms: r.p50,
        api_orders_p99_ms: r.p99,
        requests: r.requests,
        errors: r.errors + busy.errors,
        [`api_orders_rps_${connections * 2}_connections`]: busy.rps,
        [`api_orders_p99_ms_${connections * 2}_connections`]: busy.p99,
        store: 'the API process’s fold of the log (no REDIS_URL)',
        fold_seconds_at_start: +foldSeconds.toFixed(2),
      });
    } finally {
      await ops.close();
    }
  } finally {
    await p.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The live feed to 10 subscribers (from=end) while the pipeline decides FEED_INTENTS intents. */
export async function wsFanoutBench(work: string, emit: Emit): Promise<void> {
  const dataDir = join(work, 'ws-fanout');
  rmSync(dataDir, { recursive: true, force: true });
  const p = await startPipeline({ dataDir, fsync: 'always' });
  try {
    const ops = await serveOn(p);
    try {
      const file = intentsFile(work, 'feed-intents.ndjson', FEED_INTENTS);
      const subscribers = 10;
      const child = spawn(process.execPath, [LOAD, 'ws', ops.url, String(subscribers)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      // The load process says READY once every subscriber is connected.
      while (!out.includes('READY')) await new Promise((r) => setTimeout(r, 20));
      const before = ops.tail!.view.events;
      const t0 = performance.now();
      await fill(p, file);
      const pipelineSeconds = (performance.now() - t0) / 1000;
      const produced = (await waitFor(() => ops.tail!.view.events)) - before;
      child.kill('SIGUSR2');
      await once(child, 'close');
      const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
      emit({
        bench: 'ws_fanout',
        subscribers,
        events_produced: produced,
        events_delivered: r.delivered,
        ws_events_per_sec: Math.round(r.delivered / r.seconds),
        per_subscriber_events_per_sec: Math.round(r.delivered / subscribers / r.seconds),
        events_produced_per_sec: Math.round(produced / pipelineSeconds),
        lost: produced * subscribers - r.delivered,
        note: 'live (from=end) while the embedded pipeline runs in the same process: delivery keeps pace with what the pipeline writes',
      });
    } finally {
      await ops.close();
    }
  } finally {
    await p.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A value once it stops changing for 300 ms. */
async function waitFor(read: () => number): Promise<number> {
  let last = -1;
  for (;;) {
    const v = read();
    if (v === last) return v;
    last = v;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * The default embedded run with observability on (Prometheus metrics, OTLP traces of every intent
 * to a local collector that discards them, pino at info) beside the same run with it off, one
 * after the other in this process; then traces sampled one in ten, and the API's fold apart.
 */
export async function observedThroughputBench(work: string, emit: Emit): Promise<void> {
  const file = intentsFile(work, 'observed-intents.ndjson', OBSERVED_INTENTS);
  const collector = spawn(process.execPath, [LOAD, 'sink'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let port = '';
  collector.stdout.on('data', (d: Buffer) => (port += d.toString('utf8')));
  while (!port.includes('\n')) await new Promise((r) => setTimeout(r, 10));
  try {
    const run = async (observed: boolean | string, ratio = 1): Promise<number> => {
      const dataDir = join(work, observed ? 'observed-on' : 'observed-off');
      rmSync(dataDir, { recursive: true, force: true });
      // Metrics, traces and logs by default; BENCH_OBSERVED_PARTS picks others (api: the API folding the log in this process).
      const parts = new Set(typeof observed === 'string' ? observed.split(',') : ['metrics', 'traces', 'logs']);
      const on = (part: string) => observed !== false && parts.has(part);
      const metrics = on('metrics') || on('api') ? new Metrics() : undefined;
      const tracer = on('traces') ? new IntentTracer({ service: 'fillstream-bench', endpoint: `http://127.0.0.1:${port.trim()}`, ratio }) : undefined;
      const logger = on('logs') || on('api') ? createLogger({ role: 'bench', level: 'info', destination: devNull() }) : undefined;
      const p = await startPipeline({ dataDir, fsync: 'always', metrics, tracer, logger });
      const ops = on('api') ? await serveOn(p, metrics, logger) : undefined;
      const t0 = performance.now();
      await fill(p, file);
      const seconds = (performance.now() - t0) / 1000;
      await ops?.close();
      await p.close();
      await tracer?.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
      return Math.round(OBSERVED_INTENTS / seconds);
    };
    const off = await run(false);
    const on = await run(process.env.BENCH_OBSERVED_PARTS ?? true);
    const sampled = await run(true, 0.1);
    const api = await run('api');
    const floor = await sdkSpansPerSec(`http://127.0.0.1:${port.trim()}`);
    emit({
      bench: 'embedded_throughput_observed_vs_off',
      intents: OBSERVED_INTENTS,
      intents_per_sec_same_run_off: off,
      intents_per_sec_observed: on,
      observability_cost_pct: +((100 * (off - on)) / off).toFixed(1),
      // Beside the default: one intent in ten traced (OTEL_TRACES_SAMPLER=traceidratio, _ARG=0.1).
      intents_per_sec_observed_traces_sampled_10pct: sampled,
      observability_cost_pct_traces_sampled_10pct: +((100 * (off - sampled)) / off).toFixed(1),
      // The floor: the OpenTelemetry SDK alone making and exporting spans, one thread, this process.
      floor_sdk_spans_per_sec: floor,
      spans_per_intent: 7,
      floor_sdk_us_per_intent: +((7 * 1e6) / floor).toFixed(1),
      floor_max_intents_per_sec_all_traced: Math.round(1 / (1 / off + 7 / floor)),
      // Apart: serve's API folding the log in the same process (the embedded serve), metrics on.
      intents_per_sec_with_api_fold: api,
      api_fold_cost_pct: +((100 * (off - api)) / off).toFixed(1),
      observed: 'prom-client metrics, OTLP/HTTP spans (the intent and one per step: 7 for a filled order) to a local collector from a worker thread, pino at info',
    });
  } finally {
    collector.kill();
  }
}

/** Spans/s the OpenTelemetry SDK makes and exports (to the discarding collector) on one thread: what each traced intent's 7 spans cost at least. */
async function sdkSpansPerSec(endpoint: string): Promise<number> {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { trace } = await import('@opentelemetry/api');
  const sdk = new NodeSDK({
    serviceName: 'floor',
    autoDetectResources: false,
    instrumentations: [],
    metricReaders: [],
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }), maxQueueSize: 131_072, maxExportBatchSize: 4_096, scheduledDelayMillis: 200 }),
    ],
  });
  sdk.start();
  const tracer = trace.getTracer('floor');
  const n = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = tracer.startSpan('step', {
      startTime: Date.now(),
      attributes: { 'fillstream.intent_id': `i${i}`, 'fillstream.stage': 'gateway', 'fillstream.event_type': 'OrderFilled' },
    });
    s.end();
    // Let the batch processor export as it would in a running process.
    if (i % 4_096 === 0) await new Promise((r) => setImmediate(r));
  }
  await sdk.shutdown();
  return Math.round(n / ((performance.now() - t0) / 1000));
}

function devNull(): NodeJS.WritableStream {
  return new Writable({ write: (_c, _e, cb) => cb() });
}
