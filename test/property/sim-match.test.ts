// Properties of the simulated matching engine against synthetic books.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import type { Order, VenueReport } from '../../src/domain/events.js';
import { type Dec, dec, floorTo, fmt, isDecimalString, isMultipleOf, ZERO } from '../../src/domain/decimal.js';
import { microsToIso } from '../../src/domain/time.js';
import { BUILTIN_INSTRUMENTS } from '../../src/market/instruments.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { midPrice, walkForQuantity, withinLimit } from '../../src/market/book.js';
import type { Book, BookLevel, InstrumentSpec } from '../../src/market/types.js';
import { matchOrder } from '../../src/venues/sim/match.js';

const market = createSyntheticMarket({ seed: 5 });
const T0 = Date.parse('2026-01-01T00:00:00Z') * 1000;

const arbCase = fc.record({
  spec: fc.constantFrom(...BUILTIN_INSTRUMENTS),
  tsUs: fc.integer({ min: T0, max: T0 + 365 * 86_400_000_000 }),
  side: fc.constantFrom('BUY' as const, 'SELL' as const),
  orderType: fc.constantFrom('MARKET' as const, 'LIMIT' as const),
  tif: fc.constantFrom('GTC' as const, 'IOC' as const, 'FOK' as const),
  // order size as a fraction of the mid in base units: from dust to beyond the whole book
  sizeMicro: fc.integer({ min: 1, max: 2_000_000_000 }),
  limitBps: fc.integer({ min: -30, max: 30 }),
  coid: fc.string({ minLength: 1, maxLength: 12 }),
});

type Case = typeof arbCase extends fc.Arbitrary<infer T> ? T : never;

function build(c: Case) {
  const spec = c.spec;
  const book = market.bookAt(spec.instrument_id, c.tsUs)!;
  const mid = midPrice(book)!;
  const lot = dec(spec.lot_size);
  // notional from 0.001 to 2,000,000 USDT-like (or 0.000001 to 2,000 BTC), then base qty on the lot grid
  const unit = spec.quote === 'BTC' ? dec('0.001') : dec('1');
  const qty = floorTo(unit.times(c.sizeMicro).div(1_000).div(mid), lot);
  const limit = floorTo(mid.times(dec(10_000 + c.limitBps).div(10_000)), dec(spec.tick_size));
  const order = simOrder(c, spec, spec.instrument_id, {
    qty: qty.toString(),
    limit_price: c.orderType === 'LIMIT' ? limit.toString() : undefined,
    ref_price: mid.toString(),
  });
  return { spec, book, order, qty, limit: c.orderType === 'LIMIT' ? limit : undefined };
}

/** An order of the generated case on `instrumentId`, with the figures given. */
function simOrder(
  c: { coid: string; side: Order['side']; orderType: Order['order_type']; tif: Order['tif'] },
  spec: InstrumentSpec,
  instrumentId: string,
  figures: Pick<Order, 'qty' | 'limit_price' | 'ref_price'>,
): Order {
  return {
    client_order_id: c.coid,
    intent_id: 'i',
    leg: 0,
    attempt: 0,
    account: 'default',
    strategy: 's',
    env: 'sim',
    instrument_id: instrumentId,
    venue: spec.venue,
    symbol: spec.symbol,
    side: c.side,
    order_type: c.orderType,
    qty: figures.qty,
    limit_price: figures.limit_price,
    tif: c.tif,
    ref_price: figures.ref_price,
  };
}

type Trade = Extract<VenueReport, { kind: 'TRADE' }>;

