// Property: every synthetic book, for every instrument and any time, is a valid L2 snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dec, isMultipleOf } from '../../src/domain/decimal.js';
import { BUILTIN_INSTRUMENTS } from '../../src/market/instruments.js';
import { createSyntheticMarket, SYNTHETIC_LEVELS } from '../../src/market/synthetic.js';
import { midPrice } from '../../src/market/book.js';

const rules = BUILTIN_INSTRUMENTS.map((s) => ({
  spec: s,
  tick: dec(s.tick_size),
  lot: dec(s.lot_size),
  minQty: dec(s.min_qty),
  maxQty: dec(s.max_qty),
}));

test('book invariants for all instruments at random times', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: -(2 ** 50), max: 2 ** 52 }), (seed, tsUs) => {
      const m = createSyntheticMarket({ seed });
      for (const r of rules) {
        const b = m.bookAt(r.spec.instrument_id, tsUs);
        assert.ok(b);
        assert.equal(b.instrument_id, r.spec.instrument_id);
        assert.ok(b.ts_us <= tsUs && tsUs - b.ts_us < 1_000_000);
        assert.equal(b.bids.length, SYNTHETIC_LEVELS);
        assert.equal(b.asks.length, SYNTHETIC_LEVELS);
        assert.ok(b.bids[0].price.lt(b.asks[0].price), 'best bid < best ask');
        for (let i = 1; i < SYNTHETIC_LEVELS; i++) {
          assert.ok(b.bids[i].price.lt(b.bids[i - 1].price), 'bids strictly descending');
          assert.ok(b.asks[i].price.gt(b.asks[i - 1].price), 'asks strictly ascending');
        }
        for (const l of [...b.bids, ...b.asks]) {
          // decimals are built from scaled integers: they must be exactly what parsing their text gives
          for (const x of [l.price, l.qty]) {
            const parsed = dec(x.toString());
            assert.deepEqual([x.coef, x.scale], [parsed.coef, parsed.scale], x.toString());
          }
          assert.ok(l.price.gt(0) && isMultipleOf(l.price, r.tick), `price ${l.price} on tick ${r.tick}`);
          assert.ok(isMultipleOf(l.qty, r.lot), `qty ${l.qty} on lot ${r.lot}`);
          assert.ok(l.qty.gte(r.minQty) && l.qty.lte(r.maxQty));
        }
        // spread: at least one tick and under 10 bps
        const spread = b.asks[0].price.minus(b.bids[0].price);
        assert.ok(spread.gte(r.tick) && spread.div(midPrice(b)!).lt('0.001'), `spread ${spread}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('bookAt is a pure function of (seed, instrument, bucket)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.array(fc.integer({ min: 0, max: 2 ** 52 }), { minLength: 2, maxLength: 20 }), (seed, times) => {
      const a = createSyntheticMarket({ seed, cacheSlots: 1 });
      const b = createSyntheticMarket({ seed });
      const reversed = [...times].reverse().map((t) => JSON.stringify(b.bookAt('OKX:ETH-USDT', t)));
      const forward = times.map((t) => JSON.stringify(a.bookAt('OKX:ETH-USDT', t)));
      assert.deepEqual(forward, reversed.reverse());
    }),
    { numRuns: 100 },
  );
});
