// Benchmark of the audit sink into ClickHouse (CLICKHOUSE_URL; `make bench` starts a server): the
// events of a pipeline run on the embedded log, consumed into a fresh journal table, rows/s.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clickhouseClient, migrate, openAuditSink } from '../src/audit/index.js';
import { ALL_TOPICS, TOPICS } from '../src/domain/events.js';
import { openLogReadOnly, runPipeline } from '../src/pipeline/run.js';
import { consumeInto } from '../src/pipeline/sink.js';
import { generateIntents } from '../src/tools/generate.js';

const INTENTS = Number(process.env.BENCH_AUDIT_INTENTS ?? 20_000);

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
    await runPipeline({ dataDir: dir, intents, untilIdle: true, fsync: 'off' });
    // A fresh table: the sink starts at offset 0 and stores every event.
    const c = clickhouseClient(url);
    for (const t of ['audit_events', 'audit_checksums']) await c.command({ query: `DROP TABLE IF EXISTS fillstream.${t}` });
    await c.close();
    await migrate(url);
    const log = await openLogReadOnly(dir);
    const events = await log.scan(ALL_TOPICS.filter((t) => t !== TOPICS.intents), () => undefined);
    const t0 = performance.now();
    const consumer = consumeInto(log, await openAuditSink({ dataDir: dir, clickhouseUrl: url }));
    while (consumer.lag() > 0 || consumer.busy()) await new Promise((r) => setTimeout(r, 5));
    await consumer.stop();
    await consumer.done;
    const secs = (performance.now() - t0) / 1000;
    await log.close();
    emit({ bench: 'audit', clickhouse_rows: events, clickhouse_seconds: Math.round(secs * 1000) / 1000, clickhouse_rows_per_sec: Math.round(events / secs) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
