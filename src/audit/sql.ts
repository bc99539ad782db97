// The SQL both stores answer (ClickHouse over HTTP, chdb over the journal files): reading back
// chain heads and checksums, and fetching what verification needs. Literals are inlined and
// escaped: 18.16 has no query parameters.
import type { ChainHead } from './journal.js';
import type { ChecksumRow, JournalRow } from './columns.js';

export interface SqlRunner {
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
}

export const EVENTS_TABLE = 'fillstream.audit_events';
export const CHECKSUMS_TABLE = 'fillstream.audit_checksums';

export const sqlString = (s: string): string => "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
const int = (n: number): string => {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not an integer: ${n}`);
  return String(n);
};

/** A checksum row as both checksum queries name its columns (64-bit integers as text). */
interface ChecksumText {
  d: string;
  t: string;
  p: number | string;
  n: string;
  lo: string;
  hi: string;
  h: string;
}

const checksumOf = (r: ChecksumText): ChecksumRow => ({
  day: r.d,
  log_topic: r.t,
  log_partition: Number(r.p),
  row_count: Number(r.n),
  first_offset: Number(r.lo),
  last_offset: Number(r.hi),
  head: r.h,
});

export async function readHeads(q: SqlRunner): Promise<ChainHead[]> {
  const rows = await q.rows<{ t: string; p: number | string; o: string; h: string }>(
    `SELECT log_topic AS t, log_partition AS p, toString(max(log_offset)) AS o, argMax(row_hash, log_offset) AS h FROM ${EVENTS_TABLE} GROUP BY log_topic, log_partition`,
  );
  return rows.map((r) => ({ log_topic: r.t, log_partition: Number(r.p), last_offset: Number(r.o), head: r.h }));
}

/** The newest checksum per (day, topic, partition); `where` narrows it (e.g. one day). */
export async function readChecksums(q: SqlRunner, where = '1'): Promise<ChecksumRow[]> {
  const rows = await q.rows<ChecksumText>(
    `SELECT toString(day) AS d, log_topic AS t, log_partition AS p, toString(argMax(row_count, last_offset)) AS n,
       toString(argMax(first_offset, last_offset)) AS lo, toString(max(last_offset)) AS hi, argMax(head, last_offset) AS h
     FROM ${CHECKSUMS_TABLE} WHERE ${where} GROUP BY day, log_topic, log_partition`,
  );
  return rows.map(checksumOf);
}

/**
 * Checksums recomputed from the journal for the days of each partition holding rows past `after`
 * (offset per partition): after a crash between a journal INSERT and its checksum INSERT.
 */
export async function recomputeChecksums(q: SqlRunner, after: { topic: string; partition: number; offset: number }[]): Promise<ChecksumRow[]> {
  if (after.length === 0) return [];
  const cond = after.map((a) => `(log_topic = ${sqlString(a.topic)} AND log_partition = ${int(a.partition)} AND log_offset > ${int(a.offset)})`).join(' OR ');
  const rows = await q.rows<ChecksumText>(
    `SELECT toString(day) AS d, log_topic AS t, log_partition AS p, toString(count()) AS n, toString(min(log_offset)) AS lo,
       toString(max(log_offset)) AS hi, argMax(row_hash, log_offset) AS h
     FROM ${EVENTS_TABLE}
     WHERE (log_topic, log_partition, day) IN (SELECT log_topic, log_partition, day FROM ${EVENTS_TABLE} WHERE ${cond})
     GROUP BY day, log_topic, log_partition`,
  );
  return rows.map(checksumOf);
}

/** A row as the store returns it (64-bit integers as text) with numbers back in place. */
export function journalRowOf(r: Record<string, unknown>): JournalRow {
  return {
    ...(r as unknown as JournalRow),
    day: String(r.day),
    ts_us: Number(r.ts_us),
    recorded_us: Number(r.recorded_us),
    log_partition: Number(r.log_partition),
    log_offset: Number(r.log_offset),
    prev_offset: Number(r.prev_offset),
  };
}

/** What verifyDay needs for one day, fetched from a store. */
export async function fetchDay(q: SqlRunner, day: string): Promise<{ rows: JournalRow[]; predecessors: JournalRow[]; checksums: ChecksumRow[] }> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`--day must be YYYY-MM-DD, got ${day}`);
  const checksums = await readChecksums(q, `day = toDate(${sqlString(day)})`);
  const ranges = checksums.map(
    (c) => `(log_topic = ${sqlString(c.log_topic)} AND log_partition = ${int(c.log_partition)} AND log_offset >= ${int(c.first_offset)} AND log_offset <= ${int(c.last_offset)})`,
  );
  const rows = (await q.rows(`SELECT * FROM ${EVENTS_TABLE} WHERE day = toDate(${sqlString(day)})${ranges.map((r) => ' OR ' + r).join('')}`)).map(journalRowOf);
  const have = new Set(rows.map((r) => `${r.log_topic}\u0000${r.log_partition}\u0000${r.log_offset}`));
  const want = new Map<string, string>();
  for (const r of rows) {
    if (r.prev_offset < 0) continue;
    const k = `${r.log_topic}\u0000${r.log_partition}\u0000${r.prev_offset}`;
    if (!have.has(k)) want.set(k, `(${sqlString(r.log_topic)}, ${int(r.log_partition)}, ${int(r.prev_offset)})`);
  }
  const predecessors: JournalRow[] = [];
  const tuples = [...want.values()];
  for (let i = 0; i < tuples.length; i += 1000) {
    const part = tuples.slice(i, i + 1000).join(', ');
    for (const r of await q.rows(`SELECT * FROM ${EVENTS_TABLE} WHERE (log_topic, log_partition, log_offset) IN (${part})`)) predecessors.push(journalRowOf(r));
  }
  return { rows, predecessors, checksums };
}
