// The journal on current ClickHouse (chdb, in process): the DDL, the embedded file journal read
// with SQL, every documented query, crash-torn files and tamper detection on files.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'chdb';
import { ddlStatements, openEmbeddedSql, verifyJournal } from '../../src/audit/index.js';
import { eventsFile } from '../../src/audit/files.js';
import { CHECKSUM_COLUMNS, EVENT_COLUMNS } from '../../src/audit/columns.js';
import { ALL_TOPICS, TOPICS } from '../../src/domain/events.js';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { cli, requireBuild, ROOT, tempDir } from '../helpers/cli.js';
import { documentedQueries, drainIntoJournal } from '../helpers/clickhouse.js';

let dir: string;
let events = 0;

before(async () => {
  requireBuild();
  dir = join(tempDir('audit-chdb'), 'run');
  const r = cli([
    'run',
    '--data-dir',
    dir,
    '--intents',
    join(ROOT, 'examples/intents.ndjson'),
    '--policy',
    join(ROOT, 'examples/policy.json'),
    '--until-idle',
    '--no-audit',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const log = await openLogReadOnly(dir);
  events = await log.scan(
    ALL_TOPICS.filter((t) => t !== TOPICS.intents),
    () => undefined,
  );
  await log.close();
});

test('the DDL runs on current ClickHouse and its tables have the columns the sink writes', () => {
  const s = new Session();
  try {
    for (const st of ddlStatements()) s.query(st.sql);
    for (const st of ddlStatements()) s.query(st.sql); // idempotent
    const cols = (table: string) =>
      s
        .query(`DESCRIBE TABLE ${table}`, 'JSONEachRow')
        .trim()
        .split('\n')
        .map((l) => {
          const c = JSON.parse(l);
          return [c.name, c.type];
        });
    assert.deepEqual(
      cols('fillstream.audit_events'),
      EVENT_COLUMNS.map(([n, t]) => [n, t]),
    );
    assert.deepEqual(
      cols('fillstream.audit_checksums'),
      CHECKSUM_COLUMNS.map(([n, t]) => [n, t]),
    );
  } finally {
    s.close();
  }
});

test('the embedded journal holds every event exactly once, and every documented query runs on it', async () => {
  await drainIntoJournal({ dataDir: dir });
  await drainIntoJournal({ dataDir: dir }); // a second run stores nothing again
  const db = openEmbeddedSql(dir);
  try {
    const [c] = await db.rows<{ n: string; u: string }>(
      'SELECT toString(count()) AS n, toString(uniqExact(log_topic, log_partition, log_offset)) AS u FROM fillstream.audit_events',
    );
    assert.equal(Number(c.n), events);
    assert.equal(Number(c.u), events);
    const queries = documentedQueries();
    assert.ok(queries.length >= 8, `docs/audit.md has the analyst queries (${queries.length})`);
    for (const q of queries) assert.ok((await db.rows(q)).length > 0, `no rows from:\n${q}`);
    // The sample's known outcomes, through the views.
    const rejects = await db.rows<{ code: string; n: string }>(
      "SELECT code, toString(sum(rejects)) AS n FROM fillstream.rejects WHERE event_type = 'RiskRejected' GROUP BY code ORDER BY code",
    );
    assert.deepEqual(rejects, [
      { code: 'INSTRUMENT_NOT_ALLOWED', n: '22' },
      { code: 'MAX_ORDER_NOTIONAL', n: '42' },
    ]);
    const [o] = await db.rows<{ n: string }>('SELECT toString(count()) AS n FROM fillstream.order_execution');
    // The approved intents' orders (a bare symbol big enough to be cheaper split gives one per venue) and the sample chain's legs.
    assert.equal(o.n, '161', "with the live sample chain's three legs");
    const life = await db.rows<{ event_type: string }>("SELECT event_type FROM fillstream.intent_lifecycle WHERE intent_id = 'sample-1' ORDER BY ts_us, recorded_us, log_offset");
    assert.deepEqual(
      life.slice(0, 3).map((r) => r.event_type),
      ['IntentAccepted', 'RiskApproved', 'OrderRouted'],
    );
  } finally {
    db.close();
  }
  for (const day of ['2026-01-02']) assert.ok((await verifyJournal({ day, dataDir: dir })).ok);
});

test('a torn last line is cut off on restart and the journal resumes without a gap or a duplicate', async () => {
  const file = eventsFile(join(dir, 'audit'), 1);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  // Crash mid-write: the last 5 rows are gone and half of the one before them.
  writeFileSync(file, lines.slice(0, -6).join('\n') + '\n' + lines.at(-6)!.slice(0, 40));
  await drainIntoJournal({ dataDir: dir });
  assert.equal(readFileSync(file, 'utf8'), lines.join('\n') + '\n', 'the same rows, byte for byte');
  assert.ok((await verifyJournal({ day: '2026-01-02', dataDir: dir })).ok);
});

test('audit sql and audit verify through the CLI; verify finds a row changed by hand in the files', async () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/clickhouse/audit-cli.ts'), ...args], { encoding: 'utf8', env: { ...process.env, CLICKHOUSE_URL: '' } });
  const sql = run(['audit', 'sql', 'SELECT count() AS n FROM fillstream.audit_events', '--data-dir', dir, '--json']);
  assert.equal(sql.status, 0, sql.stderr);
  assert.equal(Number(JSON.parse(sql.stdout).n), events);
  const ok = run(['audit', 'verify', '--day', '2026-01-02', '--data-dir', dir, '--json']);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);

  const file = eventsFile(join(dir, 'audit'), 1);
  const before = statSync(file).size;
  const text = readFileSync(file, 'utf8');
  // TabSeparated lines: a row is its columns split on tabs (escapes never hold a raw tab).
  const col = (name: string) => EVENT_COLUMNS.findIndex(([c]) => c === name);
  const lines = text.split('\n');
  const target = lines.findIndex((l) => l.split('\t')[col('event_type')] === 'OrderFilled');
  const fields = lines[target].split('\t');
  const row = { day: fields[col('day')], log_topic: fields[col('log_topic')], log_offset: Number(fields[col('log_offset')]) };
  const edit = (changes: Record<string, string>) => fields.map((f, i) => changes[EVENT_COLUMNS[i][0]] ?? f).join('\t');
  lines[target] = edit({ price: '1' });
  writeFileSync(file, lines.join('\n'));
  const bad = run(['audit', 'verify', '--day', row.day, '--data-dir', dir, '--json']);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  const report = JSON.parse(bad.stdout);
  assert.deepEqual(
    report.findings.map((f: { kind: string; topic: string; offset: number }) => [f.kind, f.topic, f.offset]),
    [['changed', row.log_topic, row.log_offset]],
  );

  // A forged row appended at the end is added, not part of the chain.
  writeFileSync(file, text);
  appendFileSync(file, edit({ log_offset: '1000000', prev_offset: String(row.log_offset) }) + '\n');
  const added = JSON.parse(run(['audit', 'verify', '--day', row.day, '--data-dir', dir, '--json']).stdout);
  assert.ok(
    added.findings.some((f: { kind: string; offset: number }) => f.kind === 'added' && f.offset === 1_000_000),
    JSON.stringify(added.findings),
  );
  writeFileSync(file, text);
  assert.equal(statSync(file).size, before);
});
