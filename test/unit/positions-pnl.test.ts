import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dec } from '../../src/domain/decimal.js';
import type { Event, Order, OrderStatusFact } from '../../src/domain/events.js';
import { Event as EventSchema } from '../../src/domain/events.js';
import type { Side } from '../../src/domain/intent.js';
import {
  applyFill,
  builtinResolver,
  emptyBook,
  getPosition,
  listPositions,
  markToMarket,
  positions,
  positionsDecider,
  unrealizedPnl,
  type Position,
} from '../../src/positions/index.js';
import { given, snapshot } from '../helpers/decider.js';

const meta = { account: 'acct', instrument_id: 'BINANCE:BTCUSDT', base: 'BTC', quote: 'USDT' };
const fill = (side: Side, qty: string, price: string, fee = '0', fee_ccy = 'USDT') => ({ side, qty, price, fee, fee_ccy });
const buy = (p: Position | undefined, qty: string, price: string, fee?: string, ccy?: string) => applyFill(p, fill('BUY', qty, price, fee, ccy), meta);
const sell = (p: Position | undefined, qty: string, price: string, fee?: string, ccy?: string) => applyFill(p, fill('SELL', qty, price, fee, ccy), meta);

test('long: adding in the same direction gives the weighted average cost', () => {
  const p = buy(buy(undefined, '1', '100'), '3', '120');
  assert.equal(p.qty, '4');
  assert.equal(p.avg_cost, '115'); // (100 + 360) / 4
  assert.equal(p.cost_basis, '460');
  assert.equal(p.realized_pnl, '0');
  assert.equal(p.buy_qty, '4');
  assert.equal(p.sell_qty, '0');
  assert.equal(p.turnover, '460');
  assert.equal(p.fills, 2);
  assert.equal(unrealizedPnl(p, dec('125')).toString(), '40');
});

test('long: a partial close realizes against the average cost, which stays put', () => {
  const p = sell(buy(buy(undefined, '1', '100'), '3', '120'), '1', '130');
  assert.equal(p.qty, '3');
  assert.equal(p.avg_cost, '115');
  assert.equal(p.realized_pnl, '15'); // (130 - 115) x 1
  const loss = sell(buy(undefined, '2', '100'), '0.5', '90');
  assert.equal(loss.realized_pnl, '-5');
  assert.equal(loss.avg_cost, '100');
});

test('crossing zero: the closed part is realized, the rest opens short at the fill price', () => {
  const long = sell(buy(buy(undefined, '1', '100'), '3', '120'), '1', '130'); // 3 @ 115, realized 15
  const p = sell(long, '5', '110');
  assert.equal(p.qty, '-2');
  assert.equal(p.avg_cost, '110');
  assert.equal(p.cost_basis, '-220');
  assert.equal(p.realized_pnl, '0'); // 15 + (110 - 115) x 3
  assert.equal(unrealizedPnl(p, dec('100')).toString(), '20', 'short gains when the price falls');
});

test('short: adding averages, covering below cost is a profit, above cost a loss', () => {
  let p = sell(undefined, '2', '110');
  p = sell(p, '2', '100');
  assert.equal(p.qty, '-4');
  assert.equal(p.avg_cost, '105');
  p = buy(p, '1', '95');
  assert.equal(p.realized_pnl, '10'); // (105 - 95) x 1
  assert.equal(p.avg_cost, '105');
  p = buy(p, '1', '107');
  assert.equal(p.realized_pnl, '8'); // 10 + (105 - 107) x 1
  assert.equal(p.qty, '-2');
});

test('short cover through zero opens long; flat means avg cost 0', () => {
  let p = sell(undefined, '3', '105');
  p = buy(p, '4', '100');
  assert.equal(p.realized_pnl, '15');
  assert.equal(p.qty, '1');
  assert.equal(p.avg_cost, '100');
  p = sell(p, '1', '100');
  assert.equal(p.qty, '0');
  assert.equal(p.avg_cost, '0');
  assert.equal(p.cost_basis, '0');
  assert.equal(p.realized_pnl, '15');
  assert.equal(unrealizedPnl(p, dec('123')).toString(), '0');
});

test('average cost that does not terminate keeps the cost basis exact', () => {
  let p = buy(undefined, '1', '100');
  p = buy(p, '2', '101');
  assert.equal(p.avg_cost, '100.666666666666666667');
  p = sell(p, '3', '102');
  assert.equal(p.qty, '0');
  assert.equal(p.realized_pnl, '4'); // 306 - 302, no rounding dust
});

