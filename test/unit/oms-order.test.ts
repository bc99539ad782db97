import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Order, VenueReport } from '../../src/domain/events.js';
import { Event as EventSchema } from '../../src/domain/events.js';
import { fillFingerprint } from '../../src/domain/ids.js';
import {
  canTransition,
  decideReport,
  decideReports,
  decideSubmitted,
  evolve,
  foldOrder,
  newOrder,
  type EnvelopeSeed,
  type OrderState,
} from '../../src/oms/index.js';

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

function apply(s: OrderState, events: Event[]): OrderState {
  return foldOrder(events, s)!;
}
function submitted(qty = '3'): OrderState {
  const s = newOrder(order(qty), T0);
  return apply(s, decideSubmitted(s, seed));
}
function acked(qty = '3'): OrderState {
  const s = submitted(qty);
  return apply(s, decideReport(s, ack(), seed));
}
function step(s: OrderState, r: VenueReport): { s: OrderState; events: Event[] } {
  const events = decideReport(s, r, seed);
  return { s: apply(s, events), events };
}

test('newOrder starts NEW with empty fill figures', () => {
  const s = newOrder(order(), T0);
  assert.equal(s.status, 'NEW');
  assert.equal(s.filled_qty, '0');
  assert.equal(s.avg_price, '0');
  assert.equal(s.fills, 0);
  assert.deepEqual(s.fingerprints, []);
});

test('OrderRouted creates the state; other events on no state stay undefined', () => {
  const routed: Event = {
    event_id: 'r1',
    intent_id: 'i1',
    account: 'acct',
    strategy: 'xs_v1',
    ts: T0,
    causation: 'x',
    recorded_at: T0,
    type: 'OrderRouted',
    data: { order: order() },
  };
  const s = evolve(undefined, routed);
  assert.equal(s?.status, 'NEW');
  assert.equal(s?.order.client_order_id, 'fs-coid-1');
  assert.equal(evolve(s, routed), s, 'a second OrderRouted is a no-op');
  const sub = decideSubmitted(s!, seed);
  assert.equal(evolve(undefined, sub[0]), undefined);
});

test('decideSubmitted: NEW -> SUBMITTED, with envelope from the order and seed', () => {
  const s = newOrder(order(), T0);
  const [e] = decideSubmitted(s, seed, { recovered: true });
  assert.equal(e.type, 'OrderSubmitted');
  assert.equal(e.event_id, 'gw/0/5/submitted');
  assert.equal(e.intent_id, 'i1');
  assert.equal(e.account, 'acct');
  assert.equal(e.strategy, 'xs_v1');
  assert.equal(e.causation, seed.causation);
  assert.equal(e.recorded_at, seed.recorded_at);
  assert.equal(e.ts, T0);
  assert.deepEqual(e.data, { client_order_id: 'fs-coid-1', venue: 'BINANCE', recovered: true });
  assert.ok(EventSchema.safeParse(e).success, 'event matches the schema');
  assert.equal(evolve(s, e)?.status, 'SUBMITTED');
});

test('decideSubmitted on a non-NEW order is an anomaly', () => {
  const s = submitted();
  const events = decideSubmitted(s, seed);
  assert.equal(events.length, 1);
  assert.equal(events[0].type, 'OrderAnomaly');
  assert.equal(apply(s, events), s);
});

test('ACK: SUBMITTED -> ACKED, records the venue order id', () => {
  const { s, events } = step(submitted(), ack('v1'));
  assert.equal(events[0].type, 'OrderAcked');
  assert.equal(events[0].event_id, 'gw/0/5/ack');
  assert.equal(events[0].ts, ts(1), 'event time is the report time');
  assert.equal(s.status, 'ACKED');
  assert.equal(s.venue_order_id, 'v1');
  assert.equal(s.ts, ts(1));
});

test('seed.ts overrides the report time', () => {
  const [e] = decideReport(submitted(), ack(), { ...seed, ts: T0 });
  assert.equal(e.ts, T0);
});

test('TRADE partial then full: ACKED -> PARTIALLY_FILLED -> FILLED', () => {
  let { s, events } = step(acked(), trade('t1', '1', '100'));
  assert.equal(events[0].type, 'OrderFilled');
  assert.equal(s.status, 'PARTIALLY_FILLED');
  assert.equal(s.filled_qty, '1');
  ({ s, events } = step(s, trade('t2', '2', '100', 3)));
  const e = events[0];
  assert.ok(e.type === 'OrderFilled');
  assert.equal(e.data.status, 'FILLED');
  assert.equal(e.data.cum_qty, '3');
  assert.equal(s.status, 'FILLED');
  assert.equal(s.fills, 2);
  assert.equal(s.fees, '0.2');
  assert.equal(s.fee_ccy, 'USDT');
});

test('TRADE filling everything at once: ACKED -> FILLED', () => {
  const { s } = step(acked(), trade('t1', '3', '100'));
  assert.equal(s.status, 'FILLED');
});

