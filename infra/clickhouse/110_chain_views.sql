-- Chain reports (ChainCompleted), one row per chain: its outcome and figures. The figures are
-- decimal strings in the payload (keys that occur once in a report); cast them where summed.
CREATE VIEW IF NOT EXISTS fillstream.chain_reports AS
SELECT
    day,
    ts_us,
    intent_id AS chain_id,
    account,
    strategy,
    code AS status,
    reason AS error,
    visitParamExtractString(payload, 'predicted_bps') AS predicted_bps,
    visitParamExtractString(payload, 'effective_bps') AS effective_bps,
    visitParamExtractString(payload, 'profit') AS profit,
    visitParamExtractString(payload, 'spent') AS spent
FROM fillstream.audit_events
WHERE event_type = 'ChainCompleted';
