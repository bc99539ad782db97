// The stages in one process, on the embedded log or on Kafka: the `fillstream run` and `fillstream
// stage` jobs, also used by tests and benchmarks.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { TOPICS, type EventOf, type Order, type RiskPolicy } from '../domain/events.js';
import { microsToIso, nowMicros } from '../domain/time.js';
import { gatewayStage } from '../gateway/stage.js';
import { openEmbeddedLog, type LogCompression } from '../log/embedded/index.js';
import { KAFKA_TOPICS, openKafkaLog, type KafkaLogOptions } from '../log/kafka/index.js';
import type { Consumer, EventLog, OutRecord } from '../log/types.js';
import { createSyntheticMarket } from '../market/synthetic.js';
import { loadNdjsonMarket } from '../market/ndjson.js';
import type { MarketData } from '../market/types.js';
import { decideStage } from '../decide/stage.js';
import { normalizerStage } from '../normalizer/stage.js';
import { risk } from '../risk/decide.js';
import { DEFAULT_POLICY } from '../risk/policy.js';
import { policiesInLog, riskStage } from '../risk/stage.js';
import { routerStage } from '../router/stage.js';
import type { RouterSettings } from '../router/decide.js';
import type { ChainSettings } from '../chains/decide.js';
import { openSimVenue } from '../venues/sim/index.js';
import type { Venue, VenueHealth } from '../venues/types.js';
import { fromRecord, toRecord, typeOf } from '../runtime/codec.js';
import type { RegoBundle } from '../risk/rego.js';
import { intakeFile, intakeStream } from '../intake/intake.js';
import type { Stage } from '../runtime/stage.js';
import { superviseSink, superviseStage } from '../runtime/supervise.js';
import type { Sink } from '../runtime/sink.js';
import { RedisProjector } from '../projections/redis/projector.js';
import { openAuditSink } from '../audit/index.js';
import { foldLog, type View } from '../projections/view.js';
import { permanentIn, retrying, stopIn } from '../domain/faults.js';
import { intentAccount } from '../normalizer/decide.js';
import { liveSessionFrom } from './venues.js';
import type { VenuesFile } from '../domain/venues.js';
import type { LiveSession } from '../gateway/session.js';
import type { Metrics } from '../ops/metrics.js';
import type { IntentTracer } from '../ops/tracing.js';
import { logStageOutput } from '../ops/log.js';
import type { Logger } from 'pino';

export type Fsync = 'always' | 'batch' | 'off';

export interface PipelineOptions {
  dataDir: string;
  /** NDJSON order books; without it the seeded synthetic market. */
  books?: string;
  seed?: number;
  /**
   * A market given in memory (library use, benchmarks) instead of --books or --seed: not recorded in
   * the data dir, so its read commands need it again.
   */
  market?: MarketData;
  /** Risk policy to put in force (logged as RiskPolicySet when it differs from the one in force). */
  policy?: RiskPolicy;
  /** Compliance bundle to put in force (logged as CompliancePolicySet when it differs from the one in force). */
  compliance?: CompiledRego;
  fsync?: Fsync;
  /** Most records a stage handles per batch (default: the log's). */
  maxBatch?: number;
  /** Recent records per topic kept decoded in memory (see EmbeddedLogOptions.windowRecords). */
  windowRecords?: number;
  /** How the embedded log writes its commits (see EmbeddedLogOptions.compression; default zstd). */
  logCompression?: LogCompression;
  onSubmit?: (order: Order) => void;
  /** Run on Kafka instead of the embedded log in dataDir/log (the data dir still holds the venue). */
  kafka?: KafkaLogOptions;
  /**
   * The stages and sinks to run (default: the sinks that are configured, and every stage: on Kafka
   * with the fused `decide` stage in place of normalizer, risk and router, see DEFAULT_STAGES).
   */
  stages?: readonly (StageName | SinkName)[];
  /** The Redis projection of live state (REDIS_URL); the projector runs when this is set. */
  redis?: { url: string; prefix?: string };
  /**
   * The audit journal: into ClickHouse with a URL (CLICKHOUSE_URL), else into files in the data
   * dir; the audit sink runs when this is set.
   */
  audit?: { clickhouseUrl?: string };
  /**
   * Aborted when the process is asked to stop: adapters give up what they are retrying (it is
   * replayed on restart). close() does the same, after letting the batches in hand commit.
   */
  signal?: AbortSignal;
  /** Live venues (the venues file): staging and prod orders trade there; without it only `sim` orders trade. */
  venues?: VenuesFile;
  /** How the router weighs venues for an intent with several candidates (default DEFAULT_ROUTER_SETTINGS). */
  routing?: RouterSettings;
  /** The simulator answers each batch this long after taking it (FILLSTREAM_SIM_LATENCY_MS; default 0). */
  simLatencyMs?: number;
  /** Chains: slots and the fill timeout of a live leg (default DEFAULT_CHAIN_SETTINGS; operators change slots at run time). */
  chains?: ChainSettings;
  /** Prometheus metrics: per-stage batches and commits, and the gateway's send and answer times. */
  metrics?: Metrics;
  /** OpenTelemetry: a span per step of each intent from what the stages write. */
  tracer?: IntentTracer;
  /** Structured log lines about each intent's events (pino; levels decide how many). */
  logger?: Logger;
}