test('fills never exceed the order, respect the limit, sit on lot steps, and fees are exact', () => {
  let filledSome = 0;
  let rejected = 0;
  fc.assert(
    fc.property(arbCase, (c) => {
      const { spec, book, order, qty, limit } = build(c);
      const rs = matchOrder(order, book, spec, c.tsUs);
      assert.ok(rs.length >= 1);
      if (rs[0].kind === 'REJECTED') {
        rejected++;
        assert.equal(rs.length, 1);
        assert.ok(['LOT_SIZE', 'MIN_NOTIONAL'].includes(rs[0].code), rs[0].code);
        return;
      }
      assert.equal(rs[0].kind, 'ACK');
      const trades = rs.filter((r): r is Trade => r.kind === 'TRADE');
      const terminal = rs.slice(1 + trades.length);
      assert.deepEqual(rs.slice(1, 1 + trades.length), trades, 'trades come right after the ACK');
      assert.ok(terminal.length <= 1);
      const lot = dec(spec.lot_size);
      const rate = dec(spec.taker_fee);
      let sum = ZERO;
      let notional = ZERO;
      const ack = rs[0];
      trades.forEach((t, i) => {
        const q = dec(t.qty);
        const p = dec(t.price);
        assert.ok(q.gt(0) && isMultipleOf(q, lot), `trade qty ${t.qty} on lot ${spec.lot_size}`);
        if (limit) assert.ok(c.side === 'BUY' ? p.lte(limit) : p.gte(limit), `price ${t.price} within limit ${limit}`);
        assert.equal(t.fee, q.times(p).times(rate).toString(), 'fee = qty × price × taker rate, exactly');
        assert.equal(t.fee_ccy, spec.quote);
        assert.equal(t.liquidity, 'TAKER');
        assert.equal(t.trade_id, `${ack.kind === 'ACK' ? ack.venue_order_id : ''}-${i + 1}`);
        sum = sum.plus(q);
        notional = notional.plus(q.times(p));
      });
      assert.ok(sum.lte(qty), 'Σ trade qty ≤ order qty');
      if (trades.length) filledSome++;
      // the fills are exactly the book walk (synthetic levels are on the lot grid)
      const walk = walkForQuantity(book, c.side, qty, limit);
      const full = !walk.short;
      if (c.tif === 'FOK' && !full) {
        assert.equal(trades.length, 0, 'FOK: nothing or everything');
        assert.equal(terminal[0]?.kind, 'EXPIRED');
        return;
      }
      assert.equal(sum.toString(), walk.filled.toString());
      assert.equal(notional.toString(), walk.notional.toString());
      if (full) assert.equal(terminal.length, 0, 'a full fill has no terminal report');
      else if (c.orderType === 'MARKET') assert.equal(terminal[0]?.kind, 'EXPIRED');
      else if (c.tif === 'IOC') assert.equal(terminal[0]?.kind, 'CANCELED');
      else assert.equal(terminal.length, 0, 'GTC remainder rests');
    }),
    { numRuns: 2_000 },
  );
  assert.ok(filledSome > 500 && rejected < 1_000, `filled ${filledSome}, rejected ${rejected}`);
});

test('matching is deterministic', () => {
  fc.assert(
    fc.property(arbCase, (c) => {
      const a = build(c);
      const again = matchOrder({ ...a.order }, market.bookAt(a.spec.instrument_id, c.tsUs), a.spec, c.tsUs);
      assert.deepEqual(matchOrder(a.order, a.book, a.spec, c.tsUs), again);
    }),
    { numRuns: 300 },
  );
});

// ---- the matcher as it was before its rewrite for speed: an oracle the fast one must equal ----

