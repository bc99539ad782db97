import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Order, OrderStatusFact, VenueReport } from '../../src/domain/events.js';
import { Event as EventSchema } from '../../src/domain/events.js';
import { fillFingerprint } from '../../src/domain/ids.js';
import { canTransition, foldOrder, newOrder, oms, type EnvelopeSeed, type OrderCommand, type OrderFact } from '../../src/oms/index.js';
import { assertMatch, given, snapshot } from '../helpers/decider.js';

const T0 = '2026-01-02T10:00:00.000000Z';
const ts = (s: number) => `2026-01-02T10:00:${String(s).padStart(2, '0')}.000000Z`;

function order(qty = '3'): Order {
  return {
    client_order_id: 'fs-coid-1',
    intent_id: 'i1',
    leg: 0,
    attempt: 0,
    account: 'acct',
    strategy: 'xs_v1',
    env: 'sim',
    instrument_id: 'BINANCE:BTCUSDT',
    venue: 'BINANCE',
    symbol: 'BTCUSDT',
    side: 'BUY',
    order_type: 'MARKET',
    qty,
    tif: 'GTC',
    ref_price: '100',
  };
}

const seed: EnvelopeSeed = { event_id: 'gw/0/5', causation: 'exec.gateway/0/5', recorded_at: '2026-01-02T10:00:59.000000Z' };
const ack = (id = 'v1', s = 1): VenueReport => ({ kind: 'ACK', venue_order_id: id, ts: ts(s) });
const trade = (trade_id: string, qty: string, price: string, s = 2, extra: Partial<VenueReport & { kind: 'TRADE' }> = {}): VenueReport => ({
  kind: 'TRADE',
  venue_order_id: 'v1',
  trade_id,
  qty,
  price,
  fee: '0.1',
  fee_ccy: 'USDT',
  liquidity: 'TAKER',
  ts: ts(s),
  ...extra,
});
const cancel: VenueReport = { kind: 'CANCELED', reason: 'user', ts: ts(9) };
const expire: VenueReport = { kind: 'EXPIRED', reason: 'IOC', ts: ts(9) };
const reject: VenueReport = { kind: 'REJECTED', code: 'INSUFFICIENT_BALANCE', reason: 'no funds', ts: ts(9) };

// Commands: the gateway placed the order (with the venue's reports so far), or later venue reports.
const submit = (recovered = false, ...rs: VenueReport[]): OrderCommand => ({ kind: 'submitted', recovered, reports: rs, envelope: seed });
const reports = (...rs: VenueReport[]): OrderCommand => ({ kind: 'reports', reports: rs, envelope: seed });

// Histories: an order's events so far, as the router and the OMS wrote them.
const routedEvent = (qty = '3'): Event => ({
  event_id: 'r1',
  intent_id: 'i1',
  account: 'acct',
  strategy: 'xs_v1',
  ts: T0,
  causation: 'x',
  recorded_at: T0,
  type: 'OrderRouted',
  data: { order: order(qty) },
});
const routed = (qty = '3'): OrderFact[] => [routedEvent(qty)];
/** The history and then what the OMS decided on `command`. */
const after = (history: OrderFact[], command: OrderCommand): OrderFact[] => [...history, ...oms.decide(command, foldOrder(history))];
const submitted = (qty = '3') => after(routed(qty), submit());
const acked = (qty = '3') => after(submitted(qty), reports(ack()));
/** The history and then these venue reports. */
const reported = (history: OrderFact[], ...rs: VenueReport[]) => after(history, reports(...rs));

test('newOrder starts NEW with empty fill figures', () => {
  const s = newOrder(order(), T0);
  assertMatch(s, { status: 'NEW', filled_qty: '0', avg_price: '0', fills: 0, fingerprints: [] });
  assert.deepEqual(given(oms, ...routed()).state, s, 'as OrderRouted folds to');
});