/** `decide` is normalizer, risk and router fused into one stage (src/decide/): run it or those three, never both. */
export const STAGE_NAMES = ['decide', 'normalizer', 'risk', 'router', 'gateway'] as const;
export type StageName = (typeof STAGE_NAMES)[number];
/**
 * On Kafka each stage is a consume→transaction hop: fused, an intent crosses two transactions
 * instead of four, and no stage re-reads what the previous one just wrote. On the embedded log the
 * four stages share one process and read each other's records from memory.
 */
export const DEFAULT_STAGES = { kafka: ['decide', 'gateway'], embedded: ['normalizer', 'risk', 'router', 'gateway'] } as const satisfies Record<string, readonly StageName[]>;
/** Stages that project the log elsewhere, each keeping its own position (pipeline/sink.ts). */
export const SINK_NAMES = ['projector', 'audit'] as const;
export type SinkName = (typeof SINK_NAMES)[number];

/** Records a sink takes per batch: bigger than a stage's, as each batch is one write to its store. */
const SINK_MAX_BATCH = 2_000;

export interface Pipeline {
  log: EventLog;
  market: MarketData;
  /** The simulated venue, when the gateway runs here. */
  venue: Venue | undefined;
  /** The live venues' standing (connection, rate-limit headroom), when the gateway runs here with a venues file. */
  liveHealth(): { venue: string; health: VenueHealth }[];
  /** Venues the gateway here holds halted or quarantined (`env:VENUE`), as its own fold says. */
  venueStanding(): ReadonlyMap<string, { halted?: string; quarantined?: string }>;
  consumers: Consumer[];
  /** Stages that have rebuilt their state from the log (on Kafka after their first assignment; a gateway's restore includes its venues' reconciliation). */
  restored: ReadonlySet<string>;
  /** Records waiting in the inputs of all stages together. */
  backlog(): number;
  /** True when every stage has handled and committed everything in its input. */
  idle(): boolean;
  /** Rejects as soon as any stage fails; never resolves otherwise. */
  failed: Promise<never>;
  /** Resolves once idle (checked each few ms); rejects if a stage failed. */
  waitIdle(extra?: () => boolean): Promise<void>;
  close(): Promise<void>;
}

interface Manifest {
  market: { kind: 'synthetic'; seed: number } | { kind: 'ndjson'; sha256: string };
}

