import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { dec } from '../../src/domain/decimal.js';
import type { Event, Order, OrderStatus, OrderStatusFact, VenueReport } from '../../src/domain/events.js';
import { Event as EventSchema, TERMINAL_STATUSES } from '../../src/domain/events.js';
import { canTransition, foldOrder, oms, type EnvelopeSeed, type OmsEvent, type OrderCommand, type OrderFact, type OrderState } from '../../src/oms/index.js';

const T0 = '2026-01-02T10:00:00.000000Z';
const seed: EnvelopeSeed = { event_id: 'gw/0/1', causation: 'exec.gateway/0/1', recorded_at: T0 };

const order = (qty: string): Order => ({
  client_order_id: 'coid',
  intent_id: 'i1',
  leg: 0,
  attempt: 0,
  account: 'a',
  strategy: 's',
  env: 'sim',
  instrument_id: 'SIM:XY',
  venue: 'SIM',
  symbol: 'XY',
  side: 'SELL',
  order_type: 'LIMIT',
  limit_price: '10',
  qty,
  tif: 'GTC',
  ref_price: '10',
});

const routed = (qty: string): Event => ({
  event_id: 'r',
  intent_id: 'i1',
  account: 'a',
  strategy: 's',
  ts: T0,
  causation: 'c',
  recorded_at: T0,
  type: 'OrderRouted',
  data: { order: order(qty) },
});

const ts = fc.integer({ min: 0, max: 5 }).map((s) => `2026-01-02T10:00:0${s}.000000Z`);
// Mostly well-formed figures, with some garbage a venue might still send.
const mostly = (good: string[], bad: string[]) => fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
const qtyStr = mostly(['0.5', '1', '1.25', '2', '0.001'], ['0', '-1', 'x', '', '1e2', '1.']);
const report: fc.Arbitrary<VenueReport> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ACK' as const), venue_order_id: mostly(['v1'], ['v2']), ts }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('TRADE' as const),
      venue_order_id: mostly(['v1'], ['v2']),
      trade_id: fc.constantFrom('t1', 't2', 't3', 't4', 't5', 't6'),
      qty: qtyStr,
      price: mostly(['10', '10.5', '9.99'], ['0', 'bad']),
      fee: mostly(['0', '0.01', '-0.002'], ['nan']),
      fee_ccy: fc.constantFrom('USDT', 'BNB'),
      liquidity: fc.constantFrom('MAKER' as const, 'TAKER' as const),
      ts,
    }),
  },
  fc.record({ kind: fc.constant('CANCELED' as const), reason: fc.constant('c'), ts }),
  fc.record({ kind: fc.constant('EXPIRED' as const), reason: fc.constant('e'), ts }),
  fc.record({ kind: fc.constant('REJECTED' as const), code: fc.constant('R'), reason: fc.constant('r'), ts }),
);
// A pool of reports drawn with repetition: duplicates and re-orderings come naturally.
const reports = fc.array(report, { minLength: 1, maxLength: 12 }).chain((pool) => fc.array(fc.constantFrom(...pool), { maxLength: 30 }));
const orderQty = fc.constantFrom('1', '2.5', '3', '4', '10');

interface Run {
  states: OrderState[];
  events: Event[];
}

const submitCommand: OrderCommand = { kind: 'submitted', recovered: false, reports: [], envelope: seed };
/** Reports in one command, as the gateway decides what one call to the venue returned. */
const reportsCommand = (rs: readonly VenueReport[], envelope = seed): OrderCommand => ({ kind: 'reports', reports: rs, envelope });

/**
 * Route, maybe submit, then feed each report to oms.decide as a command of its own (each with its
 * own event id base, as records of their own would have) and fold what it gives with oms.evolve.
 */
function run(qty: string, submit: boolean, rs: VenueReport[]): Run {
  const events: Event[] = [routed(qty)];
  let s = oms.evolve(undefined, events[0])!;
  const states = [s];
  if (submit) {
    const sub = oms.decide(submitCommand, s);
    events.push(...sub);
    s = foldOrder(sub, s)!;
    states.push(s);
  }
  rs.forEach((r, i) => {
    const out = oms.decide(reportsCommand([r], { ...seed, event_id: `${seed.event_id}/${i}` }), s);
    assert.ok(out.length <= 1, 'one report gives at most one event');
    events.push(...out);
    s = foldOrder(out, s)!;
    states.push(s);
  });
  return { states, events };
}

const input = fc.tuple(orderQty, fc.constant(true), reports);
const inputMaybeUnsubmitted = fc.tuple(orderQty, fc.boolean(), reports);

test('decide never throws and emits only schema-valid events with unique ids', () => {
  fc.assert(
    fc.property(inputMaybeUnsubmitted, ([qty, submit, rs]) => {
      const { events } = run(qty, submit, rs);
      for (const e of events) assert.ok(EventSchema.safeParse(e).success, JSON.stringify(e));
      assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
    }),
    { numRuns: 300 },
  );
});

