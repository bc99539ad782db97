// OKX v5 payloads (shapes and values from OKX's documentation examples) -> fillstream reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Order } from '../../src/domain/events.js';
import { orderBody } from '../../src/venues/okx/adapter.js';
import {
  messagesOfPush,
  okxReason,
  parseReply,
  permissionsOf,
  placeReports,
  replyError,
  reportsOfPush,
  rulesOf,
  serverTimeOf,
  snapshotOf,
  streamEvent,
  tradeOfFill,
  type OkxFill,
  type OkxInstrument,
  type OkxOrder,
  type OkxOrderAck,
} from '../../src/venues/okx/parse.js';

// GET /api/v5/trade/fills, the documented example (a market buy, fee charged in BTC).
const FILL: OkxFill = {
  side: 'buy',
  fillSz: '0.00192834',
  fillPx: '51858',
  fee: '-0.00000192834',
  ordId: '680800019749904384',
  instId: 'BTC-USDT',
  clOrdId: 'fs0123456789abcdef0123456789abcd',
  billId: '680800019754098688',
  tradeId: '744876980',
  execType: 'T',
  feeCcy: 'BTC',
  fillTime: '1708587373361',
  ts: '1708587373362',
};

// GET /api/v5/trade/order, the documented example (filled market order).
const ORDER: OkxOrder = {
  accFillSz: '0.00192834',
  avgPx: '51858',
  cTime: '1708587373361',
  cancelSource: '',
  clOrdId: 'fs0123456789abcdef0123456789abcd',
  fee: '-0.00000192834',
  feeCcy: 'BTC',
  fillPx: '51858',
  fillSz: '0.00192834',
  fillTime: '1708587373361',
  instId: 'BTC-USDT',
  ordId: '680800019749904384',
  ordType: 'market',
  px: '',
  side: 'buy',
  state: 'filled',
  sz: '100',
  tradeId: '744876980',
  uTime: '1708587373362',
};

// The orders channel's documented push: a maker sell filled.
const PUSH = {
  arg: { channel: 'orders', instType: 'SPOT', instId: 'BTC-USDT', uid: '614488474791936' },
  data: [
    {
      accFillSz: '0.001',
      amendResult: '',
      avgPx: '31527.1',
      cancelSource: '',
      clOrdId: 'fsmaker0000000000000000000000001',
      code: '0',
      cTime: '1654084334977',
      execType: 'M',
      fee: '-0.02522168',
      feeCcy: 'USDT',
      fillFee: '-0.02522168',
      fillFeeCcy: 'USDT',
      fillPx: '31527.1',
      fillSz: '0.001',
      fillTime: '1654084353263',
      instId: 'BTC-USDT',
      instType: 'SPOT',
      msg: '',
      ordId: '452197707845865472',
      ordType: 'limit',
      px: '31527.1',
      reqId: '',
      side: 'sell',
      state: 'filled',
      sz: '0.001',
      tdMode: 'cash',
      tradeId: '242589207',
      uTime: '1654084353264',
    },
  ],
};

test('a fill from /trade/fills: canonical decimals, fee as the positive amount charged, fill time in µs', () => {
  assert.deepEqual(tradeOfFill(FILL), {
    kind: 'TRADE',
    venue_order_id: '680800019749904384',
    trade_id: '744876980',
    qty: '0.00192834',
    price: '51858',
    fee: '0.00000192834',
    fee_ccy: 'BTC',
    liquidity: 'TAKER',
    ts: '2024-02-22T07:36:13.361000Z',
  });
  // A rebate (positive on OKX) is a negative fee for fillstream.
  assert.equal((tradeOfFill({ ...FILL, fee: '0.0100', execType: 'M' }) as { fee: string }).fee, '-0.01');
});

test('the orders-channel push of a fill gives the TRADE the fills endpoint gives for the same trade', () => {
  const msgs = messagesOfPush(JSON.stringify(PUSH));
  assert.deepEqual(msgs, [
    {
      client_order_id: 'fsmaker0000000000000000000000001',
      report: {
        kind: 'TRADE',
        venue_order_id: '452197707845865472',
        trade_id: '242589207',
        qty: '0.001',
        price: '31527.1',
        fee: '0.02522168',
        fee_ccy: 'USDT',
        liquidity: 'MAKER',
        ts: '2022-06-01T11:52:33.263000Z',
      },
    },
  ]);
  const asFill: OkxFill = {
    ...FILL,
    ordId: '452197707845865472',
    tradeId: '242589207',
    fillSz: '0.0010',
    fillPx: '31527.10',
    fee: '-0.02522168',
    feeCcy: 'USDT',
    execType: 'M',
    fillTime: '1654084353263',
    clOrdId: 'fsmaker0000000000000000000000001',
  };
  assert.deepEqual(tradeOfFill(asFill), msgs[0].report);
});