test('fees: quote fees accumulate and reduce net realized; other currencies are kept apart', () => {
  let p = buy(undefined, '1', '100', '0.1');
  p = sell(p, '1', '110', '0.11');
  p = buy(p, '1', '100', '0.0005', 'BNB');
  p = buy(p, '1', '100', '0.001', 'BTC');
  p = buy(p, '1', '100', '-0.02'); // maker rebate
  assert.equal(p.realized_pnl, '10');
  assert.equal(p.fees, '0.19');
  assert.equal(p.net_realized_pnl, '9.81');
  assert.deepEqual(p.other_fees, { BNB: '0.0005', BTC: '0.001' });
  assert.equal(p.qty, '3', 'a fee in base does not change the position');
});

test('accounting identity on a worked sequence', () => {
  const fills = [fill('BUY', '1', '100'), fill('BUY', '3', '120'), fill('SELL', '1', '130'), fill('SELL', '5', '110'), fill('BUY', '0.5', '99.5')];
  let p: Position | undefined;
  let cash = dec(0);
  for (const f of fills) {
    p = applyFill(p, f, meta);
    cash = cash.minus(
      dec(f.qty)
        .times(f.price)
        .times(f.side === 'BUY' ? 1 : -1),
    );
  }
  const mark = dec('104.25');
  const total = dec(p!.realized_pnl).plus(unrealizedPnl(p!, mark));
  assert.equal(total.toString(), cash.plus(dec(p!.qty).times(mark)).toString());
});

// ---- the book --------------------------------------------------------------------------

const T0 = '2026-01-02T10:00:00.000000Z';
const env = (id: string) => ({ event_id: id, intent_id: 'i', account: 'acct', strategy: 's', ts: T0, causation: 'c', recorded_at: T0 });
function order(coid: string, side: Side, instrument_id = 'BINANCE:BTCUSDT', account = 'acct'): Order {
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
    qty: '10',
    tif: 'GTC',
    ref_price: '1',
  };
}
const routed = (o: Order): Event => ({ ...env(`r/${o.client_order_id}`), type: 'OrderRouted', data: { order: o } });
function filled(
  coid: string,
  trade: string,
  qty: string,
  price: string,
  cum: string,
  status: 'PARTIALLY_FILLED' | 'FILLED' = 'PARTIALLY_FILLED',
  fee = '0',
  fee_ccy = 'USDT',
): Event {
  return {
    ...env(`f/${coid}/${trade}`),
    type: 'OrderFilled',
    data: {
      client_order_id: coid,
      fill: { fingerprint: `fp-${coid}-${trade}`, venue: 'BINANCE', venue_order_id: 'v', trade_id: trade, qty, price, fee, fee_ccy, liquidity: 'TAKER', ts: T0 },
      cum_qty: cum,
      avg_price: price,
      status,
    },
  };
}

test('the book learns side and instrument from OrderRouted and applies OrderFilled', () => {
  const events = [routed(order('b1', 'BUY')), filled('b1', 't1', '2', '100', '2', 'PARTIALLY_FILLED', '0.2'), routed(order('s1', 'SELL')), filled('s1', 't1', '1', '110', '1')];
  for (const e of events) assert.ok(EventSchema.safeParse(e).success);
  const book = given(positions, ...events).state;
  const p = getPosition(book, 'acct', 'BINANCE:BTCUSDT')!;
  assert.equal(p.base, 'BTC');
  assert.equal(p.quote, 'USDT');
  assert.equal(p.qty, '1');
  assert.equal(p.realized_pnl, '10');
  assert.equal(p.fees, '0.2');
  assert.equal(book.skipped_fills, 0);
});

test('fills of unknown or finished orders and re-delivered fills are skipped', () => {
  const f1 = filled('b1', 't1', '2', '100', '2');
  const f2 = filled('b1', 't2', '8', '100', '10', 'FILLED');
  const book = given(positions, filled('ghost', 't1', '1', '1', '1'), routed(order('b1', 'BUY')), f1, f1, f2, f2).state;
  assert.equal(getPosition(book, 'acct', 'BINANCE:BTCUSDT')!.qty, '10');
  assert.equal(book.skipped_fills, 3);
  assert.equal(book.orders.has('b1'), false, 'route forgotten once FILLED');
});

test('terminal order events forget the route; other events leave the book as is', () => {
  const b0 = given(positions, routed(order('c1', 'BUY'))).state;
  assert.ok(b0.orders.has('c1'));
  const canceled: Event = { ...env('x'), type: 'OrderCanceled', data: { client_order_id: 'c1', reason: 'user' } };
  assert.equal(given(positions, routed(order('c1', 'BUY')), canceled).state.orders.has('c1'), false);
  const acked: Event = { ...env('y'), type: 'OrderAcked', data: { client_order_id: 'c1', venue_order_id: 'v' } };
  assert.deepEqual(snapshot(given(positions, routed(order('c1', 'BUY')), acked).state), snapshot(b0));
  assert.equal(positions.evolveInPlace(b0, acked), b0, 'folded in place: the same book back');
});

