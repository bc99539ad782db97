import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dec } from '../../src/domain/decimal.js';
import type { Event, Order, OrderStatus, VenueReport } from '../../src/domain/events.js';
import { Event as EventSchema, TERMINAL_STATUSES } from '../../src/domain/events.js';
import {
  canTransition,
  decideReport,
  decideReports,
  decideSubmitted,
  evolve,
  evolveOrder,
  evolveOrderInPlace,
  foldOrder,
  type EnvelopeSeed,
  type OrderState,
} from '../../src/oms/index.js';

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
const mostly = (good: string[], bad: string[]) =>
  fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
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

/** Route, maybe submit, then feed each report through decide + evolve, one at a time. */
function run(qty: string, submit: boolean, rs: VenueReport[]): Run {
  const events: Event[] = [routed(qty)];
  let s = evolve(undefined, events[0])!;
  const states = [s];
  if (submit) {
    const sub = decideSubmitted(s, seed);
    events.push(...sub);
    s = foldOrder(sub, s)!;
    states.push(s);
  }
  rs.forEach((r, i) => {
    const out = decideReport(s, r, seed, i);
    assert.ok(out.length <= 1);
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

test('the state decideReports builds while deciding equals folding the events it returns', () => {
  fc.assert(
    fc.property(inputMaybeUnsubmitted, ([qty, submit, rs]) => {
      let s = evolve(undefined, routed(qty))!;
      if (submit) s = foldOrder(decideSubmitted(s, seed), s)!;
      const { state, events } = decideReports(s, rs, seed);
      assert.deepEqual(state, foldOrder(events, s));
      assert.deepEqual(events, run(qty, submit, rs).events.slice(submit ? 2 : 1), 'same events as deciding one report at a time');
    }),
    { numRuns: 300 },
  );
});

test('evolveOrder never changes its input; evolveOrderInPlace reaches the state evolveOrder returns', () => {
  fc.assert(
    fc.property(inputMaybeUnsubmitted, ([qty, submit, rs]) => {
      const { events } = run(qty, submit, rs);
      // Re-delivered events too: they must change nothing, in place or not.
      let s = evolve(undefined, events[0])!;
      const owned = structuredClone(s);
      for (const e of [...events.slice(1), ...events]) {
        const before = structuredClone(s);
        const next = evolveOrder(s, e);
        assert.deepEqual(s, before, 'the input state is unchanged');
        assert.equal(evolveOrderInPlace(owned, e), next !== s, 'in place reports a change exactly when evolveOrder makes a new state');
        assert.deepEqual(owned, next);
        s = next;
      }
      assert.deepEqual(owned, foldOrder(events));
    }),
    { numRuns: 300 },
  );
});
