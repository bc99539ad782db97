// The smart router's cost model (src/router/cost.ts): walks, charges, whole against split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dec, isMultipleOf, ZERO } from '../../src/domain/decimal.js';
import { belowMinimum, costBps, planRoute, priceOn, type VenueQuote } from '../../src/router/cost.js';
import type { Book, InstrumentSpec } from '../../src/market/types.js';

const lv = (p: string, q: string) => ({ price: dec(p), qty: dec(q) });

function quote(venue: string, asks: [string, string][], bids: [string, string][], o: Partial<VenueQuote> & { fee?: string } = {}): VenueQuote {
  const spec = { instrument_id: `${venue}:BTCUSDT`, venue } as InstrumentSpec;
  const book: Book = { instrument_id: spec.instrument_id, ts_us: 0, asks: asks.map(([p, q]) => lv(p, q)), bids: bids.map(([p, q]) => lv(p, q)) };
  return {
    spec,
    book,
    fee: dec(o.fee ?? '0.001'),
    penalty: o.penalty ?? ZERO,
    maxQty: o.maxQty ?? dec('1000'),
    lot: o.lot ?? dec('0.001'),
    minQty: o.minQty ?? dec('0.001'),
    minNotional: o.minNotional ?? dec('5'),
    ...(o.limit ? { limit: o.limit } : {}),
    ...(o.maxFunds ? { maxFunds: o.maxFunds } : {}),
  };
}

const A = () =>
  quote(
    'A',
    [
      ['100', '1'],
      ['101', '1'],
      ['102', '5'],
    ],
    [
      ['99', '1'],
      ['98', '1'],
    ],
  );
const B = () =>
  quote(
    'B',
    [
      ['100.5', '0.5'],
      ['100.6', '1'],
      ['103', '5'],
    ],
    [
      ['99.2', '0.5'],
      ['97', '5'],
    ],
  );

test('a walk prices the levels taken, then the taker fee and the latency penalty on the notional', () => {
  const p = priceOn({ ...A(), penalty: dec('0.0002') }, 'BUY', dec('1.5'));
  assert.equal(p.filled.toString(), '1.5');
  assert.equal(p.notional.toString(), '150.5'); // 1 × 100 + 0.5 × 101
  assert.equal(p.fee.toString(), '0.1505');
  assert.equal(p.penalty.toString(), '0.0301');
  assert.equal(p.cost.toString(), '150.6806');
  const s = priceOn(A(), 'SELL', dec('1.5'));
  assert.equal(s.notional.toString(), '148'); // 1 × 99 + 0.5 × 98
  assert.equal(s.cost.toString(), '147.852', 'a SELL brings the notional less the fee');
  assert.equal(costBps('BUY', p, dec('100'))?.toString(), '45.37');
});

test('a walk stops at the limit and at the caps; nothing is made up past the book', () => {
  assert.equal(priceOn({ ...A(), limit: dec('100.5') }, 'BUY', dec('3')).filled.toString(), '1');
  assert.equal(priceOn({ ...A(), maxQty: dec('0.25') }, 'BUY', dec('3')).filled.toString(), '0.25');
  // 100.1 of funds pays for 1 BTC at 100 and its 0.1 fee: no more.
  const f = priceOn({ ...A(), maxFunds: dec('100.1') }, 'BUY', dec('3'));
  assert.equal(f.filled.toString(), '1');
  assert.ok(f.notional.plus(f.fee).lte(dec('100.1')));
  assert.equal(priceOn(A(), 'BUY', dec('100')).filled.toString(), '7', 'the whole book and no more');
});

test('the whole order goes to the cheaper venue when no split beats it', () => {
  const plan = planRoute([B(), A()], 'BUY', dec('0.5'));
  assert.equal(plan.split, false);
  assert.deepEqual(
    plan.qty.map((x) => x.toString()),
    ['0', '0.5'],
  );
  assert.equal(plan.chosen.notional.toString(), '50');
});

test('an order bigger than the best level is split across venues, the marginal levels first', () => {
  // 2 BTC: A 1 @ 100, B 0.5 @ 100.5, B 0.5 @ 100.6 (cheaper than A's 101).
  const plan = planRoute([A(), B()], 'BUY', dec('2'));
  assert.equal(plan.split, true);
  assert.deepEqual(
    plan.qty.map((x) => x.toString()),
    ['1', '1'],
  );
  assert.equal(plan.chosen.notional.toString(), '200.55');
  assert.ok(plan.chosen.cost.lt(plan.whole[0].cost), 'cheaper than A alone');
  assert.equal(plan.unrouted.toString(), '0');
});

