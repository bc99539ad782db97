import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { dec, isMultipleOf } from '../../src/domain/decimal.js';
import { isoToMicros } from '../../src/domain/time.js';
import { BUILTIN_INSTRUMENTS, USD_LIKE } from '../../src/market/instruments.js';
import { createSyntheticMarket, SYNTHETIC_LEVELS } from '../../src/market/synthetic.js';
import { midPrice, quantityForNotional, walkForQuantity } from '../../src/market/book.js';
import type { Book } from '../../src/market/types.js';

const T0 = isoToMicros('2026-01-02T10:00:00Z');
const levelsText = (b: Book) => JSON.stringify({ ts: b.ts_us, bids: b.bids, asks: b.asks });

test('covers every built-in instrument', () => {
  const m = createSyntheticMarket();
  assert.deepEqual(
    m.instruments().map((s) => s.instrument_id),
    BUILTIN_INSTRUMENTS.map((s) => s.instrument_id),
  );
  for (const s of BUILTIN_INSTRUMENTS) {
    assert.equal(m.instrument(s.instrument_id), s);
    const b = m.bookAt(s.instrument_id, T0);
    assert.ok(b, s.instrument_id);
    assert.equal(b.bids.length, SYNTHETIC_LEVELS);
    assert.equal(b.asks.length, SYNTHETIC_LEVELS);
  }
  assert.equal(m.instrument('NOPE:XYZ'), undefined);
  assert.equal(m.bookAt('NOPE:XYZ', T0), undefined);
});

test('deterministic: same seed and bucket give the same book, without shared state', () => {
  const a = createSyntheticMarket({ seed: 7 });
  const b = createSyntheticMarket({ seed: 7 });
  for (const s of BUILTIN_INSTRUMENTS) {
    // b is asked out of order and far away first: no sequential state may leak in
    b.bookAt(s.instrument_id, T0 + 987_654_321_000);
    const x = a.bookAt(s.instrument_id, T0 + 1_234_567)!;
    const y = b.bookAt(s.instrument_id, T0 + 1_999_999)!; // same 1 s bucket
    assert.equal(levelsText(x), levelsText(y), s.instrument_id);
    assert.equal(x.ts_us, T0 + 1_000_000);
  }
});

test('different buckets and different seeds give different books', () => {
  const m = createSyntheticMarket({ seed: 1 });
  const other = createSyntheticMarket({ seed: 2 });
  for (const s of BUILTIN_INSTRUMENTS) {
    const x = m.bookAt(s.instrument_id, T0)!;
    const y = m.bookAt(s.instrument_id, T0 + 1_000_000)!;
    const z = other.bookAt(s.instrument_id, T0)!;
    assert.notEqual(levelsText(x), levelsText(y), s.instrument_id);
    assert.notEqual(levelsText(x), levelsText(z), s.instrument_id);
  }
});

test('cache hit returns the same frozen book', () => {
  const m = createSyntheticMarket();
  const a = m.bookAt('BINANCE:BTCUSDT', T0 + 10);
  const b = m.bookAt('BINANCE:BTCUSDT', T0 + 999_999);
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a!.asks) && Object.isFrozen(a!.asks[0]));
});

test('books are pinned: a digest of 2,400 of them is the one the original (eager) generator gave', () => {
  const m = createSyntheticMarket({ seed: 42 });
  const h = createHash('sha256');
  for (let i = 0; i < 300; i++) {
    for (const s of BUILTIN_INSTRUMENTS) h.update(JSON.stringify(m.bookAt(s.instrument_id, T0 + i * 7_777_777_777 - 1e15)));
  }
  assert.equal(h.digest('hex'), 'ca7e27531bdc2096a70a75b15a9fe38dd8044f964df58564d5a8f8d598ac16dc');
});

test('levels made on read: the same decimals on every read, in any order, and plain {price, qty} in JSON', () => {
  const a = createSyntheticMarket({ seed: 9 }).bookAt('OKX:ETH-USDT', T0)!;
  const b = createSyntheticMarket({ seed: 9 }).bookAt('OKX:ETH-USDT', T0)!;
  // a is read deepest level first, b top first
  const read = (levels: Book['asks']) => levels.map((l) => `${l.price.coef}/${l.price.scale} ${l.qty.coef}/${l.qty.scale}`);
  const deepFirst = [...a.asks]
    .reverse()
    .map((l) => read([l])[0])
    .reverse();
  assert.deepEqual(deepFirst, read(b.asks));
  assert.equal(a.asks[3].price, a.asks[3].price, 'kept after the first read');
  const l = a.bids[2];
  assert.equal(JSON.stringify(l), JSON.stringify({ price: l.price.toString(), qty: l.qty.toString() }));
  assert.throws(() => {
    (l as { price: unknown }).price = l.qty;
  }, TypeError);
});