test('order updates: new -> ACK, amend -> AMENDED, user cancel -> CANCELED, IOC/FOK/system -> EXPIRED', () => {
  const base = {
    ...PUSH.data[0],
    state: 'live',
    accFillSz: '0',
    fillSz: '0',
    fillPx: '',
    tradeId: '',
    fillTime: '',
    fillFee: '0',
    execType: '',
    px: '30000',
    sz: '0.002',
    uTime: '1654084334977',
  } as OkxOrder;
  assert.deepEqual(reportsOfPush(base), [{ kind: 'ACK', venue_order_id: '452197707845865472', ts: '2022-06-01T11:52:14.977000Z' }]);
  assert.deepEqual(reportsOfPush({ ...base, amendResult: '0', reqId: 'r1', sz: '0.0030', px: '30100.0', uTime: '1654084340000' }), [
    { kind: 'AMENDED', venue_order_id: '452197707845865472', qty: '0.003', limit_price: '30100', ts: '2022-06-01T11:52:20.000000Z' },
  ]);
  assert.deepEqual(reportsOfPush({ ...base, amendResult: '-1' }), []);
  const closed = (cancelSource: string) => reportsOfPush({ ...base, state: 'canceled', cancelSource, uTime: '1654084350000' })[0];
  assert.deepEqual(closed('1'), { kind: 'CANCELED', reason: 'canceled by user', ts: '2022-06-01T11:52:30.000000Z' });
  assert.equal(closed('13').kind, 'EXPIRED');
  assert.match((closed('13') as { reason: string }).reason, /FOK/);
  assert.match((closed('14') as { reason: string }).reason, /IOC/);
  assert.equal(closed('0').kind, 'EXPIRED');
  assert.equal(reportsOfPush({ ...base, state: 'mmp_canceled' })[0].kind, 'EXPIRED');
  // A partially filled IOC's last update: the fill, then the remainder's end.
  const ioc = reportsOfPush({ ...PUSH.data[0], state: 'canceled', cancelSource: '14' } as OkxOrder);
  assert.deepEqual(
    ioc.map((r) => r.kind),
    ['TRADE', 'EXPIRED'],
  );
});

test('pushes that are not order updates give nothing: pong, events, other channels, orders without our id', () => {
  assert.deepEqual(messagesOfPush('pong'), []);
  assert.deepEqual(messagesOfPush('{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}'), []);
  assert.deepEqual(messagesOfPush(JSON.stringify({ ...PUSH, arg: { channel: 'account' } })), []);
  assert.deepEqual(messagesOfPush(JSON.stringify({ ...PUSH, data: [{ ...PUSH.data[0], clOrdId: '' }] })), []);
  assert.deepEqual(messagesOfPush('not json'), []);
  assert.deepEqual(streamEvent('{"event":"error","code":"60009","msg":"Login failed.","connId":"a4d3ae55"}'), { event: 'error', code: '60009', msg: 'Login failed.' });
  assert.equal(streamEvent('pong'), undefined);
});

test('place replies: success -> ACK at the reply time; sCode failure -> REJECTED with OKX code and a clear reason', () => {
  const ok = parseReply<OkxOrderAck>(
    '{"code":"0","msg":"","data":[{"clOrdId":"oktswap6","ordId":"312269865356374016","tag":"","ts":"1695190491421","sCode":"0","sMsg":"","subCode":""}],"inTime":"1695190491421339","outTime":"1695190491423240"}',
  );
  assert.deepEqual(placeReports(ok, 0), [{ kind: 'ACK', venue_order_id: '312269865356374016', ts: '2023-09-20T06:14:51.421000Z' }]);
  const failed = parseReply<OkxOrderAck>(
    '{"code":"1","data":[{"clOrdId":"","ordId":"","sCode":"51008","sMsg":"Order failed. Insufficient USDT balance in account","tag":"","ts":"1695190491421"}],"msg":"All operations failed"}',
  );
  const [r] = placeReports(failed, 0);
  assert.equal(r.kind, 'REJECTED');
  assert.equal((r as { code: string }).code, '51008');
  assert.match((r as { reason: string }).reason, /^OKX 51008: Order failed\. Insufficient USDT balance.*\(insufficient balance\)$/);
  const dup = parseReply<OkxOrderAck>(
    '{"code":"1","msg":"All operations failed","data":[{"clOrdId":"x","ordId":"","sCode":"51016","sMsg":"Client order ID already exists.","ts":"1"}]}',
  );
  assert.equal((placeReports(dup, 0)[0] as { code: string }).code, '51016');
});

