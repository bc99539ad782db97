#!/usr/bin/env node
// fillstream command line: run the pipeline on the embedded log, replay it, inspect orders and positions.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TOPICS, TOPICS } from '../domain/events.js';
import { foldLog, markPositions, summarize, type View } from '../projections/view.js';
import { applyRecord, emptyView, resolverFor } from '../projections/view.js';
import { marketOf, openLogReadOnly, runEmbedded, type Fsync } from '../pipeline/run.js';
import { loadPolicyFile } from '../risk/policy.js';
import { generateIntents } from '../tools/generate.js';
import type { MarketData } from '../market/types.js';
import { renderOrders, renderPositions, renderSummary } from './render.js';
import { jsonSchemas } from './schemas.js';

const DEFAULT_DATA_DIR = process.env.FILLSTREAM_DATA_DIR ?? './fillstream-data';

const intArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};
const ratioArg = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be between 0 and 1');
  return n;
};

const program = new Command()
  .name('fillstream')
  .description('Event-sourced execution layer: intents in, risk-checked orders on venues, every step in an append-only log.')
  .showHelpAfterError();

const dataDirOption = () => new Option('--data-dir <dir>', 'data dir holding the log and the simulated venue').default(DEFAULT_DATA_DIR);

program
  .command('run')
  .description('run every stage in one process on the embedded log')
  .addOption(dataDirOption())
  .option('--intents <file>', "NDJSON intents to take in ('-' for stdin); a file resumes where the last run stopped")
  .option('--books <file>', 'NDJSON order-book snapshots (default: the built-in synthetic market)')
  .option('--seed <n>', 'seed of the synthetic market (default 1)', intArg('--seed'))
  .option('--policy <file>', 'risk policy JSON to put in force')
  .option('--until-idle', 'exit once every intent is settled or resting (otherwise follow the intents file until SIGINT/SIGTERM)')
  .addOption(new Option('--fsync <mode>', 'log durability').choices(['always', 'batch', 'off']).default('always'))
  .option('--json', 'print one JSON summary instead of tables')
  .option('--limit <n>', 'blotter rows to print', intArg('--limit'), 30)
  .action(async (o) => {
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const progress = startProgress();
    const started = performance.now();
    try {
      const { view, market } = await runEmbedded({
        dataDir: o.dataDir,
        intents: o.intents,
        books: o.books,
        seed: o.seed,
        policy: o.policy ? loadPolicyFile(o.policy) : undefined,
        fsync: o.fsync as Fsync,
        untilIdle: Boolean(o.untilIdle),
        signal: ac.signal,
        onIntake: progress.add,
      });
      progress.done();
      const summary = { ...summarize(view, market), data_dir: o.dataDir, elapsed_s: round((performance.now() - started) / 1000, 3) };
      if (o.json) console.log(JSON.stringify(summary));
      else console.log([renderOrders(view, o.limit), renderPositions(view, market), renderSummary(summary)].join('\n\n'));
    } finally {
      progress.done();
    }
  });

program
  .command('replay')
  .description('rebuild all state from the log alone and print its hash')
  .addOption(dataDirOption())
  .option('--books <file>', 'the NDJSON books the data dir was run with, if any')
  .option('--json', 'print JSON')
  .action(async (o) => {
    const market = await marketOf(o.dataDir, o.books);
    const log = await openLogReadOnly(o.dataDir);
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
  .option('--books <file>', 'the NDJSON books the data dir was run with, if any')
  .option('--status <status>', 'only orders in this status (e.g. FILLED, ACKED)')
  .option('--limit <n>', 'rows to print (0 = all)', intArg('--limit'), 0)
  .option('--json', 'print JSON')
  .action(async (o) => {
    const { view } = await foldDataDir(o.dataDir, o.books);
    const rows = [...view.orders.values()].filter((s) => !o.status || s.status === String(o.status).toUpperCase());
    if (o.json) {
      console.log(JSON.stringify((o.limit ? rows.slice(0, o.limit) : rows).map(({ fingerprints, ...s }) => s)));
    } else console.log(renderOrders(view, o.limit || Infinity, o.status));
  });

program
  .command('positions')
  .description('print positions and PnL, marked to the books at the latest event time')
  .addOption(dataDirOption())
  .option('--books <file>', 'the NDJSON books the data dir was run with, if any')
  .option('--json', 'print JSON')
  .action(async (o) => {
    const { view, market } = await foldDataDir(o.dataDir, o.books);
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
  .action(async (o) => {
    if (!ALL_TOPICS.includes(o.topic)) throw new Error(`unknown topic ${o.topic}: use one of ${ALL_TOPICS.join(', ')}`);
    requireDataDir(o.dataDir);
    const log = await openLogReadOnly(o.dataDir);
    try {
      const end = log.endOffset(o.topic, 0);
      const last = o.limit ? Math.min(end, o.from + o.limit) : end;
      for (let at = o.from; at < last; ) {
        const batch = await log.read(o.topic, 0, at, Math.min(4096, last - at));
        if (batch.length === 0) break;
        const lines = batch.map((r) =>
          o.topic === TOPICS.intents
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

program
  .command('generate')
  .description('print deterministic sample intents as NDJSON (for trying fillstream out and for tests)')
  .option('--count <n>', 'how many lines', intArg('--count'), 1000)
  .option('--seed <n>', 'generator seed', intArg('--seed'), 42)
  .option('--bad-ratio <r>', 'share of bad lines', ratioArg, 0)
  .option('--duplicate-ratio <r>', 'share of repeated intent ids', ratioArg, 0)
  .option('--id-prefix <p>', 'intent_id prefix', 'i')
  .option('--step-ms <n>', 'event-time step between intents', intArg('--step-ms'), 50)
  .action((o) => {
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
  .action((o) => {
    mkdirSync(o.out, { recursive: true });
    for (const [name, schema] of Object.entries(jsonSchemas())) writeFileSync(join(o.out, name), JSON.stringify(schema, null, 2) + '\n');
  });

function requireDataDir(dataDir: string): void {
  if (!existsSync(join(dataDir, 'fillstream.json'))) {
    throw new Error(`${dataDir} is not a fillstream data dir (no fillstream.json): run \`fillstream run --data-dir ${dataDir}\` first`);
  }
}

async function foldDataDir(dataDir: string, books?: string): Promise<{ view: View; market: MarketData }> {
  const market = await marketOf(dataDir, books);
  const log = await openLogReadOnly(dataDir);
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

program.parseAsync().catch((e: unknown) => {
  console.error(`fillstream: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
