// The journal's columns: what a row of fillstream.audit_events and of the daily checksum table
// holds, in table order. Shared by the row builder, the line encoder and both stores.

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
