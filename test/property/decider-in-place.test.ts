// The in-place folds are shortcuts for adapters that own their state (a restore of the seen
// intent ids, a view's position book): over any history, each must reach the state the immutable
// `evolve` reaches, and `evolve` must leave its input as it was. `given` (test/helpers/decider.ts)
// checks both at every step; each property also folds in place itself and compares the ends.
// The OMS's folds are held equal in test/property/oms-order.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dec, fmt, ZERO } from '../../src/domain/decimal.js';
import type { Event, NormalizedIntent, Order, OrderStatusFact } from '../../src/domain/events.js';
import type { Side } from '../../src/domain/intent.js';
import { normalizer, type NormalizerFact } from '../../src/normalizer/decide.js';
import { builtinResolver, getPosition, positions, positionsDecider, type PositionFact } from '../../src/positions/index.js';
import { given, snapshot, type TestedDecider } from '../helpers/decider.js';

const T0 = '2026-01-02T10:00:00.000000Z';

/** Folds `events` in place from a fresh initial state. */
function foldInPlace<S, F>(decider: Required<Pick<TestedDecider<unknown, S, F, never>, 'initialState' | 'evolveInPlace'>>, events: readonly F[]): S {
  let s = decider.initialState();
  for (const e of events) s = decider.evolveInPlace(s, e);
  return s;
}

// ---- normalizer: the seen intent ids ------------------------------------------------------

const source = { topic: 'exec.intents', partition: 0, offset: 0 };
const env = (intentId: string, id: string) => ({ event_id: id, intent_id: intentId, account: 'a', strategy: 's', ts: T0, causation: 'exec.intents/0/0', recorded_at: T0 });