test('OrderRouted creates the state; other events on no state stay undefined', () => {
  const s = given(oms, ...routed()).state;
  assertMatch(s, { status: 'NEW', order: { client_order_id: 'fs-coid-1' } });
  assert.equal(oms.evolve(s, routedEvent()), s, 'a second OrderRouted is a no-op');
  const [sub] = submitted().slice(1);
  assert.equal(given(oms, sub).state, undefined, 'a status event of an order never routed');
  // Nothing is decided for an order not yet routed.
  given(oms).when(submit()).thenNothing();
  given(oms).when(reports(ack())).thenNothing();
});

test('submitted: NEW -> SUBMITTED, with envelope from the order and seed', () => {
  const w = given(oms, ...routed()).when(submit(true));
  const [e] = w.then({
    type: 'OrderSubmitted',
    event_id: 'gw/0/5/submitted',
    intent_id: 'i1',
    account: 'acct',
    strategy: 'xs_v1',
    causation: seed.causation,
    recorded_at: seed.recorded_at,
    ts: T0,
  });
  assert.deepEqual(e.data, { client_order_id: 'fs-coid-1', venue: 'BINANCE', env: 'sim', recovered: true });
  assert.ok(EventSchema.safeParse(e).success, 'event matches the schema');
  assert.equal(w.state?.status, 'SUBMITTED');
  // The placement's round trip, as the gateway measured it, is recorded for the router.
  const [timed] = given(oms, ...routed()).when({ kind: 'submitted', recovered: false, reports: [], envelope: seed, latency_ms: 12.345 }).events;
  assert.ok(timed.type === 'OrderSubmitted');
  assert.equal(timed.data.latency_ms, 12.345);
});

test("submitted with the venue's reports so far: OrderSubmitted, then what each report gives", () => {
  const w = given(oms, ...routed()).when(submit(false, ack(), trade('t1', '3', '100')));
  w.then(
    { type: 'OrderSubmitted', data: { recovered: false } },
    { type: 'OrderAcked', data: { venue_order_id: 'v1' } },
    { type: 'OrderFilled', data: { status: 'FILLED', cum_qty: '3' } },
  );
  assertMatch(w.state, { status: 'FILLED', venue_order_id: 'v1', filled_qty: '3' });
});

test('submitting an order that is not NEW is an anomaly', () => {
  const g = given(oms, ...submitted());
  const w = g.when(submit());
  const e = w.thenRejected('ILLEGAL_TRANSITION', /cannot submit an order in status SUBMITTED/);
  assertMatch(e, { event_id: 'gw/0/5/anomaly/submit', data: { report: 'SUBMIT', status: 'SUBMITTED' } });
  assert.deepEqual(snapshot(w.state), snapshot(g.state), 'state unchanged');
});

test('ACK: SUBMITTED -> ACKED, records the venue order id', () => {
  const w = given(oms, ...submitted()).when(reports(ack('v1')));
  w.then({ type: 'OrderAcked', event_id: 'gw/0/5/ack', ts: ts(1), data: { venue_order_id: 'v1' } }); // event time is the report time
  assertMatch(w.state, { status: 'ACKED', venue_order_id: 'v1', ts: ts(1) });
});

test('seed.ts overrides the report time', () => {
  given(oms, ...submitted())
    .when({ kind: 'reports', reports: [ack()], envelope: { ...seed, ts: T0 } })
    .then({ type: 'OrderAcked', ts: T0 });
});

test('TRADE partial then full: ACKED -> PARTIALLY_FILLED -> FILLED', () => {
  const partly = given(oms, ...acked()).when(reports(trade('t1', '1', '100')));
  partly.then({ type: 'OrderFilled', data: { status: 'PARTIALLY_FILLED', cum_qty: '1' } });
  assertMatch(partly.state, { status: 'PARTIALLY_FILLED', filled_qty: '1' });
  const full = given(oms, ...reported(acked(), trade('t1', '1', '100'))).when(reports(trade('t2', '2', '100', 3)));
  full.then({ type: 'OrderFilled', data: { status: 'FILLED', cum_qty: '3' } });
  assertMatch(full.state, { status: 'FILLED', fills: 2, fees: '0.2', fee_ccy: 'USDT' });
});