test('TRADE right after SUBMITTED is an implicit ack', () => {
  const { s, events } = step(submitted(), trade('t1', '1', '100'));
  assert.equal(events[0].type, 'OrderFilled');
  assert.equal(s.status, 'PARTIALLY_FILLED');
  assert.equal(s.venue_order_id, 'v1');
  // The late ack with the same venue order id is a redelivery: nothing to record.
  assert.deepEqual(decideReport(s, ack('v1'), seed), []);
});

test('OrderFilled carries a complete Fill with its fingerprint and canonical decimals', () => {
  const { events } = step(acked(), trade('t1', '1.50', '100.0'));
  const e = events[0];
  assert.ok(e.type === 'OrderFilled');
  const f = e.data.fill;
  assert.equal(f.qty, '1.5');
  assert.equal(f.price, '100');
  assert.equal(f.venue, 'BINANCE');
  assert.equal(f.fingerprint, fillFingerprint({ venue: 'BINANCE', venue_order_id: 'v1', trade_id: 't1', qty: '1.5', price: '100', ts: ts(2) }));
  assert.equal(e.event_id, `gw/0/5/fill/${f.fingerprint}`);
  assert.ok(EventSchema.safeParse(e).success);
});

test('average price is exact over three fills at different prices', () => {
  const { state, events } = decideReports(acked('10'), [trade('t1', '1', '100', 2), trade('t2', '2', '101', 3), trade('t3', '3', '102.5', 4)], seed);
  // (100 + 202 + 307.5) / 6 = 609.5 / 6 = 101.583333...
  assert.equal(state.filled_qty, '6');
  assert.equal(state.notional, '609.5');
  assert.equal(state.avg_price, '101.583333333333333333');
  const last = events[2];
  assert.ok(last.type === 'OrderFilled');
  assert.equal(last.data.avg_price, state.avg_price);
  assert.equal(last.data.cum_qty, '6');
  const { state: s2 } = decideReports(acked('4'), [trade('a', '1', '100', 2), trade('b', '2', '101', 3), trade('c', '1', '103', 4)], seed);
  assert.equal(s2.avg_price, '101.25');
  assert.equal(s2.status, 'FILLED');
});

test('a fill with a known fingerprint is a FillDuplicate and changes nothing', () => {
  const { s } = step(acked(), trade('t1', '1', '100'));
  const events = decideReport(s, trade('t1', '1.0', '100'), seed, 4);
  assert.equal(events.length, 1);
  const e = events[0];
  assert.ok(e.type === 'FillDuplicate');
  assert.equal(e.event_id, 'gw/0/5/dup/4');
  assert.equal(e.data.fingerprint, s.fingerprints[0]);
  assert.deepEqual(apply(s, events), s);
  // Even once the order is terminal, a known fill is a duplicate rather than an anomaly.
  const { s: filled } = step(s, trade('t2', '2', '100', 3));
  assert.equal(decideReport(filled, trade('t2', '2', '100', 3), seed)[0].type, 'FillDuplicate');
});

test('same trade id with different content is a new fill (dedup by content)', () => {
  const { s } = step(acked(), trade('t1', '1', '100', 2));
  const { s: s2, events } = step(s, trade('t1', '1', '100', 3));
  assert.equal(events[0].type, 'OrderFilled');
  assert.equal(s2.filled_qty, '2');
});

test('over-fill is never applied: anomaly, state unchanged', () => {
  const { s } = step(acked(), trade('t1', '2', '100'));
  const events = decideReport(s, trade('t2', '1.5', '100', 3), seed, 7);
  assert.equal(events.length, 1);
  const e = events[0];
  assert.ok(e.type === 'OrderAnomaly');
  assert.equal(e.event_id, 'gw/0/5/anomaly/7');
  assert.equal(e.data.report, 'TRADE');
  assert.equal(e.data.status, 'PARTIALLY_FILLED');
  assert.match(e.data.reason, /over-fill/);
  assert.deepEqual(apply(s, events), s);
  assert.equal(s.filled_qty, '2');
});

test('CANCELED from ACKED and from PARTIALLY_FILLED', () => {
  const a = step(acked(), cancel);
  assert.equal(a.events[0].type, 'OrderCanceled');
  assert.equal(a.s.status, 'CANCELED');
  const p = step(step(acked(), trade('t1', '1', '100')).s, cancel);
  assert.equal(p.s.status, 'CANCELED');
  assert.equal(p.s.filled_qty, '1', 'fills before the cancel stay');
});

test('EXPIRED from ACKED and from PARTIALLY_FILLED', () => {
  assert.equal(step(acked(), expire).s.status, 'EXPIRED');
  assert.equal(step(step(acked(), trade('t1', '1', '100')).s, expire).s.status, 'EXPIRED');
});

