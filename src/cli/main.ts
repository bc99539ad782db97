#!/usr/bin/env node
// fillstream command line: run the pipeline (embedded log or Kafka), replay it, inspect orders and positions.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TOPICS, TOPICS } from '../domain/events.js';
import { foldLog, markPositions, summarize, type View } from '../projections/view.js';
import { applyRecord, emptyView, resolverFor } from '../projections/view.js';
import { Kafka } from 'kafkajs';
import { KAFKA_TOPICS, createTopics, DEFAULT_TOPIC_SETTINGS, dropKafkajsTimerWarning, openKafkaLog, stderrLogger } from '../log/kafka/index.js';
import {
  DEFAULT_STAGES,
  marketOf,
  openLogAt,
  openLogReadOnly,
  runPipeline,
  IdleTimeout,
  SINK_NAMES,
  startPipeline,
  STAGE_NAMES,
  type Fsync,
  type RunOptions,
  type SinkName,
  type StageName,
} from '../assembly/run.js';
import { consumeInto } from '../runtime/sink.js';
import { redisKeys } from '../projections/redis/keys.js';
import { clearNamespace, connectRedis, RedisProjector } from '../projections/redis/projector.js';
import { readRedisView } from '../projections/redis/reader.js';
import { loadPolicyFile } from '../risk/policy.js';
import { loadRegoPolicy } from '../risk/rego.js';
import { compileRegoDir, findOpa } from '../risk/rego-build.js';

/** A Rego directory compiled and loaded once here: one that fails never reaches the log. */
async function compiledRego(dir: string) {
  const bundle = await compileRegoDir(dir, findOpa());
  await loadRegoPolicy(bundle);
  return bundle;
}
import { generateIntents } from '../tools/generate.js';
import type { MarketData } from '../market/types.js';
import type { EventLog } from '../log/types.js';
import { renderOrders, renderPositions, renderSummary } from './render.js';
import { jsonSchemas } from '../domain/schemas.js';
import { loadVenuesFile } from '../assembly/venues.js';
import { registerAuditCommands } from './audit.js';
import { registerVenueCommands } from './venues.js';
import { registerControlCommands } from './control.js';
import { registerChainCommands } from './chains.js';
import { busOption, dataDirOption, intArg, kafkaOptions, openReadLog, redisOptions, routingFromEnv, chainsFromEnv, simLatencyFromEnv } from './options.js';
import { LOG_COMPRESSIONS, type LogCompression } from '../log/embedded/index.js';
import { firstLine, permanentIn, stopIn } from '../domain/faults.js';
import { sinksBehind, type SinkStanding } from '../assembly/sinks-behind.js';
import { migrate } from '../audit/index.js';
import { startOps } from '../assembly/ops.js';
import { Metrics } from '../ops/metrics.js';
import { createLogger } from '../ops/log.js';
import { openApiDocument } from '../ops/contract.js';
import { OperatorTokens } from '../ops/tokens.js';
import { tracerFromEnv } from '../ops/tracing.js';
import type { Logger } from 'pino';

const ratioArg = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be between 0 and 1');
  return n;
};

dropKafkajsTimerWarning();

/** This process's Prometheus registry (serve and stage processes expose it). */
const processMetrics = new Metrics();
const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

function adminPortFromEnv(): number {
  const v = process.env.FILLSTREAM_ADMIN_PORT;
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`FILLSTREAM_ADMIN_PORT ${v}: a port number`);
  return n;
}

const program = new Command()
  .name('fillstream')
  .description('Event-sourced execution layer: intents in, risk-checked orders on venues, every step in an append-only log.')
  .showHelpAfterError();

const booksOption = () => new Option('--books <file>', 'the NDJSON books the data dir was run with, if any');

// The options commander parses for the commands below (it types them `any`): one shape per set of flags.
/** --data-dir, --bus, --books, --json. */
interface ReadOptions {
  dataDir: string;
  bus: string;
  books?: string;
  json?: boolean;
}
/** ReadOptions and --source: the commands that print live state. */
interface LiveStateOptions extends ReadOptions {
  source?: string;
}