/** A data dir is bound to its market data: the same log replayed against other books would diverge. */
async function openMarket(dataDir: string, o: PipelineOptions): Promise<MarketData> {
  if (o.market) return o.market;
  const path = join(dataDir, 'fillstream.json');
  const stored = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Manifest) : undefined;
  let want: Manifest['market'];
  if (o.books) want = { kind: 'ndjson', sha256: createHash('sha256').update(readFileSync(o.books)).digest('hex') };
  else if (o.seed === undefined && stored?.market.kind === 'synthetic') want = stored.market;
  else if (o.seed === undefined && stored?.market.kind === 'ndjson') {
    throw new Error(`data dir ${dataDir} was run with --books (sha256 ${stored.market.sha256.slice(0, 12)}…): pass the same --books file`);
  } else want = { kind: 'synthetic', seed: o.seed ?? 1 };
  if (stored && JSON.stringify(stored.market) !== JSON.stringify(want)) {
    throw new Error(`data dir ${dataDir} was run with market ${JSON.stringify(stored.market)}, not ${JSON.stringify(want)}: use the same --books/--seed or a new --data-dir`);
  }
  if (!stored) writeFileSync(path, JSON.stringify({ market: want } satisfies Manifest, null, 2) + '\n');
  return o.books ? loadNdjsonMarket(o.books) : createSyntheticMarket({ seed: want.kind === 'synthetic' ? want.seed : 1 });
}

/** The market a data dir was run with (for read-only commands). */
export async function marketOf(dataDir: string, books?: string): Promise<MarketData> {
  const path = join(dataDir, 'fillstream.json');
  if (!existsSync(path)) throw new Error(`${dataDir} is not a fillstream data dir (no fillstream.json): run \`fillstream run --data-dir ${dataDir}\` first`);
  const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  if (m.market.kind === 'synthetic') {
    if (books) throw new Error(`${dataDir} was run on the synthetic market (seed ${m.market.seed}), not on --books ${books}`);
    return createSyntheticMarket({ seed: m.market.seed });
  }
  if (!books) throw new Error(`${dataDir} was run with --books: pass the same --books file`);
  const sha = createHash('sha256').update(readFileSync(books)).digest('hex');
  if (sha !== m.market.sha256) throw new Error(`${books} is not the books file ${dataDir} was run with (sha256 ${m.market.sha256.slice(0, 12)}…)`);
  return loadNdjsonMarket(books);
}

export async function openLogAt(dataDir: string, fsync: Fsync = 'always', more: { windowRecords?: number; compression?: LogCompression } = {}): Promise<EventLog> {
  return openEmbeddedLog({ dir: join(dataDir, 'log'), fsync, ...more });
}

/** Open a data dir's log for inspection while `run` may hold it: no lock, no writes. */
export async function openLogReadOnly(dataDir: string): Promise<EventLog> {
  return openEmbeddedLog({ dir: join(dataDir, 'log'), readOnly: true });
}

