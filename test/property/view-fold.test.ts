// The projection view folds order status events from record headers and evolves its order states
// in place. Both are shortcuts: the view must equal the plain fold (every record parsed, orders
// folded with the pure evolve), whatever the interleaving, re-deliveries and illegal reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Event, NormalizedIntent, Order, VenueReport } from '../../src/domain/events.js';
import type { LogRecord } from '../../src/log/types.js';
import { newOrder, oms, type EnvelopeSeed, type OrderState } from '../../src/oms/index.js';
import { HEADER_INTENT_ID, HEADER_TYPE, toRecord } from '../../src/runtime/codec.js';
import { foldPositions, markToMarket } from '../../src/positions/index.js';
import { applyRecord, emptyView, stateHash, type View } from '../../src/projections/view.js';

const T0 = '2026-01-02T10:00:00.000000Z';
const ts = fc.integer({ min: 0, max: 9 }).map((s) => `2026-01-02T10:00:0${s}.000000Z`);
const INSTRUMENTS = ['BINANCE:BTCUSDT', 'BINANCE:ETHBTC', 'SIM:XY'];

const report: fc.Arbitrary<VenueReport> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ACK' as const), venue_order_id: fc.constantFrom('v1', 'v1', 'v2'), ts }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('TRADE' as const),
      venue_order_id: fc.constantFrom('v1', 'v1', 'v2'),
      trade_id: fc.constantFrom('t1', 't2', 't3', 't4'),
      qty: fc.constantFrom('0.5', '1', '1.25', '2', '0'),
      price: fc.constantFrom('10', '10.5', '9.99'),
      fee: fc.constantFrom('0', '0.01', '-0.002'),
      fee_ccy: fc.constantFrom('USDT', 'USDT', 'BNB'),
      liquidity: fc.constantFrom('MAKER' as const, 'TAKER' as const),
      ts,
    }),
  },
  fc.record({ kind: fc.constant('CANCELED' as const), reason: fc.constant('c'), ts }),
  fc.record({ kind: fc.constant('EXPIRED' as const), reason: fc.constant('e'), ts }),
  fc.record({ kind: fc.constant('REJECTED' as const), code: fc.constant('R'), reason: fc.constant('r'), ts }),
);

const orderSpec = fc.record({
  qty: fc.constantFrom('1', '2.5', '3', '10'),
  side: fc.constantFrom('BUY' as const, 'SELL' as const),
  instrument: fc.constantFrom(...INSTRUMENTS),
  account: fc.constantFrom('a', 'b'),
  routedAt: ts,
  /** false: the order's events reach the log without its OrderRouted (an unknown order to the fold). */
  routed: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  submit: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  reports: fc.array(report, { maxLength: 8 }),
});

function orderOf(i: number, o: { qty: string; side: 'BUY' | 'SELL'; instrument: string; account: string }): Order {
  const [venue, symbol] = o.instrument.split(':');
  return {
    client_order_id: `c${i}`,
    intent_id: `i${i}`,
    leg: 0,
    attempt: 0,
    account: o.account,
    strategy: 's',
    env: 'sim',
    instrument_id: o.instrument,
    venue,
    symbol,
    side: o.side,
    order_type: 'LIMIT',
    limit_price: '10',
    qty: o.qty,
    tif: 'GTC',
    ref_price: '10',
  };
}

type Spec = typeof orderSpec extends fc.Arbitrary<infer T> ? T : never;

/** One order's events, as the router and the OMS deciders write them. */
function orderEvents(i: number, spec: Spec): Event[] {
  const order = orderOf(i, spec);
  const routed: Event = {
    event_id: `i${i}/route/0`,
    intent_id: order.intent_id,
    account: order.account,
    strategy: 's',
    ts: spec.routedAt,
    causation: `i${i}/risk`,
    recorded_at: T0,
    type: 'OrderRouted',
    data: { order },
  };
  const seed: EnvelopeSeed = { event_id: `i${i}/order/0/0`, causation: routed.event_id, recorded_at: T0 };
  const s: OrderState = newOrder(order, spec.routedAt);
  const out: Event[] = spec.routed ? [routed] : [];
  // Placed on the venue (with its reports so far), or refused by the gateway before it was sent.
  const command = spec.submit
    ? { kind: 'submitted' as const, recovered: false, reports: spec.reports, envelope: seed }
    : { kind: 'reports' as const, reports: spec.reports, envelope: seed };
  out.push(...oms.decide(command, s));
  return out;
}