/** A command that prints live state (see liveState). */
const liveStateCommand = (name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .addOption(dataDirOption())
    .addOption(busOption())
    .addOption(booksOption())
    .addOption(sourceOption())
    .option('--json', 'print JSON');

/** Where orders and positions are read from: the Redis projection when REDIS_URL is set, else a fold of the log. */
const sourceOption = () => new Option('--source <source>', 'read live state from the Redis projection (default when REDIS_URL is set) or fold the log').choices(['redis', 'log']);

/** Resolves on the first SIGINT or SIGTERM. */
/** `--stages a,b`: stage names, checked. */
function stageList(list: string): StageName[] {
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const known: readonly string[] = STAGE_NAMES;
  const bad = names.filter((n) => !known.includes(n));
  if (bad.length > 0 || names.length === 0) throw new Error(`--stages ${list}: use stage names from ${STAGE_NAMES.join(', ')}`);
  return names as StageName[];
}

/** run's journal flags. */
interface RunFlags {
  audit: boolean;
  journalInline?: boolean;
}

/**
 * The journal `run` writes as it goes: into ClickHouse when CLICKHOUSE_URL is set (unless
 * --no-audit), into the data dir files with --journal-inline; otherwise none, and the audit
 * commands build the file journal from the log when they need it.
 */
function auditFor(o: RunFlags): { clickhouseUrl?: string } | undefined {
  if (o.audit === false) return undefined;
  const url = process.env.CLICKHOUSE_URL || undefined;
  if (url) return { clickhouseUrl: url };
  return o.journalInline ? {} : undefined;
}

/** The sinks `run` adds to the stages it is given: the projector with Redis, the journal as auditFor says. */
function sinksFor(o: RunFlags): SinkName[] {
  return [...(redisOptions() ? (['projector'] as const) : []), ...(auditFor(o) ? (['audit'] as const) : [])];
}

/**
 * SIGINT or SIGTERM asks for a stop: the signal aborts, stages commit the batch in hand, adapters
 * give up what they are retrying (replayed on restart). A stop still running STOP_DEADLINE_MS
 * later ends the process anyway, as does a second signal at once: a supervisor's SIGKILL would
 * come soon after, and nothing uncommitted is lost either way.
 */
function stopSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    const code = 128 + (sig === 'SIGINT' ? 2 : 15);
    if (ac.signal.aborted) {
      process.stderr.write(`fillstream: second ${sig}: exiting now; what is not committed is replayed on the next start\n`);
      process.exit(code);
    }
    ac.abort();
    setTimeout(() => {
      process.stderr.write(`fillstream: still stopping ${STOP_DEADLINE_MS / 1000} s after ${sig}: exiting; what is not committed is replayed on the next start\n`);
      process.exit(code);
    }, STOP_DEADLINE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

/** A stop asked for by a signal finishes within this, cleanly or not (supervisors wait 10–30 s before SIGKILL). */
const STOP_DEADLINE_MS = 4_500;

type RunCommandOptions = ReadOptions &
  RunFlags & {
    intents?: string;
    seed?: number;
    policy?: string;
    rego?: string;
    untilIdle?: boolean;
    fsync: string;
    logCompression: LogCompression;
    stages?: string;
    limit: number;
    migrate?: boolean;
    idleTimeout: number;
    venues?: string;
  };

/** The flags of `run` (and of `serve`, which is run with the API on). */
const pipelineCommand = (name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .addOption(dataDirOption())
    .addOption(busOption())
    .option('--intents <file>', "NDJSON intents to take in ('-' for stdin); a file resumes where the last run stopped")
    .option('--books <file>', 'NDJSON order-book snapshots (default: the built-in synthetic market)')
    .option('--seed <n>', 'seed of the synthetic market (default 1)', intArg('--seed'))
    .option('--policy <file>', 'risk policy JSON to put in force')
    .option('--rego <dir>', "compliance's Rego policies to put in force (compiled with opa)")
    .option('--until-idle', 'exit once every intent is settled or resting (otherwise follow the intents file until SIGINT/SIGTERM)')
    .addOption(new Option('--fsync <mode>', 'log durability').choices(['always', 'batch', 'off']).default('always'))
    .addOption(
      new Option('--log-compression <kind>', 'how the embedded log writes commits: zstd (about 8x smaller on a busy pipeline) or none (less CPU)')
        .choices([...LOG_COMPRESSIONS])
        .default('zstd'),
    )
    .option('--json', 'print one JSON summary instead of tables')
    .option('--no-audit', 'do not journal into ClickHouse even when CLICKHOUSE_URL is set')
    .option('--journal-inline', 'without ClickHouse: journal into the data dir files as events are written (default: on demand, by the audit commands)')
    .option('--limit <n>', 'blotter rows to print', intArg('--limit'), 30)
    .option('--migrate', 'with CLICKHOUSE_URL: create the journal tables first when missing (as `audit migrate` does)')
    .option('--idle-timeout <s>', 'with --until-idle: give up (exit 75) when work is pending and nothing moves for this long, e.g. a server away', intArg('--idle-timeout'), 60)
    .option('--venues <file>', 'live venues (JSON, schemas/venues.schema.json): staging and prod orders trade there; without it only env "sim" orders trade, on the simulator');

async function runCommand(
  o: RunCommandOptions,
  defaultStages: readonly (StageName | SinkName)[] | undefined,
  onStarted?: RunOptions['onStarted'],
  role = 'run',
  logger?: Logger,
): Promise<void> {
  const signal = stopSignal();
  const tracer = tracerFromEnv(`fillstream-${role}`);
  const progress = startProgress();
  const started = performance.now();
  const audit = auditFor(o);
  if (o.migrate && audit?.clickhouseUrl) await migrate(audit.clickhouseUrl);
  try {
    const { view, market } = await runPipeline({
      dataDir: o.dataDir,
      intents: o.intents,
      books: o.books,
      seed: o.seed,
      policy: o.policy ? loadPolicyFile(o.policy) : undefined,
      compliance: o.rego ? await compiledRego(o.rego) : undefined,
      fsync: o.fsync as Fsync,
      logCompression: o.logCompression,
      untilIdle: Boolean(o.untilIdle),
      idleTimeoutMs: o.idleTimeout * 1000,
      signal,
      onIntake: progress.add,
      kafka: o.bus === 'kafka' ? kafkaOptions('fillstream-run') : undefined,
      redis: redisOptions(),
      audit,
      stages: o.stages === undefined ? defaultStages : [...stageList(o.stages), ...sinksFor(o)],
      venues: o.venues ? loadVenuesFile(o.venues) : undefined,
      routing: routingFromEnv(),
      chains: chainsFromEnv(),
      simLatencyMs: simLatencyFromEnv(),
      metrics: onStarted ? processMetrics : undefined,
      tracer,
      // run prints its summary and stays quiet otherwise, unless a log level is asked for.
      logger: logger ?? (process.env.FILLSTREAM_LOG_LEVEL ? createLogger({ role }) : undefined),
      onStarted,
    });
    progress.done();
    const summary = { ...summarize(view, market), bus: o.bus, data_dir: o.dataDir, elapsed_s: round((performance.now() - started) / 1000, 3) };
    if (o.json) console.log(JSON.stringify(summary));
    else console.log([renderOrders(view, o.limit), renderPositions(view, market), renderSummary(summary)].join('\n\n'));
  } finally {
    progress.done();
    await tracer?.shutdown();
  }
}

pipelineCommand('run', 'run every stage in one process, on the embedded log or on Kafka')
  .option('--stages <names>', `comma-separated stages to run (default: ${DEFAULT_STAGES.embedded.join(',')} on the embedded log, ${DEFAULT_STAGES.kafka.join(',')} on Kafka)`)
  .action((o: RunCommandOptions) => runCommand(o, undefined));

pipelineCommand(
  'serve',
  'the HTTP API, live feed and operator page over the log; on the embedded log it runs every stage too (one process owns a data dir), on Kafka only the --stages asked for',
)
  .option('--stages <names>', `comma-separated stages to run here (default: ${DEFAULT_STAGES.embedded.join(',')} on the embedded log, none on Kafka)`)
  .option('--port <n>', 'HTTP port (0: a free one, printed)', intArg('--port'), 8080)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .action((o: RunCommandOptions & { port: number; host: string }) => {
    const logger = createLogger({ role: 'serve' });
    const defaults = o.bus === 'kafka' ? [...sinksFor(o)] : undefined;
    return runCommand(
      o,
      defaults,
      async (p) => {
        const ops = await startOps(p, {
          role: 'serve',
          version: VERSION,
          port: o.port,
          host: o.host,
          metrics: processMetrics,
          logger,
          settings: { ...o },
          // Orders and positions from the Redis projection when REDIS_URL is set.
          data: { tokens: OperatorTokens.fromEnv(), redis: redisOptions(), clickhouseUrl: o.audit === false ? undefined : process.env.CLICKHOUSE_URL || undefined },
        });
        console.error(`fillstream: serving ${ops.url} (API, /feed, operator page at /); SIGTERM stops it`);
        return () => ops.close();
      },
      'serve',
    );
  });

program
  .command('replay')
  .description('rebuild all state from the log alone and print its hash')
  .addOption(dataDirOption())
  .addOption(busOption())
  .addOption(booksOption())
  .option('--json', 'print JSON')
  .action(async (o: ReadOptions) => {
    const market = await marketOf(o.dataDir, o.books);
    const log = await openReadLog(o);
    try {
      const view = emptyView();
      const resolve = resolverFor(market);
      const t0 = performance.now();
      await log.scan(ALL_TOPICS, (r) => applyRecord(view, r, resolve));
      const seconds = (performance.now() - t0) / 1000;
      const summary = { ...summarize(view, market), events_per_sec: Math.round(view.events / Math.max(seconds, 1e-9)), elapsed_s: round(seconds, 3) };
      if (o.json) console.log(JSON.stringify(summary));
      else console.log(renderSummary(summary));
    } finally {
      await log.close();
    }
  });

program
  .command('orders')
  .description('print the blotter: every order with status, filled quantity and average price')
  .addOption(dataDirOption())
  .addOption(busOption())
  .addOption(booksOption())
  .option('--status <status>', 'only orders in this status (e.g. FILLED, ACKED)')
  .option('--limit <n>', 'rows to print (0 = all)', intArg('--limit'), 0)
  .addOption(sourceOption())
  .option('--json', 'print JSON')
  .action(async (o: LiveStateOptions & { status?: string; limit: number }) => {
    const { view } = await liveState(o);
    const rows = [...view.orders.values()].filter((s) => !o.status || s.status === String(o.status).toUpperCase());
    if (o.json) {
      console.log(JSON.stringify((o.limit ? rows.slice(0, o.limit) : rows).map(({ fingerprints, ...s }) => s)));
    } else console.log(renderOrders(view, o.limit || Infinity, o.status));
  });

liveStateCommand('positions', 'print positions and PnL, marked to the books at the latest event time').action(async (o: LiveStateOptions) => {
  const { view, market } = await liveState(o);
  if (o.json) console.log(JSON.stringify(markPositions(view, market)));
  else console.log(renderPositions(view, market));
});

program
  .command('events')
  .description('print the records of one topic as NDJSON (e.g. exec.dlq for dead letters)')
  .addOption(dataDirOption())
  .requiredOption('--topic <topic>', `one of ${ALL_TOPICS.join(', ')}`)
  .option('--from <offset>', 'first offset', intArg('--from'), 0)
  .option('--limit <n>', 'records to print (0 = all)', intArg('--limit'), 0)
  .action(async (o: { dataDir: string; topic: string; from: number; limit: number }) => {
    const topic = ALL_TOPICS.find((t) => t === o.topic);
    if (topic === undefined) throw new Error(`unknown topic ${o.topic}: use one of ${ALL_TOPICS.join(', ')}`);
    requireDataDir(o.dataDir);
    const log = await openLogReadOnly(o.dataDir);
    try {
      const end = await log.endOffset(topic, 0);
      const last = o.limit ? Math.min(end, o.from + o.limit) : end;
      for (let at = o.from; at < last;) {
        const batch = await log.read(topic, 0, at, Math.min(4096, last - at));
        if (batch.length === 0) break;
        const lines = batch.map((r) =>
          topic === TOPICS.intents
            ? JSON.stringify({ offset: r.offset, timestamp: new Date(r.timestamp).toISOString(), value: r.value.toString('utf8') })
            : r.value.toString('utf8'),
        );
        process.stdout.write(lines.join('\n') + '\n');
        at = batch[batch.length - 1].offset + 1;
      }
    } finally {
      await log.close();
    }
  });

liveStateCommand('state', 'print the summary and state hash of live state: the Redis projection when REDIS_URL is set, else a fold of the log').action(
  async (o: LiveStateOptions) => {
    // The log is opened once: folded when it is the source, and held against the sinks' stores to
    // say which is behind and by how much. Without it (Redis the source, the log unreadable here)
    // the sinks' standing is left out.
    const source = o.source ?? (redisOptions() ? 'redis' : 'log');
    const log = await openReadLog(o).catch((e: unknown) => {
      // As the source, liveState opens it again below and fails with its own message.
      if (source === 'redis') process.stderr.write(`fillstream: sinks' standing left out: ${firstLine(e)}\n`);
      return undefined;
    });
    let sinks: SinkStanding[] = [];
    let live: { view: View; market: MarketData };
    try {
      live = await liveState(o, log);
      if (log) sinks = await sinksBehind(log, { dataDir: o.dataDir, redis: redisOptions(), clickhouseUrl: process.env.CLICKHOUSE_URL || undefined });
    } finally {
      await log?.close();
    }
    const { view, market } = live;
    const summary = { ...summarize(view, market), source: o.source ?? (redisOptions() ? 'redis' : 'log'), sinks };
    if (o.json) console.log(JSON.stringify(summary));
    else {
      const { sinks: _s, ...rest } = summary;
      console.log(renderSummary(rest));
      for (const s of sinks) console.log(`  sink ${s.sink.padEnd(10)} ${s.store}: ${s.error === undefined ? `${s.behind} records behind the log` : `unreadable (${s.error})`}`);
    }
  },
);

program
  .command('rebuild')
  .description('clear a projection and rebuild it by replaying the whole log (stop its live projector first)')
  .addOption(new Option('--target <target>', 'the projection to rebuild').choices(['redis']).makeOptionMandatory())
  .addOption(dataDirOption())
  .addOption(busOption())
  .addOption(booksOption())
  .option('--json', 'print one JSON summary')
  .action(async (o: ReadOptions) => {
    const redis = redisOptions();
    if (!redis) throw new Error('rebuild --target redis needs REDIS_URL (e.g. redis://127.0.0.1:6379)');
    const market = await marketOf(o.dataDir, o.books);
    const started = performance.now();
    const client = connectRedis(redis.url);
    await client.connect();
    const log = o.bus === 'kafka' ? await openKafkaLog(kafkaOptions('fillstream-rebuild'), KAFKA_TOPICS) : await openLogAt(o.dataDir);
    try {
      const cleared = await clearNamespace(client, redis.prefix);
      const projector = await RedisProjector.open({ redisUrl: redis.url, prefix: redis.prefix, log, market });
      const consumer = consumeInto(log, projector);
      const failed = consumer.done.then(() => Promise.reject(new Error('the projector stopped before it caught up')));
      for (;;) {
        await Promise.race([failed, new Promise((r) => setTimeout(r, 20))]);
        if (consumer.lag() === 0 && !consumer.busy()) break;
      }
      await consumer.stop();
      await consumer.done;
      const view = await readRedisView(client, redisKeys(redis.prefix));
      const seconds = (performance.now() - started) / 1000;
      const summary = {
        ...summarize(view, market),
        target: 'redis',
        prefix: redis.prefix,
        keys_cleared: cleared,
        elapsed_s: round(seconds, 3),
        events_per_sec: Math.round(view.events / seconds),
      };
      if (o.json) console.log(JSON.stringify(summary));
      else console.log(renderSummary(summary));
    } finally {
      await log.close();
      client.disconnect();
    }
  });

program
  .command('stage')
  .description(`run one stage (${[...STAGE_NAMES, ...SINK_NAMES].join(', ')}) as its own process on Kafka, in its consumer group, until SIGINT/SIGTERM`)
  .argument('<name>', [...STAGE_NAMES, ...SINK_NAMES].join(' | '))
  .addOption(dataDirOption())
  .option('--books <file>', 'NDJSON order-book snapshots (default: the built-in synthetic market)')
  .option('--seed <n>', 'seed of the synthetic market (default 1)', intArg('--seed'))
  .option('--policy <file>', 'risk policy JSON to put in force (decide or risk stage)')
  .option('--rego <dir>', "compliance's Rego policies to put in force (decide or risk stage)")
  .option('--venues <file>', 'gateway: live venues (JSON, schemas/venues.schema.json)')
  .option(
    '--admin-port <n>',
    'port of its admin API (/healthz, /readyz, /metrics, /config, /status; default FILLSTREAM_ADMIN_PORT, else a free one, printed)',
    intArg('--admin-port'),
  )
  .option('--admin-host <host>', 'address the admin API listens on', '127.0.0.1')
  .action(async (name: string, o: { dataDir: string; books?: string; seed?: number; policy?: string; rego?: string; venues?: string; adminPort?: number; adminHost: string }) => {
    const names: readonly string[] = [...STAGE_NAMES, ...SINK_NAMES];
    if (!names.includes(name)) throw new Error(`unknown stage ${name}: use one of ${names.join(', ')}`);
    const signal = stopSignal();
    const tracer = tracerFromEnv(`fillstream-${name}`);
    const logger = createLogger({ role: name });
    const p = await startPipeline({
      signal,
      tracer,
      logger,
      dataDir: o.dataDir,
      books: o.books,
      seed: o.seed,
      policy: o.policy ? loadPolicyFile(o.policy) : undefined,
      compliance: o.rego ? await compiledRego(o.rego) : undefined,
      kafka: kafkaOptions(`fillstream-${name}`),
      redis: redisOptions(),
      audit: { clickhouseUrl: process.env.CLICKHOUSE_URL || undefined },
      stages: [name as StageName | SinkName],
      venues: o.venues ? loadVenuesFile(o.venues) : undefined,
      routing: routingFromEnv(),
      chains: chainsFromEnv(),
      simLatencyMs: simLatencyFromEnv(),
      metrics: processMetrics,
    });
    const admin = await startOps(p, {
      role: name,
      version: VERSION,
      port: o.adminPort ?? adminPortFromEnv(),
      host: o.adminHost,
      metrics: processMetrics,
      logger,
      settings: { stage: name, ...o },
    }).catch(async (e: unknown) => {
      await p.close();
      throw e;
    });
    console.error(`fillstream: stage ${name} consuming on Kafka (group ${process.env.FILLSTREAM_TOPIC_PREFIX ?? ''}${name}), admin on ${admin.url}; SIGTERM stops it within 5 s`);
    try {
      await Promise.race([new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true }))), p.failed]);
    } finally {
      await admin.close().catch(() => undefined);
      await p.close();
      await tracer?.shutdown().catch(() => undefined);
      // Everything is committed and closed by now; a socket kafkajs reopened during a broker
      // restart must not keep the process alive (seen after restarts: up to the broker's 10 min).
      setTimeout(() => process.exit(), 2_000).unref();
    }
  });