const intent: NormalizedIntent = {
  intent_id: 'i1',
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

/** What the normalizer folds: its events in full, or as a restore reads them from headers ({ type, intent_id }). */
const normalizerFact: fc.Arbitrary<NormalizerFact> = fc
  .tuple(
    fc.constantFrom<'IntentAccepted' | 'IntentDuplicate' | 'DeadLetter'>('IntentAccepted', 'IntentDuplicate', 'DeadLetter'),
    fc.constantFrom('i1', 'i2', 'i3', ''),
    fc.boolean(),
  )
  .map(([type, intentId, full]): NormalizerFact | Event => {
    if (!full) return { type, intent_id: intentId };
    if (type === 'IntentDuplicate') return { ...env(intentId, `${intentId}/duplicate`), type, data: { source } };
    if (type === 'DeadLetter')
      return { ...env(intentId, 'dlq/exec.intents/0/0'), type, data: { code: 'SCHEMA', reason: 'r', raw: '{}', raw_encoding: 'utf8', raw_bytes: 2, source } };
    return { ...env(intentId, `${intentId}/accepted`), type, data: { intent: { ...intent, intent_id: intentId } } };
  });

test('normalizer: the in-place fold of the seen ids equals the evolve fold, and evolve changes no input', () => {
  fc.assert(
    fc.property(fc.array(normalizerFact, { maxLength: 30 }), (facts) => {
      const g = given(normalizer, ...facts);
      assert.deepEqual(snapshot(foldInPlace(normalizer, facts)), snapshot(g.state));
      // Only accepted ids are remembered, each once, in the order first accepted.
      assert.deepEqual([...g.state.seen], [...new Set(facts.filter((f) => f.type === 'IntentAccepted').map((f) => f.intent_id))]);
    }),
    { numRuns: 500 },
  );
});

// ---- positions: the book of routes and position accumulators ------------------------------

const INSTRUMENTS = ['BINANCE:BTCUSDT', 'BINANCE:ETHBTC', 'OKX:SOL-USDT', 'SIM:XY'];

const orderPlan = fc.record({
  account: fc.constantFrom('a', 'b', '__proto__'),
  instrument: fc.constantFrom(...INSTRUMENTS),
  side: fc.constantFrom<Side>('BUY', 'SELL'),
  /** false: fills arrive for an order the fold never saw routed. */
  routed: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  fills: fc.array(
    fc.record({
      qty: fc.constantFrom('0.5', '1', '2', '0.001'),
      price: fc.constantFrom('9.5', '10', '10.25', '0.05'),
      fee: fc.constantFrom('0', '0.01', '-0.002', '0.0000001'),
      /** In the quote currency, in the base, or in a third one. */
      fee_in: fc.constantFrom('quote', 'quote', 'base', 'BNB'),
    }),
    { maxLength: 4 },
  ),
  end: fc.constantFrom('open', 'filled', 'canceled', 'rejected', 'expired'),
  /** The terminal status as a restore reads it from the record headers, not the full event. */
  end_from_headers: fc.boolean(),
  /** A fill the venue reports after the order ended: skipped. */
  late_fill: fc.boolean(),
});
type OrderPlan = typeof orderPlan extends fc.Arbitrary<infer T> ? T : never;

function orderOf(coid: string, p: OrderPlan): Order {
  const [venue, symbol] = p.instrument.split(':');
  return {
    client_order_id: coid,
    intent_id: coid,
    leg: 0,
    attempt: 0,
    account: p.account,
    strategy: 's',
    env: 'sim',
    instrument_id: p.instrument,
    venue,
    symbol,
    side: p.side,
    order_type: 'MARKET',
    qty: '100',
    tif: 'IOC',
    ref_price: '10',
  };
}

/** One order's events, in order: routed, acked (from headers), fills with rising cum_qty, how it ended. */
function orderEvents(i: number, p: OrderPlan): PositionFact[] {
  const coid = `c${i}`;
  const order = orderOf(coid, p);
  const base = { event_id: '', intent_id: coid, account: p.account, strategy: 's', ts: T0, causation: 'c', recorded_at: T0 };
  const bq = builtinResolver(p.instrument) ?? { base: 'X', quote: 'Y' };
  const out: PositionFact[] = [];
  if (p.routed) out.push({ ...base, event_id: `${coid}/route/0`, type: 'OrderRouted', data: { order } });
  out.push({ type: 'OrderAcked', ts: T0, data: { client_order_id: coid, venue_order_id: 'v' } } satisfies OrderStatusFact);
  let cum = ZERO;
  const filled = (f: OrderPlan['fills'][number], n: number, status: 'PARTIALLY_FILLED' | 'FILLED'): Event => {
    cum = cum.plus(dec(f.qty));
    const fee_ccy = f.fee_in === 'quote' ? bq.quote : f.fee_in === 'base' ? bq.base : f.fee_in;
    return {
      ...base,
      event_id: `${coid}/fill/${n}`,
      type: 'OrderFilled',
      data: {
        client_order_id: coid,
        fill: {
          fingerprint: `fp-${coid}-${n}`,
          venue: order.venue,
          venue_order_id: 'v',
          trade_id: `t${n}`,
          qty: f.qty,
          price: f.price,
          fee: f.fee,
          fee_ccy,
          liquidity: 'TAKER',
          ts: T0,
        },
        cum_qty: fmt(cum),
        avg_price: f.price,
        status,
      },
    };
  };
  p.fills.forEach((f, n) => out.push(filled(f, n, p.end === 'filled' && n === p.fills.length - 1 ? 'FILLED' : 'PARTIALLY_FILLED')));
  const type = p.end === 'canceled' ? 'OrderCanceled' : p.end === 'rejected' ? 'OrderRejected' : p.end === 'expired' ? 'OrderExpired' : undefined;
  if (type && p.end_from_headers) out.push({ type, ts: T0, data: { client_order_id: coid } } satisfies OrderStatusFact);
  else if (type === 'OrderCanceled' || type === 'OrderExpired') out.push({ ...base, event_id: `${coid}/end`, type, data: { client_order_id: coid, reason: 'r' } });
  else if (type === 'OrderRejected') out.push({ ...base, event_id: `${coid}/end`, type, data: { client_order_id: coid, code: 'R', reason: 'r' } });
  if (p.late_fill) out.push(filled({ qty: '1', price: '10', fee: '0', fee_in: 'quote' }, 99, 'PARTIALLY_FILLED'));
  return out;
}

/** A log: each order's events in order, orders interleaved, with re-deliveries of any event (fills included) mixed in. */
const positionLog = fc
  .tuple(fc.array(orderPlan, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 60 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }))
  .map(([plans, picks, redeliver]) => {
    const queues = plans.map((p, i) => orderEvents(i, p));
    const out: PositionFact[] = [];
    let n = 0;
    while (queues.some((q) => q.length > 0)) {
      const live = queues.filter((q) => q.length > 0);
      out.push(live[(picks[n++ % Math.max(1, picks.length)] ?? 0) % live.length].shift()!);
    }
    // A re-delivered event comes again somewhere after its first delivery.
    for (const [k, at] of redeliver) {
      const from = k % out.length;
      out.splice(from + 1 + (at % (out.length - from)), 0, out[from]);
    }
    return out;
  });

// The built-in registry, and a resolver that knows nothing (positions then fall back to the symbol).
const deciders = [positions, positionsDecider(() => undefined)];

test('positions: the in-place fold of the book equals the evolve fold, and evolve changes no input', () => {
  fc.assert(
    fc.property(fc.constantFrom(...deciders), positionLog, (decider, events) => {
      const g = given(decider, ...events);
      assert.deepEqual(snapshot(foldInPlace(decider, events)), snapshot(g.state));
      // Every fill is applied once or counted as skipped.
      const fills = events.filter((e) => e.type === 'OrderFilled').length;
      let applied = 0;
      for (const [account, byInstrument] of g.state.positions) for (const instrument of byInstrument.keys()) applied += getPosition(g.state, account, instrument)!.fills;
      assert.equal(applied + g.state.skipped_fills, fills);
    }),
    { numRuns: 300 },
  );
});

test('positions: folding a prefix in place, then the rest with evolve, reaches the same book', () => {
  // A view restores in place, then a reader may go on immutably from the book it was handed.
  fc.assert(
    fc.property(positionLog, fc.nat(), (events, cut) => {
      const k = cut % (events.length + 1);
      let mixed = foldInPlace(positions, events.slice(0, k));
      for (const e of events.slice(k)) mixed = positions.evolve(mixed, e);
      assert.deepEqual(snapshot(mixed), snapshot(given(positions, ...events).state));
    }),
    { numRuns: 200 },
  );
});