test('cumulative fill never exceeds the order quantity and equals the sum of applied fills', () => {
  fc.assert(
    fc.property(input, ([qty, submit, rs]) => {
      const { states, events } = run(qty, submit, rs);
      for (const s of states) assert.ok(dec(s.filled_qty).lte(dec(qty)), `${s.filled_qty} > ${qty}`);
      const fills = events.filter((e) => e.type === 'OrderFilled');
      const sum = fills.reduce((a, e) => a.plus(dec(e.type === 'OrderFilled' ? e.data.fill.qty : '0')), dec(0));
      const last = states[states.length - 1];
      assert.equal(dec(last.filled_qty).eq(sum), true);
      assert.equal(last.fills, fills.length);
      assert.equal(new Set(last.fingerprints).size, last.fingerprints.length, 'no fingerprint applied twice');
      if (last.fills > 0) assert.ok(dec(last.avg_price).eq(dec(last.notional).div(dec(last.filled_qty))));
    }),
    { numRuns: 300 },
  );
});

test('status only moves along the legal table, and terminal statuses are absorbing', () => {
  fc.assert(
    fc.property(inputMaybeUnsubmitted, ([qty, submit, rs]) => {
      const { states } = run(qty, submit, rs);
      let terminal: OrderStatus | undefined;
      for (let i = 1; i < states.length; i++) {
        const [a, b] = [states[i - 1].status, states[i].status];
        if (a !== b) assert.ok(canTransition(a, b), `${a} -> ${b}`);
        if (terminal) {
          assert.equal(b, terminal);
          assert.deepEqual(states[i], states[i - 1], 'a terminal order never changes');
        }
        if (TERMINAL_STATUSES.has(b)) terminal = b;
      }
    }),
    { numRuns: 300 },
  );
});

test('folding a prefix then the rest equals folding all; replaying the log twice equals once', () => {
  fc.assert(
    fc.property(input, fc.nat(), ([qty, submit, rs], cut) => {
      const { states, events } = run(qty, submit, rs);
      const all = foldOrder(events);
      assert.deepEqual(all, states[states.length - 1]);
      const k = cut % (events.length + 1);
      assert.deepEqual(foldOrder(events.slice(k), foldOrder(events.slice(0, k))), all);
      assert.deepEqual(foldOrder(events, all), all, 'evolve is idempotent over a re-delivered log');
    }),
    { numRuns: 300 },
  );
});

// Deciding a batch, the OMS carries the state from report to report itself (a fill's state is
// built while deciding it): that state must be the fold of the events, so deciding the batch at
// once gives what deciding its reports one command at a time, folding between them, gives.
test('deciding reports in one command equals deciding them one command at a time, folding the events between', () => {
  const withoutId = (events: readonly OmsEvent[]) => events.map(({ event_id: _, ...rest }) => rest);
  fc.assert(
    fc.property(inputMaybeUnsubmitted, ([qty, submit, rs]) => {
      const fresh = oms.evolve(undefined, routed(qty))!;
      const submitted = submit ? oms.decide(submitCommand, fresh) : [];
      const s = foldOrder(submitted, fresh)!;
      const batch = oms.decide(reportsCommand(rs), s);
      // Placing the order with the venue's reports so far is the submission, then those reports.
      if (submit) assert.deepEqual(oms.decide({ ...submitCommand, reports: rs }, fresh), [...submitted, ...batch]);
      assert.equal(new Set(batch.map((e) => e.event_id)).size, batch.length, 'event ids unique within the batch');
      let one = s;
      const singles: OmsEvent[] = [];
      for (const r of rs) {
        const out = oms.decide(reportsCommand([r]), one);
        singles.push(...out);
        one = foldOrder(out, one)!;
      }
      // Anomaly and duplicate ids carry the report's index in its command, so only they differ.
      assert.deepEqual(withoutId(batch), withoutId(singles));
      assert.deepEqual(foldOrder(batch, s), one);
    }),
    { numRuns: 300 },
  );
});

test('oms.evolve never changes its input; oms.evolveInPlace reaches the state oms.evolve returns', () => {
  fc.assert(
    fc.property(inputMaybeUnsubmitted, ([qty, submit, rs]) => {
      const { events } = run(qty, submit, rs);
      // Re-delivered events too: they must change nothing, in place or not.
      let s = oms.initialState();
      let owned = oms.initialState();
      for (const e of [...events, ...events]) {
        const before = structuredClone(s);
        const next = oms.evolve(s, e);
        assert.deepEqual(s, before, 'the input state is unchanged');
        assert.equal(next === s, isDeepStrictEqual(next, s), 'evolve hands back its input itself exactly when the event changes nothing');
        owned = oms.evolveInPlace(owned, e);
        assert.deepEqual(owned, next);
        s = next;
      }
      assert.deepEqual(owned, foldOrder(events));
    }),
    { numRuns: 300 },
  );
});

test('status events known from their record headers fold like the full events', () => {
  const fact = (e: Event): OrderFact => {
    switch (e.type) {
      case 'OrderAcked':
        return { type: e.type, ts: e.ts, data: { client_order_id: e.data.client_order_id, venue_order_id: e.data.venue_order_id } } satisfies OrderStatusFact;
      case 'OrderSubmitted':
      case 'OrderCanceled':
      case 'OrderRejected':
      case 'OrderExpired':
        return { type: e.type, ts: e.ts, data: { client_order_id: e.data.client_order_id } } satisfies OrderStatusFact;
      default:
        return e;
    }
  };
  fc.assert(
    fc.property(inputMaybeUnsubmitted, ([qty, submit, rs]) => {
      const { events } = run(qty, submit, rs);
      assert.deepEqual(foldOrder(events.map(fact)), foldOrder(events));
    }),
    { numRuns: 300 },
  );
});