const topics = program.command('topics').description('Kafka topics (KAFKA_BROKERS, FILLSTREAM_TOPIC_PREFIX)');
topics
  .command('create')
  .description(`create the topics fillstream uses (${KAFKA_TOPICS.join(', ')}) where missing`)
  .option('--partitions <n>', 'partitions per topic', intArg('--partitions'), DEFAULT_TOPIC_SETTINGS.partitions)
  .option('--replication <n>', 'replication factor', intArg('--replication'), DEFAULT_TOPIC_SETTINGS.replicationFactor)
  .option(
    '--retention-ms <ms>',
    'retention of the log topics; -1 (default) keeps them forever, as the system of record',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < -1) throw new InvalidArgumentError('--retention-ms must be -1 or a non-negative integer');
      return n;
    },
    DEFAULT_TOPIC_SETTINGS.retentionMs,
  )
  .action(async (o: { partitions: number; replication: number; retentionMs: number }) => {
    const k = kafkaOptions('fillstream-admin');
    const admin = new Kafka({ clientId: k.clientId, brokers: k.brokers, logLevel: 1, logCreator: stderrLogger, retry: { retries: 3 } }).admin();
    await admin.connect();
    try {
      const settings = { prefix: k.topicPrefix ?? '', partitions: o.partitions, replicationFactor: o.replication, retentionMs: o.retentionMs };
      const created = await createTopics(admin, settings);
      for (const t of KAFKA_TOPICS) console.log(`${settings.prefix}${t}\t${created.includes(settings.prefix + t) ? 'created' : 'exists'}`);
    } finally {
      await admin.disconnect();
    }
  });

