// Properties of the smart router's split (src/router/cost.ts), over random books and venue rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dec, isMultipleOf, ZERO, type Dec } from '../../src/domain/decimal.js';
import { planRoute, priceOn, type VenueQuote } from '../../src/router/cost.js';
import type { BookLevel, InstrumentSpec } from '../../src/market/types.js';

const LOTS = ['0.00001', '0.001', '0.1', '1'];

/** A venue: up to 8 ask and bid levels around 100, its lot, minimums, fee, penalty and maybe a balance. */
const venue = (i: number) =>
  fc
    .record({
      asks: fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 5000 })), { minLength: 0, maxLength: 8 }),
      bids: fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 5000 })), { minLength: 0, maxLength: 8 }),
      lot: fc.constantFrom(...LOTS),
      minQty: fc.constantFrom('0', '0.001', '0.5'),
      minNotional: fc.constantFrom('0', '5', '100'),
      fee: fc.constantFrom('0', '0.0005', '0.001', '0.002'),
      penaltyBps: fc.integer({ min: 0, max: 20 }),
      maxQty: fc.constantFrom('1000000', '3', '0.7'),
      funds: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
      limitOff: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    })
    .map((v): VenueQuote => {
      // Levels strictly worse as they go: asks rise from 100.00, bids fall from 99.99 (cents).
      let ask = 10_000;
      const asks: BookLevel[] = v.asks.map(([step, q]) => ({ price: dec((ask += step)).div(100), qty: dec(q).div(100) }));
      let bid = 10_000;
      const bids: BookLevel[] = v.bids.map(([step, q]) => ({ price: dec((bid -= step)).div(100), qty: dec(q).div(100) }));
      const spec = { instrument_id: `V${i}:X`, venue: `V${i}` } as InstrumentSpec;
      return {
        spec,
        book: { instrument_id: spec.instrument_id, ts_us: 0, asks, bids },
        fee: dec(v.fee),
        penalty: dec(v.penaltyBps).div(10_000),
        maxQty: dec(v.maxQty),
        lot: dec(v.lot),
        minQty: dec(v.minQty),
        minNotional: dec(v.minNotional),
        ...(v.funds !== undefined ? { maxFunds: dec(v.funds) } : {}),
        ...(v.limitOff !== undefined ? { limit: dec(10_000 + v.limitOff).div(100) } : {}),
      };
    });

const quotes = fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => venue(i))));
const qty = fc.integer({ min: 1, max: 2_000_000 }).map((n) => dec(n).div(100_000));
const side = fc.constantFrom('BUY' as const, 'SELL' as const);

const sum = (xs: Dec[]) => xs.reduce((t, x) => t.plus(x), ZERO);

test('a route never asks for more than the intent, and each share keeps its venue’s lot, minimums and caps', () => {
  fc.assert(
    fc.property(quotes, side, qty, fc.boolean(), (qs, s, q, allowSplit) => {
      const plan = planRoute(qs, s, q, allowSplit);
      assert.ok(sum(plan.qty).lte(q), 'never more than asked');
      assert.equal(sum(plan.qty).plus(plan.unrouted).toString(), q.toString(), 'routed + unrouted = asked');
      if (!allowSplit) assert.ok(plan.qty.filter((x) => x.gt(0)).length <= 1);
      plan.qty.forEach((x, i) => {
        if (!x.gt(0)) return;
        const v = qs[i];
        assert.ok(isMultipleOf(x, v.lot), `${x.toString()} on a lot of ${v.lot.toString()}`);
        assert.ok(x.gte(v.minQty), 'at least the minimum quantity');
        assert.ok(x.lte(v.maxQty), 'no more than the cap (max qty, or the base balance for a SELL)');
      });
      // Where the books can fill it, a split is never dearer than the best venue alone.
      if (plan.split) {
        for (const w of plan.whole)
          if (w.filled.eq(plan.chosen.filled)) assert.ok(s === 'BUY' ? plan.chosen.cost.lte(w.cost) : plan.chosen.cost.gte(w.cost), 'the split beats each venue alone');
      }
    }),
    { numRuns: 400 },
  );
});

test('a BUY never spends more than a venue’s free funds on the levels it walks', () => {
  fc.assert(
    fc.property(quotes, qty, (qs, q) => {
      const plan = planRoute(qs, 'BUY', q);
      plan.qty.forEach((x, i) => {
        const v = qs[i];
        if (!x.gt(0) || v.maxFunds === undefined) return;
        const p = priceOn(v, 'BUY', x);
        assert.ok(p.notional.plus(p.fee).lte(v.maxFunds), `${p.notional.plus(p.fee).toString()} of ${v.maxFunds.toString()} funds`);
      });
    }),
    { numRuns: 300 },
  );
});
