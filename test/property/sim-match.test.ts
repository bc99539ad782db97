// Properties of the simulated matching engine against synthetic books.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Order, VenueReport } from '../../src/domain/events.js';
import { dec, floorTo, isMultipleOf, ZERO } from '../../src/domain/decimal.js';
import { BUILTIN_INSTRUMENTS } from '../../src/market/instruments.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { midPrice, walkForQuantity } from '../../src/market/book.js';
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
  const order: Order = {
    client_order_id: c.coid,
    intent_id: 'i',
    leg: 0,
    attempt: 0,
    account: 'default',
    strategy: 's',
    env: 'sim',
    instrument_id: spec.instrument_id,
    venue: spec.venue,
    symbol: spec.symbol,
    side: c.side,
    order_type: c.orderType,
    qty: qty.toString(),
    limit_price: c.orderType === 'LIMIT' ? limit.toString() : undefined,
    tif: c.tif,
    ref_price: mid.toString(),
  };
  return { spec, book, order, qty, limit: c.orderType === 'LIMIT' ? limit : undefined };
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
