import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Dec, ZERO, dec } from '../../src/domain/decimal.js';
import type { Book } from '../../src/market/types.js';
import { bestAsk, bestBid, depth, midPrice, quantityForNotional, spreadBps, touchPrice, vwapForQuantity, walkForQuantity } from '../../src/market/book.js';

const lv = (p: string, q: string) => ({ price: dec(p), qty: dec(q) });
const book: Book = {
  instrument_id: 'BINANCE:BTCUSDT',
  ts_us: 0,
  bids: [lv('99.9', '1'), lv('99.5', '2'), lv('99', '3')],
  asks: [lv('100', '1'), lv('100.5', '2'), lv('101', '0.5')],
};
const empty: Book = { instrument_id: 'X', ts_us: 0, bids: [], asks: [] };

test('best levels, mid and spread', () => {
  assert.equal(bestBid(book)?.price.toString(), '99.9');
  assert.equal(bestAsk(book)?.price.toString(), '100');
  assert.equal(midPrice(book)?.toString(), '99.95');
  assert.equal(spreadBps(book)?.toFixed(4), '10.0050');
  assert.equal(touchPrice(book, 'BUY')?.toString(), '100');
  assert.equal(touchPrice(book, 'SELL')?.toString(), '99.9');
  assert.equal(midPrice(empty), undefined);
  assert.equal(midPrice({ ...book, asks: [] }), undefined);
  assert.equal(midPrice(undefined), undefined);
});

test('quantityForNotional walks asks for BUY and bids for SELL, exactly', () => {
  // 100 buys 1 @ 100; 150.75 more buys 1.5 @ 100.5
  assert.equal(quantityForNotional(book, 'BUY', '100')?.toString(), '1');
  assert.equal(quantityForNotional(book, 'BUY', '250.75')?.toString(), '2.5');
  assert.equal(quantityForNotional(book, 'BUY', '50')?.toString(), '0.5');
  // SELL: 99.9 for 1, then 99.5 per unit
  assert.equal(quantityForNotional(book, 'SELL', '298.9')?.toString(), '3');
  assert.equal(quantityForNotional(book, 'BUY', '0')?.toString(), '0');
  assert.equal(quantityForNotional(empty, 'BUY', '10'), undefined);
});

test('quantityForNotional extends past the book at the last level price', () => {
  // whole ask side: 100 + 201 + 50.5 = 351.5 for 3.5; 101 more at 101 = 1 more
  assert.equal(quantityForNotional(book, 'BUY', '452.5')?.toString(), '4.5');
});

test('quantityForNotional gives the straightforward walk, to the coefficient and scale', () => {
  // The walk as first written: start from zero, add every level taken, price the rest at the covering (else last) level.
  const reference = (levels: readonly { price: Dec; qty: Dec }[], notional: Dec): Dec => {
    let remaining = notional;
    let qty = ZERO;
    for (const level of levels) {
      const levelNotional = level.qty.times(level.price);
      if (levelNotional.gte(remaining)) return qty.plus(remaining.div(level.price));
      qty = qty.plus(level.qty);
      remaining = remaining.minus(levelNotional);
    }
    return qty.plus(remaining.div(levels[levels.length - 1].price));
  };
  const decimal = fc.tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 8 })).map(([u, s]) => dec(u).div(dec(10).pow(s)).round(s));
  const level = fc.record({ price: decimal, qty: decimal });
  fc.assert(
    fc.property(fc.array(level, { minLength: 1, maxLength: 6 }), decimal, (levels, notional) => {
      const got = quantityForNotional({ instrument_id: 'X', ts_us: 0, bids: levels, asks: levels }, 'BUY', notional)!;
      const want = reference(levels, notional);
      assert.equal(got.coef, want.coef);
      assert.equal(got.scale, want.scale);
    }),
    { numRuns: 500 },
  );
});

test('walkForQuantity: vwap, levels, limit and shortfall', () => {
  const w = walkForQuantity(book, 'BUY', '2.5');
  assert.equal(w.filled.toString(), '2.5');
  assert.equal(w.notional.toString(), '250.75');
  assert.equal(w.vwap?.toString(), '100.3');
  assert.equal(w.levels, 2);
  assert.equal(w.short, false);
  const limited = walkForQuantity(book, 'BUY', '5', dec('100.5'));
  assert.equal(limited.filled.toString(), '3');
  assert.equal(limited.short, true);
  const all = walkForQuantity(book, 'SELL', '10');
  assert.equal(all.filled.toString(), '6');
  assert.equal(all.short, true);
  assert.equal(vwapForQuantity(empty, 'BUY', '1'), undefined);
  assert.equal(depth(book, 'SELL').toString(), '6');
  assert.equal(depth(book, 'SELL', dec('99.5')).toString(), '3');
});
