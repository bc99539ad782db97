// The audit sink against a real ClickHouse 18.16 (CLICKHOUSE_URL): 100,000+ events exactly once,
// a sink SIGKILLed midway and restarted, the server stopped and restarted under the sink, and
// verify finding rows changed or deleted by hand.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clickhouseClient, migrate, verifyJournal } from '../../src/audit/index.js';
import { ALL_TOPICS, TOPICS } from '../../src/domain/events.js';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { cli, requireBuild, ROOT, tempDir, writeIntents } from '../helpers/cli.js';
import { clickhouseUrl, documentedQueries, drainIntoJournal, OwnClickHouse } from '../helpers/clickhouse.js';

let dir: string;
/** Next offset per "topic/partition" in the log: what the journal must hold. */
const expected = new Map<string, number>();
let events = 0;
let days: string[] = [];

const q = async <T = Record<string, string>>(url: string, sql: string): Promise<T[]> => {
  const c = clickhouseClient(url);
  try {
    return await (await c.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  } finally {
    await c.close();
  }
};
const run = async (url: string, sql: string) => {
  const c = clickhouseClient(url);
  try {
    await c.command({ query: sql });
  } finally {
    await c.close();
  }
};

async function reset(url: string): Promise<void> {
  for (const t of ['audit_events', 'audit_checksums']) await run(url, `DROP TABLE IF EXISTS fillstream.${t}`);
  await migrate(url);
}

/** Every log record is in the journal exactly once: per partition, count and max offset match. */
async function assertExactlyOnce(url: string): Promise<void> {
  const rows = await q<{ t: string; p: number; n: string; u: string; hi: string }>(
    url,
    'SELECT log_topic AS t, log_partition AS p, toString(count()) AS n, toString(uniqExact(log_offset)) AS u, toString(max(log_offset)) AS hi FROM fillstream.audit_events GROUP BY t, p',
  );
  const got = new Map(rows.map((r) => [`${r.t}/${r.p}`, r]));
  assert.equal(got.size, expected.size, 'the same partitions');
  for (const [k, next] of expected) {
    const r = got.get(k);
    assert.ok(r, `partition ${k} is in the journal`);
    assert.equal(Number(r.u), Number(r.n), `${k}: no offset twice`);
    assert.equal(Number(r.n), next, `${k}: every record once (the embedded log's offsets are dense)`);
    assert.equal(Number(r.hi), next - 1);
  }
}

before(async () => {
  requireBuild();
  clickhouseUrl();
  const work = tempDir('audit-ch');
  dir = join(work, 'run');
  const intents = writeIntents(work, { count: 23_000, seed: 5, badRatio: 0.01, duplicateRatio: 0.01 });
  // The bundled sample's chains too, so the chain reports have rows.
  const sampleChains = readFileSync(join(ROOT, 'examples/intents.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"chain"'));
  assert.equal(sampleChains.length, 2);
  appendFileSync(intents, sampleChains.join('\n') + '\n');
  const r = cli(['run', '--data-dir', dir, '--intents', intents, '--until-idle', '--fsync', 'off', '--no-audit', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const log = await openLogReadOnly(dir);
  const daySet = new Set<string>();
  events = await log.scan(
    ALL_TOPICS.filter((t) => t !== TOPICS.intents),
    (rec) => {
      const k = `${rec.topic}/${rec.partition}`;
      expected.set(k, Math.max(expected.get(k) ?? 0, rec.offset + 1));
      daySet.add(JSON.parse(rec.value.toString()).ts.slice(0, 10));
    },
  );
  await log.close();
  days = [...daySet].sort();
  assert.ok(events >= 100_000, `at least 100,000 events (${events})`);
});

test('100,000+ events into ClickHouse 18.16: each exactly once, every day verifies, every documented query runs', async () => {
  const url = clickhouseUrl();
  await reset(url);
  const t0 = performance.now();
  await drainIntoJournal({ dataDir: dir, clickhouseUrl: url });
  const secs = (performance.now() - t0) / 1000;
  console.log(`# ${events} events in ${secs.toFixed(2)} s: ${Math.round(events / secs)} rows/s`);
  await assertExactlyOnce(url);
  await drainIntoJournal({ dataDir: dir, clickhouseUrl: url }); // resumes at the end: nothing twice
  await assertExactlyOnce(url);
  for (const day of days) {
    const r = await verifyJournal({ day, dataDir: dir, clickhouseUrl: url });
    assert.ok(r.ok, `${day}: ${JSON.stringify(r.findings.slice(0, 5))}`);
  }
  // The docs look up the bundled sample's intent 'sample-1'; here an intent of this run.
  const [{ id }] = await q<{ id: string }>(url, "SELECT any(intent_id) AS id FROM fillstream.audit_events WHERE event_type = 'OrderFilled'");
  for (const sql of documentedQueries()) assert.ok((await q(url, sql.replace("'sample-1'", `'${id}'`))).length > 0, `no rows from:\n${sql}`);
});

test('a sink SIGKILLed mid-stream and restarted leaves no duplicate and no gap', async () => {
  const url = clickhouseUrl();
  await reset(url);
  const child = (env: Record<string, string> = {}) =>
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/clickhouse/sink-child.ts'), dir, url], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const first = child({ AUDIT_MAX_ROWS: '1000' });
  const exited = new Promise((r) => first.once('exit', r));
  for (;;) {
    const [c] = await q<{ n: string }>(url, 'SELECT toString(count()) AS n FROM fillstream.audit_events');
    if (Number(c.n) >= 20_000) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  first.kill('SIGKILL');
  await exited;
  const [mid] = await q<{ n: string }>(url, 'SELECT toString(count()) AS n FROM fillstream.audit_events');
  assert.ok(Number(mid.n) < events, `killed before the end (${mid.n} of ${events})`);
  const second = child();
  let out = '';
  second.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => second.once('exit', r));
  assert.equal(code, 0);
  assert.match(out, /done/);
  await assertExactlyOnce(url);
  for (const day of days) assert.ok((await verifyJournal({ day, dataDir: dir, clickhouseUrl: url })).ok, day);
});

test('ClickHouse stopped and restarted under the sink: it waits, resumes and loses nothing', async (t) => {
  const ch = new OwnClickHouse();
  t.after(() => ch.stop());
  await ch.start();
  await migrate(ch.url);
  let retries = 0;
  const done = drainIntoJournal({ dataDir: dir, clickhouseUrl: ch.url, maxRows: 1000, onRetry: () => retries++ });
  for (;;) {
    const [c] = await q<{ n: string }>(ch.url, 'SELECT toString(count()) AS n FROM fillstream.audit_events');
    if (Number(c.n) >= 10_000) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await ch.stop('SIGKILL');
  // Down until the sink has run into the outage (and waited through a few back-offs).
  const down = Date.now();
  while (retries < 3 && Date.now() - down < 60_000) await new Promise((r) => setTimeout(r, 50));
  await ch.start();
  await done;
  assert.ok(retries > 0, 'the sink saw the outage');
  await assertExactlyOnce(ch.url);
  for (const day of days) assert.ok((await verifyJournal({ day, dataDir: dir, clickhouseUrl: ch.url })).ok, day);
});

async function mutate(url: string, sql: string): Promise<void> {
  await run(url, sql);
  // 18.16 runs ALTER ... UPDATE/DELETE as background mutations.
  for (;;) {
    const [m] = await q<{ n: string }>(url, "SELECT toString(count()) AS n FROM system.mutations WHERE database = 'fillstream' AND is_done = 0");
    if (m.n === '0') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('verify passes on an intact day and names a row altered, deleted or forged by hand', async () => {
  const url = clickhouseUrl();
  await assertExactlyOnce(url); // the journal the previous test completed
  const [victim] = await q<{ day: string; log_topic: string; log_partition: number; log_offset: string }>(
    url,
    "SELECT toString(day) AS day, log_topic, log_partition, toString(log_offset) AS log_offset FROM fillstream.audit_events WHERE event_type = 'OrderFilled' ORDER BY log_offset LIMIT 1 OFFSET 500",
  );
  const at = `log_topic = '${victim.log_topic}' AND log_partition = ${victim.log_partition} AND log_offset = ${victim.log_offset}`;
  assert.ok((await verifyJournal({ day: victim.day, dataDir: dir, clickhouseUrl: url })).ok);

  await mutate(url, `ALTER TABLE fillstream.audit_events UPDATE price = '1' WHERE ${at}`);
  const changed = await verifyJournal({ day: victim.day, dataDir: dir, clickhouseUrl: url });
  assert.deepEqual(
    changed.findings.map((f) => [f.kind, f.topic, f.offset]),
    [['changed', victim.log_topic, Number(victim.log_offset)]],
  );

  await mutate(url, `ALTER TABLE fillstream.audit_events DELETE WHERE ${at}`);
  const missing = await verifyJournal({ day: victim.day, dataDir: dir, clickhouseUrl: url });
  assert.equal(missing.ok, false);
  assert.ok(
    missing.findings.some((f) => f.kind === 'missing' && f.offset === Number(victim.log_offset)),
    JSON.stringify(missing.findings),
  );

  // Put a copy back with a new offset past the end: a row no checksum accounts for.
  await run(
    url,
    `INSERT INTO fillstream.audit_events SELECT * FROM fillstream.audit_events WHERE log_topic = '${victim.log_topic}' AND log_partition = ${victim.log_partition} AND log_offset = ${Number(victim.log_offset) + 1}`,
  );
  const dup = await verifyJournal({ day: victim.day, dataDir: dir, clickhouseUrl: url });
  assert.ok(
    dup.findings.some((f) => f.kind === 'added' && f.offset === Number(victim.log_offset) + 1),
    JSON.stringify(dup.findings),
  );
});