test('TRADE filling everything at once: ACKED -> FILLED', () => {
  const w = given(oms, ...acked()).when(reports(trade('t1', '3', '100')));
  w.then({ type: 'OrderFilled', data: { status: 'FILLED' } });
  assert.equal(w.state?.status, 'FILLED');
});

test('TRADE right after SUBMITTED is an implicit ack', () => {
  const w = given(oms, ...submitted()).when(reports(trade('t1', '1', '100')));
  w.then({ type: 'OrderFilled' });
  assertMatch(w.state, { status: 'PARTIALLY_FILLED', venue_order_id: 'v1' });
  // The late ack with the same venue order id is a redelivery: nothing to record.
  given(oms, ...reported(submitted(), trade('t1', '1', '100')))
    .when(reports(ack('v1')))
    .thenNothing();
});

test('OrderFilled carries a complete Fill with its fingerprint and canonical decimals', () => {
  const fp = fillFingerprint({ venue: 'BINANCE', venue_order_id: 'v1', trade_id: 't1', qty: '1.5', price: '100', ts: ts(2) });
  const [e] = given(oms, ...acked())
    .when(reports(trade('t1', '1.50', '100.0')))
    .then({ type: 'OrderFilled', event_id: `gw/0/5/fill/${fp}`, data: { fill: { qty: '1.5', price: '100', venue: 'BINANCE', fingerprint: fp } } });
  assert.ok(EventSchema.safeParse(e).success);
});

test('average price is exact over three fills at different prices', () => {
  const w = given(oms, ...acked('10')).when(reports(trade('t1', '1', '100', 2), trade('t2', '2', '101', 3), trade('t3', '3', '102.5', 4)));
  // (100 + 202 + 307.5) / 6 = 609.5 / 6 = 101.583333...
  w.then({ type: 'OrderFilled' }, { type: 'OrderFilled' }, { type: 'OrderFilled', data: { cum_qty: '6', avg_price: '101.583333333333333333' } });
  assertMatch(w.state, { filled_qty: '6', notional: '609.5', avg_price: '101.583333333333333333' });
  const w2 = given(oms, ...acked('4')).when(reports(trade('a', '1', '100', 2), trade('b', '2', '101', 3), trade('c', '1', '103', 4)));
  assertMatch(w2.state, { avg_price: '101.25', status: 'FILLED' });
});

test('a fill with a known fingerprint is a FillDuplicate and changes nothing', () => {
  const g = given(oms, ...reported(acked(), trade('t1', '1', '100')));
  const w = g.when(reports(trade('t1', '1.0', '100')));
  w.then({ type: 'FillDuplicate', event_id: 'gw/0/5/dup/0', data: { fingerprint: g.state?.fingerprints[0] } });
  assert.deepEqual(snapshot(w.state), snapshot(g.state));
  // Even once the order is terminal, a known fill is a duplicate rather than an anomaly.
  given(oms, ...reported(acked(), trade('t1', '1', '100'), trade('t2', '2', '100', 3)))
    .when(reports(trade('t2', '2', '100', 3)))
    .then({ type: 'FillDuplicate' });
});

test('same trade id with different content is a new fill (dedup by content)', () => {
  const w = given(oms, ...reported(acked(), trade('t1', '1', '100', 2))).when(reports(trade('t1', '1', '100', 3)));
  w.then({ type: 'OrderFilled' });
  assert.equal(w.state?.filled_qty, '2');
});

test('over-fill is never applied: anomaly, state unchanged', () => {
  const g = given(oms, ...reported(acked(), trade('t1', '2', '100')));
  const w = g.when(reports(trade('t2', '1.5', '100', 3)));
  const e = w.thenRejected('OVER_FILL', /over-fill/);
  assertMatch(e, { event_id: 'gw/0/5/anomaly/0', data: { report: 'TRADE', status: 'PARTIALLY_FILLED' } });
  assert.deepEqual(snapshot(w.state), snapshot(g.state));
  assert.equal(g.state?.filled_qty, '2');
});

