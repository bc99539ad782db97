import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dec, fmt, ZERO, type Dec } from '../../src/domain/decimal.js';
import type { Event, Order } from '../../src/domain/events.js';
import type { Side } from '../../src/domain/intent.js';
import { applyFill, foldPositions, getPosition, markToMarket, unrealizedPnl, type Position } from '../../src/positions/index.js';

const T0 = '2026-01-02T10:00:00.000000Z';
const INSTRUMENTS = ['BINANCE:BTCUSDT', 'BINANCE:ETHBTC'];
const meta = { account: 'a', instrument_id: 'BINANCE:BTCUSDT', base: 'BTC', quote: 'USDT' };

// Decimals built from integers and a scale, so they are exact and varied (e.g. 0.001 .. 5000).
const decimal = (maxUnits: number, maxScale: number) =>
  fc.tuple(fc.integer({ min: 1, max: maxUnits }), fc.integer({ min: 0, max: maxScale })).map(([u, s]) => fmt(dec(u).div(dec(10).pow(s))));
interface F {
  side: Side;
  qty: string;
  price: string;
  fee: string;
  fee_ccy: string;
}
const fillArb: fc.Arbitrary<F> = fc.record({
  side: fc.constantFrom<Side>('BUY', 'SELL'),
  qty: decimal(5000, 3),
  price: decimal(200000, 2),
  fee: fc.oneof(fc.constant('0'), decimal(100, 4)),
  fee_ccy: fc.constantFrom('USDT', 'USDT', 'BNB'),
});
const fills = fc.array(fillArb, { maxLength: 40 });
const mark = decimal(200000, 3).map(dec);
const sign = (s: Side) => (s === 'BUY' ? 1 : -1);

function fold(fs: F[], start?: Position): Position | undefined {
  let p = start;
  for (const f of fs) p = applyFill(p, f, meta);
  return p;
}

test('net quantity equals the sum of signed fill quantities; buys and sells add up', () => {
  fc.assert(
    fc.property(fills, (fs) => {
      const p = fold(fs);
      const net = fs.reduce((a, f) => a.plus(dec(f.qty).times(sign(f.side))), ZERO);
      assert.ok(dec(p?.qty ?? '0').eq(net));
      if (p) assert.ok(dec(p.buy_qty).minus(dec(p.sell_qty)).eq(net));
      if (p && !dec(p.qty).eq(0)) assert.ok(dec(p.avg_cost).gt(0), 'an open position has a positive average cost');
    }),
  );
});

test('accounting identity: realized + unrealized = −Σ side × qty × price + qty × mark, exactly', () => {
  fc.assert(
    fc.property(fills, mark, (fs, m) => {
      const p = fold(fs);
      if (!p) return;
      const cash = fs.reduce((a, f) => a.minus(dec(f.qty).times(dec(f.price)).times(sign(f.side))), ZERO);
      const total = dec(p.realized_pnl).plus(unrealizedPnl(p, m));
      assert.equal(fmt(total), fmt(cash.plus(dec(p.qty).times(m))));
      const quoteFees = fs.filter((f) => f.fee_ccy === 'USDT').reduce((a, f) => a.plus(dec(f.fee)), ZERO);
      assert.ok(dec(p.fees).eq(quoteFees));
      assert.ok(dec(p.net_realized_pnl).eq(dec(p.realized_pnl).minus(quoteFees)));
    }),
  );
});

test('folding a prefix then the rest equals folding all (fills)', () => {
  fc.assert(
    fc.property(fills, fc.nat(), (fs, cut) => {
      const k = cut % (fs.length + 1);
      assert.deepEqual(fold(fs.slice(k), fold(fs.slice(0, k))), fold(fs));
    }),
  );
});

// ---- through the event book: several orders, accounts and instruments -------------------

const env = (id: string) => ({ event_id: id, intent_id: 'i', account: 'x', strategy: 's', ts: T0, causation: 'c', recorded_at: T0 });
function order(coid: string, side: Side, instrument_id: string, account: string): Order {
  const [venue, symbol] = instrument_id.split(':');
  return {
    client_order_id: coid,
    intent_id: 'i',
    leg: 0,
    attempt: 0,
    account,
    strategy: 's',
    env: 'sim',
    instrument_id,
    venue,
    symbol,
    side,
    order_type: 'MARKET',
    qty: '1000000',
    tif: 'GTC',
    ref_price: '1',
  };
}
const orderArb = fc.record({
  side: fc.constantFrom<Side>('BUY', 'SELL'),
  instrument: fc.constantFrom(...INSTRUMENTS),
  account: fc.constantFrom('a', 'b'),
  fills: fc.array(fc.record({ qty: decimal(500, 2), price: decimal(100000, 2) }), { minLength: 1, maxLength: 5 }),
});

