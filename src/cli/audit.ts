// `fillstream audit ...`: apply the journal's DDL, verify a day's tamper evidence, run analysts' SQL.
import { type Command, Option } from 'commander';
import { catchUpJournal, type CatchUp } from '../assembly/journal.js';
import { clickhouseClient, migrate, openEmbeddedSql, verifyJournal, type VerifyReport } from '../audit/index.js';
import { busOption, DEFAULT_DATA_DIR, openReadLog } from './options.js';

const urlOption = (what: string) => new Option('--url <url>', `ClickHouse HTTP URL (default: env CLICKHOUSE_URL); ${what}`).default(process.env.CLICKHOUSE_URL || undefined);
const dataDirOption = () =>
  new Option('--data-dir <dir>', 'data dir whose audit/ files hold the journal, built from its log (or the Kafka topics) on demand').default(DEFAULT_DATA_DIR);

function renderReport(r: VerifyReport): string {
  const lines = [`audit verify ${r.day}: ${r.ok ? 'OK' : 'FAILED'} (${r.rows} rows of the day, ${r.partitions} partitions)`];
  for (const f of r.findings) lines.push(`  ${f.kind.padEnd(7)} ${f.topic}/${f.partition}${f.offset === null ? '' : '/' + f.offset}  ${f.detail}`);
  return lines.join('\n');
}

/**
 * Brings the data dir's journal files up to the end of the log (the data dir's, or the Kafka topics
 * with --bus kafka), with a progress line on a terminal.
 */
async function catchUp(o: { dataDir: string; bus: string }): Promise<CatchUp> {
  const log = await openReadLog(o);
  const tty = process.stderr.isTTY;
  try {
    const done = await catchUpJournal(
      log,
      { dataDir: o.dataDir },
      tty ? (n) => process.stderr.write(`\raudit: journaling the log: ${n.toLocaleString('en-US')} events   `) : undefined,
    );
    if (tty) process.stderr.write('\r\x1b[K');
    return done;
  } finally {
    await log.close();
  }
}

/**
 * catchUp before reading the files: when the journal cannot follow the log (a row added by hand
 * beyond the log's end, say), what it holds is still read, after a warning, so verify can report it.
 */
async function catchUpBeforeReading(o: { dataDir: string; bus: string }): Promise<void> {
  try {
    await catchUp(o);
  } catch (e) {
    process.stderr.write(`fillstream: warning: the journal could not be brought up to the log (${e instanceof Error ? e.message : String(e)}); reading what it holds\n`);
  }
}

export function registerAuditCommands(program: Command): Command {
  const audit = program.command('audit').description('the immutable audit journal (ClickHouse when CLICKHOUSE_URL is set, else files in the data dir)');

  audit
    .command('migrate')
    .description('create the journal tables and analyst views on a ClickHouse server (infra/clickhouse/*.sql, idempotent)')
    .addOption(urlOption('required'))
    .option('--json', 'print JSON')
    .action(async (o: { url?: string; json?: boolean }) => {
      if (!o.url) throw new Error('no ClickHouse URL: pass --url or set CLICKHOUSE_URL, e.g. http://127.0.0.1:8123');
      const done = await migrate(o.url);
      if (o.json) console.log(JSON.stringify({ url: o.url, statements: done.length }));
      else console.log(done.join('\n'));
    });

  audit
    .command('catch-up')
    .description('journal every event of the log that the data dir files do not hold yet (audit sql and verify do this first)')
    .addOption(dataDirOption())
    .addOption(busOption())
    .option('--json', 'print JSON')
    .action(async (o: { dataDir: string; bus: string; json?: boolean }) => {
      const done = await catchUp(o);
      const rate = Math.round(done.events / Math.max(done.seconds, 1e-3));
      if (o.json) console.log(JSON.stringify({ events: done.events, seconds: Number(done.seconds.toFixed(3)), events_per_sec: rate }));
      else console.log(`audit: journaled ${done.events.toLocaleString('en-US')} events in ${done.seconds.toFixed(1)} s (${rate.toLocaleString('en-US')}/s)`);
    });

  audit
    .command('verify')
    .description('check one day of the journal against its hash chain and daily checksums; exits 1 on any row changed, missing or added')
    .requiredOption('--day <day>', 'YYYY-MM-DD (event day, UTC)')
    .addOption(urlOption('without it, the data dir files'))
    .addOption(dataDirOption())
    .addOption(busOption())
    .option('--json', 'print JSON')
    .action(async (o: { day: string; url?: string; dataDir: string; bus: string; json?: boolean }) => {
      if (!o.url) await catchUpBeforeReading(o);
      const report = await verifyJournal({ day: o.day, dataDir: o.dataDir, clickhouseUrl: o.url });
      console.log(o.json ? JSON.stringify(report) : renderReport(report));
      if (!report.ok) process.exitCode = 1;
    });

  audit
    .command('sql')
    .description('run ClickHouse SQL over the journal: the data dir files through chdb, or a server with --url')
    .argument('<sql>', 'one statement, e.g. "SELECT * FROM fillstream.rejects"')
    .addOption(dataDirOption())
    .addOption(busOption())
    .option('--url <url>', 'run on this ClickHouse server instead of the files')
    .option('--format <format>', 'ClickHouse output format (default PrettyCompactMonoBlock, or JSONEachRow with --json)')
    .option('--json', 'print JSON lines (JSONEachRow)')
    .action(async (sql: string, o: { dataDir: string; bus: string; url?: string; format?: string; json?: boolean }) => {
      const format: string = o.format ?? (o.json ? 'JSONEachRow' : o.url ? 'TabSeparatedWithNames' : 'PrettyCompactMonoBlock');
      if (o.url) {
        const client = clickhouseClient(o.url);
        try {
          const rs = await client.query({ query: sql, format: format as 'JSONEachRow' });
          process.stdout.write(await rs.text());
        } finally {
          await client.close();
        }
        return;
      }
      await catchUpBeforeReading(o);
      const db = openEmbeddedSql(o.dataDir);
      try {
        process.stdout.write(db.query(sql, format));
      } finally {
        db.close();
      }
    });
  return audit;
}