function oracleMatch(order: Order, book: Book | undefined, spec: InstrumentSpec | undefined, tsUs: number): VenueReport[] {
  const ts = microsToIso(tsUs);
  const reject = (code: string, reason: string): VenueReport[] => [{ kind: 'REJECTED', code, reason, ts }];
  const positive = (s: string | undefined): Dec | undefined => {
    if (typeof s !== 'string' || !isDecimalString(s)) return undefined;
    const d = dec(s);
    return d.gt(0) ? d : undefined;
  };
  if (!spec || spec.instrument_id !== order.instrument_id) return reject('UNKNOWN_SYMBOL', `unknown symbol ${order.instrument_id}`);
  if (!book) return reject('NO_MARKET_DATA', `no order book for ${order.instrument_id} at ${ts}`);
  const tick = dec(spec.tick_size);
  const lot = dec(spec.lot_size);
  const qty = positive(order.qty);
  if (!qty) return reject('LOT_SIZE', `quantity must be a positive decimal, got ${JSON.stringify(order.qty)}`);
  if (qty.lt(dec(spec.min_qty))) return reject('LOT_SIZE', `quantity ${order.qty} is below min_qty ${spec.min_qty}`);
  if (qty.gt(dec(spec.max_qty))) return reject('LOT_SIZE', `quantity ${order.qty} is above max_qty ${spec.max_qty}`);
  if (!isMultipleOf(qty, lot)) return reject('LOT_SIZE', `quantity ${order.qty} is not a multiple of lot_size ${spec.lot_size}`);
  let limit: Dec | undefined;
  if (order.order_type === 'LIMIT') {
    if (order.limit_price === undefined) return reject('PRICE_FILTER', 'LIMIT order without limit_price');
    limit = positive(order.limit_price);
    if (!limit) return reject('PRICE_FILTER', `limit price must be a positive decimal, got ${JSON.stringify(order.limit_price)}`);
    if (!isMultipleOf(limit, tick)) return reject('PRICE_FILTER', `limit price ${order.limit_price} is not a multiple of tick_size ${spec.tick_size}`);
  }
  const buy = order.side === 'BUY';
  const levels = buy ? book.asks : book.bids;
  const checkPrice = limit ?? levels[0]?.price;
  if (checkPrice && qty.times(checkPrice).lt(dec(spec.min_notional))) {
    return reject('MIN_NOTIONAL', `notional ${fmt(qty.times(checkPrice))} ${spec.quote} (qty × ${limit ? 'limit' : 'touch'} price) is below min_notional ${spec.min_notional}`);
  }
  const venueOrderId = `SIM-${spec.venue}-` + createHash('sha256').update(order.client_order_id).digest('hex').slice(0, 20);
  const reports: VenueReport[] = [{ kind: 'ACK', venue_order_id: venueOrderId, ts }];
  const fills: { qty: Dec; price: Dec }[] = [];
  let remaining = qty;
  for (const level of levels) {
    if (limit && !withinLimit(order.side, level.price, limit)) break;
    const q = level.qty.lt(remaining) ? (isMultipleOf(level.qty, lot) ? level.qty : floorTo(level.qty, lot)) : remaining;
    if (q.lte(0)) continue;
    fills.push({ qty: q, price: level.price });
    remaining = remaining.minus(q);
    if (remaining.eq(0)) break;
  }
  const unfilled = remaining.gt(0);
  if (order.tif === 'FOK' && unfilled) {
    const where = limit ? `at ${buy ? '<=' : '>='} ${order.limit_price}` : 'in the book';
    reports.push({ kind: 'EXPIRED', reason: `FOK: quantity ${order.qty} not fully fillable ${where}`, ts });
    return reports;
  }
  fills.forEach((f, i) => {
    reports.push({
      kind: 'TRADE',
      venue_order_id: venueOrderId,
      trade_id: `${venueOrderId}-${i + 1}`,
      qty: fmt(f.qty),
      price: fmt(f.price),
      fee: fmt(f.qty.times(f.price).times(dec(spec.taker_fee))),
      fee_ccy: spec.quote,
      liquidity: 'TAKER',
      ts,
    });
  });
  if (unfilled) {
    if (order.order_type === 'MARKET') reports.push({ kind: 'EXPIRED', reason: 'insufficient liquidity', ts });
    else if (order.tif === 'IOC') reports.push({ kind: 'CANCELED', reason: `IOC: unfilled quantity ${fmt(remaining)} canceled`, ts });
  }
  return reports;
}

/** n × 10^-d as plain text, trailing zeros kept ("12.300"): inputs are not always canonical. */
const decText = (n: number, d: number): string => {
  if (d === 0) return String(n);
  const s = String(n).padStart(d + 1, '0');
  return `${s.slice(0, -d)}.${s.slice(-d)}`;
};
const arbDecText = fc.tuple(fc.integer({ min: 0, max: 50_000_000 }), fc.integer({ min: 0, max: 9 })).map(([n, d]) => decText(n, d));
const arbText = fc.oneof(
  { weight: 6, arbitrary: arbDecText },
  { weight: 1, arbitrary: fc.constantFrom('', 'abc', '1e3', '-1', '-0.5', '0', ' 1', '1.', '.5', '0x10', 'Infinity') },
);