program
  .command('generate')
  .description('print deterministic sample intents as NDJSON (for trying fillstream out and for tests)')
  .option('--count <n>', 'how many lines', intArg('--count'), 1000)
  .option('--seed <n>', 'generator seed', intArg('--seed'), 42)
  .option('--bad-ratio <r>', 'share of bad lines', ratioArg, 0)
  .option('--duplicate-ratio <r>', 'share of repeated intent ids', ratioArg, 0)
  .option('--id-prefix <p>', 'intent_id prefix', 'i')
  .option('--step-ms <n>', 'event-time step between intents', intArg('--step-ms'), 50)
  .action((o: { count: number; seed: number; badRatio: number; duplicateRatio: number; idPrefix: string; stepMs: number }) => {
    const out: string[] = [];
    for (const line of generateIntents({ count: o.count, seed: o.seed, badRatio: o.badRatio, duplicateRatio: o.duplicateRatio, idPrefix: o.idPrefix, stepMs: o.stepMs })) {
      out.push(line);
      if (out.length >= 4096) {
        process.stdout.write(out.join('\n') + '\n');
        out.length = 0;
      }
    }
    if (out.length) process.stdout.write(out.join('\n') + '\n');
  });

program
  .command('schemas')
  .description('write the JSON Schemas of the public contracts')
  .option('--out <dir>', 'output folder', 'schemas')
  .action((o: { out: string }) => {
    mkdirSync(o.out, { recursive: true });
    for (const [name, schema] of Object.entries(jsonSchemas())) writeFileSync(join(o.out, name), JSON.stringify(schema, null, 2) + '\n');
    writeFileSync(join(o.out, 'openapi.json'), JSON.stringify(openApiDocument(VERSION), null, 2) + '\n');
  });

