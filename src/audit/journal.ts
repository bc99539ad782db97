// The journal's chain state, pure: where each (topic, partition) chain ends, and the daily
// checksum of each (day, topic, partition). Both stores (ClickHouse, files) drive this same code.
import type { LogRecord } from '../log/types.js';
import { journalRow, payloadText } from './row.js';
import { type ChecksumRow } from './columns.js';
import { lastTextPlain } from './pick.js';
import { encodeRow, LineWriter, type RowText } from './tsv.js';

export interface ChainHead {
  log_topic: string;
  log_partition: number;
  /** Offset of the last stored row; -1 when none. */
  last_offset: number;
  head: string;
}

/** Map key of a log partition, and of a daily checksum (day, partition): one spelling everywhere. */
export const pkey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
export const dkey = (day: string, topic: string, partition: number): string => `${day}\u0000${topic}\u0000${partition}`;
export const checksumKey = (c: ChecksumRow): string => dkey(c.day, c.log_topic, c.log_partition);

const known: RowText = { plain: false, ascii: false };
const TOPIC_NAME = /^[A-Za-z0-9._-]*$/;

/**
 * A row as the sink holds it until stored: its encoded line (every column, row_hash included) and
 * the few columns that positions, cuts and checksums need. The full row object is garbage at once:
 * only these few fields and the line's bytes (outside the JS heap) live until the INSERT.
 */
export interface StagedRow {
  day: string;
  log_topic: string;
  log_partition: number;
  log_offset: number;
  row_hash: string;
  /** The row's TabSeparated line, newline included. */
  line: Buffer;
}

/**
 * The next row of a chain, hashed and encoded: pure, so the same records always give the same
 * rows and hashes. `w` only supplies the bytes the line is written into.
 */
export function chainRow(r: LogRecord, prev: { last_offset: number; head: string }, w: LineWriter): StagedRow {
  const payload = payloadText(r);
  const row = journalRow(r, payload.text, prev);
  // Topic names are [a-zA-Z0-9._-] by rule (Kafka's, and the embedded log's are fillstream's).
  known.ascii = payload.ascii && TOPIC_NAME.test(r.topic);
  known.plain = lastTextPlain() && known.ascii;
  const enc = encodeRow(row, w, known);
  return { day: row.day, log_topic: r.topic, log_partition: r.partition, log_offset: r.offset, row_hash: enc.hash, line: enc.line };
}

/** The rows' lines, in order: the bytes both stores write (an INSERT body, a file's append). */
export const linesOf = (rows: readonly StagedRow[]): Buffer => Buffer.concat(rows.map((r) => r.line));

export class JournalState {
  /** Where rows handed out so far end (ahead of what is stored while a batch is in flight). */
  private readonly building = new Map<string, ChainHead>();
  /** Where stored rows end. */
  private readonly stored = new Map<string, ChainHead>();
  private readonly days = new Map<string, ChecksumRow>();
  private readonly lines = new LineWriter();

  constructor(heads: ChainHead[] = [], checksums: ChecksumRow[] = []) {
    for (const h of heads) {
      this.stored.set(pkey(h.log_topic, h.log_partition), { ...h });
      this.building.set(pkey(h.log_topic, h.log_partition), { ...h });
    }
    for (const c of checksums) this.days.set(dkey(c.day, c.log_topic, c.log_partition), { ...c });
  }

  /** Next offset to store for a partition: one past the last stored row. */
  next(topic: string, partition: number): number {
    return (this.stored.get(pkey(topic, partition))?.last_offset ?? -1) + 1;
  }

  heads(): ChainHead[] {
    return [...this.stored.values()].map((h) => ({ ...h }));
  }

  checksums(): ChecksumRow[] {
    return [...this.days.values()].map((c) => ({ ...c }));
  }

  /** The row for a record; undefined when the record is at or before what the chain already holds. */
  append(r: LogRecord): StagedRow | undefined {
    const k = pkey(r.topic, r.partition);
    const h = this.building.get(k) ?? { log_topic: r.topic, log_partition: r.partition, last_offset: -1, head: '' };
    if (r.offset <= h.last_offset) return undefined;
    const row = chainRow(r, h, this.lines);
    this.building.set(k, { log_topic: r.topic, log_partition: r.partition, last_offset: r.offset, head: row.row_hash });
    return row;
  }

  /**
   * Rows are now stored (in this order): advance the stored heads and the daily checksums; returns
   * the checksum rows that changed, to store beside the journal.
   */
  applyStored(rows: readonly Pick<StagedRow, 'day' | 'log_topic' | 'log_partition' | 'log_offset' | 'row_hash'>[]): ChecksumRow[] {
    const touched = new Map<string, ChecksumRow>();
    for (const r of rows) {
      this.stored.set(pkey(r.log_topic, r.log_partition), { log_topic: r.log_topic, log_partition: r.log_partition, last_offset: r.log_offset, head: r.row_hash });
      const k = dkey(r.day, r.log_topic, r.log_partition);
      const c = this.days.get(k) ?? {
        day: r.day,
        log_topic: r.log_topic,
        log_partition: r.log_partition,
        row_count: 0,
        first_offset: r.log_offset,
        last_offset: r.log_offset,
        head: '',
      };
      c.row_count += 1;
      c.last_offset = r.log_offset;
      c.head = r.row_hash;
      this.days.set(k, c);
      touched.set(k, c);
    }
    return [...touched.values()].map((c) => ({ ...c }));
  }

  /** Forget rows handed out but not stored (after a reload, or dropping a failed batch). */
  rewind(): void {
    this.building.clear();
    for (const [k, h] of this.stored) this.building.set(k, { ...h });
  }
}

/** Table partition of a row: the month of its event day (PARTITION BY toYYYYMM(day)). */
export const tablePartition = (r: { day: string }): string => r.day.slice(0, 7);

/**
 * Cuts rows (in log order) into INSERTs, each within one table partition and under the size limits:
 * each INSERT is one part, stored or not as a whole. Every cut takes the next rows of each
 * (topic, partition) in order, so whatever is stored is always a prefix of each: positions read back
 * stay exact. Rows of another month wait for a later cut without holding back the other partitions.
 */
export function cutBatches(rows: readonly StagedRow[], maxRows: number, maxBytes: number): StagedRow[][] {
  const out: StagedRow[][] = [];
  let rest = rows;
  while (rest.length > 0) {
    const month = tablePartition(rest[0]);
    const blocked = new Set<string>();
    const cut: StagedRow[] = [];
    const left: StagedRow[] = [];
    let bytes = 0;
    for (const r of rest) {
      const k = pkey(r.log_topic, r.log_partition);
      const size = r.line.length;
      if (blocked.has(k) || tablePartition(r) !== month || cut.length >= maxRows || (cut.length > 0 && bytes + size > maxBytes)) {
        blocked.add(k);
        left.push(r);
      } else {
        cut.push(r);
        bytes += size;
      }
    }
    out.push(cut);
    rest = left;
  }
  return out;
}
