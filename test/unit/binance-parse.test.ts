// Binance JSON -> reports, against payloads of the documented shapes (binance-spot-api-docs:
// rest-api.md, user-data-stream.md, web-socket-api.md, errors.md, filters.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cancelReplyReports,
  executionReportMessages,
  instrumentRules,
  orderSnapshot,
  parseError,
  parseStreamFrame,
  placeReplyReports,
  rateLimits,
  rejectedReport,
  splitClientId,
  tradeReport,
  type RawExchangeInfo,
  type RawExecutionReport,
  type RawMyTrade,
  type RawOrder,
} from '../../src/venues/binance/parse.js';

const ROOT = 'fs0123456789abcdef0123456789abcd';

// POST /api/v3/order, newOrderRespType=FULL (the documented MARKET SELL, trimmed to two fills).
const FULL: RawOrder = {
  symbol: 'BTCUSDT',
  orderId: 28,
  clientOrderId: ROOT,
  transactTime: 1507725176595,
  price: '0.00000000',
  origQty: '10.00000000',
  executedQty: '10.00000000',
  status: 'FILLED',
  timeInForce: 'GTC',
  type: 'MARKET',
  side: 'SELL',
  fills: [
    { price: '4000.00000000', qty: '1.00000000', commission: '4.00000000', commissionAsset: 'USDT', tradeId: 56 },
    { price: '3999.00000000', qty: '9.00000000', commission: '35.99100000', commissionAsset: 'USDT', tradeId: 57 },
  ],
};

const REPORT: RawExecutionReport = {
  e: 'executionReport',
  E: 1499405658658,
  s: 'BTCUSDT',
  c: ROOT,
  S: 'BUY',
  o: 'LIMIT',
  f: 'GTC',
  q: '1.00000000',
  p: '0.10264410',
  C: '',
  x: 'NEW',
  X: 'NEW',
  r: 'NONE',
  i: 4293153,
  l: '0.00000000',
  z: '0.00000000',
  L: '0.00000000',
  n: '0',
  N: null,
  T: 1499405658657,
  t: -1,
  m: false,
  O: 1499405658657,
};

test('place reply (FULL): ACK, each fill as a TAKER trade at the transaction time, canonical decimals', () => {
  const r = placeReplyReports(FULL);
  assert.deepEqual(r, [
    { kind: 'ACK', venue_order_id: '28', ts: '2017-10-11T12:32:56.595000Z' },
    { kind: 'TRADE', venue_order_id: '28', trade_id: '56', qty: '1', price: '4000', fee: '4', fee_ccy: 'USDT', liquidity: 'TAKER', ts: '2017-10-11T12:32:56.595000Z' },
    { kind: 'TRADE', venue_order_id: '28', trade_id: '57', qty: '9', price: '3999', fee: '35.991', fee_ccy: 'USDT', liquidity: 'TAKER', ts: '2017-10-11T12:32:56.595000Z' },
  ]);
  const ioc = placeReplyReports({ ...FULL, type: 'LIMIT', timeInForce: 'IOC', status: 'EXPIRED', fills: [] });
  assert.deepEqual(ioc.at(-1), { kind: 'EXPIRED', reason: 'IOC: unfilled remainder expired', ts: '2017-10-11T12:32:56.595000Z' });
});

test('the same trade from the reply, the push and the trade list is the same report', () => {
  const fromReply = placeReplyReports(FULL)[1];
  const [pushed] = executionReportMessages({
    ...REPORT,
    x: 'TRADE',
    X: 'PARTIALLY_FILLED',
    i: 28,
    t: 56,
    l: '1.00000000',
    L: '4000.00000000',
    n: '4.00000000',
    N: 'USDT',
    T: 1507725176595,
    m: false,
  });
  const listed: RawMyTrade = {
    symbol: 'BTCUSDT',
    id: 56,
    orderId: 28,
    price: '4000.00000000',
    qty: '1.00000000',
    commission: '4.00000000',
    commissionAsset: 'USDT',
    time: 1507725176595,
    isBuyer: false,
    isMaker: false,
  };
  assert.deepEqual(pushed, { client_order_id: ROOT, report: fromReply });
  assert.deepEqual(tradeReport(listed), fromReply);
});