const intent: NormalizedIntent = {
  intent_id: 'n1',
  ts: T0,
  account: 'a',
  strategy: 's',
  labels: {},
  env: 'sim',
  instrument_id: 'BINANCE:BTCUSDT',
  venues: ['BINANCE:BTCUSDT'],
  sized_on: 'BINANCE:BTCUSDT',
  base: 'BTC',
  quote: 'USDT',
  side: 'BUY',
  size: { type: 'quantity', value: '1', ccy: 'BTC' },
  qty: '1',
  order_type: 'MARKET',
  tif: 'IOC',
  ref_price: '10',
  notional: '10',
  notional_usd: '10',
};
const env = (id: string, t = T0, intentId = 'n1') => ({ event_id: id, intent_id: intentId, account: 'a', strategy: 's', ts: t, causation: 'c', recorded_at: T0 });
const source = { topic: 'exec.intents', partition: 0, offset: 0 };
const deadLetter = { code: 'SCHEMA' as const, reason: 'r', raw: '{}', raw_encoding: 'utf8' as const, raw_bytes: 2, source };

/** Events of the other stages: counted (or, for the dead letter, kept out of market time). */
const otherEvent: fc.Arbitrary<Event> = fc.oneof(
  fc.constant<Event>({ ...env('n1/accepted'), type: 'IntentAccepted', data: { intent } }),
  fc.constant<Event>({ ...env('n1/risk'), type: 'RiskApproved', data: { intent, policy_version: 1 } }),
  fc.constantFrom('MAX_ORDER_NOTIONAL', 'HALTED').map((code): Event => ({ ...env('n2/risk'), type: 'RiskRejected', data: { code, reason: 'r', policy_version: 1 } })),
  fc.constant<Event>({ ...env('n1/duplicate'), type: 'IntentDuplicate', data: { source } }),
  fc.integer({ min: 1, max: 3 }).map((version): Event => ({ ...env(`policy/${version}`, T0, ''), type: 'RiskPolicySet', data: { version, policy: { halted: false } } })),
  // A dead letter may carry a later (wall-clock) time: it must not move the view's market time.
  fc.constant<Event>({ ...env('dlq/1', '2026-01-02T11:00:00.000000Z', ''), type: 'DeadLetter', data: deadLetter }),
);

/** A log: each order's events in order, orders interleaved, other events and re-deliveries mixed in. */
const logArb = fc
  .tuple(fc.array(orderSpec, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 60 }), fc.array(otherEvent, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }))
  .map(([specs, picks, others, redeliver]) => {
    const queues = specs.map((s, i) => orderEvents(i, s));
    const out: Event[] = [];
    let n = 0;
    while (queues.some((q) => q.length > 0)) {
      const live = queues.filter((q) => q.length > 0);
      out.push(live[(picks[n++ % Math.max(1, picks.length)] ?? 0) % live.length].shift()!);
    }
    others.forEach((e, i) => out.splice((picks[i] ?? i) % (out.length + 1), 0, e));
    for (const k of redeliver) if (out.length > 0) out.push(out[k % out.length]);
    return out;
  });

/** Records as the embedded log hands them out after a restart: bytes and headers, nothing decoded. */
function records(events: Event[], headers: (h: Record<string, string>) => Record<string, string>): LogRecord[] {
  return events.map((e, offset) => {
    const r = toRecord(structuredClone(e), T0);
    return { topic: r.topic, partition: 0, offset, key: r.key, value: Buffer.from(r.value), headers: headers(r.headers ?? {}), timestamp: 0 };
  });
}

function fold(rs: LogRecord[]): View {
  const view = emptyView();
  for (const r of rs) applyRecord(view, r);
  return view;
}

