-- Analyst views over the journal (docs/audit.md shows how to query them). Plain views: they read
-- the journal at query time, so they never drift from it. Money is exact: decimal columns are
-- summed as Decimal128(18); ratios (fill ratio, average price, slippage) are Float64 statistics.

-- Every event of every intent; filter by intent_id and order by ts_us, recorded_us, log_offset.
CREATE VIEW IF NOT EXISTS fillstream.intent_lifecycle AS
SELECT
    intent_id, day, ts_us, recorded_us, event_type, event_id, account, strategy,
    client_order_id, order_id, venue, instrument_id, side, qty, price, fee, fee_ccy, ref_price,
    code, reason, log_topic, log_partition, log_offset, payload
FROM fillstream.audit_events;

-- One row per order: what was asked (at the arrival price) and what was filled.
CREATE VIEW IF NOT EXISTS fillstream.order_execution AS
SELECT
    client_order_id,
    day,
    intent_id,
    account,
    strategy,
    venue,
    instrument_id,
    side,
    order_qty,
    arrival_price,
    filled_qty,
    filled_notional,
    fills,
    if(order_qty > 0, toFloat64(filled_qty) / toFloat64(order_qty), 0) AS fill_ratio,
    if(filled_qty > 0, toFloat64(filled_notional) / toFloat64(filled_qty), 0) AS avg_price,
    -- Positive is a cost: a buy above or a sell below the arrival price.
    if(filled_qty > 0 AND arrival_price > 0,
       (toFloat64(filled_notional) / toFloat64(filled_qty) - toFloat64(arrival_price)) / toFloat64(arrival_price) * 10000 * if(side = 'SELL', -1, 1),
       0) AS slippage_bps
FROM
(
    SELECT
        client_order_id,
        minIf(day, event_type = 'OrderRouted') AS day,
        any(intent_id) AS intent_id,
        anyIf(account, event_type = 'OrderRouted') AS account,
        anyIf(strategy, event_type = 'OrderRouted') AS strategy,
        anyIf(venue, event_type = 'OrderRouted') AS venue,
        anyIf(instrument_id, event_type = 'OrderRouted') AS instrument_id,
        anyIf(side, event_type = 'OrderRouted') AS side,
        anyIf(toDecimal128(if(qty = '', '0', qty), 18), event_type = 'OrderRouted') AS order_qty,
        anyIf(toDecimal128(if(ref_price = '', '0', ref_price), 18), event_type = 'OrderRouted') AS arrival_price,
        sumIf(toDecimal128(if(qty = '', '0', qty), 18), event_type = 'OrderFilled') AS filled_qty,
        sumIf(toDecimal128(if(notional = '', '0', notional), 18), event_type = 'OrderFilled') AS filled_notional,
        countIf(event_type = 'OrderFilled') AS fills
    FROM fillstream.audit_events
    WHERE client_order_id != '' AND event_type IN ('OrderRouted', 'OrderFilled')
    GROUP BY client_order_id
);

-- Fill ratio and slippage against the arrival price, by day, strategy and venue.
CREATE VIEW IF NOT EXISTS fillstream.execution_quality AS
SELECT
    day,
    strategy,
    venue,
    count() AS orders,
    countIf(filled_qty > 0) AS filled_orders,
    sum(fills) AS fills,
    avg(fill_ratio) AS avg_fill_ratio,
    sum(filled_notional) AS total_filled_notional,
    -- Weighted by filled notional: big orders count for more.
    if(sum(toFloat64(filled_notional)) > 0, sum(slippage_bps * toFloat64(filled_notional)) / sum(toFloat64(filled_notional)), 0) AS slippage_bps
FROM fillstream.order_execution
GROUP BY day, strategy, venue;

-- Per intent: when each stage recorded its step (wall clock, µs) and the gaps between them, in ms.
-- 0 in a *_us column: the intent never reached that stage; its gaps are then NULL.
CREATE VIEW IF NOT EXISTS fillstream.intent_latency AS
SELECT
    intent_id,
    day,
    strategy,
    intent_ts_us,
    accepted_us,
    risk_us,
    routed_us,
    submitted_us,
    acked_us,
    first_fill_us,
    if(accepted_us = 0, NULL, (accepted_us - intent_ts_us) / 1000) AS intake_ms,
    if(accepted_us = 0 OR risk_us = 0, NULL, (risk_us - accepted_us) / 1000) AS risk_ms,
    if(risk_us = 0 OR routed_us = 0, NULL, (routed_us - risk_us) / 1000) AS router_ms,
    if(routed_us = 0 OR submitted_us = 0, NULL, (submitted_us - routed_us) / 1000) AS gateway_ms,
    if(submitted_us = 0 OR acked_us = 0, NULL, (acked_us - submitted_us) / 1000) AS venue_ack_ms,
    if(accepted_us = 0 OR first_fill_us = 0, NULL, (first_fill_us - accepted_us) / 1000) AS accept_to_fill_ms