test('executionReport: NEW is an ACK, a maker fill is MAKER, CANCELED belongs to the original client id (C)', () => {
  assert.deepEqual(executionReportMessages(REPORT), [{ client_order_id: ROOT, report: { kind: 'ACK', venue_order_id: '4293153', ts: '2017-07-07T05:34:18.657000Z' } }]);
  const [maker] = executionReportMessages({ ...REPORT, x: 'TRADE', t: 9, l: '0.5', L: '0.1', n: '0.0005', N: 'ETH', m: true });
  assert.equal(maker.report.kind === 'TRADE' && maker.report.liquidity, 'MAKER');
  const canceled = executionReportMessages({ ...REPORT, x: 'CANCELED', X: 'CANCELED', c: 'web_8e3a0f1c2b', C: ROOT });
  assert.deepEqual(canceled, [{ client_order_id: ROOT, report: { kind: 'CANCELED', reason: 'canceled', ts: '2017-07-07T05:34:18.657000Z' } }]);
  const expired = executionReportMessages({ ...REPORT, x: 'EXPIRED', X: 'EXPIRED', f: 'FOK' });
  assert.equal(expired[0].report.kind === 'EXPIRED' && expired[0].report.reason, 'FOK: not fully fillable, expired');
});

test('cancel/replace legs: <root>r<n> maps to the root, the <root>x<n> cancel leg and the replacement NEW are no reports', () => {
  assert.deepEqual(splitClientId(`${ROOT}r12`), { root: ROOT, leg: 'replacement', n: 12 });
  assert.deepEqual(splitClientId(`${ROOT}x1`), { root: ROOT, leg: 'cancel', n: 1 });
  assert.deepEqual(splitClientId(ROOT), { root: ROOT, n: 0 });
  assert.deepEqual(executionReportMessages({ ...REPORT, x: 'CANCELED', X: 'CANCELED', c: `${ROOT}x1`, C: ROOT }), []);
  assert.deepEqual(executionReportMessages({ ...REPORT, c: `${ROOT}r1` }), []);
  const fill = executionReportMessages({ ...REPORT, c: `${ROOT}r1`, x: 'TRADE', t: 3, l: '1', L: '2', n: '0.001', N: 'BTC' });
  assert.equal(fill[0].client_order_id, ROOT);
  const userCancel = executionReportMessages({ ...REPORT, x: 'CANCELED', X: 'CANCELED', c: 'ab12', C: `${ROOT}r1` });
  assert.equal(userCancel[0].client_order_id, ROOT);
});

test('order snapshot over a replace chain: ACK, fills, AMENDED with the new total, the last order end only', () => {
  const base = { symbol: 'BTCUSDT', timeInForce: 'GTC', type: 'LIMIT', side: 'BUY' };
  const root: RawOrder = { ...base, orderId: 1, clientOrderId: ROOT, price: '100.00', origQty: '1.0', executedQty: '0.4', status: 'CANCELED', time: 1000, updateTime: 2000 };
  const repl: RawOrder = { ...base, orderId: 2, clientOrderId: `${ROOT}r1`, price: '101.00', origQty: '1.1', executedQty: '0.0', status: 'NEW', time: 2000, updateTime: 2000 };
  const trade: RawMyTrade = {
    symbol: 'BTCUSDT',
    id: 7,
    orderId: 1,
    price: '100.00',
    qty: '0.4',
    commission: '0.0004',
    commissionAsset: 'BTC',
    time: 1500,
    isBuyer: true,
    isMaker: true,
  };
  const snap = orderSnapshot([root, repl], [trade]);
  assert.equal(snap.client_order_id, ROOT);
  assert.equal(snap.venue_order_id, '2');
  assert.equal(snap.open, true);
  assert.deepEqual(
    snap.reports.map((r) => r.kind),
    ['ACK', 'TRADE', 'AMENDED'],
  );
  assert.deepEqual(snap.reports[2], { kind: 'AMENDED', venue_order_id: '2', qty: '1.5', limit_price: '101', ts: '1970-01-01T00:00:02.000000Z' });
  const closed = orderSnapshot([root, { ...repl, status: 'CANCELED', updateTime: 3000 }], [trade]);
  assert.deepEqual(closed.reports.at(-1), { kind: 'CANCELED', reason: 'canceled', ts: '1970-01-01T00:00:03.000000Z' });
  assert.deepEqual(cancelReplyReports({ ...root, transactTime: 2000 }), [{ kind: 'CANCELED', reason: 'canceled', ts: '1970-01-01T00:00:02.000000Z' }]);
});

