// Ad-hoc throughput check of the embedded log; prints JSON.
// usage: node --import tsx test/helpers/log-bench.ts [records=500000] [batch=1000] [fsync=always] [concurrency=1]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openEmbeddedLog, type FsyncMode } from '../../src/log/embedded/index.js';
import type { OutRecord } from '../../src/log/types.js';

const total = Number(process.argv[2] ?? 500_000);
const batch = Number(process.argv[3] ?? 1000);
const fsyncMode = (process.argv[4] ?? 'always') as FsyncMode;
const concurrency = Number(process.argv[5] ?? 1);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fillstream-log-bench-'));
const pad = 'x'.repeat(230); // ~300-byte values

function makeBatch(from: number, n: number): OutRecord[] {
  const out: OutRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = from + i;
    out[i] = {
      topic: id % 3 === 0 ? 'exec.risk' : 'exec.gateway',
      key: `acct-${id % 17}`,
      value: `{"event_id":"e${id}","type":"OrderAcked","account":"acct-${id % 17}","pad":"${pad}"}`,
    };
  }
  return out;
}

const log = await openEmbeddedLog({ dir, fsync: fsyncMode });
// Batches are built on the fly (a realistic heap); building is synchronous, so its time is
// measured and subtracted from the wall time.
let sent = 0;
let buildNs = 0n;
const t0 = process.hrtime.bigint();
async function worker(): Promise<void> {
  while (sent < total) {
    const b0 = process.hrtime.bigint();
    const n = Math.min(batch, total - sent);
    const b = makeBatch(sent, n);
    sent += n;
    buildNs += process.hrtime.bigint() - b0;
    await log.append(b);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const t1 = process.hrtime.bigint() - buildNs;
const stats = log.stats();
await log.close();

// Reopen: recovery time, then a cold-window scan (records come from disk).
const t2 = process.hrtime.bigint();
const log2 = await openEmbeddedLog({ dir, fsync: 'off' });
const t3 = process.hrtime.bigint();
let bytes = 0;
const t4 = process.hrtime.bigint();
const scanned = await log2.scan(['exec.risk', 'exec.gateway'], (r) => {
  bytes += r.value.length;
});
const t5 = process.hrtime.bigint();
const half = await log2.scan(['exec.risk'], () => undefined);
const t6 = process.hrtime.bigint();
const again = await log2.scan(['exec.risk', 'exec.gateway'], () => undefined);
const t6b = process.hrtime.bigint();
let readN = 0;
const t7 = process.hrtime.bigint();
for (let o = 0; o < log2.endOffsetNow('exec.gateway', 0); o += 1000) readN += (await log2.read('exec.gateway', 0, o, 1000)).length;
const t8 = process.hrtime.bigint();
await log2.close();
fs.rmSync(dir, { recursive: true, force: true });

const s = (a: bigint, b: bigint): number => Number(b - a) / 1e9;
console.log(
  JSON.stringify(
    {
      fsync: fsyncMode,
      batch,
      concurrency,
      records: total,
      journal_mb: +(stats.bytes / 1048576).toFixed(1),
      append_records_per_s: Math.round(total / s(t0, t1)),
      open_recover_s: +s(t2, t3).toFixed(3),
      open_records_per_s: Math.round(total / s(t2, t3)),
      scan_records_per_s: Math.round(scanned / s(t4, t5)),
      scan_mb_per_s: Math.round(stats.bytes / 1048576 / s(t4, t5)),
      scan_one_topic_records_per_s: Math.round(half / s(t5, t6)),
      scan_again_records_per_s: Math.round(again / s(t6, t6b)),
      disk_read_records_per_s: Math.round(readN / s(t7, t8)),
      value_bytes: bytes,
    },
    null,
    0,
  ),
);
