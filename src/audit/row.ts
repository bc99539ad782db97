// One journal row per log record: the columns of fillstream.audit_events, derived from the record
// alone (pure), so the same log always yields the same rows and the same hashes.
import { dec } from '../domain/decimal.js';
import type { Event } from '../domain/events.js';
import { hash } from 'node:crypto';
import { microsToIso, parseRfc3339Micros } from '../domain/time.js';
import { WIRE_HEADER_BYTES, wireSchemaId } from '../domain/wire.js';
import type { LogRecord } from '../log/types.js';

/** The event columns, in table order (hash columns excluded). Decimals stay exact text. */
export interface EventColumns {
  day: string;
  ts_us: number;
  recorded_us: number;
  intent_id: string;
  order_id: string;
  client_order_id: string;
  event_type: string;
  event_id: string;
  account: string;
  strategy: string;
  venue: string;
  instrument_id: string;
  side: string;
  qty: string;
  price: string;
  notional: string;
  fee: string;
  fee_ccy: string;
  ref_price: string;
  code: string;
  reason: string;
  payload: string;
  log_topic: string;
  log_partition: number;
  log_offset: number;
}

/** A stored row: the event columns plus its link in the per-(topic, partition) hash chain. */
export interface JournalRow extends EventColumns {
  /** Offset of the previous row of the same (topic, partition); -1 for the first. */
  prev_offset: number;
  prev_hash: string;
  row_hash: string;
}

/** Column names and ClickHouse types of audit_events, in table order (the DDL must match). */
export const EVENT_COLUMNS: readonly (readonly [keyof JournalRow, string])[] = [
  ['day', 'Date'],
  ['ts_us', 'Int64'],
  ['recorded_us', 'Int64'],
  ['intent_id', 'String'],
  ['order_id', 'String'],
  ['client_order_id', 'String'],
  ['event_type', 'String'],
  ['event_id', 'String'],
  ['account', 'String'],
  ['strategy', 'String'],
  ['venue', 'String'],
  ['instrument_id', 'String'],
  ['side', 'String'],
  ['qty', 'String'],
  ['price', 'String'],
  ['notional', 'String'],
  ['fee', 'String'],
  ['fee_ccy', 'String'],
  ['ref_price', 'String'],
  ['code', 'String'],
  ['reason', 'String'],
  ['payload', 'String'],
  ['log_topic', 'String'],
  ['log_partition', 'UInt32'],
  ['log_offset', 'UInt64'],
  ['prev_offset', 'Int64'],
  ['prev_hash', 'String'],
  ['row_hash', 'String'],
];

/** The daily checksum chain: the chain head at the end of each (day, topic, partition). */
export interface ChecksumRow {
  day: string;
  log_topic: string;
  log_partition: number;
  row_count: number;
  first_offset: number;
  last_offset: number;
  /** row_hash of the row at last_offset: it commits to every earlier row of the partition. */
  head: string;
}

export const CHECKSUM_COLUMNS: readonly (readonly [keyof ChecksumRow, string])[] = [
  ['day', 'Date'],
  ['log_topic', 'String'],
  ['log_partition', 'UInt32'],
  ['row_count', 'UInt64'],
  ['first_offset', 'UInt64'],
  ['last_offset', 'UInt64'],
  ['head', 'String'],
];

/** ClickHouse's structure string for file()/table definitions. */
export const structureOf = (cols: readonly (readonly [string, string])[]): string => cols.map(([n, t]) => `${n} ${t}`).join(', ');

// Hashed in this order: every column but row_hash, so any edit to a stored value shows.
const HASHED = EVENT_COLUMNS.map(([n]) => n).filter((n) => n !== 'row_hash');

/**
 * The row's hash: sha256 over its columns as text (JSON array), prev_hash included, so each row
 * commits to the whole chain before it. Values read back from ClickHouse (64-bit integers arrive
 * as strings) hash the same as the values written.
 */
export function rowHash(row: Omit<JournalRow, 'row_hash'> | Record<string, unknown>): string {
  const r = row as Record<string, unknown>;
  return hash('sha256', JSON.stringify(HASHED.map((c) => String(r[c]))), 'hex');
}

const s = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The event columns of a record; undefined event (not JSON, not an event) still gets a row. */
export function eventColumns(r: LogRecord, e: Event | undefined): EventColumns {
  const value = wireSchemaId(r.value) === undefined ? r.value : r.value.subarray(WIRE_HEADER_BYTES);
  // A record's own append time stands in for times an event lacks (never for valid events).
  const recordedUs = parseRfc3339Micros(s(e?.recorded_at)) ?? r.timestamp * 1000;
  const tsUs = parseRfc3339Micros(s(e?.ts)) ?? recordedUs;
  const c: EventColumns = {
    day: microsToIso(tsUs).slice(0, 10),
    ts_us: tsUs,
    recorded_us: recordedUs,
    intent_id: s(e?.intent_id),
    order_id: '',
    client_order_id: '',
    event_type: s(e?.type),
    event_id: s(e?.event_id),
    account: s(e?.account),
    strategy: s(e?.strategy),
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
    payload: value.toString(),
    log_topic: r.topic,
    log_partition: r.partition,
    log_offset: r.offset,
  };
  if (!e || typeof e.data !== 'object' || e.data === null) return c;
  switch (e.type) {
    case 'IntentAccepted':
    case 'RiskApproved': {
      const i = e.data.intent;
      c.instrument_id = s(i?.sized_on) || s(i?.instrument_id);
      c.side = s(i?.side);
      c.qty = s(i?.qty);
      c.ref_price = s(i?.ref_price);
      c.notional = s(i?.notional);
      break;
    }
    case 'OrderRouted': {
      const o = e.data.order;
      c.client_order_id = s(o?.client_order_id);
      c.venue = s(o?.venue);
      c.instrument_id = s(o?.instrument_id);
      c.side = s(o?.side);
      c.qty = s(o?.qty);
      c.ref_price = s(o?.ref_price);
      break;
    }
    case 'OrderSubmitted':
      c.client_order_id = s(e.data.client_order_id);
      c.venue = s(e.data.venue);
      break;
    case 'OrderAcked':
      c.client_order_id = s(e.data.client_order_id);
      c.order_id = s(e.data.venue_order_id);
      break;
    case 'OrderFilled': {
      const f = e.data.fill;
      c.client_order_id = s(e.data.client_order_id);
      c.order_id = s(f?.venue_order_id);
      c.venue = s(f?.venue);
      c.qty = s(f?.qty);
      c.price = s(f?.price);
      c.fee = s(f?.fee);
      c.fee_ccy = s(f?.fee_ccy);
      // Exact here, so SQL only ever sums decimals (ClickHouse's Decimal products and quotients overflow).
      if (c.qty && c.price) c.notional = exactProduct(c.price, c.qty);
      break;
    }
    case 'OrderRejected':
      c.client_order_id = s(e.data.client_order_id);
      c.code = s(e.data.code);
      c.reason = s(e.data.reason);
      break;
    case 'OrderCanceled':
    case 'OrderExpired':
    case 'OrderAnomaly':
      c.client_order_id = s(e.data.client_order_id);
      c.reason = s(e.data.reason);
      break;
    case 'FillDuplicate':
      c.client_order_id = s(e.data.client_order_id);
      break;
    case 'RiskRejected':
    case 'DeadLetter':
      c.code = s(e.data.code);
      c.reason = s(e.data.reason);
      break;
    default:
      break;
  }
  return c;
}

function exactProduct(a: string, b: string): string {
  try {
    return dec(a).times(b).toString();
  } catch {
    return '';
  }
}