test('CANCELED from ACKED and from PARTIALLY_FILLED', () => {
  const a = given(oms, ...acked()).when(reports(cancel));
  a.then({ type: 'OrderCanceled', data: { reason: 'user' } });
  assert.equal(a.state?.status, 'CANCELED');
  const p = given(oms, ...reported(acked(), trade('t1', '1', '100'))).when(reports(cancel));
  p.then({ type: 'OrderCanceled' });
  assertMatch(p.state, { status: 'CANCELED', filled_qty: '1' }, 'fills before the cancel stay');
});

test('EXPIRED from ACKED and from PARTIALLY_FILLED', () => {
  assert.equal(given(oms, ...acked()).when(reports(expire)).state?.status, 'EXPIRED');
  assert.equal(given(oms, ...reported(acked(), trade('t1', '1', '100'))).when(reports(expire)).state?.status, 'EXPIRED');
});

test('CANCELED or EXPIRED straight after SUBMITTED is an implicit ack', () => {
  for (const [report, type, status] of [
    [cancel, 'OrderCanceled', 'CANCELED'],
    [expire, 'OrderExpired', 'EXPIRED'],
  ] as const) {
    const w = given(oms, ...submitted()).when(reports(report));
    assert.deepEqual(
      w.events.map((e) => e.type),
      [type],
    );
    assert.equal(w.state?.status, status);
  }
});

test('REJECTED from SUBMITTED, and from NEW (an order no gateway took was never sent)', () => {
  const w = given(oms, ...submitted()).when(reports(reject));
  w.then({ type: 'OrderRejected', data: { code: 'INSUFFICIENT_BALANCE', reason: 'no funds' } });
  assert.equal(w.state?.status, 'REJECTED');
  const never = given(oms, ...routed()).when(reports({ kind: 'REJECTED', code: 'NO_GATEWAY', reason: 'no prod gateway', ts: T0 }));
  never.then({ type: 'OrderRejected', data: { code: 'NO_GATEWAY' } });
  assert.equal(never.state?.status, 'REJECTED');
});

/** Given `history`, the venue's report `r` is an anomaly of `kind` that changes nothing. */
function assertAnomaly(history: OrderFact[], r: VenueReport, kind: 'ILLEGAL_TRANSITION' | 'VENUE_ORDER_ID_MISMATCH' | 'MALFORMED_REPORT' | 'OVER_FILL', reason: RegExp) {
  const g = given(oms, ...history);
  const w = g.when(reports(r));
  const e = w.thenRejected(kind, reason);
  assertMatch(e, { data: { status: g.state?.status, report: r.kind } }, `the anomaly for ${r.kind} on ${g.state?.status}`);
  assert.ok(EventSchema.safeParse(e).success);
  assert.deepEqual(snapshot(w.state), snapshot(g.state), 'state unchanged');
}

test('illegal transitions become anomalies, never throw, never change state', () => {
  const canceled = reported(acked(), cancel);
  const filled = reported(acked(), trade('t1', '3', '100'));
  const rejected = reported(submitted(), reject);
  const expired = reported(acked(), expire);
  assertAnomaly(canceled, trade('t9', '1', '100'), 'ILLEGAL_TRANSITION', /CANCELED -> TRADE/);
  assertAnomaly(filled, ack('v1'), 'ILLEGAL_TRANSITION', /FILLED -> ACKED/);
  assertAnomaly(filled, cancel, 'ILLEGAL_TRANSITION', /FILLED -> CANCELED/);
  assertAnomaly(rejected, ack('v1'), 'ILLEGAL_TRANSITION', /REJECTED/);
  assertAnomaly(expired, expire, 'ILLEGAL_TRANSITION', /EXPIRED -> EXPIRED/);
  assertAnomaly(canceled, reject, 'ILLEGAL_TRANSITION', /CANCELED -> REJECTED/);
  assertAnomaly(routed(), ack('v1'), 'ILLEGAL_TRANSITION', /NEW -> ACKED/);
  assertAnomaly(routed(), trade('t1', '1', '100'), 'ILLEGAL_TRANSITION', /NEW -> TRADE/);
  assertAnomaly(acked(), reject, 'ILLEGAL_TRANSITION', /ACKED -> REJECTED/);
});

