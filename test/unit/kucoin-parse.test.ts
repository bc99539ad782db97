// Payloads in the shapes of KuCoin's documentation (spot HF orders, /hf/fills, /api/v2/symbols,
// orderChange V2 pushes, error bodies); values follow the docs' examples.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  explainError,
  fillToTrade,
  isDuplicateClientOid,
  isOrderNotFound,
  nsToMs,
  orderChange,
  orderSnapshot,
  parseEnvelope,
  rejected,
  streamOrderChange,
  symbolRules,
  type KucoinFill,
  type KucoinOrder,
  type KucoinOrderChange,
} from '../../src/venues/kucoin/parse.js';

const ORDER: KucoinOrder = {
  id: '6717422bd51c29000775ea03',
  clientOid: '5c52e11203aa677f33e493fb',
  symbol: 'BTC-USDT',
  type: 'limit',
  side: 'buy',
  price: '70000',
  size: '0.00001',
  funds: '0.7',
  dealSize: '0.00001',
  dealFunds: '0.677176',
  remainSize: '0',
  cancelledSize: '0',
  timeInForce: 'GTC',
  cancelExist: false,
  inOrderBook: false,
  active: false,
  createdAt: 1729577515444,
  lastUpdatedAt: 1729577515481,
};

// The docs' GET /api/v1/hf/fills reply, as text: its tradeId is past 2^53.
const FILLS_REPLY = `{"code":"200000","data":{"items":[
  {"id":19814995255305,"orderId":"6717422bd51c29000775ea03","counterOrderId":"67174228135f9e000709da8c","tradeId":11029373945659392,
   "symbol":"BTC-USDT","side":"buy","liquidity":"taker","type":"limit","forceTaker":false,"price":"67717.6","size":"0.00001",
   "funds":"0.677176","fee":"0.000677176","feeRate":"0.001","feeCurrency":"USDT","stop":"","tradeType":"TRADE","taxRate":"0","tax":"0",
   "createdAt":1729577515473},
  {"id":19814995255306,"orderId":"6717422bd51c29000775ea03","counterOrderId":"67174228135f9e000709da8d","tradeId":11029373945659393,
   "symbol":"BTC-USDT","side":"buy","liquidity":"taker","type":"limit","forceTaker":false,"price":"67717.7","size":"0.00001",
   "funds":"0.677177","fee":"0.000677177","feeRate":"0.001","feeCurrency":"USDT","stop":"","tradeType":"TRADE","taxRate":"0","tax":"0",
   "createdAt":1729577515474}],"lastId":19814995255306}}`;
const [FILL, FILL2] = (parseEnvelope(FILLS_REPLY).data as { items: KucoinFill[] }).items;

test('trade ids past 2^53 keep every digit', () => {
  assert.equal(FILL.tradeId, '11029373945659392');
  assert.equal(FILL2.tradeId, '11029373945659393');
  assert.equal(FILL.id, 19814995255305);
  const frame = '{"type":"message","topic":"/spotMarket/tradeOrdersV2","subject":"orderChange","data":{"tradeId":"5efab07a4ee4c7000a82d6d9","ts":1593487482038606180}}';
  assert.equal(streamOrderChange(frame)?.ts, '1593487482038606180');
});

test('a fill is a TRADE with canonical decimals, the trade id and the fill time in µs', () => {
  assert.deepEqual(fillToTrade(FILL), {
    kind: 'TRADE',
    venue_order_id: '6717422bd51c29000775ea03',
    trade_id: '11029373945659392',
    qty: '0.00001',
    price: '67717.6',
    fee: '0.000677176',
    fee_ccy: 'USDT',
    liquidity: 'TAKER',
    ts: '2024-10-22T06:11:55.473000Z',
  });
  const padded = fillToTrade({ ...FILL, liquidity: 'maker', price: '67717.60', size: '0.000010' });
  assert.equal(padded.kind === 'TRADE' && padded.qty, '0.00001');
  assert.equal((fillToTrade({ ...FILL, liquidity: 'maker' }) as { liquidity: string }).liquidity, 'MAKER');
});