FROM
(
    SELECT
        intent_id,
        min(day) AS day,
        any(strategy) AS strategy,
        minIf(ts_us, event_type = 'IntentAccepted') AS intent_ts_us,
        minIf(recorded_us, event_type = 'IntentAccepted') AS accepted_us,
        minIf(recorded_us, event_type IN ('RiskApproved', 'RiskRejected')) AS risk_us,
        minIf(recorded_us, event_type = 'OrderRouted') AS routed_us,
        minIf(recorded_us, event_type = 'OrderSubmitted') AS submitted_us,
        minIf(recorded_us, event_type = 'OrderAcked') AS acked_us,
        minIf(recorded_us, event_type = 'OrderFilled') AS first_fill_us
    FROM fillstream.audit_events
    WHERE intent_id != ''
    GROUP BY intent_id
);

-- Event time vs recorded time per event type and day, in ms (how far behind the events were written).
CREATE VIEW IF NOT EXISTS fillstream.event_lag AS
SELECT
    day,
    event_type,
    count() AS events,
    avg(recorded_us - ts_us) / 1000 AS avg_lag_ms,
    quantile(0.5)(recorded_us - ts_us) / 1000 AS p50_lag_ms,
    quantile(0.99)(recorded_us - ts_us) / 1000 AS p99_lag_ms,
    max(recorded_us - ts_us) / 1000 AS max_lag_ms
FROM fillstream.audit_events
GROUP BY day, event_type;

-- Rejects by reason: risk rejects, dead letters (bad input) and venue rejects.
CREATE VIEW IF NOT EXISTS fillstream.rejects AS
SELECT
    day,
    event_type,
    code,
    strategy,
    count() AS rejects,
    any(reason) AS example_reason
FROM fillstream.audit_events
WHERE event_type IN ('RiskRejected', 'DeadLetter', 'OrderRejected')
GROUP BY day, event_type, code, strategy;

-- Daily cash PnL per account, strategy and instrument, from fills (exact Decimal128(18)):
-- cash_flow = sold notional - bought notional, in the quote currency; net_qty is the position
-- change in the base asset (mark it to get the full PnL). Fees are in daily_fees (their own currency).
CREATE VIEW IF NOT EXISTS fillstream.daily_pnl AS
SELECT
    day,
    account,
    strategy,
    instrument_id,
    count() AS fills,
    sumIf(fill_qty, order_side = 'BUY') AS bought_qty,
    sumIf(fill_qty, order_side = 'SELL') AS sold_qty,
    sumIf(fill_notional, order_side = 'BUY') AS bought_notional,
    sumIf(fill_notional, order_side = 'SELL') AS sold_notional,
    sumIf(fill_qty, order_side = 'BUY') - sumIf(fill_qty, order_side = 'SELL') AS net_qty,
    sumIf(fill_notional, order_side = 'SELL') - sumIf(fill_notional, order_side = 'BUY') AS cash_flow
FROM
(
    SELECT
        day,
        account,
        strategy,
        client_order_id,
        toDecimal128(if(qty = '', '0', qty), 18) AS fill_qty,
        toDecimal128(if(notional = '', '0', notional), 18) AS fill_notional
    FROM fillstream.audit_events
    WHERE event_type = 'OrderFilled'
) AS fill
ANY LEFT JOIN
(
    SELECT
        client_order_id,
        any(instrument_id) AS instrument_id,
        any(side) AS order_side
    FROM fillstream.audit_events
    WHERE event_type = 'OrderRouted'
    GROUP BY client_order_id
) AS routed USING (client_order_id)
GROUP BY day, account, strategy, instrument_id;

-- Fees per day, account, strategy and fee currency (exact Decimal128(18)).
CREATE VIEW IF NOT EXISTS fillstream.daily_fees AS
SELECT
    day,
    account,
    strategy,
    fee_ccy,
    count() AS fills,
    sum(toDecimal128(if(fee = '', '0', fee), 18)) AS fees
FROM fillstream.audit_events
WHERE event_type = 'OrderFilled'
GROUP BY day, account, strategy, fee_ccy;
