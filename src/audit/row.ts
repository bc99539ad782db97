// One journal row per log record: the columns of fillstream.audit_events, derived from the record
// alone (pure), so the same log always yields the same rows and the same hashes.
import { isAscii } from 'node:buffer';
import { dec } from '../domain/decimal.js';
import { microsToIso, parseRfc3339Micros } from '../domain/time.js';
import { WIRE_HEADER_BYTES, wireSchemaId } from '../domain/wire.js';
import type { LogRecord } from '../log/types.js';
import { PICKED, pickEvent, SLOT, type PickedPath, type Picks } from './pick.js';
import type { EventColumns, JournalRow } from './columns.js';
import { encodeRow, LineWriter } from './tsv.js';

/**
 * The row's hash: sha256 over its TabSeparated line up to row_hash (every other column, prev_hash
 * included, so each row commits to the whole chain before it). Values read back from a store
 * (64-bit integers arrive as strings) encode, and so hash, the same as the values written.
 */
export function rowHash(row: Omit<JournalRow, 'row_hash'> | JournalRow): string {
  return encodeRow(row as JournalRow, scratch).hash;
}

const scratch = new LineWriter(64 << 10);

const EMPTY = Buffer.alloc(0);

/**
 * The payload of a record: its text after any wire-format frame (invalid UTF-8 replaced), and
 * whether it is all ASCII. The result object is reused by the next call.
 */
export function payloadText(r: LogRecord): { text: string; ascii: boolean } {
  const v = r.value ?? EMPTY;
  const body = wireSchemaId(v) === undefined ? v : v.subarray(WIRE_HEADER_BYTES);
  // ASCII (nearly every event) decodes as a plain copy; anything else as UTF-8.
  const ascii = isAscii(body);
  decoded.text = ascii ? (body as Buffer & Slicers).latin1Slice(0, body.length) : body.toString();
  decoded.ascii = ascii;
  return decoded;
}

interface Slicers {
  latin1Slice(start: number, end: number): string;
}

const decoded = { text: '', ascii: true };

const picks: Picks = new Array<string | undefined>(PICKED.length);
const p = (path: PickedPath): string => picks[SLOT[path]] ?? '';

/**
 * The row of a record, chained after `prev`, with row_hash still empty (see encodeRow). Reads the
 * event's fields from its text (payloadText); a record that is not a JSON object still gets a row
 * (type '', the raw text as payload).
 */