function requireDataDir(dataDir: string): void {
  if (!existsSync(join(dataDir, 'fillstream.json'))) {
    throw new Error(`${dataDir} is not a fillstream data dir (no fillstream.json): run \`fillstream run --data-dir ${dataDir}\` first`);
  }
}

/** Orders and positions from the Redis projection, or folded from the log. */
/** Live state from Redis, or the fold of the log (`log` when the caller has it open already). */
async function liveState(o: LiveStateOptions, log?: EventLog): Promise<{ view: View; market: MarketData }> {
  const redis = redisOptions();
  const source = o.source ?? (redis ? 'redis' : 'log');
  if (source === 'log') {
    if (!log) return foldDataDir(o);
    const market = await marketOf(o.dataDir, o.books);
    return { view: await foldLog(log, market), market };
  }
  if (!redis) throw new Error('--source redis needs REDIS_URL (e.g. redis://127.0.0.1:6379)');
  const market = await marketOf(o.dataDir, o.books);
  const client = connectRedis(redis.url);
  try {
    await client.connect();
    return { view: await readRedisView(client, redisKeys(redis.prefix)), market };
  } finally {
    client.disconnect();
  }
}

async function foldDataDir(o: { dataDir: string; bus: string; books?: string }): Promise<{ view: View; market: MarketData }> {
  const market = await marketOf(o.dataDir, o.books);
  const log = await openReadLog(o);
  try {
    return { view: await foldLog(log, market), market };
  } finally {
    await log.close();
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Intake progress on stderr, only when it is a terminal. */
function startProgress() {
  let n = 0;
  const t0 = performance.now();
  const tty = process.stderr.isTTY;
  const timer = tty
    ? setInterval(() => {
        const s = (performance.now() - t0) / 1000;
        process.stderr.write(`\rintents taken in: ${n.toLocaleString('en-US')}  (${Math.round(n / Math.max(s, 1e-3)).toLocaleString('en-US')}/s)   `);
      }, 250)
    : undefined;
  timer?.unref();
  let finished = false;
  return {
    add: (k: number) => void (n += k),
    done: () => {
      if (finished) return;
      finished = true;
      if (timer) {
        clearInterval(timer);
        process.stderr.write('\r\x1b[K');
      }
    },
  };
}

registerAuditCommands(program);
registerVenueCommands(program, stopSignal);
registerControlCommands(program);
registerChainCommands(program);

// Exit codes: 78 (EX_CONFIG) for a fault only a person fixes, 75 (EX_TEMPFAIL) when --until-idle
// gave up waiting on a server, 1 for anything else.
program.parseAsync().catch((e: unknown) => {
  // Stopped by a signal while waiting on a server: nothing was lost, so not a failure.
  const stop = stopIn(e);
  if (stop) {
    console.error(`fillstream: ${stop.message}; stopped`);
    process.exit(0);
  }
  const permanent = permanentIn(e);
  console.error(`fillstream: ${permanent ? permanent.message : e instanceof Error ? e.message : String(e)}`);
  process.exit(permanent ? 78 : e instanceof IdleTimeout ? 75 : 1);
});
