import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Order, VenueReport } from '../../src/domain/events.js';
import { dec } from '../../src/domain/decimal.js';
import { isoToMicros } from '../../src/domain/time.js';
import { BUILTIN_INSTRUMENTS } from '../../src/market/instruments.js';
import type { Book } from '../../src/market/types.js';
import { matching, matchOrder, simVenueOrderId, type MatchOrder } from '../../src/venues/sim/match.js';
import { given } from '../helpers/decider.js';

const SPEC = BUILTIN_INSTRUMENTS.find((s) => s.instrument_id === 'BINANCE:BTCUSDT')!; // tick 0.01, lot 0.00001, min notional 5, taker 0.001
const TS = '2026-01-02T10:00:00.000000Z';
const T = isoToMicros(TS);
const lv = (p: string, q: string) => ({ price: dec(p), qty: dec(q) });
const BOOK: Book = {
  instrument_id: SPEC.instrument_id,
  ts_us: T,
  bids: [lv('99.9', '1'), lv('99.5', '2'), lv('99', '3')],
  asks: [lv('100', '1'), lv('100.5', '2'), lv('101', '0.5')],
};

const order = (o: Partial<Order> = {}): Order => ({
  client_order_id: 'fsclient1',
  intent_id: 'i1',
  leg: 0,
  attempt: 0,
  account: 'default',
  strategy: 's1',
  env: 'sim',
  instrument_id: SPEC.instrument_id,
  venue: SPEC.venue,
  symbol: SPEC.symbol,
  side: 'BUY',
  order_type: 'MARKET',
  qty: '1',
  tif: 'IOC',
  ref_price: '100',
  ...o,
});

// The simulated exchange keeps no state: given nothing, when an order arrives, then its reports.
// The context fields given (undefined included) replace the defaults: BOOK, SPEC, T.
const arrives = (o: Partial<Order>, context: Partial<Omit<MatchOrder, 'order'>> = {}) => given(matching).when({ order: order(o), book: BOOK, spec: SPEC, ts_us: T, ...context });
const match = (o: Partial<Order>, book: Book | undefined = BOOK) => arrives(o, { book }).events;
const VID = simVenueOrderId('BINANCE', 'fsclient1');
const trades = (rs: readonly VenueReport[]) => rs.filter((r) => r.kind === 'TRADE').map((r) => (r.kind === 'TRADE' ? [r.qty, r.price, r.fee] : []));
const kinds = (rs: readonly VenueReport[]) => rs.map((r) => r.kind);

test('market BUY walks the asks: one trade per level, exact prices and fees', () => {
  const rs = match({ qty: '2.5' });
  assert.deepEqual(rs[0], { kind: 'ACK', venue_order_id: VID, ts: TS });
  assert.deepEqual(rs[1], {
    kind: 'TRADE',
    venue_order_id: VID,
    trade_id: `${VID}-1`,
    qty: '1',
    price: '100',
    fee: '0.1',
    fee_ccy: 'USDT',
    liquidity: 'TAKER',
    ts: TS,
  });
  assert.deepEqual(trades(rs), [
    ['1', '100', '0.1'],
    ['1.5', '100.5', '0.15075'],
  ]);
  assert.equal(rs.length, 3, 'a full fill has no terminal report');
  // VWAP = (100 + 150.75) / 2.5 exactly
  const notional = trades(rs).reduce((a, [q, p]) => a.plus(dec(q).times(p)), dec(0));
  assert.equal(notional.div('2.5').toString(), '100.3');
});

test('market SELL walks the bids', () => {
  assert.deepEqual(trades(match({ side: 'SELL', qty: '1.5' })), [
    ['1', '99.9', '0.0999'],
    ['0.5', '99.5', '0.04975'],
  ]);
});

test('market order larger than the book: partial fill then EXPIRED insufficient liquidity', () => {
  const rs = match({ qty: '4' });
  assert.deepEqual(kinds(rs), ['ACK', 'TRADE', 'TRADE', 'TRADE', 'EXPIRED']);
  assert.deepEqual(
    trades(rs).map(([q]) => q),
    ['1', '2', '0.5'],
  );
  assert.deepEqual(rs[4], { kind: 'EXPIRED', reason: 'insufficient liquidity', ts: TS });
  // GTC tif on a MARKET order still has IOC semantics
  assert.deepEqual(kinds(match({ qty: '4', tif: 'GTC' })), ['ACK', 'TRADE', 'TRADE', 'TRADE', 'EXPIRED']);
});

