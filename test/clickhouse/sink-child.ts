// A sink process for the crash tests: consumes a data dir's embedded log (read-only) into the audit
// journal (CLICKHOUSE_URL if given as the second argument, else the data dir's files) until it has
// stored everything, then exits 0. Tests SIGKILL it midway. Usage: sink-child.ts DATA_DIR [URL]
import { openAuditSink } from '../../src/audit/index.js';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { consumeInto } from '../../src/runtime/sink.js';

const [dataDir, url] = process.argv.slice(2);
const log = await openLogReadOnly(dataDir);
const sink = await openAuditSink({ dataDir, clickhouseUrl: url || undefined, maxRows: Number(process.env.AUDIT_MAX_ROWS ?? 10_000) });
const c = consumeInto(log, sink);
for (;;) {
  await new Promise((r) => setTimeout(r, 20));
  if (c.lag() === 0 && !c.busy()) break;
}
await c.stop();
await c.done;
await log.close();
process.stdout.write('done\n');