export async function startPipeline(o: PipelineOptions): Promise<Pipeline> {
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const kafka = o.kafka;
  // A broker away at start is waited for (with a line now and then); missing topics are not.
  const log = kafka
    ? await retrying(() => openKafkaLog(kafka, KAFKA_TOPICS), { server: `Kafka ${kafka.brokers.join(',')}`, classify: permanentIn, signal: o.signal })
    : await openLogAt(dataDir, o.fsync, { windowRecords: o.windowRecords, compression: o.logCompression });
  const run = new Set<StageName | SinkName>(
    o.stages ?? [...DEFAULT_STAGES[o.kafka ? 'kafka' : 'embedded'], ...(o.redis ? (['projector'] as const) : []), ...(o.audit ? (['audit'] as const) : [])],
  );
  if (run.has('projector') && !o.redis) throw new Error('the projector needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379)');
  const split = (['normalizer', 'risk', 'router'] as const).filter((n) => run.has(n));
  if (run.has('decide') && split.length > 0)
    throw new Error(`the decide stage is normalizer, risk and router fused: run it or them, not both (asked for decide and ${split.join(', ')})`);
  let venue: Venue | undefined;
  let live: LiveSession | undefined;
  /** Each sink by name and how to open it: a sink is opened again after a failure, and resumes from its store. */
  const sinks: [SinkName, () => Promise<Sink>][] = [];
  // Stopping: retries end, what is durable stays, the rest is replayed on restart.
  const stopping = new AbortController();
  o.signal?.addEventListener('abort', () => stopping.abort(), { once: true });
  try {
    const market = await openMarket(dataDir, o);
    if (run.has('gateway')) venue = await openSimVenue({ dir: join(dataDir, 'venue-sim'), market, latencyMs: o.simLatencyMs });
    if (run.has('gateway') && o.venues) live = liveSessionFrom(o.venues);
    if (run.has('risk') || run.has('decide')) {
      await putPolicyInForce(log, o.policy);
      if (o.compliance) await putComplianceInForce(log, o.compliance, process.env.USER ?? 'operator', 'put in force at start (--rego)');
    }
    const m = o.metrics;
    const make: Record<StageName, () => Stage> = {
      decide: () => decideStage({ market, routing: o.routing, chains: o.chains }),
      normalizer: () => normalizerStage({ market }),
      risk: () => riskStage({ market }),
      router: () => routerStage({ market, settings: o.routing, chains: o.chains }),
      gateway: () => gatewayStage({ venues: { sim: venue }, live, onSubmit: o.onSubmit, observe: m && gatewayObserver(m) }),
    };
    const tracer = o.tracer;
    const logger = o.logger;
    const restored = new Set<string>();
    // The stage instances in use (on Kafka a stage is made again after each assignment).
    const current = new Map<string, Stage>();
    const observed = (make: () => Stage) => () => {
      const s = make();
      current.set(s.name, s);
      return observedStage(s, { metrics: m, tracer, logger, restored });
    };
    const names = STAGE_NAMES.filter((n) => run.has(n));
    const redis = o.redis;
    if (run.has('projector') && redis) sinks.push(['projector', () => RedisProjector.open({ redisUrl: redis.url, prefix: redis.prefix, log, market, signal: stopping.signal })]);
    if (run.has('audit')) sinks.push(['audit', () => openAuditSink({ dataDir, clickhouseUrl: o.audit?.clickhouseUrl, signal: stopping.signal })]);
    // On Kafka a stage survives broker outages and rebalances by being rebuilt from the log
    // (supervise.ts), once its partitions are assigned. The embedded log has neither: any failure
    // there is fatal, and a restart of the process recovers.
    let consumers: Consumer[];
    if (o.kafka) consumers = names.map((n) => superviseStage(log, observed(make[n]), { maxBatch: o.maxBatch, classify: log.classify, onCommitted: m && committedObserver(m, n) }));
    else {
      const stages = names.map((n) => observed(make[n])());
      for (const s of stages) await s.restore(log);
      consumers = stages.map((s) =>
        log.consume({ group: s.name, topics: [s.input, ...(s.also ?? [])], maxBatch: o.maxBatch, handle: (b) => s.handle(b), onCommitted: m && committedObserver(m, s.name) }),
      );
    }
    // A sink that fails is reopened and resumes from its own store; one that keeps failing stops the pipeline.
    for (const [name, open] of sinks) consumers.push(superviseSink(log, name, open, { maxBatch: SINK_MAX_BATCH, classify: log.classify }));
    const failed = Promise.race(consumers.map((c) => c.done.then(() => new Promise<never>(() => {}))));
    failed.catch(() => undefined);
    const idle = () => consumers.every((c) => c.lag() === 0 && !c.busy());
    const v = venue;
    const lv = live;
    // Sinks catch up from the log: a sink behind (its server away) must not hold the stages back.
    const stageConsumers = consumers.slice(0, names.length);
    return {
      log,
      market,
      venue: v,
      liveHealth: () => (lv ? lv.venues.map((x) => ({ venue: `${x.env}:${x.venue}`, health: x.adapter.health() })) : []),
      venueStanding: () => current.get('gateway')?.standing?.() ?? new Map(),
      consumers,
      restored,
      backlog: () => stageConsumers.reduce((n, c) => n + c.lag(), 0),
      idle,
      failed,
      async waitIdle(extra = () => true) {
        for (;;) {
          if (idle() && extra()) return;
          await Promise.race([failed, new Promise((r) => setTimeout(r, 2))]);
        }
      },
      async close() {
        stopping.abort();
        await Promise.all(consumers.map((c) => c.stop()));
        const results = await Promise.allSettled(consumers.map((c) => c.done));
        await v?.close();
        await lv?.close();
        await log.close();
        // A sink that gave up its retries because of the stop lost nothing: it resumes from its store.
        for (const r of results) {
          const stop = r.status === 'rejected' ? stopIn(r.reason) : undefined;
          if (stop) process.stderr.write(`fillstream: ${stop.message}; resumed on the next start\n`);
        }
        const bad = results.find((r) => r.status === 'rejected' && !stopIn(r.reason));
        if (bad) throw (bad as PromiseRejectedResult).reason;
      },
    };
  } catch (e) {
    await venue?.close().catch(() => undefined);
    await live?.close().catch(() => undefined);
    await log.close().catch(() => undefined);
    throw e;
  }
}