test('asset prices stay in their ranges over a year', () => {
  const m = createSyntheticMarket();
  const ranges: Record<string, [number, number]> = { BTC: [60_000, 70_000], ETH: [2_750, 3_250], SOL: [137, 163] };
  for (let i = 0; i < 2_000; i++) {
    const t = T0 + i * 15_731 * 1_000_000; // ~ every 4.4 h for a year
    for (const s of BUILTIN_INSTRUMENTS) {
      if (!USD_LIKE.has(s.quote)) continue;
      const mid = Number(midPrice(m.bookAt(s.instrument_id, t)));
      const [lo, hi] = ranges[s.base];
      assert.ok(mid > lo && mid < hi, `${s.instrument_id} mid ${mid} at ${t}`);
    }
  }
});

test('cross rates are consistent: ETHBTC ≈ ETHUSDT / BTCUSDT, venues agree within a few bps', () => {
  const m = createSyntheticMarket({ seed: 3 });
  for (let i = 0; i < 500; i++) {
    const t = T0 + i * 7_777_777_777;
    const mid = (id: string) => Number(midPrice(m.bookAt(id, t)));
    const implied = mid('BINANCE:ETHUSDT') / mid('BINANCE:BTCUSDT');
    const ethbtc = mid('BINANCE:ETHBTC');
    assert.ok(Math.abs(ethbtc / implied - 1) < 0.005, `ETHBTC ${ethbtc} vs implied ${implied}`);
    for (const [a, b] of [
      ['BINANCE:BTCUSDT', 'OKX:BTC-USDT'],
      ['BINANCE:BTCUSDT', 'KUCOIN:BTC-USDT'],
      ['OKX:ETH-USDT', 'KUCOIN:ETH-USDT'],
    ]) {
      assert.ok(Math.abs(mid(a) / mid(b) - 1) < 0.001, `${a} vs ${b} at ${t}`);
    }
  }
});

test('depth: typical orders fill, large ones walk several levels, very large ones exhaust the book', () => {
  const m = createSyntheticMarket();
  let typicalFull = 0;
  let typical = 0;
  for (let i = 0; i < 50; i++) {
    const t = T0 + i * 3_600_000_000;
    for (const s of BUILTIN_INSTRUMENTS) {
      if (!USD_LIKE.has(s.quote)) continue;
      const b = m.bookAt(s.instrument_id, t)!;
      for (const side of ['BUY', 'SELL'] as const) {
        for (const usd of ['100', '10000', '50000']) {
          const w = walkForQuantity(b, side, quantityForNotional(b, side, usd)!);
          typical++;
          if (!w.short) typicalFull++;
        }
        const large = walkForQuantity(b, side, quantityForNotional(b, side, '200000')!);
        assert.ok(large.levels >= 3, `${s.instrument_id} 200k walks ${large.levels} levels`);
        const huge = walkForQuantity(b, side, quantityForNotional(b, side, '5000000')!);
        assert.equal(huge.short, true, `${s.instrument_id} 5M should exhaust the book`);
      }
    }
  }
  assert.ok(typicalFull / typical > 0.95, `typical orders fully filled ${typicalFull}/${typical}`);
});

test('books exist for any epoch time, including the distant past and future', () => {
  const m = createSyntheticMarket();
  for (const t of [0, -1, -5_000_000_000_000, 1, 4_102_444_800_000_000, 2 ** 52, Number.MAX_SAFE_INTEGER]) {
    for (const s of BUILTIN_INSTRUMENTS) {
      const b = m.bookAt(s.instrument_id, t);
      assert.ok(b && b.bids.length > 0 && b.asks.length > 0 && b.bids[0].price.lt(b.asks[0].price), `${s.instrument_id} @ ${t}`);
      assert.ok(b.ts_us <= t && t - b.ts_us < 1_000_000);
    }
  }
  assert.equal(m.bookAt('BINANCE:BTCUSDT', Number.NaN), undefined);
});

test('custom instruments: prices and sizes on their grid; unknown assets need a reference price', () => {
  const spec = { ...BUILTIN_INSTRUMENTS[0], instrument_id: 'TEST:DOGEUSDT', venue: 'TEST', symbol: 'DOGEUSDT', base: 'DOGE', tick_size: '0.00001', lot_size: '1', min_qty: '1' };
  assert.throws(() => createSyntheticMarket({ instruments: [spec] }), /no reference price for asset DOGE/);
  const m = createSyntheticMarket({ instruments: [spec], assetPrices: { DOGE: 0.15 } });
  const b = m.bookAt('TEST:DOGEUSDT', T0)!;
  const mid = Number(midPrice(b));
  assert.ok(mid > 0.13 && mid < 0.17, String(mid));
  for (const l of [...b.bids, ...b.asks]) {
    assert.ok(isMultipleOf(l.price, dec('0.00001')) && isMultipleOf(l.qty, dec('1')) && l.qty.gte(1));
  }
});