test('market order against an empty side: ACK then EXPIRED with no trades', () => {
  assert.deepEqual(kinds(match({ qty: '1' }, { ...BOOK, asks: [] })), ['ACK', 'EXPIRED']);
});

test('limit IOC fills what crosses and cancels the remainder', () => {
  const rs = match({ order_type: 'LIMIT', tif: 'IOC', qty: '5', limit_price: '100.5' });
  assert.deepEqual(
    trades(rs).map(([q, p]) => [q, p]),
    [
      ['1', '100'],
      ['2', '100.5'],
    ],
  );
  const last = rs[rs.length - 1];
  assert.equal(last.kind, 'CANCELED');
  assert.match(last.kind === 'CANCELED' ? last.reason : '', /IOC: unfilled quantity 2 canceled/);
  // nothing crosses: ACK, CANCELED
  assert.deepEqual(kinds(match({ order_type: 'LIMIT', tif: 'IOC', qty: '1', limit_price: '99.99' })), ['ACK', 'CANCELED']);
  // SELL limit: only bids >= limit
  assert.deepEqual(
    trades(match({ side: 'SELL', order_type: 'LIMIT', tif: 'IOC', qty: '5', limit_price: '99.5' })).map(([q, p]) => [q, p]),
    [
      ['1', '99.9'],
      ['2', '99.5'],
    ],
  );
});

test('limit FOK is all or nothing', () => {
  const none = match({ order_type: 'LIMIT', tif: 'FOK', qty: '3.1', limit_price: '100.5' });
  assert.deepEqual(kinds(none), ['ACK', 'EXPIRED']);
  assert.match(none[1].kind === 'EXPIRED' ? none[1].reason : '', /FOK/);
  const all = match({ order_type: 'LIMIT', tif: 'FOK', qty: '3', limit_price: '100.5' });
  assert.deepEqual(kinds(all), ['ACK', 'TRADE', 'TRADE']);
  assert.deepEqual(kinds(match({ tif: 'FOK', qty: '3.6' })), ['ACK', 'EXPIRED'], 'market FOK beyond the book');
});

test('limit GTC: the remainder rests with no terminal report', () => {
  assert.deepEqual(kinds(match({ order_type: 'LIMIT', tif: 'GTC', qty: '2', limit_price: '100.2' })), ['ACK', 'TRADE']);
  assert.deepEqual(kinds(match({ order_type: 'LIMIT', tif: 'GTC', qty: '2', limit_price: '99' })), ['ACK']);
  assert.deepEqual(kinds(match({ order_type: 'LIMIT', tif: 'GTC', qty: '1', limit_price: '100' })), ['ACK', 'TRADE']);
});