test('a fully filled order: ACK then its trades, no terminal report', () => {
  const s = orderSnapshot(ORDER, [FILL]);
  assert.equal(s.client_order_id, ORDER.clientOid);
  assert.equal(s.venue_order_id, ORDER.id);
  assert.equal(s.open, false);
  assert.deepEqual(
    s.reports.map((r) => r.kind),
    ['ACK', 'TRADE'],
  );
  assert.deepEqual(s.reports[0], { kind: 'ACK', venue_order_id: ORDER.id, ts: '2024-10-22T06:11:55.444000Z' });
});

test('closed unfilled: CANCELED for GTC, EXPIRED for IOC, FOK and market; trades sorted by trade id', () => {
  const canceled = { ...ORDER, dealSize: '0', cancelExist: true, cancelledSize: '0.00001' };
  assert.deepEqual(orderSnapshot(canceled, []).reports[1], { kind: 'CANCELED', reason: 'canceled on KuCoin', ts: '2024-10-22T06:11:55.481000Z' });
  assert.equal(orderSnapshot({ ...canceled, timeInForce: 'IOC' }, []).reports[1].kind, 'EXPIRED');
  assert.equal(orderSnapshot({ ...canceled, timeInForce: 'FOK' }, []).reports[1].kind, 'EXPIRED');
  assert.equal(orderSnapshot({ ...canceled, type: 'market' }, []).reports[1].kind, 'EXPIRED');
  const partial = { ...canceled, size: '0.00003', dealSize: '0.00002', timeInForce: 'IOC' as const };
  const s = orderSnapshot(partial, [FILL2, FILL]);
  assert.deepEqual(
    s.reports.map((r) => (r.kind === 'TRADE' ? r.trade_id : r.kind)),
    ['ACK', '11029373945659392', '11029373945659393', 'EXPIRED'],
  );
  assert.equal(orderSnapshot({ ...ORDER, active: true, dealSize: '0' }, []).open, true);
  assert.equal(orderSnapshot({ ...ORDER, active: true, dealSize: '0' }, []).reports.length, 1);
});

test('symbols: KuCoin increments and minimums become the instrument rules', () => {
  const rules = symbolRules({
    symbol: 'BTC-USDT',
    baseCurrency: 'BTC',
    quoteCurrency: 'USDT',
    baseMinSize: '0.00001',
    baseMaxSize: '10000000000',
    baseIncrement: '0.00000001',
    priceIncrement: '0.1',
    quoteMinSize: '0.1',
    minFunds: '0.1',
    enableTrading: true,
  });
  assert.deepEqual(rules, {
    symbol: 'BTC-USDT',
    base: 'BTC',
    quote: 'USDT',
    tick_size: '0.1',
    lot_size: '0.00000001',
    min_qty: '0.00001',
    max_qty: '10000000000',
    min_notional: '0.1',
  });
});

const PUSH_BASE = { symbol: 'KCS-USDT', orderType: 'limit' as const, side: 'buy' as const, orderId: '5efab07953bdea00089965d2', clientOid: '1593487481000906' };

test('orderChange received → ACK; match → the trade to read from /hf/fills; open and filled say nothing new', () => {
  const received: KucoinOrderChange = { ...PUSH_BASE, type: 'received', status: 'new', price: '0.937', ts: '1593487481683297666' };
  assert.deepEqual(orderChange(received), {
    kind: 'report',
    message: { client_order_id: '1593487481000906', report: { kind: 'ACK', venue_order_id: '5efab07953bdea00089965d2', ts: '2020-06-30T03:24:41.683000Z' } },
  });
  const match: KucoinOrderChange = {
    ...PUSH_BASE,
    side: 'sell',
    type: 'match',
    status: 'match',
    liquidity: 'taker',
    size: '0.1',
    filledSize: '0.1',
    price: '0.938',
    matchPrice: '0.96738',
    matchSize: '0.1',
    tradeId: '5efab07a4ee4c7000a82d6d9',
    remainSize: '0',
    ts: '1593487482038606180',
  };
  assert.deepEqual(orderChange(match), {
    kind: 'trade',
    client_order_id: '1593487481000906',
    symbol: 'KCS-USDT',
    order_id: '5efab07953bdea00089965d2',
    trade_id: '5efab07a4ee4c7000a82d6d9',
  });
  assert.deepEqual(orderChange({ ...match, type: 'filled', status: 'done' }), { kind: 'none' });
  assert.deepEqual(orderChange({ ...received, type: 'open', status: 'open' }), { kind: 'none' });
});