test('CANCELED or EXPIRED straight after SUBMITTED is an implicit ack', () => {
  for (const [report, type, status] of [[cancel, 'OrderCanceled', 'CANCELED'], [expire, 'OrderExpired', 'EXPIRED']] as const) {
    const [e] = decideReport(submitted(), report, seed);
    assert.equal(e.type, type);
    assert.equal(evolve(submitted(), e)?.status, status);
  }
});

test('REJECTED from SUBMITTED', () => {
  const { s, events } = step(submitted(), reject);
  const e = events[0];
  assert.ok(e.type === 'OrderRejected');
  assert.equal(e.data.code, 'INSUFFICIENT_BALANCE');
  assert.equal(s.status, 'REJECTED');
});

function assertAnomaly(s: OrderState, r: VenueReport, reason: RegExp) {
  let events: Event[] = [];
  assert.doesNotThrow(() => (events = decideReport(s, r, seed)));
  assert.equal(events.length, 1, `one event for ${r.kind} on ${s.status}`);
  const e = events[0];
  assert.ok(e.type === 'OrderAnomaly', `anomaly for ${r.kind} on ${s.status}`);
  assert.equal(e.data.status, s.status);
  assert.equal(e.data.report, r.kind);
  assert.match(e.data.reason, reason);
  assert.ok(EventSchema.safeParse(e).success);
  assert.deepEqual(apply(s, events), s, 'state unchanged');
}

test('illegal transitions become anomalies, never throw, never change state', () => {
  const canceled = step(acked(), cancel).s;
  const filled = step(acked(), trade('t1', '3', '100')).s;
  const rejected = step(submitted(), reject).s;
  const expired = step(acked(), expire).s;
  const fresh = newOrder(order(), T0);
  assertAnomaly(canceled, trade('t9', '1', '100'), /CANCELED -> TRADE/);
  assertAnomaly(filled, ack('v1'), /FILLED -> ACKED/);
  assertAnomaly(filled, cancel, /FILLED -> CANCELED/);
  assertAnomaly(rejected, ack('v1'), /REJECTED/);
  assertAnomaly(expired, expire, /EXPIRED -> EXPIRED/);
  assertAnomaly(canceled, reject, /CANCELED -> REJECTED/);
  assertAnomaly(fresh, ack('v1'), /NEW -> ACKED/);
  assertAnomaly(fresh, trade('t1', '1', '100'), /NEW -> TRADE/);
  assertAnomaly(acked(), reject, /ACKED -> REJECTED/);
});

test('reports naming another venue order id are anomalies', () => {
  assertAnomaly(acked(), ack('v2'), /v2/);
  assertAnomaly(acked(), trade('t1', '1', '100', 2, { venue_order_id: 'v2' }), /v2/);
});

test('malformed trade figures are anomalies, not exceptions', () => {
  assertAnomaly(acked(), trade('t1', '0', '100'), /qty/);
  assertAnomaly(acked(), trade('t1', '-1', '100'), /qty/);
  assertAnomaly(acked(), trade('t1', 'abc', '100'), /qty/);
  assertAnomaly(acked(), trade('t1', '1', '0'), /price/);
  assertAnomaly(acked(), trade('t1', '1', '1e3'), /price/);
  assertAnomaly(acked(), trade('t1', '1', '100', 2, { fee: '' }), /fee/);
});

test('evolve ignores illegal facts and events of other orders', () => {
  const s = acked();
  const other = { ...decideReport(s, cancel, seed)[0], data: { client_order_id: 'other', reason: 'x' } } as Event;
  assert.equal(evolve(s, other), s);
  const canceled = step(s, cancel).s;
  const [fill] = decideReport(s, trade('t1', '1', '100'), seed);
  assert.equal(evolve(canceled, fill), canceled, 'no fill after a terminal status');
});

test('decideReports folds a batch and keeps event ids unique', () => {
  const reports = [ack(), trade('t1', '1', '100'), trade('t1', '1', '100'), ack('v9'), trade('t2', '5', '100', 3), trade('t1', '1', '100'), cancel, cancel];
  const { state, events } = decideReports(submitted(), reports, seed);
  assert.deepEqual(
    events.map((e) => e.type),
    ['OrderAcked', 'OrderFilled', 'FillDuplicate', 'OrderAnomaly', 'OrderAnomaly', 'FillDuplicate', 'OrderCanceled', 'OrderAnomaly'],
  );
  assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
  assert.equal(state.status, 'CANCELED');
  assert.equal(state.filled_qty, '1');
  assert.deepEqual(foldOrder(events, submitted()), state, 'the events fold to the returned state');
});

test('fees in a second currency are kept apart', () => {
  const { state } = decideReports(acked(), [trade('t1', '1', '100', 2), trade('t2', '1', '100', 3, { fee: '0.001', fee_ccy: 'BNB' })], seed);
  assert.equal(state.fees, '0.1');
  assert.equal(state.fee_ccy, 'USDT');
  assert.deepEqual(state.other_fees, { BNB: '0.001' });
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