export function journalRow(r: LogRecord, payload: string, prev: { last_offset: number; head: string }): JournalRow {
  pickEvent(payload, picks);
  // A record's own append time stands in for times an event lacks (never for valid events).
  const recordedUs = parseRfc3339Micros(p('recorded_at')) ?? r.timestamp * 1000;
  const tsUs = parseRfc3339Micros(p('ts')) ?? recordedUs;
  const type = p('type');
  const row: JournalRow = {
    day: dayOf(tsUs),
    ts_us: tsUs,
    recorded_us: recordedUs,
    intent_id: p('intent_id'),
    order_id: '',
    client_order_id: '',
    event_type: type,
    event_id: p('event_id'),
    account: p('account'),
    strategy: p('strategy'),
    venue: '',
    instrument_id: '',
    side: '',
    qty: '',
    price: '',
    notional: '',
    fee: '',
    fee_ccy: '',
    ref_price: '',
    code: '',
    reason: '',
    payload,
    log_topic: r.topic,
    log_partition: r.partition,
    log_offset: r.offset,
    prev_offset: prev.last_offset,
    prev_hash: prev.head,
    row_hash: '',
  };
  switch (type) {
    case 'IntentAccepted':
    case 'RiskApproved':
      row.instrument_id = p('data.intent.sized_on') || p('data.intent.instrument_id');
      row.side = p('data.intent.side');
      row.qty = p('data.intent.qty');
      row.ref_price = p('data.intent.ref_price');
      row.notional = p('data.intent.notional');
      break;
    case 'OrderRouted':
      row.client_order_id = p('data.order.client_order_id');
      row.venue = p('data.order.venue');
      row.instrument_id = p('data.order.instrument_id');
      row.side = p('data.order.side');
      row.qty = p('data.order.qty');
      row.ref_price = p('data.order.ref_price');
      break;
    case 'OrderSubmitted':
      row.client_order_id = p('data.client_order_id');
      row.venue = p('data.venue');
      break;
    case 'OrderAcked':
      row.client_order_id = p('data.client_order_id');
      row.order_id = p('data.venue_order_id');
      break;
    case 'OrderFilled':
      row.client_order_id = p('data.client_order_id');
      row.order_id = p('data.fill.venue_order_id');
      row.venue = p('data.fill.venue');
      row.qty = p('data.fill.qty');
      row.price = p('data.fill.price');
      row.fee = p('data.fill.fee');
      row.fee_ccy = p('data.fill.fee_ccy');
      // Exact here, so SQL only ever sums decimals (ClickHouse's Decimal products and quotients overflow).
      if (row.qty && row.price) row.notional = exactProduct(row.price, row.qty);
      break;
    case 'OrderRejected':
      row.client_order_id = p('data.client_order_id');
      row.code = p('data.code');
      row.reason = p('data.reason');
      break;
    case 'OrderCanceled':
    case 'OrderExpired':
      row.client_order_id = p('data.client_order_id');
      row.reason = p('data.reason');
      break;
    case 'OrderAnomaly':
      row.client_order_id = p('data.client_order_id');
      row.code = p('data.kind');
      row.reason = p('data.reason');
      break;
    case 'FillDuplicate':
      row.client_order_id = p('data.client_order_id');
      break;
    case 'RiskRejected':
    case 'DeadLetter':
    case 'ChainRefused':
      row.code = p('data.code');
      row.reason = p('data.reason');
      break;
    case 'RouteDecided':
      row.side = p('data.side');
      row.qty = p('data.qty');
      row.reason = p('data.reason');
      break;
    case 'ChainLegFilled':
      row.client_order_id = p('data.client_order_id');
      row.qty = p('data.filled_qty');
      row.price = p('data.avg_price');
      row.notional = p('data.notional');
      row.fee = p('data.fee');
      row.fee_ccy = p('data.fee_ccy');
      row.code = p('data.status');
      break;
    case 'OrderTested':
      row.client_order_id = p('data.client_order_id');
      row.venue = p('data.venue');
      row.code = p('data.outcome');
      row.reason = [p('data.code'), p('data.reason')].filter(Boolean).join(' ');
      break;
    case 'ChainBalanceSeen':
      // What the balance showed (the payload has what the previous leg delivered and whether it was met).
      row.qty = p('data.free');
      row.reason = p('data.error');
      break;
    case 'ChainCompleted':
      // The report's figures are in the payload; the chain_reports view reads them.
      row.code = p('data.status');
      row.reason = p('data.error');
      break;
    default:
      break;
  }
  return row;
}

/** The event columns of a record (a row with no chain before it, hash columns dropped). */
export function eventColumns(r: LogRecord): EventColumns {
  const { prev_offset: _o, prev_hash: _h, row_hash: _r, ...cols } = journalRow(r, payloadText(r).text, { last_offset: -1, head: '' });
  return cols;
}

// Days change rarely in a stream of events: remember the last one.
let dayStart = 0;
let dayEnd = -1;
let dayText = '';
function dayOf(us: number): string {
  if (us >= dayStart && us < dayEnd) return dayText;
  dayText = microsToIso(us).slice(0, 10);
  const start = Date.parse(dayText + 'T00:00:00Z') * 1000;
  if (Number.isSafeInteger(start)) {
    dayStart = start;
    dayEnd = start + 86_400_000_000;
  }
  return dayText;
}

function exactProduct(a: string, b: string): string {
  try {
    return dec(a).times(b).toString();
  } catch {
    return '';
  }
}