test('a terminal status known from its record headers forgets the route like the full event', () => {
  for (const type of ['OrderCanceled', 'OrderRejected', 'OrderExpired'] as const) {
    const fact: OrderStatusFact = { type, ts: T0, data: { client_order_id: 'c1' } };
    const book = given(positions, routed(order('c1', 'BUY')), filled('c1', 't1', '1', '100', '1'), fact, filled('c1', 't2', '1', '100', '2')).state;
    assert.equal(book.orders.has('c1'), false, type);
    assert.equal(getPosition(book, 'acct', 'BINANCE:BTCUSDT')!.qty, '1', `a fill after ${type} is skipped`);
    assert.equal(book.skipped_fills, 1);
  }
});

test('an account or instrument named like an Object.prototype key is just data', () => {
  const book = given(positions, routed(order('p1', 'BUY', 'SIM:__proto__', '__proto__')), filled('p1', 't', '1', '5', '1')).state;
  assert.equal(getPosition(book, '__proto__', 'SIM:__proto__')!.qty, '1');
  assert.equal(getPosition(emptyBook(), '__proto__', 'toString'), undefined);
  assert.equal(getPosition(emptyBook(), 'constructor', 'x'), undefined);
  // Fees in a currency named so too.
  const fee = given(positions, routed(order('p2', 'BUY')), filled('p2', 't', '1', '5', '1', 'PARTIALLY_FILLED', '0.5', '__proto__')).state;
  assert.deepEqual(getPosition(fee, 'acct', 'BINANCE:BTCUSDT')!.other_fees, Object.fromEntries([['__proto__', '0.5']]));
});

test('instrument resolver: registry first, then the symbol shape', () => {
  assert.deepEqual(builtinResolver('BINANCE:ETHBTC'), { base: 'ETH', quote: 'BTC' });
  assert.deepEqual(builtinResolver('OKX:SOL-USDT'), { base: 'SOL', quote: 'USDT' });
  assert.deepEqual(builtinResolver('SIM:DOGEUSDT'), { base: 'DOGE', quote: 'USDT' });
  assert.equal(builtinResolver('SIM:XY'), undefined);
  const custom = given(
    positionsDecider(() => ({ base: 'X', quote: 'Y' })),
    routed(order('o', 'BUY', 'SIM:XY')),
    filled('o', 't', '1', '2', '1'),
  ).state;
  assert.equal(getPosition(custom, 'acct', 'SIM:XY')!.quote, 'Y');
});

test('markToMarket: unrealized per position, totals per quote currency, unmarked counted', () => {
  const book = given(
    positions,
    routed(order('a', 'BUY')),
    filled('a', '1', '2', '100', '2', 'PARTIALLY_FILLED', '0.5'),
    routed(order('b', 'SELL', 'BINANCE:ETHUSDT')),
    filled('b', '1', '3', '10', '3', 'PARTIALLY_FILLED', '0.03'),
    routed(order('c', 'BUY', 'BINANCE:ETHBTC')),
    filled('c', '1', '4', '0.05', '4', 'PARTIALLY_FILLED', '0.001', 'ETH'),
    routed(order('d', 'SELL', 'BINANCE:SOLUSDT', 'other')),
    filled('d', '1', '1', '20', '1'),
  ).state;
  const marks: Record<string, string> = { 'BINANCE:BTCUSDT': '110', 'BINANCE:ETHUSDT': '9', 'BINANCE:ETHBTC': '0.06' };
  const mtm = markToMarket(book, (id) => (marks[id] ? dec(marks[id]) : undefined));
  assert.deepEqual(
    mtm.positions.map((p) => [p.account, p.instrument_id, p.mark, p.unrealized_pnl]),
    [
      ['acct', 'BINANCE:BTCUSDT', '110', '20'],
      ['acct', 'BINANCE:ETHBTC', '0.06', '0.04'],
      ['acct', 'BINANCE:ETHUSDT', '9', '3'],
      ['other', 'BINANCE:SOLUSDT', undefined, undefined],
    ],
  );
  assert.deepEqual(mtm.totals, {
    BTC: { realized: '0', unrealized: '0.04', fees: '0', net: '0.04', unmarked: 0 },
    USDT: { realized: '0', unrealized: '23', fees: '0.53', net: '22.47', unmarked: 1 },
  });
  assert.deepEqual(mtm.other_fees, { ETH: '0.001' });
  assert.equal(listPositions(book).length, 4);
});