test('request-level errors: the top-level code when there is no item', () => {
  assert.deepEqual(replyError(parseReply('{"msg":"Invalid Sign","code":"50113"}')), { code: '50113', msg: 'Invalid Sign' });
  assert.equal(replyError(parseReply('{"code":"0","msg":"","data":[]}')), undefined);
  assert.equal(okxReason('50111', ''), 'OKX 50111: invalid API key');
  assert.equal(okxReason('59999', 'Something new'), 'OKX 59999: Something new');
  assert.throws(() => parseReply('<html>bad gateway</html>'), /not JSON/);
  assert.throws(() => parseReply('{"data":[]}'), /without a code/);
});

test('an order query: ACK at creation, the fills of that order in trade order, the close', () => {
  const second: OkxFill = { ...FILL, tradeId: '744876981', billId: '680800019754098689', fillSz: '0.001', fillTime: '1708587373400' };
  const other: OkxFill = { ...FILL, ordId: '1', tradeId: '9' };
  const snap = snapshotOf(ORDER, [second, other, FILL]);
  assert.equal(snap.open, false);
  assert.equal(snap.client_order_id, ORDER.clOrdId);
  assert.deepEqual(
    snap.reports.map((r) => [r.kind, 'trade_id' in r ? r.trade_id : '']),
    [
      ['ACK', ''],
      ['TRADE', '744876980'],
      ['TRADE', '744876981'],
    ],
  );
  const canceled = snapshotOf({ ...ORDER, state: 'canceled', cancelSource: '1', accFillSz: '0' }, []);
  assert.deepEqual(
    canceled.reports.map((r) => r.kind),
    ['ACK', 'CANCELED'],
  );
  assert.equal(snapshotOf({ ...ORDER, state: 'partially_filled' }, []).open, true);
});

test('instrument rules, permissions and server time', () => {
  const inst: OkxInstrument = {
    instType: 'SPOT',
    instId: 'BTC-USDT',
    baseCcy: 'BTC',
    quoteCcy: 'USDT',
    tickSz: '0.1',
    lotSz: '0.00000001',
    minSz: '0.00001',
    maxLmtSz: '9999999999',
    maxMktSz: '',
    state: 'live',
  };
  assert.deepEqual(rulesOf(inst), {
    symbol: 'BTC-USDT',
    base: 'BTC',
    quote: 'USDT',
    tick_size: '0.1',
    lot_size: '0.00000001',
    min_qty: '0.00001',
    max_qty: '9999999999',
    min_notional: '0',
  });
  assert.deepEqual(permissionsOf('read_only,withdraw,trade'), { can_trade: true, can_withdraw: true });
  assert.deepEqual(permissionsOf('read_only'), { can_trade: false, can_withdraw: false });
  assert.deepEqual(permissionsOf(undefined), { can_trade: false, can_withdraw: undefined });
  assert.equal(serverTimeOf(parseReply('{"code":"0","msg":"","data":[{"ts":"1597026383085"}]}')), 1597026383085);
  assert.throws(() => serverTimeOf(parseReply('{"code":"0","msg":"","data":[]}')), /without ts/);
});

test('orders to OKX requests: cash mode, market sized in base, limit/ioc/fok with px', () => {
  const order = { client_order_id: 'fs0123456789abcdef0123456789abcd', symbol: 'BTC-USDT', side: 'BUY', order_type: 'MARKET', qty: '0.0100', tif: 'IOC' } as Order;
  assert.deepEqual(orderBody(order), { instId: 'BTC-USDT', tdMode: 'cash', clOrdId: order.client_order_id, side: 'buy', sz: '0.01', ordType: 'market', tgtCcy: 'base_ccy' });
  const limit = { ...order, side: 'SELL', order_type: 'LIMIT', limit_price: '50000.0', tif: 'GTC' } as Order;
  assert.deepEqual(orderBody(limit), { instId: 'BTC-USDT', tdMode: 'cash', clOrdId: order.client_order_id, side: 'sell', sz: '0.01', ordType: 'limit', px: '50000' });
  assert.equal(orderBody({ ...limit, tif: 'IOC' }).ordType, 'ioc');
  assert.equal(orderBody({ ...limit, tif: 'FOK' }).ordType, 'fok');
});