/** The stage with each batch's decision timed (metrics) and traced (a span per step of each intent it wrote). */
function observedStage(s: Stage, o: { metrics?: Metrics; tracer?: IntentTracer; logger?: Logger; restored: Set<string> }): Stage {
  const { tracer, logger } = o;
  const restore = async (log: EventLog) => {
    await s.restore(log);
    o.restored.add(s.name);
  };
  if (!o.metrics && !tracer && !logger) return { name: s.name, input: s.input, also: s.also, restore, handle: (b) => s.handle(b) };
  const batch = o.metrics?.stageBatch.labels(s.name);
  const seen = (startWall: number, t0: number, out: OutRecord[]): OutRecord[] => {
    batch?.observe((performance.now() - t0) / 1000);
    tracer?.record(s.name, out, startWall, Date.now());
    if (logger) logStageOutput(logger, s.name, out);
    return out;
  };
  return {
    name: s.name,
    input: s.input,
    also: s.also,
    restore,
    handle: (b) => {
      const startWall = tracer ? Date.now() : 0;
      const t0 = performance.now();
      const out = s.handle(b);
      return out instanceof Promise ? out.then((o) => seen(startWall, t0, o)) : seen(startWall, t0, out);
    },
  };
}

function committedObserver(m: Metrics, stage: string): (inputs: number, outputs: number, seconds: number) => void {
  const records = m.stageRecords.labels(stage);
  const output = m.stageOutput.labels(stage);
  const commit = m.stageCommit.labels(stage);
  return (inputs, outputs, seconds) => {
    records.inc(inputs);
    output.inc(outputs);
    commit.observe(seconds);
  };
}

function gatewayObserver(m: Metrics): NonNullable<Parameters<typeof gatewayStage>[0]['observe']> {
  return {
    submitted: (order, s) => m.intentToSubmit.observe({ venue: `${order.env}:${order.venue}` }, s),
    answered: (order, s, outcome) => {
      const venue = `${order.env}:${order.venue}`;
      // No answer (a timeout, a 5xx, a lost connection) or a refusal to serve us: a venue error.
      if (outcome === 'answered') m.submitToAck.observe({ venue }, s);
      else m.venueErrors.inc({ venue, kind: outcome === 'unknown' ? 'no_answer' : 'halted' });
    },
  };
}

/**
 * Log a RiskPolicySet when the requested policy differs from the newest one in the log (or none is
 * yet). One copy goes to each partition of exec.risk, so every partition's intents come after it.
 */
async function putPolicyInForce(log: EventLog, requested: RiskPolicy | undefined): Promise<void> {
  const latest = await policiesInLog(log);
  const policy = requested ?? (latest.version === 0 ? DEFAULT_POLICY : undefined);
  if (!policy) return;
  // An operator's act: its event time is when it was put in force.
  const recordedAt = new Date().toISOString();
  const copies = [];
  for (const e of risk.decide({ kind: 'set_policy', policy, ts: microsToIso(nowMicros()) }, latest)) {
    for (let partition = 0; partition < log.partitions(TOPICS.risk); partition++) copies.push({ ...toRecord(e, recordedAt), partition });
  }
  if (copies.length > 0) await log.append(copies);
}