/** Events of interleaved orders: each order routed first, its fills in order, orders mixed by `interleave`. */
type OrderSpec = typeof orderArb extends fc.Arbitrary<infer T> ? T : never;
function eventsOf(orders: OrderSpec[], interleave: number[]): Event[] {
  const queues = orders.map((o, i) => {
    const coid = `o${i}`;
    let cum = ZERO;
    const evs: Event[] = [{ ...env(`r${i}`), type: 'OrderRouted', data: { order: order(coid, o.side, o.instrument, o.account) } }];
    o.fills.forEach((f, j) => {
      cum = cum.plus(dec(f.qty));
      evs.push({
        ...env(`f${i}/${j}`),
        type: 'OrderFilled',
        data: {
          client_order_id: coid,
          fill: {
            fingerprint: `${i}/${j}`,
            venue: 'BINANCE',
            venue_order_id: coid,
            trade_id: String(j),
            qty: f.qty,
            price: f.price,
            fee: '0.01',
            fee_ccy: 'USDT',
            liquidity: 'MAKER',
            ts: T0,
          },
          cum_qty: fmt(cum),
          avg_price: f.price,
          status: 'PARTIALLY_FILLED',
        },
      });
    });
    return evs;
  });
  const out: Event[] = [];
  let n = 0;
  while (queues.some((q) => q.length > 0)) {
    const live = queues.filter((q) => q.length > 0);
    out.push(live[(interleave[n++ % Math.max(1, interleave.length)] ?? 0) % live.length].shift()!);
  }
  return out;
}
const bookInput = fc.tuple(fc.array(orderArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 50 }));

test('book: net qty per (account, instrument) equals Σ signed fills; prefix + rest equals all; re-delivery is a no-op', () => {
  fc.assert(
    fc.property(bookInput, fc.nat(), ([orders, inter], cut) => {
      const events = eventsOf(orders, inter);
      const all = foldPositions(events);
      for (const acct of ['a', 'b']) {
        for (const inst of INSTRUMENTS) {
          const net = orders.filter((o) => o.account === acct && o.instrument === inst).reduce((a, o) => o.fills.reduce((b, f) => b.plus(dec(f.qty).times(sign(o.side))), a), ZERO);
          assert.ok(dec(getPosition(all, acct, inst)?.qty ?? '0').eq(net), `${acct} ${inst}`);
        }
      }
      const k = cut % (events.length + 1);
      assert.deepEqual(foldPositions(events.slice(k), foldPositions(events.slice(0, k))), all);
      const again = foldPositions(events, foldPositions(events));
      assert.deepEqual(again.positions, all.positions, 'a re-delivered log moves no position');
      assert.equal(all.skipped_fills, 0);
    }),
  );
});

test('book: totals per quote satisfy the accounting identity at any marks', () => {
  fc.assert(
    fc.property(bookInput, mark, mark, ([orders, inter], m1, m2) => {
      const book = foldPositions(eventsOf(orders, inter));
      const marks: Record<string, Dec> = { 'BINANCE:BTCUSDT': m1, 'BINANCE:ETHBTC': m2 };
      const mtm = markToMarket(book, (id) => marks[id]);
      const quoteOf: Record<string, string> = { 'BINANCE:BTCUSDT': 'USDT', 'BINANCE:ETHBTC': 'BTC' };
      for (const q of ['USDT', 'BTC']) {
        let expected = ZERO;
        for (const o of orders.filter((o) => quoteOf[o.instrument] === q)) {
          for (const f of o.fills)
            expected = expected.plus(
              dec(f.qty)
                .times(sign(o.side))
                .times(marks[o.instrument].minus(dec(f.price))),
            );
        }
        const t = mtm.totals[q];
        const got = t ? dec(t.realized).plus(dec(t.unrealized)) : ZERO;
        assert.equal(fmt(got), fmt(expected), q);
        if (t) assert.ok(dec(t.net).eq(got.minus(dec(t.fees))));
      }
    }),
  );
});