const hashOf = (v: View) =>
  stateHash(
    v,
    markToMarket(v.positions, () => undefined),
  );

test('folding order status events from headers gives the view that parsing every record gives', () => {
  fc.assert(
    fc.property(logArb, (events) => {
      const withHeaders = fold(records(events, (h) => h));
      // Records written before the order headers existed (type and intent_id only): parsed.
      const old = fold(records(events, (h) => ({ [HEADER_TYPE]: h[HEADER_TYPE], [HEADER_INTENT_ID]: h[HEADER_INTENT_ID] })));
      // No headers at all: every record is parsed.
      const parsed = fold(records(events, () => ({})));
      assert.deepEqual(withHeaders, parsed);
      assert.deepEqual(old, parsed);
      assert.equal(hashOf(withHeaders), hashOf(parsed));
    }),
    { numRuns: 300 },
  );
});

test("the view's in-place fold equals folding each order with the pure evolve, and mutates no event", () => {
  fc.assert(
    fc.property(logArb, (events) => {
      const before = structuredClone(events);
      const view = emptyView();
      // In-process readers get the writer's own objects (LogRecord.decoded): they must stay intact.
      for (const [offset, e] of events.entries()) {
        const r = toRecord(e, T0);
        applyRecord(view, { topic: r.topic, partition: 0, offset, key: r.key, value: Buffer.from(r.value), headers: r.headers ?? {}, timestamp: 0, decoded: e });
      }
      assert.deepEqual(events, before);

      const orders = new Map<string, OrderState>();
      let lastTs = '';
      for (const e of events) {
        const coid = e.type === 'OrderRouted' ? e.data.order.client_order_id : 'client_order_id' in e.data ? e.data.client_order_id : undefined;
        if (coid === undefined || e.type === 'OrderAnomaly' || e.type === 'FillDuplicate') continue;
        if (e.ts > lastTs) lastTs = e.ts;
        const next = oms.evolve(orders.get(coid), e);
        if (next) orders.set(coid, next);
      }
      assert.deepEqual(view.orders, orders);
      assert.equal(view.last_ts, lastTs);
      assert.deepEqual(view.positions, foldPositions(events));
      const count = (t: Event['type']) => events.filter((e) => e.type === t).length;
      assert.equal(view.fills, count('OrderFilled'));
      assert.equal(view.anomalies, count('OrderAnomaly'));
      assert.equal(view.fill_duplicates, count('FillDuplicate'));
      assert.equal(view.accepted, count('RiskApproved'));
      assert.equal(view.rejected, count('RiskRejected'));
      assert.equal(view.duplicates, count('IntentDuplicate'));
      assert.equal(view.normalized, count('IntentAccepted'));
      assert.equal(view.dlq, count('DeadLetter'));
    }),
    { numRuns: 300 },
  );
});

test('order events carry client_order_id; status events also ts, and OrderAcked venue_order_id; every event a traceparent', () => {
  fc.assert(
    fc.property(logArb, (events) => {
      for (const e of events) {
        const h = toRecord(structuredClone(e), T0).headers ?? {};
        assert.equal(h.type, e.type);
        assert.equal(h.intent_id, e.intent_id);
        const coid = e.type === 'OrderRouted' ? e.data.order.client_order_id : 'client_order_id' in e.data ? e.data.client_order_id : undefined;
        assert.equal(h.client_order_id, coid);
        const status = ['OrderSubmitted', 'OrderAcked', 'OrderCanceled', 'OrderRejected', 'OrderExpired'].includes(e.type);
        assert.equal(h.ts, status ? e.ts : undefined);
        assert.equal(h.venue_order_id, e.type === 'OrderAcked' ? e.data.venue_order_id : undefined);
        assert.match(h.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
        assert.deepEqual(
          Object.keys(h),
          ['type', 'intent_id', 'client_order_id', 'ts', 'venue_order_id', 'traceparent'].filter((k) => h[k] !== undefined),
          'names in a fixed order',
        );
      }
    }),
    { numRuns: 100 },
  );
});
