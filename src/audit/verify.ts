// Verification of one day of the journal, pure: given the rows the store returned and the daily
// checksums, report every row changed, missing or added. The store adapter only fetches.
import { pkey } from './journal.js';
import { rowHash } from './row.js';
import { type ChecksumRow, type JournalRow } from './columns.js';

export type FindingKind = 'changed' | 'missing' | 'added';

export interface Finding {
  kind: FindingKind;
  topic: string;
  partition: number;
  /** The row concerned; null when only a count tells (no single row to name). */
  offset: number | null;
  detail: string;
}

export interface VerifyInput {
  day: string;
  /** Rows of the day, plus every row (any day) inside each checksum's [first_offset, last_offset]. */
  rows: readonly JournalRow[];
  /** Rows the first rows link back to, outside those ranges (lookup only). */
  predecessors: readonly JournalRow[];
  /** The newest checksum row per (topic, partition) of the day. */
  checksums: readonly ChecksumRow[];
}

export interface VerifyReport {
  day: string;
  ok: boolean;
  partitions: number;
  rows: number;
  findings: Finding[];
}

export function verifyDay(input: VerifyInput): VerifyReport {
  const findings: Finding[] = [];
  const groups = new Map<string, { topic: string; partition: number; rows: JournalRow[]; preds: Map<number, JournalRow>; sum?: ChecksumRow }>();
  const group = (topic: string, partition: number) => {
    const k = pkey(topic, partition);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { topic, partition, rows: [], preds: new Map() }));
    return g;
  };
  for (const r of input.rows) group(r.log_topic, r.log_partition).rows.push(r);
  for (const r of input.predecessors) group(r.log_topic, r.log_partition).preds.set(r.log_offset, r);
  for (const c of input.checksums) group(c.log_topic, c.log_partition).sum = c;
  let dayRows = 0;
  for (const g of [...groups.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))) {
    const before = findings.length;
    const add = (kind: FindingKind, offset: number | null, detail: string) => findings.push({ kind, topic: g.topic, partition: g.partition, offset, detail });
    // One row per offset: an intact copy wins, any other copy is not part of the chain.
    const byOffset = new Map<number, JournalRow>();
    for (const r of [...g.rows].sort((a, b) => a.log_offset - b.log_offset)) {
      const have = byOffset.get(r.log_offset);
      if (!have) byOffset.set(r.log_offset, r);
      else if (!intact(have) && intact(r)) {
        byOffset.set(r.log_offset, r);
        add('added', have.log_offset, 'a second row with this offset, not in the chain');
      } else add('added', r.log_offset, 'a second row with this offset, not in the chain');
    }
    const rows = [...byOffset.values()];
    dayRows += rows.filter((r) => r.day === input.day).length;
    for (const r of rows) if (!intact(r)) add('changed', r.log_offset, "the row's content does not match its hash");
    const lookup = (o: number) => byOffset.get(o) ?? g.preds.get(o);
    const sum = g.sum;
    if (!sum) {
      for (const r of rows) if (r.day === input.day) add('added', r.log_offset, 'no daily checksum covers this partition on this day');
      continue;
    }
    const inRange = rows.filter((r) => r.log_offset >= sum.first_offset && r.log_offset <= sum.last_offset);
    for (const r of rows) {
      if (r.day === input.day && (r.log_offset < sum.first_offset || r.log_offset > sum.last_offset)) {
        add('added', r.log_offset, `outside the day's checksummed range ${sum.first_offset}..${sum.last_offset}`);
      }
    }
    if (inRange.length === 0) {
      add('missing', sum.first_offset, `no rows at all in the checksummed range ${sum.first_offset}..${sum.last_offset}`);
      continue;
    }
    // Walk the chain in offset order; a row nobody links to was added, a link to nowhere is a gap.
    const link = (to: JournalRow, from: JournalRow) => {
      if (to.row_hash !== from.prev_hash) add('changed', to.log_offset, `row ${from.log_offset} links to a different hash`);
    };
    const first = inRange[0];
    if (first.log_offset !== sum.first_offset) add('missing', sum.first_offset, "the day's first row is gone");
    else if (first.prev_offset < 0) {
      if (first.prev_hash !== '') add('changed', first.log_offset, 'a first row with a previous hash');
    } else {
      const p = lookup(first.prev_offset);
      if (!p) add('missing', first.prev_offset, `row ${first.log_offset} links to it`);
      else link(p, first);
    }
    const chain: JournalRow[] = [first];
    for (const b of inRange.slice(1)) {
      const top = chain[chain.length - 1];
      if (b.prev_offset < top.log_offset) {
        while (chain.length > 0 && chain[chain.length - 1].log_offset > b.prev_offset) {
          add('added', chain.pop()!.log_offset, `not in the chain: row ${b.log_offset} links past it`);
        }
        const p = lookup(b.prev_offset);
        if (!p) add('missing', b.prev_offset, `row ${b.log_offset} links to it`);
        else link(p, b);
      } else if (b.prev_offset > top.log_offset) {
        add('missing', b.prev_offset, `row ${b.log_offset} links to it`);
      } else link(top, b);
      chain.push(b);
    }
    const last = byOffset.get(sum.last_offset);
    if (!last) add('missing', sum.last_offset, "the day's last row is gone");
    else if (last.row_hash !== sum.head) add('changed', sum.last_offset, "the chain head differs from the day's checksum");
    const counted = chain.filter((r) => r.day === input.day).length;
    if (findings.length === before && counted !== sum.row_count) {
      add(counted < sum.row_count ? 'missing' : 'added', null, `${counted} rows on this day, the checksum counts ${sum.row_count}`);
    }
  }
  return { day: input.day, ok: findings.length === 0, partitions: groups.size, rows: dayRows, findings };
}

function intact(r: JournalRow): boolean {
  return rowHash(r) === r.row_hash;
}
