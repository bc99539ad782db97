// The emulator's JSON, in Binance's own field names and shapes: orders, fills, trades,
// executionReport pushes and exchangeInfo, built from the shared emulated exchange.
import { type Dec, dec, isMultipleOf } from '../../domain/decimal.js';
import { type EmulatedOrder, type EmulatedTrade, type ExchangeEvent, isClosed } from '../emulator/exchange.js';
import type { InstrumentSpec } from '../../market/types.js';

/** Binance writes decimals with 8 places. */
export const d8 = (x: Dec | string | undefined): string => (x === undefined ? '0.00000000' : dec(x).toFixed(8));

// Binance reports GTC as a market order's time in force.
const tifOf = (o: EmulatedOrder): string => (o.type === 'MARKET' ? 'GTC' : o.tif);

export function orderJson(o: EmulatedOrder): Record<string, unknown> {
  return {
    symbol: o.symbol,
    orderId: o.seq,
    orderListId: -1,
    clientOrderId: o.client_order_id,
    price: d8(o.price),
    origQty: d8(o.qty),
    executedQty: d8(o.filled),
    cummulativeQuoteQty: d8(o.filled_quote),
    status: o.status,
    timeInForce: tifOf(o),
    type: o.type,
    side: o.side,
    stopPrice: d8(undefined),
    icebergQty: d8(undefined),
    time: o.created_ms,
    updateTime: o.updated_ms,
    isWorking: !isClosed(o),
    workingTime: o.created_ms,
    origQuoteOrderQty: d8(o.funds),
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

/** The reply to a new order, as newOrderRespType asks (FULL carries the fills taken at once). */
export function placeJson(o: EmulatedOrder, respType: string): Record<string, unknown> {
  const ack = { symbol: o.symbol, orderId: o.seq, orderListId: -1, clientOrderId: o.client_order_id, transactTime: o.created_ms };
  if (respType === 'ACK') return ack;
  const { stopPrice: _s, icebergQty: _i, time: _t, updateTime: _u, isWorking: _w, ...result } = orderJson(o);
  const out: Record<string, unknown> = { ...result, ...ack };
  if (respType === 'FULL') {
    out.fills = o.trades.map((t) => ({ price: d8(t.price), qty: d8(t.qty), commission: d8(t.fee), commissionAsset: t.fee_ccy, tradeId: t.trade_id }));
  }
  return out;
}

export function cancelJson(o: EmulatedOrder, cancelId: string): Record<string, unknown> {
  return {
    symbol: o.symbol,
    origClientOrderId: o.client_order_id,
    orderId: o.seq,
    orderListId: -1,
    clientOrderId: cancelId,
    transactTime: o.updated_ms,
    price: d8(o.price),
    origQty: d8(o.qty),
    executedQty: d8(o.filled),
    origQuoteOrderQty: d8(o.funds),
    cummulativeQuoteQty: d8(o.filled_quote),
    status: o.status,
    timeInForce: tifOf(o),
    type: o.type,
    side: o.side,
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

export function myTradeJson(o: EmulatedOrder, t: EmulatedTrade): Record<string, unknown> {
  return {
    symbol: o.symbol,
    id: t.trade_id,
    orderId: o.seq,
    orderListId: -1,
    price: d8(t.price),
    qty: d8(t.qty),
    quoteQty: d8(t.qty.times(t.price)),
    commission: d8(t.fee),
    commissionAsset: t.fee_ccy,
    time: t.ts_ms,
    isBuyer: o.side === 'BUY',
    isMaker: t.maker,
    isBestMatch: true,
  };
}

/** The executionReport for one exchange event; `cancelId` is the cancel request's client id. */
export function executionReport(ev: ExchangeEvent, now: number, cancelId: string, executionId: number): Record<string, unknown> {
  const o = ev.order;
  const t = ev.trade;
  const x = ev.kind === 'AMENDED' ? 'REPLACED' : ev.kind;
  const at = ev.kind === 'NEW' ? o.created_ms : t ? t.ts_ms : o.updated_ms;
  return {
    e: 'executionReport',
    E: now,
    s: o.symbol,
    c: ev.kind === 'CANCELED' ? cancelId : o.client_order_id,
    S: o.side,
    o: o.type,
    f: tifOf(o),
    q: d8(o.qty),
    p: d8(o.price),
    P: d8(undefined),
    F: d8(undefined),
    g: -1,
    C: ev.kind === 'CANCELED' ? o.client_order_id : '',
    x,
    X: o.status,
    r: 'NONE',
    i: o.seq,
    l: d8(t?.qty),
    z: d8(o.filled),
    L: d8(t?.price),
    n: t ? d8(t.fee) : '0',
    N: t ? t.fee_ccy : null,
    T: at,
    t: t ? t.trade_id : -1,
    I: executionId,
    w: !isClosed(o),
    m: t ? t.maker : false,
    M: false,
    O: o.created_ms,
    Z: d8(o.filled_quote),
    Y: d8(t ? t.qty.times(t.price) : undefined),
    Q: d8(o.funds),
    W: o.created_ms,
    V: 'EXPIRE_MAKER',
  };
}

export const RATE_LIMITS = [
  { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
  { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
  { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
] as const;

export const MAX_PRICE = '1000000';
export const MAX_NOTIONAL = '9000000';

export function symbolJson(s: InstrumentSpec): Record<string, unknown> {
  return {
    symbol: s.symbol,
    status: 'TRADING',
    baseAsset: s.base,
    baseAssetPrecision: 8,
    quoteAsset: s.quote,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
    icebergAllowed: false,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: false,
    cancelReplaceAllowed: true,
    amendAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: d8(s.tick_size), maxPrice: d8(MAX_PRICE), tickSize: d8(s.tick_size) },
      { filterType: 'LOT_SIZE', minQty: d8(s.min_qty), maxQty: d8(s.max_qty), stepSize: d8(s.lot_size) },
      { filterType: 'MARKET_LOT_SIZE', minQty: d8(s.min_qty), maxQty: d8(s.max_qty), stepSize: d8(s.lot_size) },
      { filterType: 'NOTIONAL', minNotional: d8(s.min_notional), applyMinToMarket: true, maxNotional: d8(MAX_NOTIONAL), applyMaxToMarket: false, avgPriceMins: 5 },
    ],
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
  };
}

/** The filter a new order breaks, checked before anything is done (as cancelReplace does), or undefined. */
export function filterFailure(s: InstrumentSpec, type: string, qty: string | undefined, price: string | undefined): string | undefined {
  if (price !== undefined && type !== 'MARKET') {
    const p = dec(price);
    if (p.lte(0) || p.gt(MAX_PRICE) || !isMultipleOf(p, dec(s.tick_size))) return 'PRICE_FILTER';
  }
  if (qty !== undefined) {
    const q = dec(qty);
    if (q.lt(dec(s.min_qty)) || q.gt(dec(s.max_qty)) || !isMultipleOf(q, dec(s.lot_size))) return 'LOT_SIZE';
    if (price !== undefined && type !== 'MARKET' && q.times(dec(price)).lt(dec(s.min_notional))) return 'NOTIONAL';
  }
  return undefined;
}