test('every reject code, with a clear reason and no ACK', () => {
  const cases: [Partial<Order>, string, RegExp, Book | undefined, typeof SPEC | undefined][] = [
    [{}, 'UNKNOWN_SYMBOL', /unknown symbol BINANCE:BTCUSDT/, BOOK, undefined],
    [{ instrument_id: 'BINANCE:DOGEUSDT' }, 'UNKNOWN_SYMBOL', /unknown symbol BINANCE:DOGEUSDT/, BOOK, SPEC],
    [{}, 'NO_MARKET_DATA', /no order book for BINANCE:BTCUSDT/, undefined, SPEC],
    [{ qty: '0' }, 'LOT_SIZE', /positive decimal/, BOOK, SPEC],
    [{ qty: '-1' }, 'LOT_SIZE', /positive decimal/, BOOK, SPEC],
    [{ qty: 'abc' }, 'LOT_SIZE', /positive decimal/, BOOK, SPEC],
    [{ qty: '0.000001' }, 'LOT_SIZE', /below min_qty 0.00001/, BOOK, SPEC],
    [{ qty: '9000.00001' }, 'LOT_SIZE', /above max_qty 9000/, BOOK, SPEC],
    [{ qty: '0.123456' }, 'LOT_SIZE', /not a multiple of lot_size 0.00001/, BOOK, SPEC],
    [{ order_type: 'LIMIT' }, 'PRICE_FILTER', /without limit_price/, BOOK, SPEC],
    [{ order_type: 'LIMIT', limit_price: '0' }, 'PRICE_FILTER', /positive decimal/, BOOK, SPEC],
    [{ order_type: 'LIMIT', limit_price: '100.005' }, 'PRICE_FILTER', /not a multiple of tick_size 0.01/, BOOK, SPEC],
    [{ qty: '0.04' }, 'MIN_NOTIONAL', /notional 4 USDT \(qty × touch price\) is below min_notional 5/, BOOK, SPEC],
    [{ qty: '0.1', order_type: 'LIMIT', limit_price: '49.99', tif: 'GTC' }, 'MIN_NOTIONAL', /notional 4.999 USDT \(qty × limit price\)/, BOOK, SPEC],
  ];
  for (const [o, code, re, book, spec] of cases) arrives(o, { book, spec }).then({ kind: 'REJECTED', code, reason: re, ts: TS });
  // exactly at the minimum passes
  assert.equal(match({ qty: '0.05' })[0].kind, 'ACK');
});

test('deterministic: same order and book give identical reports; ids derive from the client order id', () => {
  const a = match({ qty: '3.3', client_order_id: 'x1' });
  const b = matchOrder(order({ qty: '3.3', client_order_id: 'x1' }), { ...BOOK }, SPEC, T);
  assert.deepEqual(a, b, 'the decider decides as matchOrder does');
  const c = match({ qty: '3.3', client_order_id: 'x2' });
  assert.notEqual(a[0].kind === 'ACK' && a[0].venue_order_id, c[0].kind === 'ACK' && c[0].venue_order_id);
  assert.match(simVenueOrderId('OKX', 'x1'), /^SIM-OKX-[0-9a-f]{20}$/);
  // report time is the event time passed in, never the processing time
  const later = arrives({}, { ts_us: T + 1_500_123 }).events;
  assert.ok(later.length > 0 && later.every((r) => r.ts === '2026-01-02T10:00:01.500123Z'));
});

test('recorded levels off the lot grid trade only their on-grid part', () => {
  const book: Book = { ...BOOK, asks: [lv('100', '0.000015'), lv('100.01', '1')] };
  assert.deepEqual(
    trades(match({ qty: '0.1' }, book)).map(([q]) => q),
    ['0.00001', '0.09999'],
  );
});

test('tick and lot sizes that are not powers of ten are enforced too', () => {
  const spec = { ...SPEC, tick_size: '0.05', lot_size: '0.25', min_qty: '0.25', min_notional: '1' };
  const book: Book = { ...BOOK, asks: [lv('100', '0.6'), lv('100.05', '5')] };
  const m = (o: Partial<Order>) => matchOrder(order(o), book, spec, T);
  const code = (rs: readonly VenueReport[]) => (rs[0].kind === 'REJECTED' ? rs[0].code : rs[0].kind);
  assert.equal(code(m({ qty: '0.3' })), 'LOT_SIZE');
  assert.equal(code(m({ order_type: 'LIMIT', limit_price: '100.02', qty: '1' })), 'PRICE_FILTER');
  assert.equal(code(m({ order_type: 'LIMIT', limit_price: '100.05', qty: '1' })), 'ACK');
  // level of 0.6 trades 0.5 (its on-grid part); the rest comes from the next level
  assert.deepEqual(
    trades(m({ qty: '1.5' })).map(([q, p]) => [q, p]),
    [
      ['0.5', '100'],
      ['1', '100.05'],
    ],
  );
  // lot of 10: quantities must be whole tens
  const tens = { ...SPEC, lot_size: '10', min_qty: '10', max_qty: '1000' };
  const big: Book = { ...BOOK, asks: [lv('100', '1000')] };
  assert.equal(code(matchOrder(order({ qty: '15' }), big, tens, T)), 'LOT_SIZE');
  assert.deepEqual(trades(matchOrder(order({ qty: '20' }), big, tens, T)), [['20', '100', '2']]);
});
