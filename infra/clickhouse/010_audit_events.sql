-- One row per event record of the log, written once by the audit sink, never updated.
-- Decimal fields stay the event's exact text (String); views convert with toDecimal128(x, 18).
-- PARTITION BY month of the event day: few partitions over years, a time filter prunes whole
-- months, and each part's min/max of `day` prunes further inside one. The sink cuts its INSERTs at
-- month boundaries, so every INSERT is one part: stored whole or not at all (exactly once).
-- ORDER BY intent first: the lifecycle lookup (WHERE intent_id = ...) reads a few granules;
-- ts_us then orders an intent's events; topic/partition/offset make the key unique.
CREATE TABLE IF NOT EXISTS fillstream.audit_events
(
    day Date,
    ts_us Int64,
    recorded_us Int64,
    intent_id String,
    order_id String,
    client_order_id String,
    event_type String,
    event_id String,
    account String,
    strategy String,
    venue String,
    instrument_id String,
    side String,
    qty String,
    price String,
    notional String,
    fee String,
    fee_ccy String,
    ref_price String,
    code String,
    reason String,
    payload String,
    log_topic String,
    log_partition UInt32,
    log_offset UInt64,
    prev_offset Int64,
    prev_hash String,
    row_hash String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (intent_id, ts_us, log_topic, log_partition, log_offset);