/** A compiled compliance bundle as the log carries it. */
export type CompiledRego = RegoBundle & { files: string[] };

/**
 * Log a CompliancePolicySet (one copy per partition of exec.risk) unless the bundle is the one in
 * force; returns its version. Load the bundle first: one that does not load must not reach the log.
 */
export async function putComplianceInForce(log: EventLog, bundle: CompiledRego, operator: string, reason: string): Promise<{ version: number; written: boolean }> {
  let latest: EventOf<'CompliancePolicySet'> | undefined;
  await log.scan([TOPICS.risk], (r) => {
    if (typeOf(r) !== 'CompliancePolicySet') return;
    const e = fromRecord(r);
    if (e.type === 'CompliancePolicySet' && e.data.version > (latest?.data.version ?? 0)) latest = e;
  });
  if (latest?.data.hash === bundle.hash) return { version: latest.data.version, written: false };
  const version = (latest?.data.version ?? 0) + 1;
  const e: EventOf<'CompliancePolicySet'> = {
    event_id: `compliance/${version}`,
    type: 'CompliancePolicySet',
    intent_id: '',
    account: '',
    strategy: '',
    ts: microsToIso(nowMicros()),
    causation: `operator:${operator}`,
    recorded_at: '',
    data: {
      version,
      hash: bundle.hash,
      wasm_base64: Buffer.from(bundle.wasm).toString('base64'),
      data: (bundle.data ?? {}) as Record<string, unknown>,
      files: bundle.files,
      operator,
      reason,
    },
  };
  const record = toRecord(e, new Date().toISOString());
  const copies = [];
  for (let partition = 0; partition < log.partitions(TOPICS.risk); partition++) copies.push({ ...record, partition });
  await log.append(copies);
  return { version, written: true };
}

/** An intent's partition key on Kafka: its account (the normalizer's default when absent); none for what has no account (bad JSON). */
export function accountKey(line: Buffer): string | null {
  return intentAccount(line);
}

/**
 * Intake pauses while the stages together have more unread records than this. Bounding only the
 * normalizer's input let later stages fall behind without limit (the gateway, which also reads its
 * own events, ended 65k+ records back, past the log's in-memory window, onto disk reads and
 * parses); a small total keeps work in memory and short-lived. Measured on 100k intents: 2,000
 * gave ~25% more intents/s than 20,000 intents on the normalizer alone.
 */
export const MAX_PIPELINE_BACKLOG = 2_000;

/**
 * intakeFile, resumed after failures on Kafka: a commit the broker did not take may or may not have
 * happened, so the intake starts again from the position that did commit (read back from the log),
 * never from its own idea of it. On the embedded log a failure is final.
 */