// Rules that are not powers of ten too, and sizes that make every reject reachable.
const arbSpec = fc.oneof(
  fc.constantFrom(...BUILTIN_INSTRUMENTS),
  fc
    .record({
      base: fc.constantFrom(...BUILTIN_INSTRUMENTS),
      tick: fc.constantFrom('0.05', '0.5', '1', '0.25', '0.001', '10'),
      lot: fc.constantFrom('0.25', '0.001', '1', '10', '0.3', '0.00001'),
      fee: fc.constantFrom('0', '0.001', '0.00075', '0.0123'),
    })
    .map(({ base, tick, lot, fee }): InstrumentSpec => ({ ...base, tick_size: tick, lot_size: lot, min_qty: lot, taker_fee: fee, min_notional: '1' })),
);

const arbLevels = (buy: boolean) =>
  fc
    .array(fc.tuple(fc.integer({ min: 1, max: 40_000 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3_000_000 }), fc.integer({ min: 0, max: 6 })), { maxLength: 8 })
    .map((raw) => {
      const levels: BookLevel[] = raw.map(([p, pd, q, qd]) => ({ price: dec(decText(p, pd)), qty: dec(decText(q, qd)) }));
      levels.sort((a, b) => (buy ? b.price.cmp(a.price) : a.price.cmp(b.price)));
      return levels.filter((l, i) => i === 0 || !l.price.eq(levels[i - 1].price));
    });

const arbMatch = fc.record({
  spec: arbSpec,
  synthetic: fc.boolean(),
  bids: arbLevels(true),
  asks: arbLevels(false),
  tsUs: fc.oneof(fc.integer({ min: -(2 ** 50), max: 2 ** 52 }), fc.constantFrom(0, -1, 1.5, T0 + 0.25)),
  side: fc.constantFrom('BUY' as const, 'SELL' as const),
  orderType: fc.constantFrom('MARKET' as const, 'LIMIT' as const),
  tif: fc.constantFrom('GTC' as const, 'IOC' as const, 'FOK' as const),
  lots: fc.integer({ min: 1, max: 200_000 }),
  limitTicks: fc.integer({ min: -5, max: 60 }),
  // mostly on-grid quantities and limits near the touch; sometimes any text
  qtyText: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arbText }),
  limitText: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arbText }),
  coid: fc.string({ maxLength: 40 }),
  otherInstrument: fc.boolean(),
  noBook: fc.integer({ min: 0, max: 20 }),
  noSpec: fc.integer({ min: 0, max: 20 }),
});

test('the fast matcher gives exactly the reports of the original one', () => {
  fc.assert(
    fc.property(arbMatch, (c) => {
      const spec = c.spec;
      let book: Book | undefined = c.synthetic
        ? market.bookAt(spec.instrument_id, T0 + (Math.abs(c.tsUs) % 1e12))
        : { instrument_id: spec.instrument_id, ts_us: 0, bids: c.bids, asks: c.asks };
      if (c.noBook === 0) book = undefined;
      const qty = c.qtyText ?? dec(spec.lot_size).times(c.lots).toString();
      const tick = dec(spec.tick_size);
      const touch = book && (c.side === 'BUY' ? book.asks : book.bids)[0]?.price;
      const near = touch ? floorTo(touch, tick).plus(tick.times(c.side === 'BUY' ? c.limitTicks : -c.limitTicks)) : tick;
      const limit = c.limitText ?? (near.gt(0) ? near : tick).toString();
      const order = simOrder(c, spec, c.otherInstrument && c.noSpec < 3 ? 'OKX:NOPE' : spec.instrument_id, {
        qty,
        limit_price: c.orderType === 'LIMIT' && c.limitText === '' ? undefined : limit,
        ref_price: '1',
      });
      const s = c.noSpec === 0 ? undefined : spec;
      assert.deepEqual(matchOrder(order, book, s, c.tsUs), oracleMatch(order, book, s, c.tsUs));
    }),
    { numRuns: 5_000 },
  );
});