test('fees and latency move the choice: an effective price, not the quoted one, decides', () => {
  // B quotes 100.5 against A's 101 at the second level; a 1% fee on B makes its levels the dearer.
  const plan = planRoute([A(), { ...B(), fee: dec('0.01') }], 'BUY', dec('2'));
  assert.deepEqual(
    plan.qty.map((x) => x.toString()),
    ['2', '0'],
  );
  const slow = planRoute([A(), { ...B(), penalty: dec('0.01') }], 'BUY', dec('2'));
  assert.equal(slow.split, false, 'a slow venue is not worth its better quote');
});

test('a venue whose share falls below its minimum is left out and the split worked out without it', () => {
  // B's share would be 0.05 BTC × 100.5 ≈ 5.0: below a minimum notional of 10.
  const a = quote(
    'A',
    [
      ['100', '1'],
      ['101', '5'],
    ],
    [],
  );
  const b = quote(
    'B',
    [
      ['100.5', '0.05'],
      ['105', '5'],
    ],
    [],
    { minNotional: dec('10') },
  );
  const plan = planRoute([a, b], 'BUY', dec('1.05'));
  assert.equal(plan.split, false);
  assert.deepEqual(
    plan.qty.map((x) => x.toString()),
    ['1.05', '0'],
  );
  assert.match(plan.dropped.get(1) ?? '', /minimum notional 10/);
  assert.match(belowMinimum(b, 'BUY', dec('0.0001')) ?? '', /minimum quantity/);
});

test('shares are floored to each lot and the odd remainder goes where a lot takes it', () => {
  const coarse = quote(
    'A',
    [
      ['100', '0.55'],
      ['100.2', '5'],
    ],
    [],
    { lot: dec('0.1') },
  );
  const fine = quote(
    'B',
    [
      ['100.1', '0.5'],
      ['101', '5'],
    ],
    [],
    { lot: dec('0.001'), minNotional: ZERO },
  );
  const plan = planRoute([coarse, fine], 'BUY', dec('1.05'));
  const [a, b] = plan.qty;
  assert.equal(a.toString(), '0.5', 'floored to the 0.1 lot');
  assert.equal(b.toString(), '0.55');
  assert.equal(a.plus(b).toString(), '1.05', 'nothing lost to the lots');
});

test('a SELL takes the best bids after fees, and the split is chosen on proceeds', () => {
  const plan = planRoute([A(), B()], 'SELL', dec('1.5'));
  // A 1 @ 99, B 0.5 @ 99.2: better than A's 98.
  assert.deepEqual(
    plan.qty.map((x) => x.toString()),
    ['1', '0.5'],
  );
  assert.ok(plan.chosen.cost.gt(plan.whole[0].cost), 'brings more than A alone');
});

test('with split off the whole order goes to the best single venue', () => {
  const plan = planRoute([A(), B()], 'BUY', dec('2'), false);
  assert.equal(plan.split, false);
  assert.equal(plan.qty.filter((x) => x.gt(0)).length, 1);
});

test('when no venue fills it all, the route that fills the most wins, and the rest is sent to rest', () => {
  const a = quote('A', [['100', '1']], []);
  const b = quote('B', [['100.5', '1']], []);
  const plan = planRoute([a, b], 'BUY', dec('3'));
  assert.equal(plan.split, true);
  assert.equal(plan.chosen.filled.toString(), '2');
  assert.equal(plan.qty[0].plus(plan.qty[1]).toString(), '3', 'the unfilled part goes with the largest share (it may rest or expire there)');
});

test('a remainder finer than one venue’s lot is squared with another’s finer lot: the route is exactly the order', () => {
  // B's funds cap its share at an odd 8-place quantity; A's lot is 0.00001: A takes one lot more
  // and B gives the excess back, rather than leaving dust unrouted.
  const a = quote(
    'A',
    [
      ['100', '0.1'],
      ['100.1', '0.1'],
      ['100.5', '5'],
    ],
    [],
    { lot: dec('0.00001'), minNotional: ZERO },
  );
  const b = quote(
    'B',
    [
      ['100.01', '0.2'],
      ['100.05', '1'],
    ],
    [],
    { lot: dec('0.00000001'), maxFunds: dec('20'), minNotional: ZERO },
  );
  const plan = planRoute([a, b], 'BUY', dec('0.5'));
  assert.equal(plan.split, true);
  assert.equal(plan.qty[0].plus(plan.qty[1]).toString(), '0.5');
  assert.equal(plan.unrouted.toString(), '0');
  assert.ok(isMultipleOf(plan.qty[0], dec('0.00001')) && isMultipleOf(plan.qty[1], dec('0.00000001')));
  const fundsB = priceOn(b, 'BUY', plan.qty[1]);
  assert.ok(fundsB.notional.plus(fundsB.fee).lte(dec('20')), 'B within its funds');
});