test('reports naming another venue order id are anomalies', () => {
  assertAnomaly(acked(), ack('v2'), 'VENUE_ORDER_ID_MISMATCH', /v2/);
  assertAnomaly(acked(), trade('t1', '1', '100', 2, { venue_order_id: 'v2' }), 'VENUE_ORDER_ID_MISMATCH', /v2/);
});

test('malformed trade figures are anomalies, not exceptions', () => {
  assertAnomaly(acked(), trade('t1', '0', '100'), 'MALFORMED_REPORT', /qty/);
  assertAnomaly(acked(), trade('t1', '-1', '100'), 'MALFORMED_REPORT', /qty/);
  assertAnomaly(acked(), trade('t1', 'abc', '100'), 'MALFORMED_REPORT', /qty/);
  assertAnomaly(acked(), trade('t1', '1', '0'), 'MALFORMED_REPORT', /price/);
  assertAnomaly(acked(), trade('t1', '1', '1e3'), 'MALFORMED_REPORT', /price/);
  assertAnomaly(acked(), trade('t1', '1', '100', 2, { fee: '' }), 'MALFORMED_REPORT', /fee/);
});

test('a report of a kind the OMS does not know is a malformed-report anomaly', () => {
  assertAnomaly(acked(), { kind: 'REPLACED', ts: ts(3) } as unknown as VenueReport, 'MALFORMED_REPORT', /unknown report kind/);
});

test('evolve ignores illegal facts and events of other orders', () => {
  const [cancelEvent] = reported(acked(), cancel).slice(-1);
  const other = { ...cancelEvent, data: { client_order_id: 'other', reason: 'x' } } as Event;
  const s = given(oms, ...acked()).state;
  assert.equal(oms.evolve(s, other), s);
  assert.deepEqual(given(oms, ...acked(), other).state, s);
  const [fill] = reported(acked(), trade('t1', '1', '100')).slice(-1);
  const canceled = given(oms, ...reported(acked(), cancel)).state;
  assert.equal(oms.evolve(canceled, fill), canceled, 'no fill after a terminal status');
  assert.deepEqual(given(oms, ...reported(acked(), cancel), fill).state, canceled);
});

test('a status event known from its record headers folds like the full event', () => {
  const full = acked();
  const facts: OrderFact[] = full.map((e): OrderFact => {
    if (e.type === 'OrderSubmitted') return { type: e.type, ts: e.ts, data: { client_order_id: e.data.client_order_id } } satisfies OrderStatusFact;
    if (e.type === 'OrderAcked')
      return { type: e.type, ts: e.ts, data: { client_order_id: e.data.client_order_id, venue_order_id: e.data.venue_order_id } } satisfies OrderStatusFact;
    return e;
  });
  assert.deepEqual(given(oms, ...facts).state, given(oms, ...full).state);
  assertMatch(given(oms, ...facts).state, { status: 'ACKED', venue_order_id: 'v1', ts: ts(1) });
});

test('a batch of reports is decided in order, each on the state the ones before left, with unique event ids', () => {
  const w = given(oms, ...submitted()).when(
    reports(ack(), trade('t1', '1', '100'), trade('t1', '1', '100'), ack('v9'), trade('t2', '5', '100', 3), trade('t1', '1', '100'), cancel, cancel),
  );
  // Anomaly and duplicate ids carry the report's index in the batch.
  const events = w.then(
    { type: 'OrderAcked' },
    { type: 'OrderFilled' },
    { type: 'FillDuplicate', event_id: 'gw/0/5/dup/2' },
    { type: 'OrderAnomaly', event_id: 'gw/0/5/anomaly/3', data: { kind: 'VENUE_ORDER_ID_MISMATCH' } },
    { type: 'OrderAnomaly', event_id: 'gw/0/5/anomaly/4', data: { kind: 'OVER_FILL' } },
    { type: 'FillDuplicate', event_id: 'gw/0/5/dup/5' },
    { type: 'OrderCanceled' },
    { type: 'OrderAnomaly', event_id: 'gw/0/5/anomaly/7', data: { kind: 'ILLEGAL_TRANSITION' } },
  );
  assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
  assertMatch(w.state, { status: 'CANCELED', filled_qty: '1' });
});