test('errors: the venue code, its text, and a reason that names the filter', () => {
  const e = parseError('{"code":-1013,"msg":"Filter failure: LOT_SIZE"}');
  assert.deepEqual(e, { code: -1013, msg: 'Filter failure: LOT_SIZE' });
  const r = rejectedReport(e, '2026-01-02T10:00:00.000000Z');
  assert.ok(r.kind === 'REJECTED');
  assert.equal(r.code, '-1013');
  assert.match(r.reason, /LOT_SIZE.*step size/);
  const dup = rejectedReport({ code: -2010, msg: 'Duplicate order sent.' }, 'x');
  assert.ok(dup.kind === 'REJECTED' && dup.code === '-2010' && /open order/.test(dup.reason));
  assert.equal(parseError('<html>502</html>'), undefined);
  const partial = parseError(
    '{"code":-2021,"msg":"Order cancel-replace partially failed.","data":{"cancelResult":"SUCCESS","newOrderResult":"FAILURE","cancelResponse":{"symbol":"BTCUSDT","orderId":3},"newOrderResponse":{"code":-2010,"msg":"Order would immediately match and take."}}}',
  );
  assert.equal(partial?.data?.newOrderResult, 'FAILURE');
});

test('exchangeInfo: rules per TRADING symbol (NOTIONAL or MIN_NOTIONAL), and the rate limits with their headers', () => {
  const info: RawExchangeInfo = {
    serverTime: 1565246363776,
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
      { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
      { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
    ],
    symbols: [
      {
        symbol: 'ETHBTC',
        status: 'TRADING',
        baseAsset: 'ETH',
        quoteAsset: 'BTC',
        filters: [
          { filterType: 'PRICE_FILTER', tickSize: '0.00000100' },
          { filterType: 'LOT_SIZE', minQty: '0.00100000', maxQty: '100000.00000000', stepSize: '0.00100000' },
          { filterType: 'MIN_NOTIONAL', minNotional: '0.00100000' },
        ],
      },
      { symbol: 'OLDBTC', status: 'BREAK', baseAsset: 'OLD', quoteAsset: 'BTC', filters: [] },
    ],
  };
  assert.deepEqual(instrumentRules(info), [
    { symbol: 'ETHBTC', base: 'ETH', quote: 'BTC', tick_size: '0.000001', lot_size: '0.001', min_qty: '0.001', max_qty: '100000', min_notional: '0.001' },
  ]);
  assert.deepEqual(rateLimits(info), [
    { kind: 'REQUEST_WEIGHT', header: 'x-mbx-used-weight-1m', window_ms: 60_000, limit: 6000 },
    { kind: 'ORDERS', header: 'x-mbx-order-count-10s', window_ms: 10_000, limit: 100 },
    { kind: 'ORDERS', header: 'x-mbx-order-count-1d', window_ms: 86_400_000, limit: 200000 },
  ]);
});

test('WebSocket API frames: replies by id, user-data events wrapped in {subscriptionId, event}', () => {
  assert.deepEqual(parseStreamFrame('{"id":"sub-1","status":200,"result":{"subscriptionId":0}}'), {
    kind: 'reply',
    id: 'sub-1',
    status: 200,
    result: { subscriptionId: 0 },
    error: undefined,
  });
  const f = parseStreamFrame(JSON.stringify({ subscriptionId: 0, event: REPORT }));
  assert.equal(f.kind, 'event');
  assert.equal(f.kind === 'event' && f.messages.length, 1);
  const balance = parseStreamFrame('{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1728972148778,"u":1728972148778,"B":[]}}');
  assert.deepEqual(balance, { kind: 'event', subscriptionId: 0, messages: [], event: 'outboundAccountPosition' });
  assert.equal(parseStreamFrame('not json').kind, 'other');
});
