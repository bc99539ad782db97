-- The daily checksum chain: per (day, topic, partition) the rows counted so far and the hash-chain
-- head at the day's last offset (which commits to every earlier row of the partition). The sink
-- writes a new version after each batch; read the newest with argMax(..., last_offset).
CREATE TABLE IF NOT EXISTS fillstream.audit_checksums
(
    day Date,
    log_topic String,
    log_partition UInt32,
    row_count UInt64,
    first_offset UInt64,
    last_offset UInt64,
    head String
)
ENGINE = ReplacingMergeTree(last_offset)
PARTITION BY toYYYYMM(day)
ORDER BY (day, log_topic, log_partition);