test('orderChange canceled → CANCELED, or EXPIRED when the order was IOC/FOK or market; update → AMENDED', () => {
  const canceled: KucoinOrderChange = { ...PUSH_BASE, type: 'canceled', status: 'done', size: '0.1', filledSize: '0', remainSize: '0', price: '0.937', ts: '1593487481893140844' };
  const c = orderChange(canceled);
  assert.equal(c.kind === 'report' && c.message.report.kind, 'CANCELED');
  const ioc = orderChange(canceled, 'IOC');
  assert.equal(ioc.kind === 'report' && ioc.message.report.kind, 'EXPIRED');
  const mkt = orderChange({ ...canceled, orderType: 'market' });
  assert.equal(mkt.kind === 'report' && mkt.message.report.kind, 'EXPIRED');
  const update: KucoinOrderChange = {
    ...PUSH_BASE,
    orderId: '5efab13f53bdea00089971df',
    type: 'update',
    oldSize: '0.1',
    size: '0.06',
    filledSize: '0',
    price: '0.937',
    remainSize: '0.06',
    status: 'open',
    ts: '1593487682916117521',
  };
  assert.deepEqual(orderChange(update), {
    kind: 'report',
    message: {
      client_order_id: '1593487481000906',
      report: { kind: 'AMENDED', venue_order_id: '5efab13f53bdea00089971df', qty: '0.06', limit_price: '0.937', ts: '2020-06-30T03:28:02.916000Z' },
    },
  });
});

test('nanosecond times: exact from a string, the millisecond from a (float) number', () => {
  assert.equal(nsToMs('1593487482038606180'), 1593487482038);
  assert.equal(nsToMs(1593487482038606), 1593487482);
});

test('stream frames: only orderChange messages on the V2 topic are read', () => {
  const data = { ...PUSH_BASE, type: 'received', status: 'new', ts: 1 };
  const frame = (over: Record<string, unknown>) =>
    JSON.stringify({ type: 'message', topic: '/spotMarket/tradeOrdersV2', subject: 'orderChange', channelType: 'private', data, ...over });
  assert.deepEqual(streamOrderChange(frame({})), data);
  assert.equal(streamOrderChange(frame({ topic: '/account/balance' })), undefined);
  assert.equal(streamOrderChange(JSON.stringify({ id: '1', type: 'welcome' })), undefined);
  assert.equal(streamOrderChange(JSON.stringify({ id: '1', type: 'pong' })), undefined);
  assert.equal(streamOrderChange('not json'), undefined);
});

test('errors: the venue code stays, the reason says what it means', () => {
  assert.deepEqual(parseEnvelope('{"code":"400005","msg":"Signature error"}'), { code: '400005', msg: 'Signature error' });
  assert.equal(parseEnvelope('<html>bad gateway</html>').code, 'BAD_REPLY');
  assert.equal(parseEnvelope('{"msg":"no code"}').code, 'BAD_REPLY');
  assert.equal(explainError('200004', 'Balance insufficient!'), 'KuCoin 200004 insufficient balance: Balance insufficient!');
  assert.equal(explainError('400100', 'Order size increment invalid.'), 'KuCoin 400100 parameter error: Order size increment invalid.');
  assert.equal(explainError('123456', ''), 'KuCoin 123456: no message');
  assert.deepEqual(rejected('400100', 'Price increment invalid.', '2024-01-01T00:00:00.000000Z'), {
    kind: 'REJECTED',
    code: '400100',
    reason: 'KuCoin 400100 parameter error: Price increment invalid.',
    ts: '2024-01-01T00:00:00.000000Z',
  });
  assert.equal(isDuplicateClientOid('126044', 'clientOid duplicate'), true);
  assert.equal(isDuplicateClientOid('400100', 'validation.createOrder.clientOidDuplicated'), true);
  assert.equal(isDuplicateClientOid('400100', 'Price increment invalid.'), false);
  assert.equal(isOrderNotFound('400100', 'order_not_exist_or_not_allow_to_cancel'), true);
  assert.equal(isOrderNotFound('126043', 'Order does not exist'), true);
  assert.equal(isOrderNotFound('200004', 'Balance insufficient!'), false);
});
