// A journal row as one line of ClickHouse's TabSeparated format, written straight into shared
// byte chunks: the INSERT body and the bytes the row hash covers are one and the same, so the sink
// neither builds per-row JSON nor hashes a second rendering of the row. ClickHouse parses this
// format about as fast as RowBinary, and the client streams it as a raw format.
import { hash } from 'node:crypto';
import type { JournalRow } from './columns.js';

const TAB = 0x09;
const LF = 0x0a;

/** Bump allocation in chunks: lines are views of a chunk, which lives while any line of it does. */
export class LineWriter {
  buf: Buffer;
  pos = 0;

  constructor(private readonly chunkBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** Where `bytes` more fit: at pos, or at the start of a new chunk. */
  reserve(bytes: number): number {
    if (this.pos + bytes > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(this.chunkBytes, bytes));
      this.pos = 0;
    }
    return this.pos;
  }
}

export interface EncodedRow {
  /** sha256 (hex) of the line up to, not including, the tab before row_hash. */
  hash: string;
  /** The whole line, row_hash and newline included (a view into the writer's chunk). */
  line: Buffer;
}

const out: EncodedRow = { hash: '', line: Buffer.alloc(0) };

// Buffer's own writers: write(string, offset, encoding) spends longer checking its arguments than
// copying a short line.
interface Writers {
  latin1Write(s: string, offset: number): number;
  utf8Write(s: string, offset: number): number;
}

/** How much a row's text can be trusted, to skip work per field. */
export interface RowText {
  /** No field holds a backslash, tab, newline or carriage return: nothing to escape. */
  plain: boolean;
  /** Every field is ASCII: one byte per character. */
  ascii: boolean;
}

const UNKNOWN: RowText = { plain: false, ascii: false };

/**
 * Encodes a row (its row_hash column ignored: the computed hash takes its place). The result
 * object is reused by the next call: copy what you keep. `known` may only claim what is true of
 * every field; by default each is checked.
 */
export function encodeRow(r: JournalRow, w: LineWriter, known: RowText = UNKNOWN): EncodedRow {
  // One string, one write: a write per field costs more than the field.
  const e = known.plain ? String : esc;
  // The columns in table order, a few to a line (one per line would hide the order).
  // prettier-ignore
  const text =
    r.day + '\t' + r.ts_us + '\t' + r.recorded_us + '\t' + e(r.intent_id) + '\t' + e(r.order_id) + '\t' + e(r.client_order_id) + '\t' +
    e(r.event_type) + '\t' + e(r.event_id) + '\t' + e(r.account) + '\t' + e(r.strategy) + '\t' + e(r.venue) + '\t' +
    e(r.instrument_id) + '\t' + e(r.side) + '\t' + e(r.qty) + '\t' + e(r.price) + '\t' + e(r.notional) + '\t' + e(r.fee) + '\t' +
    e(r.fee_ccy) + '\t' + e(r.ref_price) + '\t' + e(r.code) + '\t' + e(r.reason) + '\t' + e(r.payload) + '\t' +
    e(r.log_topic) + '\t' + r.log_partition + '\t' + r.log_offset + '\t' + r.prev_offset + '\t' + e(r.prev_hash);
  // 3 bytes per UTF-16 unit at most, then a tab, the 64 hex digits and the newline.
  const start = w.reserve((known.ascii ? 1 : 3) * text.length + 66);
  const b = w.buf as Buffer & Writers;
  let end = start + (known.ascii ? b.latin1Write(text, start) : b.utf8Write(text, start));
  out.hash = hash('sha256', b.subarray(start, end), 'hex');
  b[end++] = TAB;
  end += b.latin1Write(out.hash, end);
  b[end++] = LF;
  w.pos = end;
  out.line = b.subarray(start, end);
  return out;
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A String column's TabSeparated escapes: backslash, tab, newline and carriage return. */
const esc = (s: string | number): string => (typeof s === 'string' && SPECIAL.test(s) ? s.replace(SPECIALS, (c) => ESCAPES[c]) : String(s));