test('fees in a second currency are kept apart', () => {
  const w = given(oms, ...acked()).when(reports(trade('t1', '1', '100', 2), trade('t2', '1', '100', 3, { fee: '0.001', fee_ccy: 'BNB' })));
  assertMatch(w.state, { fees: '0.1', fee_ccy: 'USDT' });
  assert.deepEqual(w.state?.other_fees, { BNB: '0.001' });
});

test('transition table: terminal statuses accept nothing', () => {
  for (const t of ['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'] as const) {
    for (const to of ['NEW', 'SUBMITTED', 'ACKED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'] as const) {
      assert.equal(canTransition(t, to), false);
    }
  }
  assert.ok(canTransition('SUBMITTED', 'FILLED'));
  assert.ok(!canTransition('NEW', 'ACKED'));
});

// ---- live venues: no answer, amends -------------------------------------------------------

const noAnswer = (reason = 'no reply within 5000 ms'): OrderCommand => ({ kind: 'no_answer', reason, envelope: seed });

test("a placement with no answer is submitted, then UNKNOWN; the venue's reports found later resolve it", () => {
  const unknown = after(routed(), noAnswer());
  assert.deepEqual(
    unknown.slice(1).map((e) => e.type),
    ['OrderSubmitted', 'OrderUnknown'],
  );
  assert.equal(foldOrder(unknown)!.status, 'UNKNOWN');
  const found = reported(unknown, ack(), trade('t1', '3', '100'));
  assertMatch(foldOrder(found)!, { status: 'FILLED', filled_qty: '3', venue_order_id: 'v1' });
});

test('an UNKNOWN order the venue does not have is submitted again, once, with its own event id', () => {
  const unknown = after(routed(), noAnswer());
  const again = after(unknown, submit());
  const resubmitted = again[again.length - 1];
  assert.equal(resubmitted.type, 'OrderSubmitted');
  assert.ok('event_id' in resubmitted && resubmitted.event_id.endsWith('/resubmitted'));
  assert.equal(foldOrder(again)!.status, 'SUBMITTED');
  // A second "submitted" on a SUBMITTED order is an anomaly, never a second placement record.
  const twice = oms.decide(submit(), foldOrder(again));
  assert.deepEqual(
    twice.map((e) => e.type),
    ['OrderAnomaly'],
  );
});

test('no answer for an order that is already past SUBMITTED decides nothing more than the anomaly', () => {
  const events = oms.decide(noAnswer(), foldOrder(acked()));
  assert.deepEqual(
    events.map((e) => e.type),
    ['OrderAnomaly'],
  );
});

test('an amend changes size, price and venue order id; late fills of the replaced venue order still count', () => {
  const amended = reported(acked('3'), { kind: 'AMENDED', venue_order_id: 'v2', qty: '2', limit_price: '99', ts: ts(3) });
  const s = foldOrder(amended)!;
  assertMatch(s, { status: 'ACKED', venue_order_id: 'v2', prior_venue_order_ids: ['v1'], order: { qty: '2', limit_price: '99' } });
  const late = reported(amended, trade('t1', '1', '100'), trade('t2', '1', '99', 4, { venue_order_id: 'v2' }));
  assertMatch(foldOrder(late)!, { status: 'FILLED', filled_qty: '2', venue_order_id: 'v2' });
  // The same amend again is a redelivery: nothing new.
  assert.deepEqual(oms.decide(reports({ kind: 'AMENDED', venue_order_id: 'v2', qty: '2', limit_price: '99', ts: ts(3) }), s), []);
});

test('an amend below the filled quantity, or on a closed order, is an anomaly and changes nothing', () => {
  const part = reported(acked('3'), trade('t1', '2', '100'));
  assertAnomaly(part, { kind: 'AMENDED', venue_order_id: 'v1', qty: '1', ts: ts(3) }, 'OVER_FILL', /below the filled 2/);
  assertAnomaly(reported(acked(), cancel), { kind: 'AMENDED', venue_order_id: 'v1', qty: '1', ts: ts(10) }, 'ILLEGAL_TRANSITION', /CANCELED -> AMENDED/);
});
