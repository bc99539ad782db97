// Benchmark of the audit sink into ClickHouse (CLICKHOUSE_URL; `make bench` starts a server): the
// events of a pipeline run on the embedded log, consumed into a fresh journal table, rows/s.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { AUDIT_TOPICS, clickhouseClient, migrate, openAuditSink } from '../src/audit/index.js';
import { JournalState } from '../src/audit/journal.js';
import { EVENT_COLUMNS } from '../src/audit/columns.js';
import type { EventLog } from '../src/log/types.js';
import { ALL_TOPICS, TOPICS } from '../src/domain/events.js';
import { openLogReadOnly } from '../src/assembly/run.js';
import { consumeInto } from '../src/runtime/sink.js';
import { generateIntents } from '../src/tools/generate.js';

const INTENTS = Number(process.env.BENCH_AUDIT_INTENTS ?? 20_000);

/** The server's own rate: the journal's rows, encoded beforehand, in one INSERT into an empty table. */
async function serverFloor(url: string, log: EventLog): Promise<number> {
  const state = new JournalState();
  const lines: Buffer[] = [];
  await log.scan([...AUDIT_TOPICS], (r) => {
    const row = state.append(r);
    if (row) lines.push(row.line);
  });
  const body = Buffer.concat(lines);
  const c = clickhouseClient(url);
  try {
    await c.command({ query: 'TRUNCATE TABLE fillstream.audit_events' });
    const t0 = performance.now();
    await c.insert({
      table: 'fillstream.audit_events',
      values: Readable.from([body], { objectMode: false }),
      format: 'TabSeparated',
      columns: EVENT_COLUMNS.map(([n]) => n) as [string, ...string[]],
    });
    return Math.round(lines.length / ((performance.now() - t0) / 1000));
  } finally {
    await c.close();
  }
}

export async function clickhouseRowsPerSec(emit: (o: Record<string, unknown>) => void): Promise<void> {
  const url = process.env.CLICKHOUSE_URL ?? '';
  if (url === '') throw new Error('CLICKHOUSE_URL is not set (make bench starts a ClickHouse server)');
  const dir = mkdtempSync(join(tmpdir(), 'fillstream-bench-audit-'));
  try {
    const intents = join(dir, 'intents.ndjson');
    // Event times of today, as in production: dead letters of lines without a valid ts take the
    // arrival (wall-clock) time, and intents of another month would cut every batch at a month.
    const today = new Date().toISOString().slice(0, 10) + 'T00:00:00Z';
    writeFileSync(intents, [...generateIntents({ count: INTENTS, seed: 3, badRatio: 0.01, duplicateRatio: 0.01, start: today })].join('\n') + '\n');
    // The log is written by a child process: the pipeline's heap would otherwise weigh on the sink's GC.
    const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [cli, 'run', '--data-dir', dir, '--intents', intents, '--until-idle', '--no-audit', '--fsync', 'off'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, CLICKHOUSE_URL: '', REDIS_URL: '' },
    });
    if (run.status !== 0) throw new Error(`fillstream run exited with ${run.status}`);
    // A fresh table: the sink starts at offset 0 and stores every event.
    const c = clickhouseClient(url);
    for (const t of ['audit_events', 'audit_checksums']) await c.command({ query: `DROP TABLE IF EXISTS fillstream.${t}` });
    await c.close();
    await migrate(url);
    const log = await openLogReadOnly(dir);
    const events = await log.scan(
      ALL_TOPICS.filter((t) => t !== TOPICS.intents),
      () => undefined,
    );
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const consumer = consumeInto(log, await openAuditSink({ dataDir: dir, clickhouseUrl: url }));
    while (consumer.lag() > 0 || consumer.busy()) await new Promise((r) => setTimeout(r, 5));
    await consumer.stop();
    await consumer.done;
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const floor = await serverFloor(url, log);
    await log.close();
    emit({
      bench: 'audit',
      clickhouse_rows: events,
      clickhouse_seconds: Math.round(secs * 1000) / 1000,
      clickhouse_rows_per_sec: Math.round(events / secs),
      // The sink process's CPU (all its threads) per row, and the server alone taking the same rows
      // as one INSERT of ready-made lines: the two costs that share this machine's cores.
      clickhouse_sink_cpu_us_per_row: +((cpu.user + cpu.system) / events).toFixed(2),
      clickhouse_server_floor_rows_per_sec: floor,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