async function intakeFileResuming(log: EventLog, path: string, opts: Parameters<typeof intakeFile>[2], resume: boolean): Promise<number> {
  let failures = 0;
  for (;;) {
    try {
      return await intakeFile(log, path, opts);
    } catch (e) {
      if (!resume || opts?.signal?.aborted || ++failures >= 10) throw e;
      const delay = Math.min(5_000, 100 * 2 ** (failures - 1));
      process.stderr.write(`fillstream: intake of ${path} failed (${e instanceof Error ? e.message : String(e)}); resuming from the committed position in ${delay} ms\n`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export interface RunOptions extends PipelineOptions {
  /** NDJSON intents file, or '-' for stdin. */
  intents?: string;
  untilIdle?: boolean;
  /**
   * With untilIdle: give up when work is pending and nothing has moved for this long (a server
   * away), with an IdleTimeout naming what is pending where. Default 60 s.
   */
  idleTimeoutMs?: number;
  onIntake?: (n: number) => void;
  /** Called once the stages are up (serve attaches its API here); what it returns is awaited before they stop. */
  onStarted?: (p: Pipeline) => Promise<() => Promise<void>>;
}

/** `run --until-idle` gave up: work pending, nothing moving. What is committed stays; a later run resumes. */
export class IdleTimeout extends Error {
  constructor(
    readonly seconds: number,
    readonly pending: { group: string; records: number }[],
  ) {
    super(
      `nothing moved for ${seconds} s with work pending (${pending.map((p) => `${p.group}: ${p.records} records`).join(', ')}); ` +
        'what is committed stays, and a later run resumes from there (see the lines above for the server that is away)',
    );
    this.name = 'IdleTimeout';
  }
}

/** Resolves once idle (and `extra`), rejects with IdleTimeout when nothing moves for `timeoutMs` while not idle. */
async function waitIdleOrTimeout(p: Pipeline, extra: () => boolean, progress: () => number, timeoutMs: number): Promise<void> {
  let mark = '';
  let since = performance.now();
  for (;;) {
    if (p.idle() && extra()) return;
    const now = `${progress()}/${p.consumers.map((c) => `${c.lag()}${c.busy() ? '+' : ''}`).join(',')}`;
    if (now !== mark) {
      mark = now;
      since = performance.now();
    } else if (performance.now() - since > timeoutMs) {
      throw new IdleTimeout(
        Math.round(timeoutMs / 1000),
        p.consumers.filter((c) => c.lag() > 0 || c.busy()).map((c) => ({ group: c.group, records: c.lag() })),
      );
    }
    await Promise.race([p.failed, new Promise((r) => setTimeout(r, 20))]);
  }
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** The `run` job: intake plus all stages until idle (or until the signal aborts); returns the fold of the whole log. */
export async function runPipeline(o: RunOptions): Promise<{ view: View; market: MarketData }> {
  const p = await startPipeline(o);
  let detach: (() => Promise<void>) | undefined;
  try {
    detach = await o.onStarted?.(p);
  } catch (e) {
    await p.close().catch(() => undefined);
    throw e;
  }
  let intakeDone = !o.intents;
  let intaken = 0;
  let intakeError: unknown;
  // Intake stops on the caller's signal or when a stage fails.
  const stopIntake = new AbortController();
  p.failed.catch(() => stopIntake.abort());
  const signal = o.signal ? AbortSignal.any([o.signal, stopIntake.signal]) : stopIntake.signal;
  const intakeOpts = {
    follow: !o.untilIdle,
    signal,
    maxBacklog: MAX_PIPELINE_BACKLOG,
    backlog: () => p.backlog(),
    onLines: (n: number) => {
      intaken += n;
      o.onIntake?.(n);
    },
    // On Kafka the key picks the partition: an intent goes where its account's events go.
    keyOf: o.kafka ? accountKey : undefined,
  };
  const intake = o.intents
    ? (o.intents === '-' ? intakeStream(p.log, process.stdin, intakeOpts) : intakeFileResuming(p.log, o.intents, intakeOpts, Boolean(o.kafka)))
        .catch((e: unknown) => {
          intakeError = e;
        })
        .finally(() => (intakeDone = true))
    : Promise.resolve();
  try {
    const aborted = () => o.signal?.aborted ?? false;
    const timeoutMs = o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const progress = () => intaken;
    if (o.untilIdle) await waitIdleOrTimeout(p, () => intakeDone || aborted(), progress, timeoutMs);
    else {
      // Following: run until the caller stops us, a stage fails, or the intake fails.
      const stopped = new Promise<void>((res) => (aborted() ? res() : o.signal?.addEventListener('abort', () => res(), { once: true })));
      // Rejects with what the intake threw, as it was.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      const intakeFailed = intake.then(() => (intakeError ? Promise.reject(intakeError) : new Promise<never>(() => {})));
      await Promise.race([stopped, p.failed, intakeFailed]);
    }
    stopIntake.abort();
    await intake;
    // Rethrows what the intake threw, as it was.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (intakeError) throw intakeError;
    if (!aborted()) await (o.untilIdle ? waitIdleOrTimeout(p, () => true, progress, timeoutMs) : p.waitIdle());
    return { view: await foldLog(p.log, p.market), market: p.market };
  } finally {
    await detach?.().catch(() => undefined);
    await p.close();
  }
}
